package reports

import (
	"math"
	"strings"
	"sync"

	"github.com/spotdrill/spotdrill/journal"
)

// Accumulator folds the events of one run, in order, into everything a
// report needs. It serves two callers: the runner feeds it live and asks
// Value every few seconds for abort conditions, and Load feeds it a whole
// journal. Per event it does constant work (plus map lookups by VM and by
// interrupted job); percentiles are exact and sorted lazily, so a live Value
// costs little however long the run.
//
// An Accumulator is safe for concurrent use: the runner emits while the
// console reads.
type Accumulator struct {
	mu sync.Mutex

	run   journal.Run
	plan  *journal.Plan
	pools map[string]journal.Pool

	events int64
	lastT  float64
	ended  bool
	endT   float64
	status string
	reason string

	waves   []Wave
	faults  []Fault
	notes   []Note
	aborts  []Abort
	blocked []Blocked
	failed  []FailedEviction

	evictions chunks[eviction]
	// vmIdx gives each VM named by an event a dense index into vms: an
	// event looks its VM up once, and every later question about the VM
	// (its latest eviction, its bill) is an index, not a string hash.
	vmIdx   map[string]int32
	vms     chunks[vmState]
	evicted int // eviction.evicted events
	traceID string
	// uncorrelated counts landed evictions of VMs that the platform says ran
	// work but that no job.interrupted names: the workload's signals missed
	// them (F9).
	uncorrelated int

	// pending holds the interruptions that have not recovered yet, by job.
	pending        map[string]pendingJob
	interrupted    int
	released       int
	drainLate      int
	checkpointLost int
	lost           float64
	ttr            values
	capacityTTR    values

	turnaround      values // interrupted jobs, from job.completed
	duplicateEvents int
	summary         *journal.Summary // counts only; the lists are below
	summaryTurn     values
	summaryWait     values
	// partTurn and partWait gather the lists of a summary in parts.
	partTurn, partWait []float64

	sample      journal.Sample
	samples     int
	sampleT     float64
	backlogMax  int
	backlogArea float64

	provLatency       values
	vmRequested       int
	allocFailed       int
	allocFailedByCode map[string]int
	bootstrapFailed   int

	cost costBook
	evid evidence
	aks  aksBook
}

var _ journal.Sink = (*Accumulator)(nil)

// NewAccumulator returns an empty Accumulator; the zero value works too.
func NewAccumulator() *Accumulator { return &Accumulator{} }

// unset marks a phase that has not happened.
var unset = math.NaN()

func isSet(t float64) bool { return !math.IsNaN(t) }

// eviction is one VM's eviction as it unfolds: a record opens with the first
// of requested, noticed, drained or evicted, and closes when the VM runs
// again, so a VM evicted twice has two records.
type eviction struct {
	vm, pool, zone, cause, wave, policy string

	requested, noticed, notBefore, drained, evicted, replaced float64
	replacedBy                                                string
	running                                                   int // jobs the platform says it ran
	closed                                                    bool
	// failed marks a request the platform refused: nothing followed it.
	failed bool
	// signalless marks an eviction the correlator found no workload signal
	// for (eviction.uncorrelated), on fleets whose evictions do not say
	// what ran on the VM.
	signalless bool

	jobs, open                          int
	released, drainLate, checkpointLost int
	lost                                float64
	maxTTR                              float64 // NaN until a job recovers after the eviction landed
	// early holds jobs that recovered before the eviction landed: their TTR
	// is known only once it lands (zero) or the run ends without it.
	early []earlyRecovery
}

type earlyRecovery struct{ interrupted, recovered float64 }

func newEviction(vm string) eviction {
	return eviction{
		vm:        vm,
		requested: unset, noticed: unset, notBefore: unset,
		drained: unset, evicted: unset, replaced: unset, maxTTR: unset,
	}
}

func (ev *eviction) noteTTR(v float64) {
	if !isSet(ev.maxTTR) || v > ev.maxTTR {
		ev.maxTTR = v
	}
}

// vmState is what the accumulator follows of one VM.
type vmState struct {
	// latest is the VM's most recent eviction record, -1 before its first.
	latest int32
	bill   vmCost
	billed bool
}

// vm returns the state of the VM named name, made on first sight.
func (a *Accumulator) vm(name string) *vmState {
	if i, ok := a.vmIdx[name]; ok {
		return a.vms.at(i)
	}
	if a.vmIdx == nil {
		a.vmIdx = make(map[string]int32)
	}
	i := a.vms.push(vmState{latest: -1})
	a.vmIdx[name] = i
	return a.vms.at(i)
}

// known returns the state of a VM seen before, or nil.
func (a *Accumulator) known(name string) *vmState {
	if i, ok := a.vmIdx[name]; ok {
		return a.vms.at(i)
	}
	return nil
}

// latest returns the VM's most recent eviction record, or nil.
func (a *Accumulator) latest(name string) (int32, *eviction) {
	if v := a.known(name); v != nil && v.latest >= 0 {
		return v.latest, a.evictions.at(v.latest)
	}
	return -1, nil
}

// pendingJob is an interruption waiting for its job to run again.
type pendingJob struct {
	ev     int32 // eviction record, or -1 when no eviction explains it
	vm     string
	t      float64
	failed bool // the job gave up: it will never run again
}

// Emit folds one event in. Events must come in journal order.
//
// Strings are escaped on the way in (journal.Event.Sanitized): every
// report format, and the summary on a terminal, shows a name, a tag or an
// error text from outside visibly escaped.
func (a *Accumulator) Emit(e *journal.Event) {
	e, _ = e.Sanitized()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events++
	a.lastT = max(a.lastT, e.T)
	switch e.Type {
	case journal.RunStarted:
		a.onRunStarted(e)
	case journal.Planned:
		if e.Plan != nil {
			p := *e.Plan
			a.plan = &p
		}
	case journal.WaveStarted:
		a.waves = append(a.waves, Wave{Name: e.Wave, T: e.T, Planned: e.At, Code: e.Code, Count: e.Count, Reason: e.Reason})
	case journal.EvictionRequested, journal.EvictionNoticed, journal.EvictionDrained, journal.EvictionEvicted:
		a.onEvictionPhase(e)
		a.aks.onEviction(e)
	case journal.EvictionUncorrelated:
		a.onUncorrelated(e)
	case journal.EvictionBlocked:
		a.blocked = append(a.blocked, Blocked{T: e.T, Wave: e.Wave, VM: e.VM, Code: e.Code, Reason: e.Reason})
		a.countWave(e.Wave, func(w *Wave) { w.Blocked++ })
	case journal.EvictionFailed:
		a.failed = append(a.failed, FailedEviction{T: e.T, Wave: e.Wave, VM: e.VM, Code: e.Code, Reason: e.Reason})
		a.countWave(e.Wave, func(w *Wave) { w.Failed++ })
		a.onEvictionFailed(e)
	case journal.JobInterrupted:
		a.onInterrupted(e)
		if e.Code == journal.CodeAKSPod {
			a.aks.onPod(e)
		}
	case journal.JobResumed:
		a.recover(e.Job, e.T)
		if e.Code == journal.CodeAKSPod {
			a.aks.onPod(e)
		}
	case journal.JobCompleted:
		a.onCompleted(e)
	case journal.JobFailed:
		if p, ok := a.pending[e.Job]; ok {
			p.failed = true
			a.pending[e.Job] = p
		}
		if e.Code == journal.CodeAKSPod {
			a.aks.onPod(e)
		}
	case journal.VMRequested:
		a.vmRequested++
	case journal.VMRunning:
		a.onVMRunning(e)
	case journal.VMAllocationFailed:
		a.evid.onAllocationFailed(e)
		a.allocFailed++
		if a.allocFailedByCode == nil {
			a.allocFailedByCode = make(map[string]int)
		}
		a.allocFailedByCode[e.Code]++
	case journal.VMBootstrapFailed:
		a.evid.onBootstrapFailed(e)
		a.bootstrapFailed++
	case journal.VMDeleted:
		if v := a.known(e.VM); v != nil {
			a.cost.stop(v, e.T)
		}
	case journal.FaultStarted, journal.FaultEnded:
		a.onFault(e)
	case journal.PriceChanged:
		a.cost.reprice(e.Pool, e.Zone, e.Price, e.T)
		a.evid.notePrice(e.Pool, e.Price)
	case journal.Sampled:
		a.onSample(e)
	case journal.Note:
		a.notes = append(a.notes, Note{T: e.T, Text: e.Reason})
		if strings.HasPrefix(e.Code, "aks.") {
			a.aks.onNote(e)
		}
	case journal.Aborted:
		a.aborts = append(a.aborts, Abort{T: e.T, Code: e.Code, Value: e.Value, Reason: e.Reason})
	case journal.WorkloadSummarized:
		a.onSummary(e)
	case journal.RunEnded:
		a.ended, a.endT = true, e.T
		a.status, a.reason = e.Status, e.Reason
	}
}

func (a *Accumulator) onRunStarted(e *journal.Event) {
	if e.Run == nil {
		return
	}
	a.run = *e.Run
	a.traceID = e.TraceID
	a.pools = make(map[string]journal.Pool, len(e.Run.Pools))
	for _, p := range e.Run.Pools {
		a.pools[p.Name] = p
	}
}

func (a *Accumulator) countWave(name string, fn func(*Wave)) {
	for i := len(a.waves) - 1; i >= 0; i-- {
		if a.waves[i].Name == name {
			fn(&a.waves[i])
			return
		}
	}
}

// openEviction returns the record an eviction phase of vm belongs to: its
// latest record while that has not landed, else a new one.
func (a *Accumulator) openEviction(v *vmState, vm string) *eviction {
	if v.latest >= 0 {
		if ev := a.evictions.at(v.latest); !ev.closed && !isSet(ev.evicted) {
			return ev
		}
	}
	v.latest = a.evictions.push(newEviction(vm))
	return a.evictions.at(v.latest)
}

func (a *Accumulator) onEvictionPhase(e *journal.Event) {
	v := a.vm(e.VM)
	ev := a.openEviction(v, e.VM)
	ev.pool = firstNonEmpty(ev.pool, e.Pool)
	ev.zone = firstNonEmpty(ev.zone, e.Zone)
	ev.cause = firstNonEmpty(e.Cause, ev.cause)
	switch e.Type {
	case journal.EvictionRequested:
		ev.wave = firstNonEmpty(ev.wave, e.Wave)
		if !isSet(ev.requested) {
			ev.requested = e.T
		}
		a.countWave(e.Wave, func(w *Wave) { w.Requested++ })
	case journal.EvictionNoticed:
		ev.noticed = e.T
		if e.At != nil {
			ev.notBefore = *e.At
		}
	case journal.EvictionDrained:
		ev.drained = e.T
	case journal.EvictionEvicted:
		a.land(v, ev, e)
	}
}

// onEvictionFailed closes the record a refused request opened, so that a
// later eviction of the VM (a natural one, a retry) starts a record of its
// own instead of inheriting the refused request's time.
func (a *Accumulator) onEvictionFailed(e *journal.Event) {
	if _, ev := a.latest(e.VM); ev != nil && !ev.closed && !isSet(ev.noticed) && !isSet(ev.evicted) && ev.jobs == 0 {
		ev.closed, ev.failed = true, true
	}
}

// land records the eviction itself: the VM stops billing, and every clock
// that starts at the eviction starts now.
func (a *Accumulator) land(v *vmState, ev *eviction, e *journal.Event) {
	a.evicted++
	ev.evicted = e.T
	ev.policy = e.Policy
	ev.running = e.Count
	if ev.running > 0 && ev.jobs == 0 {
		a.uncorrelated++
	}
	a.cost.stop(v, e.T)
	for _, r := range ev.early {
		v := max(0, r.recovered-ev.evicted)
		a.ttr.add(v)
		ev.noteTTR(v)
	}
	ev.early = nil
	if isSet(ev.replaced) {
		a.capacityTTR.add(max(0, ev.replaced-ev.evicted))
	}
}

// onUncorrelated counts an eviction that the correlator saw no workload
// signal for, unless the platform's own job count already counted it.
func (a *Accumulator) onUncorrelated(e *journal.Event) {
	_, ev := a.latest(e.VM)
	if ev == nil {
		return
	}
	if ev.signalless || (ev.running > 0 && ev.jobs == 0) {
		return
	}
	ev.signalless = true
	a.uncorrelated++
}

func (a *Accumulator) onInterrupted(e *journal.Event) {
	a.interrupted++
	a.lost += e.Lost
	a.released += b2i(e.Released)
	a.drainLate += b2i(e.DrainLate)
	a.checkpointLost += b2i(e.CheckpointLost)

	if _, ok := a.pending[e.Job]; ok {
		// Interrupted again without a job.resumed in between: the attempt
		// that just ended proves the job ran again when it started.
		at := e.T
		if e.At != nil {
			at = *e.At
		}
		a.recover(e.Job, at)
	}
	p := pendingJob{ev: -1, vm: e.VM, t: e.T}
	var explained *eviction
	if i, ev := a.latest(e.VM); ev != nil && !ev.closed {
		explained = ev
		p.ev = i
		if ev.jobs == 0 && ev.running > 0 && isSet(ev.evicted) {
			a.uncorrelated-- // a late signal: correlated after all
		}
		ev.jobs++
		ev.open++
		ev.lost += e.Lost
		ev.released += b2i(e.Released)
		ev.drainLate += b2i(e.DrainLate)
		ev.checkpointLost += b2i(e.CheckpointLost)
	}
	a.evid.onInterrupted(e, explained)
	if a.pending == nil {
		a.pending = make(map[string]pendingJob)
	}
	a.pending[e.Job] = p
}

// recover closes the job's pending interruption at t, the moment it runs
// again. TTR runs from the eviction of the VM it was on, clamped at zero for
// work handed back and resumed before the eviction landed.
func (a *Accumulator) recover(job string, t float64) {
	p, ok := a.pending[job]
	if !ok {
		return
	}
	delete(a.pending, job)
	if p.ev < 0 {
		a.ttr.add(max(0, t-p.t))
		return
	}
	ev := a.evictions.at(p.ev)
	ev.open--
	if !isSet(ev.evicted) {
		ev.early = append(ev.early, earlyRecovery{interrupted: p.t, recovered: t})
		return
	}
	v := max(0, t-ev.evicted)
	a.ttr.add(v)
	ev.noteTTR(v)
}

func (a *Accumulator) onCompleted(e *journal.Event) {
	// A completion is the latest proof the job ran again; a job.resumed
	// before it has already closed the interruption.
	a.recover(e.Job, e.T)
	if e.Duplicate {
		a.duplicateEvents++
		return
	}
	sub := e.Submitted
	if sub == nil {
		sub = e.At
	}
	if sub != nil {
		a.turnaround.add(e.T - *sub)
	}
}

func (a *Accumulator) onVMRunning(e *journal.Event) {
	pool := a.pools[e.Pool]
	v := a.vm(e.VM)
	a.cost.start(v, e, pool)
	a.evid.onVMRunning(e, pool)
	if e.At != nil {
		a.provLatency.add(e.T - *e.At)
	}
	// The replacement of an evicted VM: named by replaces, or the same VM
	// started again (a deallocated instance brought back).
	if e.Replaces != "" && e.Replaces != e.VM {
		a.replace(a.known(e.Replaces), false, e)
	} else {
		a.replace(v, true, e)
	}
	if v.latest >= 0 {
		if ev := a.evictions.at(v.latest); isSet(ev.evicted) {
			ev.closed = true
		}
	}
}

// replace notes e's VM as the replacement of the VM whose state is old;
// self says it is the same VM running again.
func (a *Accumulator) replace(old *vmState, self bool, e *journal.Event) {
	if old == nil || old.latest < 0 {
		return
	}
	ev := a.evictions.at(old.latest)
	if isSet(ev.replaced) || (self && !isSet(ev.evicted)) {
		return
	}
	ev.replaced, ev.replacedBy = e.T, e.VM
	if isSet(ev.evicted) {
		a.capacityTTR.add(max(0, ev.replaced-ev.evicted))
	}
}

func (a *Accumulator) onFault(e *journal.Event) {
	var f journal.Fault
	if e.Fault != nil {
		f = *e.Fault
	}
	if e.Type == journal.FaultStarted {
		a.faults = append(a.faults, Fault{Wave: e.Wave, Start: e.T, Fault: f})
		return
	}
	for i := len(a.faults) - 1; i >= 0; i-- {
		x := &a.faults[i]
		if x.End == nil && x.Wave == e.Wave && (f.Type == "" || x.Fault.Type == f.Type) {
			t := e.T
			x.End = &t
			return
		}
	}
}

func (a *Accumulator) onSample(e *journal.Event) {
	if e.Sample == nil {
		return
	}
	a.sample = *e.Sample
	a.evid.onSample(e.T, e.Sample)
	a.samples++
	a.sampleT = e.T
	a.backlogMax = max(a.backlogMax, e.Sample.BacklogMax, e.Sample.Backlog)
	a.backlogArea += e.Sample.BacklogArea
}

// onSummary keeps the counts and copies the lists: in a live run the event
// is shared with other sinks, so it must not be sorted in place.
// onSummary takes the workload's summary: its lists may come in parts
// (Summary.More), the last of which carries the counts. Parts are appended
// into one list, room for several made at the first part: a run of
// millions of jobs must not grow its lists by doubling, nor hold them twice.
func (a *Accumulator) onSummary(e *journal.Event) {
	if e.Summary == nil {
		return
	}
	if e.Summary.More {
		a.partTurn = appendPart(a.partTurn, e.Summary.Turnaround)
		a.partWait = appendPart(a.partWait, e.Summary.Wait)
		return
	}
	s := *e.Summary
	s.Turnaround, s.Wait, s.More = nil, nil, false
	a.summary = &s
	if a.partTurn == nil && a.partWait == nil {
		a.summaryTurn = valuesOf(e.Summary.Turnaround)
		a.summaryWait = valuesOf(e.Summary.Wait)
		return
	}
	a.summaryTurn = valuesOwning(append(a.partTurn, e.Summary.Turnaround...))
	a.summaryWait = valuesOwning(append(a.partWait, e.Summary.Wait...))
	a.partTurn, a.partWait = nil, nil
}

// summaryParts is how many parts of a summary the first one makes room for.
const summaryParts = 8

func appendPart(dst, part []float64) []float64 {
	if dst == nil {
		dst = make([]float64, 0, summaryParts*max(len(part), 1))
	}
	return append(dst, part...)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
