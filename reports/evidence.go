package reports

import (
	"cmp"
	"slices"

	"github.com/spotdrill/spotdrill/journal"
)

// timeEpsilon absorbs the rounding of times written to the millisecond.
const timeEpsilon = 1e-3

// evidenceCap bounds the names a report lists for one failure mode; the
// counts beside them say how many there were in all.
const evidenceCap = 20

// Evidence is what the postmortem names beside the metrics: which VMs,
// which jobs and how much, for each failure mode of DESIGN.md §4.
type Evidence struct {
	// DrainLate lists interruptions whose drain or checkpoint on notice the
	// eviction cut short (F2), the first evidenceCap of them.
	DrainLate []JobLoss `json:"drainLate,omitempty"`
	// CheckpointLost lists interruptions that lost a local checkpoint with
	// the VM (F5), the first evidenceCap of them.
	CheckpointLost []JobLoss `json:"checkpointLost,omitempty"`
	// AllocationFailures groups vm.allocationFailed by kind, with where and
	// when (F3 capacity, F4 price).
	AllocationFailures []AllocationFailureGroup `json:"allocationFailures,omitempty"`
	// BootstrapFailed lists VMs that ran but never took work (F10), the
	// first evidenceCap of them.
	BootstrapFailed []VMRef `json:"bootstrapFailed,omitempty"`
	// ReplacementsByZone counts the VMs that came up to replace evicted
	// ones, by zone (F8).
	ReplacementsByZone []CodeCount `json:"replacementsByZone,omitempty"`
	// CheckpointOnNotice times the hand-backs that lost nothing: from the
	// Preempt notice to the job handed back, which is what one checkpoint
	// costs the workload.
	CheckpointOnNotice Stat `json:"checkpointOnNotice"`
	// DrainOnNotice times the other hand-backs: notice to job handed back.
	DrainOnNotice Stat `json:"drainOnNotice"`
	// CheckpointedKills counts killed attempts that had reached a durable
	// checkpoint (they lost less than they ran); MeanLostCheckpointed is
	// their mean lost work, about half the checkpoint period.
	CheckpointedKills    int     `json:"checkpointedKills"`
	MeanLostCheckpointed float64 `json:"meanLostCheckpointed"`
	// UncheckpointedKills counts killed attempts that lost everything they
	// ran: no checkpoint, or none reached yet.
	UncheckpointedKills int `json:"uncheckpointedKills"`
	// Fallback is how fallback Regular VMs were used (F7).
	Fallback FallbackUse `json:"fallback"`
	// PeakSpotPrice is the highest Spot price each pool saw (F4).
	PeakSpotPrice []PoolPrice `json:"peakSpotPrice,omitempty"`
	// Crunch is the Spot capacity crunch, when allocations failed for
	// capacity (F3, and the fallback budget that would have covered it).
	Crunch *Crunch `json:"crunch,omitempty"`
}

// JobLoss is an interrupted attempt and the work it lost.
type JobLoss struct {
	Job  string  `json:"job"`
	VM   string  `json:"vm,omitempty"`
	T    float64 `json:"t"`
	Lost float64 `json:"lost"`
}

// VMRef is a VM at a moment of the run.
type VMRef struct {
	VM   string  `json:"vm"`
	Pool string  `json:"pool,omitempty"`
	Zone string  `json:"zone,omitempty"`
	T    float64 `json:"t"`
}

// AllocationFailureGroup is every vm.allocationFailed of one kind.
type AllocationFailureGroup struct {
	Code    string      `json:"code"`
	Count   int         `json:"count"`
	First   float64     `json:"first"`
	Last    float64     `json:"last"`
	Zones   []CodeCount `json:"zones,omitempty"`
	Pools   []CodeCount `json:"pools,omitempty"`
	Example string      `json:"example,omitempty"`
}

// Stat sums up a set of durations in seconds; the quantiles are zero when
// Count is.
type Stat struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	Max   float64 `json:"max"`
}

func statOf(v *values) Stat {
	if v.len() == 0 {
		return Stat{}
	}
	return Stat{Count: v.len(), P50: v.quantile(0.5), P95: v.quantile(0.95), Max: v.max()}
}

// FallbackUse is what fallback Regular VMs did.
type FallbackUse struct {
	// VMs counts fallback VMs that ran; StillRunning those running at the end.
	VMs          int      `json:"vms"`
	StillRunning int      `json:"stillRunning"`
	First        *float64 `json:"first,omitempty"`
	// Price is the on-demand price of a fallback VM (USD/hour), zero when
	// the journal does not say.
	Price float64 `json:"price,omitempty"`
}

// PoolPrice is a Spot price of a pool, USD per hour.
type PoolPrice struct {
	Pool  string  `json:"pool"`
	Price float64 `json:"price"`
}

// Crunch is the stretch of the run when Spot allocations failed for
// capacity: from the first such failure until the Spot pools were whole
// again (or the end). VM-seconds come from the samples.
type Crunch struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	// Target is the Spot capacity the pools asked for.
	Target int `json:"target"`
	// WorstGap is the most Spot VMs missing at one sample, fallback
	// counted in, at WorstAt.
	WorstGap int     `json:"worstGap"`
	WorstAt  float64 `json:"worstAt"`
	// GapSeconds is the VM-seconds missing over the crunch after fallback;
	// FallbackSeconds the VM-seconds fallback VMs ran during it.
	GapSeconds      float64 `json:"gapSeconds"`
	FallbackSeconds float64 `json:"fallbackSeconds"`
}

// TimelinePoint is the fleet and queue at one moment, from the samples.
// A long run's samples are bucketed to at most maxTimeline points: each
// point holds the last sample of its bucket and the bucket's backlog peak.
type TimelinePoint struct {
	T            float64 `json:"t"`
	Spot         int     `json:"spot"`
	Regular      int     `json:"regular"`
	Fallback     int     `json:"fallback"`
	Provisioning int     `json:"provisioning"`
	Noticed      int     `json:"noticed"`
	Running      int     `json:"running"`
	Backlog      int     `json:"backlog"`
	BacklogMax   int     `json:"backlogMax"`
}

// maxTimeline bounds the timeline: enough for a chart a screen wide.
const maxTimeline = 1000

// PhaseStat is how long one step between eviction phases took, over every
// eviction that went through both.
type PhaseStat struct {
	From string `json:"from"`
	To   string `json:"to"`
	Stat
}

// evidence is the Accumulator's part that collects Evidence; its methods
// run under the Accumulator's lock.
type evidence struct {
	// series holds every sample, compact: a long run has one every few
	// seconds, and chunks never copy them as they grow.
	series         chunks[samplePoint]
	drainLate      []JobLoss
	checkpointLost []JobLoss
	bootstrap      []VMRef
	alloc          []AllocationFailureGroup
	allocZones     []map[string]int
	allocPools     []map[string]int
	replZones      map[string]int

	noticeCheckpoint, noticeDrain values
	checkpointedKills             int
	checkpointedLost              float64
	uncheckpointedKills           int

	fallbackVMs   int
	fallbackFirst float64
	peakPrice     map[string]float64
}

// samplePoint is a sample as the evidence keeps it.
type samplePoint struct {
	t                                     float64
	spot, regular, fallback, provisioning int32
	noticed, running, backlog, backlogMax int32
}

func (p samplePoint) point() TimelinePoint {
	return TimelinePoint{
		T: p.t, Spot: int(p.spot), Regular: int(p.regular), Fallback: int(p.fallback), Provisioning: int(p.provisioning),
		Noticed: int(p.noticed), Running: int(p.running), Backlog: int(p.backlog), BacklogMax: int(p.backlogMax),
	}
}

func (x *evidence) onSample(t float64, s *journal.Sample) {
	x.series.push(samplePoint{
		t: t, spot: int32(s.Spot), regular: int32(s.Regular), fallback: int32(s.Fallback), provisioning: int32(s.Provisioning),
		noticed: int32(s.Noticed), running: int32(s.Running), backlog: int32(s.Backlog), backlogMax: int32(max(s.BacklogMax, s.Backlog)),
	})
}

// onInterrupted records the evidence of one interruption; ev is the
// eviction record of its VM, nil when none explains it.
func (x *evidence) onInterrupted(e *journal.Event, ev *eviction) {
	loss := JobLoss{Job: e.Job, VM: e.VM, T: e.T, Lost: e.Lost}
	if e.DrainLate && len(x.drainLate) < evidenceCap {
		x.drainLate = append(x.drainLate, loss)
	}
	if e.CheckpointLost && len(x.checkpointLost) < evidenceCap {
		x.checkpointLost = append(x.checkpointLost, loss)
	}
	switch {
	case e.Released:
		if ev == nil || !isSet(ev.noticed) {
			return
		}
		// A hand-back that lost nothing saved its work first: the time from
		// the notice is one checkpoint.
		if e.Lost == 0 {
			x.noticeCheckpoint.add(max(0, e.T-ev.noticed))
		} else {
			x.noticeDrain.add(max(0, e.T-ev.noticed))
		}
	case e.CheckpointLost || e.At == nil:
	case e.Lost < e.T-*e.At-timeEpsilon:
		x.checkpointedKills++
		x.checkpointedLost += e.Lost
	default:
		x.uncheckpointedKills++
	}
}

func (x *evidence) onAllocationFailed(e *journal.Event) {
	i := slices.IndexFunc(x.alloc, func(g AllocationFailureGroup) bool { return g.Code == e.Code })
	if i < 0 {
		x.alloc = append(x.alloc, AllocationFailureGroup{Code: e.Code, First: e.T, Example: e.Reason})
		x.allocZones = append(x.allocZones, map[string]int{})
		x.allocPools = append(x.allocPools, map[string]int{})
		i = len(x.alloc) - 1
	}
	g := &x.alloc[i]
	g.Count++
	g.Last = e.T
	x.allocZones[i][e.Zone]++
	x.allocPools[i][e.Pool]++
}

func (x *evidence) onVMRunning(e *journal.Event, pool journal.Pool) {
	if e.Replaces != "" {
		if x.replZones == nil {
			x.replZones = make(map[string]int)
		}
		x.replZones[e.Zone]++
	}
	if e.Fallback || pool.FallbackFor != "" {
		if x.fallbackVMs == 0 {
			x.fallbackFirst = e.T
		}
		x.fallbackVMs++
	}
	prio := withDefault(e.Priority, pool.Priority)
	if prio == "Spot" && e.Price > 0 {
		x.notePrice(e.Pool, e.Price)
	}
}

func (x *evidence) notePrice(pool string, price float64) {
	if x.peakPrice == nil {
		x.peakPrice = make(map[string]float64)
	}
	if price > x.peakPrice[pool] {
		x.peakPrice[pool] = price
	}
}

func (x *evidence) onBootstrapFailed(e *journal.Event) {
	if len(x.bootstrap) < evidenceCap {
		x.bootstrap = append(x.bootstrap, VMRef{VM: e.VM, Pool: e.Pool, Zone: e.Zone, T: e.T})
	}
}

// build sums the evidence up; pools and end describe the run, and
// fallbackRunning is how many fallback VMs the cost book still bills.
func (x *evidence) build(pools []journal.Pool, faults []Fault, end float64, fallbackRunning int) Evidence {
	ev := Evidence{
		DrainLate:           slices.Clone(x.drainLate),
		CheckpointLost:      slices.Clone(x.checkpointLost),
		BootstrapFailed:     slices.Clone(x.bootstrap),
		ReplacementsByZone:  sortedCounts(x.replZones),
		CheckpointOnNotice:  statOf(&x.noticeCheckpoint),
		DrainOnNotice:       statOf(&x.noticeDrain),
		CheckpointedKills:   x.checkpointedKills,
		UncheckpointedKills: x.uncheckpointedKills,
		Fallback:            FallbackUse{VMs: x.fallbackVMs, StillRunning: fallbackRunning, Price: fallbackPrice(pools)},
	}
	if x.checkpointedKills > 0 {
		ev.MeanLostCheckpointed = x.checkpointedLost / float64(x.checkpointedKills)
	}
	if x.fallbackVMs > 0 {
		t := x.fallbackFirst
		ev.Fallback.First = &t
	}
	for i, g := range x.alloc {
		g.Zones = sortedCounts(x.allocZones[i])
		g.Pools = sortedCounts(x.allocPools[i])
		ev.AllocationFailures = append(ev.AllocationFailures, g)
	}
	slices.SortFunc(ev.AllocationFailures, func(a, b AllocationFailureGroup) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Code, b.Code))
	})
	for pool, p := range x.peakPrice {
		ev.PeakSpotPrice = append(ev.PeakSpotPrice, PoolPrice{Pool: pool, Price: p})
	}
	slices.SortFunc(ev.PeakSpotPrice, func(a, b PoolPrice) int { return cmp.Compare(a.Pool, b.Pool) })
	ev.Crunch = x.crunch(pools, faults, end)
	return ev
}

// fallbackPrice is what a fallback VM costs an hour: the on-demand price of
// the pool that stands in for Spot, else of the Spot pool itself.
func fallbackPrice(pools []journal.Pool) float64 {
	for _, p := range pools {
		if p.FallbackFor != "" && p.OnDemandPrice > 0 {
			return p.OnDemandPrice
		}
	}
	for _, p := range pools {
		if p.Priority == "Spot" && p.OnDemandPrice > 0 {
			return p.OnDemandPrice
		}
	}
	return 0
}

// crunch measures the capacity crunch over the samples. It starts at the
// first capacity failure (or the capacity fault that caused it) and lasts
// past the last failure and the end of such faults until the Spot pools
// are whole again, fallback counted in (or the run ends). Each sample's
// gauges hold until the next sample.
func (x *evidence) crunch(pools []journal.Pool, faults []Fault, end float64) *Crunch {
	i := slices.IndexFunc(x.alloc, func(g AllocationFailureGroup) bool { return g.Code == journal.CauseCapacity })
	if i < 0 || x.series.len() == 0 {
		return nil
	}
	target := 0
	for _, p := range pools {
		if p.Priority == "Spot" {
			target += p.Capacity
		}
	}
	if target == 0 {
		return nil
	}
	start, last := x.alloc[i].First, x.alloc[i].Last
	for _, f := range faults {
		if f.Fault.Type != "capacityShortage" && f.Fault.Type != "zoneOutage" {
			continue
		}
		start = min(start, f.Start)
		if f.End != nil {
			last = max(last, *f.End)
		} else {
			last = end
		}
	}
	c := &Crunch{Start: start, End: end, Target: target, WorstAt: start}
	n := int32(x.series.len())
	for k := range n {
		s := x.series.at(k)
		next := end
		if k+1 < n {
			next = x.series.at(k + 1).t
		}
		gap := max(0, target-int(s.spot)-int(s.fallback))
		if s.t >= last && gap == 0 {
			c.End = max(start, min(c.End, s.t))
			break
		}
		lo, hi := max(s.t, c.Start), min(next, c.End)
		if hi <= lo {
			continue
		}
		c.GapSeconds += float64(gap) * (hi - lo)
		c.FallbackSeconds += float64(s.fallback) * (hi - lo)
		if gap > c.WorstGap {
			c.WorstGap, c.WorstAt = gap, s.t
		}
	}
	return c
}

// timeline buckets the samples to at most maxTimeline points.
func (x *evidence) timeline() []TimelinePoint {
	n := x.series.len()
	if n == 0 {
		return nil
	}
	buckets := min(n, maxTimeline)
	out := make([]TimelinePoint, 0, buckets)
	for b := range buckets {
		lo, hi := int32(b*n/buckets), int32((b+1)*n/buckets)
		p := x.series.at(hi - 1).point()
		for i := lo; i < hi; i++ {
			p.BacklogMax = max(p.BacklogMax, int(x.series.at(i).backlogMax))
		}
		out = append(out, p)
	}
	return out
}

// phaseStats times each step between eviction phases.
func phaseStats(rows []Eviction) []PhaseStat {
	steps := []struct {
		from, to string
		span     func(ev *Eviction) (float64, bool)
	}{
		{"requested", "noticed", func(ev *Eviction) (float64, bool) { return between(ev.Requested, ev.Noticed) }},
		{"noticed", "drained", func(ev *Eviction) (float64, bool) { return between(ev.Noticed, ev.Drained) }},
		{"noticed", "evicted", func(ev *Eviction) (float64, bool) { return between(ev.Noticed, ev.Evicted) }},
		{"evicted", "replaced", func(ev *Eviction) (float64, bool) { return deref(ev.CapacityTTR) }},
		{"evicted", "recovered", func(ev *Eviction) (float64, bool) {
			if ev.Evicted == nil || ev.Recovered == nil {
				return 0, false
			}
			return deref(ev.TTR)
		}},
	}
	out := make([]PhaseStat, 0, len(steps))
	for _, s := range steps {
		var v values
		for i := range rows {
			if d, ok := s.span(&rows[i]); ok {
				v.add(d)
			}
		}
		out = append(out, PhaseStat{From: s.from, To: s.to, Stat: statOf(&v)})
	}
	return out
}

func between(a, b *float64) (float64, bool) {
	if a == nil || b == nil {
		return 0, false
	}
	return max(0, *b-*a), true
}

func deref(p *float64) (float64, bool) {
	if p == nil {
		return 0, false
	}
	return *p, true
}
