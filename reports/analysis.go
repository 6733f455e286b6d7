package reports

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// AnalysisOptions adds what the journal does not say to a postmortem.
type AnalysisOptions struct {
	// CheckpointCost is what one checkpoint costs the workload, in seconds;
	// zero means unknown: the analysis then measures it from checkpoints
	// taken on notice, if there were any.
	CheckpointCost float64
}

// Analysis is the postmortem's reading of a run: the failure modes it
// shows, with their evidence, what to change, with numbers, and the action
// items that follow. It is a pure function of the report and its grades.
type Analysis struct {
	// Summary says in a few sentences what happened.
	Summary string `json:"summary"`
	// FailureModes holds F1 to F10 of DESIGN.md §4, in order, detected or
	// not.
	FailureModes    []FailureMode    `json:"failureModes"`
	Recommendations []Recommendation `json:"recommendations"`
	ActionItems     []string         `json:"actionItems"`
	// JournalGaps names what the journal lacks that would sharpen the
	// analysis, and the field that would carry it.
	JournalGaps []string `json:"journalGaps,omitempty"`
}

// FailureMode is one failure mode as the run showed it, or did not.
type FailureMode struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Detected bool   `json:"detected"`
	// Summary is one sentence with the numbers; Evidence the facts behind
	// it, one a line.
	Summary  string   `json:"summary,omitempty"`
	Evidence []string `json:"evidence,omitempty"`
	// VMs and Jobs name what it touched, at most evidenceCap of each;
	// VMCount and JobCount say how many in all.
	VMs      []string `json:"vms,omitempty"`
	VMCount  int      `json:"vmCount,omitempty"`
	Jobs     []string `json:"jobs,omitempty"`
	JobCount int      `json:"jobCount,omitempty"`
	// LostWork is compute it threw away, in seconds; Cost what it cost,
	// in USD.
	LostWork float64 `json:"lostWork,omitempty"`
	Cost     float64 `json:"cost,omitempty"`
}

// Recommendation is a change to make, with the numbers behind it.
type Recommendation struct {
	// ID names the recommendation: checkpoint-interval, fallback-budget,
	// or the failure mode it answers (F1 to F10).
	ID    string `json:"id"`
	Title string `json:"title"`
	Text  string `json:"text"`
	// Action is the action item it makes: what to do, in a line.
	Action string `json:"action"`
	// Details are the numbers and how they were computed, one a line.
	Details []string `json:"details,omitempty"`
}

// Thresholds of detection, chosen so that a healthy library scenario shows
// none of them.
const (
	// azureNotice is the Preempt notice Azure gives a Spot VM.
	azureNotice = 30.0
	// minImbalanced is the fewest evictions that can show a zone imbalance.
	minImbalanced = 4
	// minCascade is the least backlog growth, in jobs, that is a cascade.
	minCascade = 10
	// fallbackSpike is the share of the spend on fallback VMs that is a
	// spike.
	fallbackSpike = 0.2
)

// Analyze reads a graded report as a postmortem would.
func Analyze(r *Report, g Grading, opts AnalysisOptions) Analysis {
	an := Analysis{
		FailureModes: []FailureMode{
			shortNotice(r), slowDrain(r), noCapacity(r), priceAbove(r), stateLost(r),
			cascade(r), fallbackCost(r), imbalance(r), observabilityGap(r), bootstrapFailed(r),
		},
	}
	an.Summary = summarize(r, g, an.FailureModes)
	an.Recommendations = recommend(r, an.FailureModes, opts)
	an.ActionItems = actionItems(r, g, an.Recommendations)
	an.JournalGaps = journalGaps(r, opts)
	return an
}

// Detected returns the failure modes the run showed.
func (an Analysis) Detected() []FailureMode {
	var out []FailureMode
	for _, f := range an.FailureModes {
		if f.Detected {
			out = append(out, f)
		}
	}
	return out
}

func metricValue(r *Report, name string) (float64, bool) {
	m, ok := r.Metric(name)
	return m.Value, ok && m.Measured
}

// fmtS formats seconds the way reports write durations.
func fmtS(v float64) string { return scenarios.FormatSeconds(v) }

func fmtUSD(v float64) string { return scenarios.FormatValue(scenarios.UnitUSD, v) }

func fmtPct(v float64) string { return scenarios.FormatValue(scenarios.UnitFraction, v) }

// Clock writes a run-clock time as h:mm:ss from the start of the run.
func Clock(t float64) string {
	s := int64(math.Round(t))
	sign := ""
	if s < 0 {
		sign, s = "-", -s
	}
	return fmt.Sprintf("%s%d:%02d:%02d", sign, s/3600, s/60%60, s%60)
}

// names lists up to evidenceCap names, then how many more.
func names(list []string, total int) string {
	shown := list[:min(len(list), evidenceCap)]
	s := strings.Join(shown, ", ")
	if more := total - len(shown); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// noticeOf is how long the workload had between the Preempt notice and the
// eviction: nil without a notice.
func noticeOf(ev *Eviction) *float64 {
	if ev.Noticed == nil {
		return nil
	}
	end := ev.Evicted
	if end == nil {
		end = ev.NotBefore
	}
	if end == nil {
		return nil
	}
	d := max(0, *end-*ev.Noticed)
	return &d
}

func shortNotice(r *Report) FailureMode {
	f := FailureMode{ID: "F1", Name: "no or short notice"}
	var none, short int
	for i := range r.Evictions {
		ev := &r.Evictions[i]
		if ev.Evicted == nil {
			continue
		}
		n := noticeOf(ev)
		switch {
		case n == nil:
			none++
			f.Evidence = appendCapped(f.Evidence, fmt.Sprintf("%s (%s, zone %s) evicted at %s with no notice%s",
				ev.VM, withDefault(ev.Cause, "unknown cause"), withDefault(ev.Zone, "?"), Clock(*ev.Evicted), jobsLost(ev)))
		case *n < azureNotice:
			short++
			f.Evidence = appendCapped(f.Evidence, fmt.Sprintf("%s (%s, zone %s) evicted at %s after %s of notice%s",
				ev.VM, withDefault(ev.Cause, "unknown cause"), withDefault(ev.Zone, "?"), Clock(*ev.Evicted), fmtS(*n), jobsLost(ev)))
		default:
			continue
		}
		f.VMs = appendCapped(f.VMs, ev.VM)
		f.VMCount++
		f.JobCount += ev.Jobs
		f.LostWork += ev.LostWork
	}
	if f.VMCount == 0 {
		return f
	}
	f.Detected = true
	parts := []string{}
	if none > 0 {
		parts = append(parts, plural(none, "eviction")+" without notice")
	}
	if short > 0 {
		parts = append(parts, plural(short, "eviction")+" with less than "+fmtS(azureNotice)+" of notice")
	}
	f.Summary = fmt.Sprintf("%s, interrupting %s and losing %s of compute.",
		strings.Join(parts, " and "), plural(f.JobCount, "job"), fmtS(f.LostWork))
	return f
}

func jobsLost(ev *Eviction) string {
	if ev.Jobs == 0 {
		return ""
	}
	return fmt.Sprintf(": %s interrupted, %s lost", plural(ev.Jobs, "job"), fmtS(ev.LostWork))
}

func appendCapped(list []string, s string) []string {
	if len(list) >= evidenceCap {
		return list
	}
	return append(list, s)
}

func slowDrain(r *Report) FailureMode {
	f := FailureMode{ID: "F2", Name: "drain slower than notice"}
	n := r.Interruptions.DrainLate
	if n == 0 {
		return f
	}
	f.Detected = true
	f.JobCount = n
	for _, j := range r.Evidence.DrainLate {
		f.Jobs = append(f.Jobs, j.Job)
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s on %s cut short at %s: %s lost", j.Job, j.VM, Clock(j.T), fmtS(j.Lost)))
	}
	for i := range r.Evictions {
		ev := &r.Evictions[i]
		if ev.DrainLate > 0 {
			f.VMs = appendCapped(f.VMs, ev.VM)
			f.VMCount++
		}
	}
	for _, j := range r.Evidence.DrainLate {
		f.LostWork += j.Lost
	}
	notice := shortestNotice(r)
	f.Summary = fmt.Sprintf("%s on %s %s still draining or checkpointing when the eviction landed",
		plural(n, "job"), plural(f.VMCount, "VM"), were(n))
	if notice != nil {
		f.Summary += fmt.Sprintf(" (the notice gave as little as %s)", fmtS(*notice))
	}
	f.Summary += "."
	if d := r.Evidence.DrainOnNotice; d.Count > 0 {
		f.Evidence = append(f.Evidence, fmt.Sprintf("drains that finished took p50 %s, max %s (%s)", fmtS(d.P50), fmtS(d.Max), plural(d.Count, "drain")))
	}
	if c := r.Evidence.CheckpointOnNotice; c.Count > 0 {
		f.Evidence = append(f.Evidence, fmt.Sprintf("checkpoints on notice that finished took p50 %s, max %s", fmtS(c.P50), fmtS(c.Max)))
	}
	if len(r.Evidence.DrainLate) > 0 && len(r.Evidence.DrainLate) < n {
		f.Evidence = append(f.Evidence, fmt.Sprintf("the lost work of the first %d is listed; %s in all", len(r.Evidence.DrainLate), plural(n, "drain")+" cut short"))
	}
	return f
}

// shortestNotice is the least notice any landed eviction gave.
func shortestNotice(r *Report) *float64 {
	var best *float64
	for i := range r.Evictions {
		if n := noticeOf(&r.Evictions[i]); n != nil && r.Evictions[i].Evicted != nil && (best == nil || *n < *best) {
			best = n
		}
	}
	return best
}

func allocGroup(r *Report, code string) *AllocationFailureGroup {
	for i := range r.Evidence.AllocationFailures {
		if r.Evidence.AllocationFailures[i].Code == code {
			return &r.Evidence.AllocationFailures[i]
		}
	}
	return nil
}

// evictionsBy counts landed evictions of a cause and names their VMs.
func evictionsBy(r *Report, cause string) (n int, vms []string) {
	for i := range r.Evictions {
		ev := &r.Evictions[i]
		if ev.Evicted != nil && ev.Cause == cause {
			n++
			vms = appendCapped(vms, ev.VM)
		}
	}
	return n, vms
}

func noCapacity(r *Report) FailureMode {
	f := FailureMode{ID: "F3", Name: "no Spot capacity"}
	g := allocGroup(r, journal.CauseCapacity)
	n, vms := evictionsBy(r, journal.CauseCapacity)
	if g == nil && n == 0 {
		return f
	}
	f.Detected = true
	f.VMs, f.VMCount = vms, n
	var parts []string
	if g != nil {
		parts = append(parts, fmt.Sprintf("%s failed for lack of Spot capacity %s", plural(g.Count, "allocation"), span(g.First, g.Last)))
		f.Evidence = append(f.Evidence, "failed allocations by zone: "+joinCounts(g.Zones), "by pool: "+joinCounts(g.Pools))
		if g.Example != "" {
			f.Evidence = append(f.Evidence, "the platform said: "+g.Example)
		}
	}
	if n > 0 {
		parts = append(parts, plural(n, "VM")+" evicted because capacity shrank")
	}
	if v, ok := metricValue(r, "provision.rejectionRate"); ok {
		f.Evidence = append(f.Evidence, "provision.rejectionRate "+fmtPct(v))
	}
	if c := r.Evidence.Crunch; c != nil && c.WorstGap > 0 {
		f.Evidence = append(f.Evidence, fmt.Sprintf("up to %d of %d Spot VMs missing (at %s), fallback counted in", c.WorstGap, c.Target, Clock(c.WorstAt)))
	}
	f.Summary = strings.Join(parts, "; ") + "."
	return f
}

func priceAbove(r *Report) FailureMode {
	f := FailureMode{ID: "F4", Name: "Spot price above max price"}
	g := allocGroup(r, journal.CausePrice)
	n, vms := evictionsBy(r, journal.CausePrice)
	if g == nil && n == 0 {
		return f
	}
	f.Detected = true
	f.VMs, f.VMCount = vms, n
	var parts []string
	if n > 0 {
		parts = append(parts, plural(n, "VM")+" evicted because the Spot price rose above their max price")
	}
	if g != nil {
		parts = append(parts, fmt.Sprintf("%s refused on price %s", plural(g.Count, "allocation"), span(g.First, g.Last)))
		f.Evidence = append(f.Evidence, "refused allocations by pool: "+joinCounts(g.Pools))
	}
	for _, p := range r.Evidence.PeakSpotPrice {
		f.Evidence = append(f.Evidence, fmt.Sprintf("peak Spot price of %s: %s/h", p.Pool, fmtUSD(p.Price)))
	}
	for _, ft := range r.Faults {
		if ft.Fault.Type == "priceSpike" {
			f.Evidence = append(f.Evidence, fmt.Sprintf("price spike from %s (wave %s) to %s/h", Clock(ft.Start), withDefault(ft.Wave, "?"), fmtUSD(ft.Fault.Price)))
		}
	}
	f.Summary = strings.Join(parts, "; ") + "."
	return f
}

func stateLost(r *Report) FailureMode {
	f := FailureMode{ID: "F5", Name: "state lost with the VM"}
	n := r.Interruptions.CheckpointLost
	if n == 0 {
		return f
	}
	f.Detected = true
	f.JobCount = n
	for _, j := range r.Evidence.CheckpointLost {
		f.Jobs = append(f.Jobs, j.Job)
		f.LostWork += j.Lost
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s on %s at %s: %s lost, saved work included", j.Job, j.VM, Clock(j.T), fmtS(j.Lost)))
	}
	policies := map[string]int{}
	for i := range r.Evictions {
		ev := &r.Evictions[i]
		if ev.CheckpointLost > 0 {
			f.VMs = appendCapped(f.VMs, ev.VM)
			f.VMCount++
			policies[withDefault(ev.Policy, "unknown")]++
		}
	}
	f.Summary = fmt.Sprintf("%s lost their local checkpoints with %s (eviction policy %s).",
		plural(n, "job"), plural(f.VMCount, "VM"), joinCounts(sortedCounts(policies)))
	return f
}

// cascade looks for backlog that grew while the fleet ran below the
// capacity it had before the first eviction.
func cascade(r *Report) FailureMode {
	f := FailureMode{ID: "F6", Name: "cascading backlog"}
	tl := r.Timeline
	if len(tl) < 2 {
		return f
	}
	first := math.Inf(1)
	for i := range r.Evictions {
		if ev := &r.Evictions[i]; ev.Evicted != nil {
			first = min(first, *ev.Evicted)
		}
	}
	if math.IsInf(first, 1) {
		return f
	}
	capacity := func(p TimelinePoint) int { return p.Spot + p.Regular + p.Fallback }
	base := 0
	for _, p := range tl {
		if p.T <= first {
			base = max(base, capacity(p))
		}
	}
	if base == 0 {
		base = capacity(tl[0])
	}
	// Net growth over the intervals that began below capacity, against
	// the net growth over the rest: a fleet that is simply too small for
	// its arrivals grows its backlog either way, and that is no cascade.
	grew, healthy, degradedFor, healthyFor := 0, 0, 0.0, 0.0
	lowest, lowestAt, peak, peakAt := base, 0.0, 0, 0.0
	for i := 1; i < len(tl); i++ {
		prev, p := tl[i-1], tl[i]
		if prev.T >= first {
			if capacity(prev) < base {
				grew += p.Backlog - prev.Backlog
				degradedFor += p.T - prev.T
			} else {
				healthy += p.Backlog - prev.Backlog
				healthyFor += p.T - prev.T
			}
		}
		if capacity(p) < lowest {
			lowest, lowestAt = capacity(p), p.T
		}
		if p.T >= first && p.BacklogMax > peak {
			peak, peakAt = p.BacklogMax, p.T
		}
	}
	if grew < minCascade || degradedFor <= 0 || (healthyFor > 0 && float64(grew)/degradedFor <= float64(healthy)/healthyFor) {
		return f
	}
	f.Detected = true
	f.Summary = fmt.Sprintf("While the fleet ran below its %d VMs (%s in all, down to %d at %s), the backlog grew by %d jobs; it peaked at %d at %s.",
		base, fmtS(degradedFor), lowest, Clock(lowestAt), grew, peak, Clock(peakAt))
	if v, ok := metricValue(r, "queue.wait.p95"); ok {
		f.Evidence = append(f.Evidence, "queue.wait.p95 "+fmtS(v))
	}
	if v, ok := metricValue(r, "ttr.capacity.p95"); ok {
		f.Evidence = append(f.Evidence, "replacement capacity took p95 "+fmtS(v)+" (ttr.capacity.p95)")
	}
	last := tl[len(tl)-1]
	if last.Backlog > 0 {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%d jobs still waiting at the end", last.Backlog))
	} else if at, ok := drainedAt(tl, peakAt); ok {
		f.Evidence = append(f.Evidence, "the queue was empty again at "+Clock(at))
	}
	return f
}

func drainedAt(tl []TimelinePoint, after float64) (float64, bool) {
	for _, p := range tl {
		if p.T > after && p.Backlog == 0 {
			return p.T, true
		}
	}
	return 0, false
}

func costShare(r *Report) (fallbackUSD, total float64, ok bool) {
	fb, ok1 := metricValue(r, "fallback.cost")
	all, ok2 := metricValue(r, "cost.total")
	return fb, all, ok1 && ok2 && all > 0
}

func fallbackCost(r *Report) FailureMode {
	f := FailureMode{ID: "F7", Name: "fallback cost spike"}
	fb, total, ok := costShare(r)
	if !ok || fb/total < fallbackSpike {
		return f
	}
	use := r.Evidence.Fallback
	f.Detected = true
	f.Cost = fb
	f.VMCount = use.VMs
	f.Summary = fmt.Sprintf("%s ran up %s, %s of the spend.", plural(use.VMs, "fallback Regular VM"), fmtUSD(fb), fmtPct(fb/total))
	if use.First != nil {
		f.Evidence = append(f.Evidence, "first fallback VM at "+Clock(*use.First))
	}
	if use.StillRunning > 0 {
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s still running when the run ended: nothing moved the work back to Spot", plural(use.StillRunning, "fallback VM")))
	}
	if v, ok := metricValue(r, "fallback.rate"); ok {
		f.Evidence = append(f.Evidence, "fallback.rate "+fmtPct(v)+" of VM-hours")
	}
	if v, ok := metricValue(r, "cost.savings"); ok {
		f.Evidence = append(f.Evidence, "cost.savings "+fmtPct(v)+" against on-demand")
	}
	return f
}

// runZones lists the zones of the run's pools, or those evictions named.
func runZones(r *Report) []string {
	var zones []string
	for _, p := range r.Run.Pools {
		for _, z := range p.Zones {
			if !slices.Contains(zones, z) {
				zones = append(zones, z)
			}
		}
	}
	for i := range r.Evictions {
		if z := r.Evictions[i].Zone; z != "" && !slices.Contains(zones, z) {
			zones = append(zones, z)
		}
	}
	slices.Sort(zones)
	return zones
}

func imbalance(r *Report) FailureMode {
	f := FailureMode{ID: "F8", Name: "scheduling imbalance"}
	zones := runZones(r)
	byZone := map[string]int{}
	total := 0
	for i := range r.Evictions {
		if ev := &r.Evictions[i]; ev.Evicted != nil && ev.Zone != "" {
			byZone[ev.Zone]++
			total++
		}
	}
	counts := sortedCounts(byZone)
	if len(zones) < 2 || total < minImbalanced || len(counts) == 0 {
		return f
	}
	top := counts[0]
	share := float64(top.Count) / float64(total)
	if share <= 0.5 || share < 1.5/float64(len(zones)) {
		return f
	}
	f.Detected = true
	f.VMCount = top.Count
	for i := range r.Evictions {
		if ev := &r.Evictions[i]; ev.Evicted != nil && ev.Zone == top.Code {
			f.VMs = appendCapped(f.VMs, ev.VM)
		}
	}
	f.Summary = fmt.Sprintf("%d of %d evictions hit zone %s (of zones %s).", top.Count, total, top.Code, strings.Join(zones, ", "))
	f.Evidence = append(f.Evidence, "evictions by zone: "+joinCounts(counts))
	if rz := r.Evidence.ReplacementsByZone; len(rz) > 0 {
		f.Evidence = append(f.Evidence, "replacements by zone: "+joinCounts(rz))
	}
	if g := allocGroup(r, journal.CauseCapacity); g != nil {
		f.Evidence = append(f.Evidence, "failed allocations by zone: "+joinCounts(g.Zones))
	}
	return f
}

func observabilityGap(r *Report) FailureMode {
	f := FailureMode{ID: "F9", Name: "observability gap"}
	for i := range r.Evictions {
		ev := &r.Evictions[i]
		if !ev.Uncorrelated {
			continue
		}
		f.VMCount++
		f.VMs = appendCapped(f.VMs, ev.VM)
		f.Evidence = appendCapped(f.Evidence, fmt.Sprintf("%s evicted at %s running %s; no job.interrupted names it", ev.VM, Clock(*ev.Evicted), plural(ev.Running, "job")))
	}
	if f.VMCount > 0 {
		f.Detected = true
		f.Summary = fmt.Sprintf("%s ran work when evicted, but the workload reported no interruption on them: the evictions are invisible to its telemetry.",
			plural(f.VMCount, "VM"))
	}
	return f
}

func bootstrapFailed(r *Report) FailureMode {
	f := FailureMode{ID: "F10", Name: "replacement fails to bootstrap"}
	n := r.BootstrapFailures
	if n == 0 {
		return f
	}
	f.Detected = true
	f.VMCount = n
	pools := map[string]int{}
	for _, v := range r.Evidence.BootstrapFailed {
		f.VMs = append(f.VMs, v.VM)
		pools[withDefault(v.Pool, "?")]++
		f.Evidence = append(f.Evidence, fmt.Sprintf("%s (%s, zone %s) found dead at %s", v.VM, withDefault(v.Pool, "?"), withDefault(v.Zone, "?"), Clock(v.T)))
	}
	f.Summary = fmt.Sprintf("%s ran but never took work (pools %s); each was deleted and requested again.", plural(n, "VM"), joinCounts(sortedCounts(pools)))
	return f
}

func summarize(r *Report, g Grading, modes []FailureMode) string {
	var b strings.Builder
	name := withDefault(r.Run.Scenario, "the game day")
	fmt.Fprintf(&b, "%s %s: %d of %d SLOs met, resilience score %d/100.", name, verdictWords(g.Verdict), g.Met, len(g.Grades), g.Score)
	if loud := loudLine(r); loud != "" {
		b.WriteString(" " + strings.TrimSuffix(loud, ".") + ".")
	}
	evicted, _ := metricValue(r, "evictions.count")
	fmt.Fprintf(&b, " %s", plural(int(evicted), "eviction"))
	if causes := evictionCauses(r.Evictions); causes != "" {
		fmt.Fprintf(&b, " (%s)", causes)
	}
	in := r.Interruptions
	fmt.Fprintf(&b, " interrupted %s", plural(in.Count, "job"))
	switch {
	case in.Count == 0:
	case len(r.Unrecovered) > 0:
		fmt.Fprintf(&b, "; %d never recovered", len(r.Unrecovered))
	default:
		if v, ok := metricValue(r, "ttr.p95"); ok {
			fmt.Fprintf(&b, "; all recovered, p95 in %s", fmtS(v))
		}
	}
	fmt.Fprintf(&b, ", and %s of compute was lost.", fmtS(in.LostWork))
	var seen []string
	for _, f := range modes {
		if f.Detected {
			seen = append(seen, f.ID+" "+f.Name)
		}
	}
	if len(seen) > 0 {
		fmt.Fprintf(&b, " Failure modes seen: %s.", strings.Join(seen, ", "))
	} else {
		b.WriteString(" No failure mode of the catalogue was seen.")
	}
	return b.String()
}

func verdictWords(v Verdict) string {
	switch v {
	case VerdictPass:
		return "passed"
	case VerdictFail:
		return "failed"
	case VerdictAborted:
		return "was aborted"
	}
	return "did not complete"
}

// youngDaly is the checkpoint interval that minimises expected waste for a
// checkpoint cost delta and a mean time between failures mtbf (seconds):
// Young's first-order optimum, tau = sqrt(2 delta mtbf).
func youngDaly(delta, mtbf float64) float64 { return math.Sqrt(2 * delta * mtbf) }

// wasteAt is the first-order expected share of time lost at interval tau:
// checkpoint overhead delta/tau plus half an interval redone per failure.
func wasteAt(tau, delta, mtbf float64) float64 { return delta/tau + tau/(2*mtbf) }

func recommend(r *Report, modes []FailureMode, opts AnalysisOptions) []Recommendation {
	var out []Recommendation
	if rec, ok := checkpointInterval(r, opts); ok {
		out = append(out, rec)
	}
	if rec, ok := fallbackBudget(r); ok {
		out = append(out, rec)
	}
	if rec, ok := useNotice(r); ok {
		out = append(out, rec)
	}
	for _, f := range modes {
		if f.Detected {
			if rec, ok := answer(r, f); ok {
				out = append(out, rec)
			}
		}
	}
	if n := len(r.Unrecovered); n > 0 {
		gaveUp := 0
		for _, u := range r.Unrecovered {
			if u.GaveUp {
				gaveUp++
			}
		}
		out = append(out, Recommendation{
			ID: "unrecovered", Title: "Bring interrupted work back",
			Text: fmt.Sprintf("%s never ran again after an eviction%s: retry interrupted jobs, and allow enough attempts for the eviction rate.",
				plural(n, "interrupted job"), gaveUpNote(gaveUp)),
			Action: fmt.Sprintf("Make interrupted jobs retry until they run again (%d never did)", n),
		})
	}
	return out
}

// checkpointCost picks the checkpoint cost: given, or measured from the
// checkpoints taken on notice.
func checkpointCost(r *Report, opts AnalysisOptions) (float64, string) {
	if opts.CheckpointCost > 0 {
		return opts.CheckpointCost, "given with --checkpoint-cost"
	}
	if c := r.Evidence.CheckpointOnNotice; c.Count > 0 && c.P50 > 0 {
		return c.P50, fmt.Sprintf("measured: median time from Preempt notice to job handed back with nothing lost, over %d checkpoints on notice", c.Count)
	}
	return 0, ""
}

func checkpointInterval(r *Report, opts AnalysisOptions) (Recommendation, bool) {
	rate, ok := metricValue(r, "evictions.ratePerHour")
	if !ok || rate <= 0 {
		return Recommendation{}, false
	}
	mtbf := 3600 / rate
	rec := Recommendation{ID: "checkpoint-interval", Title: "Checkpoint interval (Young/Daly)"}
	evicted, _ := metricValue(r, "evictions.count")
	rec.Details = append(rec.Details, fmt.Sprintf("MTBF per Spot VM = 1 / evictions.ratePerHour = 1 / %s = %s (%s over the Spot VM-hours of the run)",
		scenarios.FormatValue(scenarios.UnitRate, rate), fmtS(mtbf), plural(int(evicted), "eviction")))
	now := ""
	if e := r.Evidence; e.CheckpointedKills > 0 {
		now = fmt.Sprintf("; jobs now checkpoint about every %s (twice the mean work lost by the %s that had checkpointed)",
			fmtS(2*e.MeanLostCheckpointed), plural(e.CheckpointedKills, "killed attempt"))
	} else if e.UncheckpointedKills > 0 {
		now = fmt.Sprintf("; none of the %s had reached a checkpoint", plural(e.UncheckpointedKills, "killed attempt"))
	}
	delta, source := checkpointCost(r, opts)
	if delta <= 0 {
		rec.Text = "Checkpoint every τ = √(2·δ·MTBF), where δ is the cost of one checkpoint. The journal does not say what a checkpoint costs: give it with --checkpoint-cost to get one number" + now + "."
		rec.Action = fmt.Sprintf("Measure what one checkpoint costs, then checkpoint every √(2 × cost × %s)", fmtS(mtbf))
		for _, d := range []float64{5, 30, 120} {
			tau := youngDaly(d, mtbf)
			rec.Details = append(rec.Details, fmt.Sprintf("δ = %s → τ = %s (expected waste %s)", fmtS(d), fmtS(tau), fmtPct(wasteAt(tau, d, mtbf))))
		}
		return rec, true
	}
	tau := youngDaly(delta, mtbf)
	rec.Text = fmt.Sprintf("Checkpoint every %s of compute: τ = √(2·δ·MTBF) = √(2 × %s × %s)%s.", fmtS(tau), fmtS(delta), fmtS(mtbf), now)
	rec.Action = fmt.Sprintf("Set the checkpoint interval to %s (Young/Daly for a %s checkpoint and %s between evictions)", fmtS(tau), fmtS(delta), fmtS(mtbf))
	rec.Details = append(rec.Details,
		fmt.Sprintf("δ = %s, %s", fmtS(delta), source),
		fmt.Sprintf("expected waste at τ: δ/τ + τ/(2·MTBF) = %s of compute", fmtPct(wasteAt(tau, delta, mtbf))))
	return rec, true
}

func fallbackBudget(r *Report) (Recommendation, bool) {
	c := r.Evidence.Crunch
	if c == nil || c.GapSeconds+c.FallbackSeconds <= 0 {
		return Recommendation{}, false
	}
	price := r.Evidence.Fallback.Price
	need := (c.GapSeconds + c.FallbackSeconds) / 3600
	rec := Recommendation{ID: "fallback-budget", Title: "Fallback budget for the crunch"}
	rec.Details = []string{
		fmt.Sprintf("crunch: %s to %s, Spot target %d VMs, up to %d missing at %s after fallback", Clock(c.Start), Clock(c.End), c.Target, c.WorstGap, Clock(c.WorstAt)),
		fmt.Sprintf("fallback VMs ran %.1f VM-hours during it; %.1f VM-hours were missing", c.FallbackSeconds/3600, c.GapSeconds/3600),
	}
	if price <= 0 {
		rec.Text = fmt.Sprintf("Covering the crunch on Regular VMs takes %.1f VM-hours of fallback; the journal gives no on-demand price to turn that into a budget.", need)
		rec.Action = fmt.Sprintf("Budget %.1f fallback VM-hours for a crunch like this one", need)
		return rec, true
	}
	budget := need * price
	rec.Text = fmt.Sprintf("A fallback budget of %s would have kept the Spot pools whole through the crunch: %.1f VM-hours at %s/h.", fmtUSD(budget), need, fmtUSD(price))
	rec.Action = fmt.Sprintf("Size the fallback budget for a crunch like this one: at least %s (%.1f VM-hours)", fmtUSD(budget), need)
	if fb, _, ok := costShare(r); ok {
		rec.Details = append(rec.Details, fmt.Sprintf("the run spent %s on fallback in all", fmtUSD(fb)))
	}
	return rec, true
}

// useNotice speaks up when evictions gave the full notice and the work on
// them died anyway: nothing drained or checkpointed on the Preempt event.
func useNotice(r *Report) (Recommendation, bool) {
	vms, jobs, lost := 0, 0, 0.0
	for i := range r.Evictions {
		ev := &r.Evictions[i]
		n := noticeOf(ev)
		if ev.Evicted == nil || n == nil || *n < azureNotice || ev.Jobs == 0 || ev.Released > 0 || ev.DrainLate > 0 {
			continue
		}
		vms++
		jobs += ev.Jobs
		lost += ev.LostWork
	}
	if vms == 0 {
		return Recommendation{}, false
	}
	return Recommendation{
		ID: "use-notice", Title: "Act on the Preempt notice",
		Text: fmt.Sprintf("%s gave at least %s of notice, yet none of their %s was handed back or checkpointed: they lost %s. Watch Scheduled Events and checkpoint or hand the job back on Preempt.",
			plural(vms, "eviction"), fmtS(azureNotice), plural(jobs, "job"), fmtS(lost)),
		Action: fmt.Sprintf("Watch Scheduled Events and checkpoint or hand jobs back on Preempt (%s lost though %s gave notice)", fmtS(lost), plural(vms, "eviction")),
	}, true
}

// answer is the recommendation that answers a detected failure mode.
func answer(r *Report, f FailureMode) (Recommendation, bool) {
	rec := Recommendation{ID: f.ID}
	switch f.ID {
	case "F1":
		rec.Title = "Survive evictions without notice"
		rec.Text = fmt.Sprintf("%s came with less than %s of notice: a drain cannot save that work, only periodic checkpoints can (see the checkpoint interval).", plural(f.VMCount, "eviction"), fmtS(azureNotice))
		rec.Action = fmt.Sprintf("Rely on periodic checkpoints, not on the notice: %s lost %s without one", plural(f.JobCount, "job"), fmtS(f.LostWork))
	case "F2":
		rec.Title = "Fit the drain into the notice"
		notice := azureNotice
		if n := shortestNotice(r); n != nil {
			notice = *n
		}
		rec.Text = fmt.Sprintf("Make the drain or checkpoint on notice finish within %s, the shortest notice seen, or checkpoint periodically so that a drain cut short loses little: %s lost %s.",
			fmtS(notice), plural(f.JobCount, "job"), fmtS(f.LostWork))
		rec.Action = fmt.Sprintf("Make the drain finish within %s of notice (%s cut short)", fmtS(notice), plural(f.JobCount, "drain"))
		if d := r.Evidence.DrainOnNotice; d.Count > 0 {
			rec.Details = append(rec.Details, "drains that finished took up to "+fmtS(d.Max))
		}
	case "F3":
		rec.Title = "Widen the Spot capacity you can get"
		rec.Text = "Spread the pool over more zones and VM sizes (an attribute-based or multi-SKU scale set), and fall back to Regular VMs after fewer failed allocations."
		rec.Action = "Spread the Spot pool over more zones and VM sizes, and fall back sooner when allocations fail"
		if g := allocGroup(r, journal.CauseCapacity); g != nil {
			rec.Details = append(rec.Details, fmt.Sprintf("%s failed for capacity (%s)", plural(g.Count, "allocation"), joinCounts(g.Zones)))
		}
	case "F4":
		rec.Title = "Set the max price for the market you run in"
		rec.Text = "Set the Spot max price to -1 (pay up to the on-demand price) or above the peaks seen, or fall back when the price rises."
		rec.Action = "Raise the Spot max price above the peaks seen (or to -1)"
		if len(r.Evidence.PeakSpotPrice) > 0 {
			rec.Action += ": at least " + fmtUSD(slices.MaxFunc(r.Evidence.PeakSpotPrice, func(a, b PoolPrice) int { return cmp.Compare(a.Price, b.Price) }).Price) + "/h"
		}
		for _, p := range r.Evidence.PeakSpotPrice {
			rec.Details = append(rec.Details, fmt.Sprintf("%s: a max price of at least %s/h would have kept it", p.Pool, fmtUSD(p.Price)))
		}
	case "F5":
		rec.Title = "Keep checkpoints off the VM"
		rec.Text = fmt.Sprintf("Write checkpoints to durable storage (a blob container, a managed disk that outlives the VM), or use the Deallocate eviction policy: %s lost %s of saved work with the VM.",
			plural(f.JobCount, "job"), fmtS(f.LostWork))
		rec.Action = fmt.Sprintf("Move checkpoints to durable storage (%s lost theirs)", plural(f.JobCount, "job"))
	case "F6":
		rec.Title = "Keep the queue from snowballing"
		rec.Text = "Replace lost capacity faster (shorter autoscaler delay, warm spares) or keep headroom during game days and crunches, so that evictions do not turn into a backlog."
		rec.Action = "Replace lost capacity faster or keep headroom, so that evictions do not snowball into a backlog"
		if v, ok := metricValue(r, "ttr.capacity.p95"); ok {
			rec.Action += " (replacements took p95 " + fmtS(v) + ")"
		}
		rec.Details = []string{f.Summary}
	case "F7":
		rec.Title = "Return to Spot after the crunch"
		rec.Text = fmt.Sprintf("Fallback VMs cost %s: drain them back to Spot once Spot allocations succeed again, and cap their spend.", fmtUSD(f.Cost))
		rec.Action = fmt.Sprintf("Move work from fallback VMs back to Spot when Spot allocations succeed again (fallback cost %s)", fmtUSD(f.Cost))
		if n := r.Evidence.Fallback.StillRunning; n > 0 {
			rec.Details = append(rec.Details, fmt.Sprintf("%s still running at the end", plural(n, "fallback VM")))
		}
	case "F8":
		rec.Title = "Balance zones"
		rec.Text = "Spread the fleet and its replacements over zones so that one zone's evictions or shortage cannot take most of it; check the autoscaler's zone balancing."
		rec.Action = "Check zone balancing of the fleet and its replacements (" + f.Summary + ")"
		rec.Details = []string{f.Summary}
	case "F9":
		rec.Title = "Close the observability gap"
		rec.Text = fmt.Sprintf("Instrument the workers (job spans with host.name, Scheduled Events watch) so that every eviction shows in telemetry: %s were evicted unseen.", plural(f.VMCount, "VM"))
		rec.Action = fmt.Sprintf("Instrument the workers so that every eviction shows in telemetry (%s evicted unseen)", plural(f.VMCount, "VM"))
	case "F10":
		rec.Title = "Health-check replacements"
		rec.Text = fmt.Sprintf("Check that a new VM takes work before counting it as capacity, and alert on bootstrap failures: %s never did.", plural(f.VMCount, "VM"))
		rec.Action = fmt.Sprintf("Health-check replacement VMs and alert on bootstrap failures (%d seen)", f.VMCount)
	default:
		return rec, false
	}
	return rec, true
}

func actionItems(r *Report, g Grading, recs []Recommendation) []string {
	var items []string
	for _, gr := range g.Grades {
		if gr.Pass {
			continue
		}
		var why []string
		if gr.Measured {
			why = append(why, "measured "+scenarios.FormatValue(gr.Unit, gr.Value))
		}
		if gr.Note != "" {
			why = append(why, gr.Note)
		}
		item := "Meet " + gr.Objective
		if len(why) > 0 {
			item += " (" + strings.Join(why, "; ") + ")"
		}
		items = append(items, item)
	}
	for _, rec := range recs {
		items = append(items, rec.Action)
	}
	if r.CutShort() {
		items = append(items, "Find out why the run stopped before it closed its journal, and run the game day again")
	}
	return items
}

func journalGaps(r *Report, opts AnalysisOptions) []string {
	var gaps []string
	if delta, _ := checkpointCost(r, opts); delta <= 0 {
		gaps = append(gaps, "checkpoint cost and interval: run.started would need the scenario's workload.checkpoint (interval, cost, storage) for the Young/Daly interval")
	}
	if r.Evidence.Crunch != nil || r.Evidence.Fallback.VMs > 0 {
		gaps = append(gaps, "fallback budget and instance cap: run.started pools would need fallback.budget and fallback.maxInstances to compare the spend with them")
	}
	if allocGroup(r, journal.CausePrice) != nil {
		gaps = append(gaps, "max price: run.started pools would need maxPrice to say how far the price rose above it")
	}
	return gaps
}

func were(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

// span writes when something happened: "at 0:26:00" or "between ... and ...".
func span(first, last float64) string {
	if Clock(first) == Clock(last) {
		return "at " + Clock(first)
	}
	return "between " + Clock(first) + " and " + Clock(last)
}

func gaveUpNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d gave up: out of attempts)", n)
}
