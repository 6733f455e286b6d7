package reports

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// Report is what a run measured: a pure function of its journal.
type Report struct {
	Run journal.Run `json:"run"`
	// TraceID is the run's OpenTelemetry trace, when it was traced.
	TraceID string        `json:"traceId,omitempty"`
	Plan    *journal.Plan `json:"plan,omitempty"`
	// Status and Reason come from run.ended; Status is empty when the run
	// was cut short before it.
	Status string `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
	// End is how long the run lasted, in run-clock seconds: run.ended's
	// time, or the last event's when the run was cut short.
	End  float64      `json:"end"`
	Tail journal.Tail `json:"tail"`

	// Metrics holds every metric of scenarios.Metrics, in that order.
	Metrics       []MetricValue    `json:"metrics"`
	Interruptions Interruptions    `json:"interruptions"`
	Unrecovered   []UnrecoveredJob `json:"unrecovered,omitempty"`
	Evictions     []Eviction       `json:"evictions,omitempty"`
	Blocked       []Blocked        `json:"blocked,omitempty"`
	// BlockedByCode counts Blocked by the limit that refused them.
	BlockedByCode   []CodeCount      `json:"blockedByCode,omitempty"`
	FailedEvictions []FailedEviction `json:"failedEvictions,omitempty"`
	Waves           []Wave           `json:"waves,omitempty"`
	Faults          []Fault          `json:"faults,omitempty"`
	Notes           []Note           `json:"notes,omitempty"`
	Aborts          []Abort          `json:"aborts,omitempty"`

	// AllocationFailures counts vm.allocationFailed by kind (capacity,
	// price, failure: F3, F4).
	AllocationFailures []CodeCount `json:"allocationFailures,omitempty"`
	// BootstrapFailures counts VMs that ran but never took work (F10).
	BootstrapFailures int `json:"bootstrapFailures,omitempty"`
	// AKS is what the cluster showed, on an AKS game day.
	AKS *AKS `json:"aks,omitempty"`
	// Workload is the workload summary's counts, nil when it never came.
	Workload *journal.Summary `json:"workload,omitempty"`

	// Phases times each step between eviction phases over every eviction.
	Phases []PhaseStat `json:"phases,omitempty"`
	// Timeline is the fleet and queue over the run, from the samples.
	Timeline []TimelinePoint `json:"timeline,omitempty"`
	// Evidence names who and how much for each failure mode.
	Evidence Evidence `json:"evidence"`
	// TTRs holds every settled job TTR and CapacityTTRs every capacity TTR,
	// sorted, for distributions and charts.
	TTRs         []float64 `json:"-"`
	CapacityTTRs []float64 `json:"-"`

	// Grading grades the run against the SLOs its journal carries; Grade
	// re-grades against others.
	Grading Grading `json:"grading"`
}

// CutShort reports whether the run stopped before it could close its
// journal.
func (r *Report) CutShort() bool { return r.Tail.CutShort() }

// Damaged reports whether the journal's seq does not rise by one: lines
// missing, repeated or out of order.
func (r *Report) Damaged() bool { return r.Tail.IsDamaged() }

// DamageLine says where a damaged journal goes wrong, for people.
func (r *Report) DamageLine() string {
	if !r.Damaged() {
		return ""
	}
	more := ""
	if extra := r.Tail.Damaged - len(r.Tail.Damage); extra > 0 {
		more = fmt.Sprintf(" (and %d more)", extra)
	}
	return "the journal is damaged: " + strings.Join(r.Tail.Damage, "; ") + more +
		"; it is not the whole, ordered record of one run, so nothing is graded"
}

// Aborted reports whether the run was aborted: by run.ended, or by an abort
// event in a journal cut short before run.ended.
func (r *Report) Aborted() bool {
	return r.Status == journal.StatusAborted || (r.Status == "" && len(r.Aborts) > 0)
}

// Metric finds a metric by name.
func (r *Report) Metric(name string) (MetricValue, bool) {
	for _, m := range r.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return MetricValue{}, false
}

// Interruptions sums up job.interrupted.
type Interruptions struct {
	Count int `json:"count"`
	// Released were handed back on notice before the VM went.
	Released int `json:"released"`
	// DrainLate were cut short while draining or checkpointing (F2).
	DrainLate int `json:"drainLate"`
	// CheckpointLost lost a local checkpoint with the VM (F5).
	CheckpointLost int     `json:"checkpointLost"`
	LostWork       float64 `json:"lostWork"`
}

// UnrecoveredJob is interrupted work not running again by the end.
type UnrecoveredJob struct {
	Job string `json:"job"`
	VM  string `json:"vm,omitempty"`
	// Since is when its TTR clock started: the eviction, or the interruption
	// when no eviction landed.
	Since  float64 `json:"since"`
	GaveUp bool    `json:"gaveUp,omitempty"`
}

// Eviction is one row of the eviction table. Phase times are run-clock
// seconds, nil when the phase did not happen.
type Eviction struct {
	VM     string `json:"vm"`
	Pool   string `json:"pool,omitempty"`
	Zone   string `json:"zone,omitempty"`
	Cause  string `json:"cause,omitempty"`
	Wave   string `json:"wave,omitempty"`
	Policy string `json:"policy,omitempty"`

	Requested *float64 `json:"requested,omitempty"`
	Noticed   *float64 `json:"noticed,omitempty"`
	// NotBefore is when the notice said the eviction would land.
	NotBefore *float64 `json:"notBefore,omitempty"`
	Drained   *float64 `json:"drained,omitempty"`
	Evicted   *float64 `json:"evicted,omitempty"`
	Replaced  *float64 `json:"replaced,omitempty"`
	// Recovered is when the last of its interrupted jobs ran again; nil
	// while any is down, or when it interrupted nothing.
	Recovered  *float64 `json:"recovered,omitempty"`
	ReplacedBy string   `json:"replacedBy,omitempty"`

	// Running is how many jobs the platform says the VM ran when evicted.
	Running int `json:"running,omitempty"`
	// Jobs counts the interruptions it caused.
	Jobs           int     `json:"jobs"`
	Unrecovered    int     `json:"unrecovered,omitempty"`
	Released       int     `json:"released,omitempty"`
	DrainLate      int     `json:"drainLate,omitempty"`
	CheckpointLost int     `json:"checkpointLost,omitempty"`
	LostWork       float64 `json:"lostWork"`
	// TTR is the worst time to recover of its jobs.
	TTR         *float64 `json:"ttr,omitempty"`
	CapacityTTR *float64 `json:"capacityTtr,omitempty"`
	// Uncorrelated marks an eviction of a VM that ran work with no workload
	// signal (F9).
	Uncorrelated bool `json:"uncorrelated,omitempty"`
	// Failed marks a request the platform refused (eviction.failed):
	// nothing followed it.
	Failed bool `json:"failed,omitempty"`
}

// Blocked is an eviction the blast-radius guard refused.
type Blocked struct {
	T      float64 `json:"t"`
	Wave   string  `json:"wave,omitempty"`
	VM     string  `json:"vm,omitempty"`
	Code   string  `json:"code,omitempty"`
	Reason string  `json:"reason,omitempty"`
}

// FailedEviction is an eviction the platform refused or failed.
type FailedEviction struct {
	T      float64 `json:"t"`
	Wave   string  `json:"wave,omitempty"`
	VM     string  `json:"vm,omitempty"`
	Code   string  `json:"code,omitempty"`
	Reason string  `json:"reason,omitempty"`
}

// CodeCount counts occurrences of a machine-readable reason.
type CodeCount struct {
	Code  string `json:"code"`
	Count int    `json:"count"`
	// Example is the first reason given for the code, in words.
	Example string `json:"example,omitempty"`
}

// Wave is a wave as it fired, with what became of its evictions.
type Wave struct {
	Name string  `json:"name"`
	T    float64 `json:"t"`
	// Planned is the time the scenario planned the wave for, when it fired
	// at another (by the facilitator's hand); nil when it fired on time.
	Planned   *float64 `json:"planned,omitempty"`
	Code      string   `json:"code,omitempty"`
	Count     int      `json:"count"`
	Reason    string   `json:"reason,omitempty"`
	Requested int      `json:"requested"`
	Blocked   int      `json:"blocked"`
	Failed    int      `json:"failed"`
}

// Fault is a market fault; End is nil while it lasted to the end.
type Fault struct {
	Wave  string        `json:"wave,omitempty"`
	Start float64       `json:"start"`
	End   *float64      `json:"end,omitempty"`
	Fault journal.Fault `json:"fault"`
}

// Note is a facilitator's note.
type Note struct {
	T    float64 `json:"t"`
	Text string  `json:"text"`
}

// Abort is an abort: a condition that fired, the kill switch, a signal.
type Abort struct {
	T      float64 `json:"t"`
	Code   string  `json:"code,omitempty"`
	Value  float64 `json:"value,omitempty"`
	Reason string  `json:"reason,omitempty"`
}

// Load reads a journal file into a report. A journal cut short by a crash
// loads too: its report says so through Tail.
func Load(path string) (*Report, error) {
	a := NewAccumulator()
	tail, err := journal.ScanFile(path, func(e *journal.Event) error {
		a.Emit(e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load report: %w", err)
	}
	a.mu.Lock()
	r := a.build()
	a.mu.Unlock()
	r.Tail = tail
	r.Grading = Grade(r, RunSLOs(r.Run))
	return r, nil
}

// Value returns a metric as it stands now, for abort conditions: false when
// it is not measured (yet), or not a metric of the vocabulary. Workload
// totals come from the latest sample until the workload summary arrives;
// turnaround, queue wait and the Spot success rate need the summary.
// ttr.max also counts jobs still down, from their eviction to the latest
// event; a job that recovered before its eviction landed joins the TTR
// percentiles when the eviction lands.
func (a *Accumulator) Value(metric string) (float64, bool) {
	m, ok := scenarios.LookupMetric(metric)
	if !ok {
		return 0, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c := evalCtx{now: a.end(), ttr: &a.ttr}
	v := a.measure(m, &c)
	return v.Value, v.Measured
}

// end is the run's last time: run.ended, else the latest event.
func (a *Accumulator) end() float64 {
	if a.ended {
		return a.endT
	}
	return a.lastT
}

// Report builds the report of what was folded in so far, graded against the
// SLOs of run.started. It leaves the Accumulator usable: a live console may
// call it mid-run.
func (a *Accumulator) Report() *Report {
	a.mu.Lock()
	r := a.build()
	a.mu.Unlock()
	r.Grading = Grade(r, RunSLOs(r.Run))
	return r
}

// build makes the ungraded report; a.mu must be held.
func (a *Accumulator) build() *Report {
	end := a.end()
	ttr := a.finalTTR()
	c := evalCtx{now: end, final: true, ttr: &ttr}
	r := &Report{
		Run: a.run, TraceID: a.traceID,
		Plan:   a.plan,
		Status: a.status,
		Reason: a.reason,
		End:    end,
		Tail:   journal.Tail{Events: a.events, Ended: a.ended},
		Interruptions: Interruptions{
			Count: a.interrupted, Released: a.released, DrainLate: a.drainLate,
			CheckpointLost: a.checkpointLost, LostWork: a.lost,
		},
		Unrecovered:        a.unrecoveredJobs(),
		Evictions:          a.evictionRows(),
		Blocked:            slices.Clone(a.blocked),
		FailedEvictions:    slices.Clone(a.failed),
		Waves:              slices.Clone(a.waves),
		Faults:             slices.Clone(a.faults),
		Notes:              slices.Clone(a.notes),
		Aborts:             slices.Clone(a.aborts),
		AllocationFailures: sortedCounts(a.allocFailedByCode),
		BootstrapFailures:  a.bootstrapFailed,
		AKS:                a.aks.build(),
	}
	r.BlockedByCode = blockedByCode(a.blocked)
	if a.summary != nil {
		s := *a.summary
		r.Workload = &s
	}
	r.Metrics = make([]MetricValue, 0, len(scenarios.Metrics))
	for _, m := range scenarios.Metrics {
		r.Metrics = append(r.Metrics, a.measure(m, &c))
	}
	r.Phases = phaseStats(r.Evictions)
	r.Timeline = a.evid.timeline()
	r.Evidence = a.evid.build(a.run.Pools, a.faults, end, a.cost.fallbackRunning())
	r.TTRs = ttr.sorted()
	r.CapacityTTRs = a.capacityTTR.sorted()
	return r
}

// finalTTR is every TTR the run settled: those recovered before an eviction
// that never landed count from their interruption.
func (a *Accumulator) finalTTR() values {
	var extra []float64
	for i := range int32(a.evictions.len()) {
		ev := a.evictions.at(i)
		if isSet(ev.evicted) {
			continue
		}
		for _, r := range ev.early {
			extra = append(extra, max(0, r.recovered-r.interrupted))
		}
	}
	if len(extra) == 0 {
		// A settled copy shares the backing array but never writes to it.
		a.ttr.settle()
		return a.ttr
	}
	v := a.ttr.clone()
	for _, x := range extra {
		v.add(x)
	}
	return v
}

func (a *Accumulator) unrecoveredJobs() []UnrecoveredJob {
	if len(a.pending) == 0 {
		return nil
	}
	out := make([]UnrecoveredJob, 0, len(a.pending))
	for job, p := range a.pending {
		since := p.t
		if p.ev >= 0 && isSet(a.evictions.at(p.ev).evicted) {
			since = a.evictions.at(p.ev).evicted
		}
		out = append(out, UnrecoveredJob{Job: job, VM: p.vm, Since: since, GaveUp: p.failed})
	}
	slices.SortFunc(out, func(x, y UnrecoveredJob) int {
		return cmp.Or(cmp.Compare(x.Since, y.Since), cmp.Compare(x.Job, y.Job))
	})
	return out
}

// phaseCount is how many optional times an Eviction row holds; the rows
// point into one backing array instead of allocating each.
const phaseCount = 9

func (a *Accumulator) evictionRows() []Eviction {
	n := a.evictions.len()
	if n == 0 {
		return nil
	}
	rows := make([]Eviction, n)
	times := make([]float64, 0, phaseCount*n)
	opt := func(t float64) *float64 {
		if !isSet(t) {
			return nil
		}
		times = append(times, t)
		return &times[len(times)-1]
	}
	for i := range int32(n) {
		ev := a.evictions.at(i)
		ttr, recovered, capTTR := ev.settle()
		rows[i] = Eviction{
			VM: ev.vm, Pool: ev.pool, Zone: ev.zone, Cause: ev.cause, Wave: ev.wave, Policy: ev.policy,
			Requested: opt(ev.requested), Noticed: opt(ev.noticed), NotBefore: opt(ev.notBefore),
			Drained: opt(ev.drained), Evicted: opt(ev.evicted), Replaced: opt(ev.replaced),
			Recovered: opt(recovered), ReplacedBy: ev.replacedBy,
			Running: ev.running, Jobs: ev.jobs, Unrecovered: ev.open,
			Released: ev.released, DrainLate: ev.drainLate, CheckpointLost: ev.checkpointLost,
			LostWork: ev.lost, TTR: opt(ttr), CapacityTTR: opt(capTTR),
			Uncorrelated: ev.signalless || (isSet(ev.evicted) && ev.running > 0 && ev.jobs == 0),
			Failed:       ev.failed,
		}
	}
	return rows
}

// settle returns the eviction's worst TTR, when all its work ran again and
// its capacity TTR, each NaN when unknown.
func (ev *eviction) settle() (ttr, recovered, capTTR float64) {
	ttr, recovered, capTTR = ev.maxTTR, unset, unset
	start := ev.evicted
	for _, r := range ev.early { // the eviction never landed
		v := max(0, r.recovered-r.interrupted)
		if !isSet(ttr) || v > ttr {
			ttr, start = v, r.interrupted
		}
	}
	if ev.jobs > 0 && ev.open == 0 && isSet(ttr) && isSet(start) {
		recovered = start + ttr
	}
	if isSet(ev.evicted) && isSet(ev.replaced) {
		capTTR = max(0, ev.replaced-ev.evicted)
	}
	return ttr, recovered, capTTR
}

func blockedByCode(bs []Blocked) []CodeCount {
	var out []CodeCount
	for _, b := range bs {
		i := slices.IndexFunc(out, func(c CodeCount) bool { return c.Code == b.Code })
		if i < 0 {
			out = append(out, CodeCount{Code: b.Code, Example: b.Reason})
			i = len(out) - 1
		}
		out[i].Count++
	}
	sortCounts(out)
	return out
}

func sortedCounts(m map[string]int) []CodeCount {
	if len(m) == 0 {
		return nil
	}
	out := make([]CodeCount, 0, len(m))
	for code, n := range m {
		out = append(out, CodeCount{Code: code, Count: n})
	}
	sortCounts(out)
	return out
}

// sortCounts puts the most frequent first, then by code for a stable order.
func sortCounts(cs []CodeCount) {
	slices.SortFunc(cs, func(x, y CodeCount) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Code, y.Code))
	})
}
