package telemetry

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/pkg/spotwork"
)

// EvictionUncorrelated is the journal event the correlator writes for an
// eviction that no workload signal explains (F9) on a real fleet, where the
// platform cannot say whether the VM ran work. The reports package counts
// it in evictions.uncorrelated.
const EvictionUncorrelated = journal.EvictionUncorrelated

// CorrelatorOptions configure a Correlator.
type CorrelatorOptions struct {
	// Sink receives the journal events the correlator infers from workload
	// spans: job.interrupted, job.resumed, job.completed, eviction.drained
	// and eviction.uncorrelated. Set it on real fleets, to the run's bus, so
	// that reports need no trace backend. Leave it nil on the simulated
	// fleet, whose journal already holds the workload's events.
	Sink journal.Sink
	// ExpectSignals says every evicted VM is expected to send workload
	// spans: an eviction of a VM that sent none is uncorrelated. Without it
	// (simulated fleet) an eviction is uncorrelated when the platform says
	// the VM ran jobs (eviction.evicted's count) and no span explains it.
	ExpectSignals bool
	// Grace is how long, in run time, the correlator waits after an
	// eviction lands for the spans of the work it killed before it settles
	// the eviction: a killed worker never ends its attempt span, so its
	// markers must do. 2 minutes if zero.
	Grace time.Duration
	// Origin is the wall time of the run's T=0. When zero, the run.started
	// event's start is used (the simulated fleet's virtual start).
	Origin time.Time
	// OriginFunc gives the wall time of T=0 once it is known, for a real
	// fleet whose clock starts after run.started (the world's StartTime);
	// it returns the zero time until then.
	OriginFunc func() time.Time
}

// Correlator ties evictions (from the journal's events) to the workload
// spans of the work they interrupted, and measures per-job time to recover,
// lost work and drain timing. It keeps only interrupted work, live attempts
// and evictions: never every span.
//
// It is a journal.Sink for eviction and VM events, a span processor for
// in-process spans (Processor), and the back end of the OTLP receiver. It is
// safe for concurrent use.
type Correlator struct {
	opts  CorrelatorOptions
	grace float64

	mu         sync.Mutex
	sink       journal.Sink
	origin     int64
	hasOrigin  bool
	originFunc func() time.Time
	ended      bool
	lastT      float64

	evictions []evictionRec
	latest    map[string]int32
	undecided []int32

	// With notify on (the run's trace wants to end eviction spans as they
	// settle), settled evictions queue up until taken; toCheck holds those
	// that landed with nothing open, settled at the next event once the
	// kills of the landing have been seen.
	notify   bool
	toCheck  []int32
	settledQ []settledEviction

	pending      map[string]pendingJob
	results      []interruption
	interrupted  map[string]struct{}
	live         map[trace.SpanID]*liveAttempt
	liveByJob    map[string]trace.SpanID
	liveOnHost   map[string]int
	uncorrelated int

	known map[string]struct{}
	hosts map[string]int
	// aliases resolve the names a worker gives its VM (host.name, the ARM
	// ID, a scale-set instance's computer name), lower-cased, to the VM as
	// the journal names it: the name on the simulated fleet, the ARM
	// resource ID on Azure.
	aliases map[string]string
	stats   SpanStats

	emitMu sync.Mutex
	out    []journal.Event
}

// SpanStats counts the workload spans the correlator saw.
type SpanStats struct {
	// Attempts are attempt spans; Starts and Marks are start markers and
	// the other marker spans.
	Attempts, Starts, Marks int
	// Unconventional spans carried no spotdrill.job.id: not workload
	// spans, or workers that do not follow the conventions.
	Unconventional int
	// Early spans came before the run started.
	Early int
	// UnknownHosts are hosts that sent workload spans but that no event of
	// the run names, with their span counts, busiest first.
	UnknownHosts []HostCount
}

// HostCount is a host and how many spans it sent.
type HostCount struct {
	Host  string
	Spans int
}

// maxHosts bounds the hosts remembered for the unknown-host report.
const maxHosts = 1 << 16

var unset = math.NaN()

func isSet(v float64) bool { return !math.IsNaN(v) }

type evictionRec struct {
	vm      string
	opened  float64
	evicted float64
	noticed float64
	policy  string
	count   int
	closed  bool
	drained bool
	gap     bool

	jobs, open int
	lost       float64
	maxTTR     float64
	early      []int32 // results recovered before the eviction landed
	results    []int32 // its interruptions
	decided    bool    // real fleets: its grace has passed
	checking   bool    // in toCheck
	settled    bool

	wlNotice, drainStart, drainEnd float64
}

type pendingJob struct {
	ev   int32
	t    float64
	span trace.SpanID
	res  int32
}

type interruption struct {
	job, vm   string
	attempt   int
	start, t  float64
	ev        int32
	recovered float64
	ttr       float64
	lost      float64
	released  bool
	drainLate bool
	ckptLost  bool
	trace     trace.TraceID
	span      trace.SpanID
}

// liveAttempt is an attempt seen starting and not yet ended.
type liveAttempt struct {
	sig signal
}

// NewCorrelator returns an empty correlator.
func NewCorrelator(opts CorrelatorOptions) *Correlator {
	c := &Correlator{
		opts:        opts,
		grace:       opts.Grace.Seconds(),
		latest:      make(map[string]int32),
		pending:     make(map[string]pendingJob),
		interrupted: make(map[string]struct{}),
		live:        make(map[trace.SpanID]*liveAttempt),
		liveByJob:   make(map[string]trace.SpanID),
		liveOnHost:  make(map[string]int),
		known:       make(map[string]struct{}),
		aliases:     make(map[string]string),
		hosts:       make(map[string]int),
	}
	if c.grace <= 0 {
		c.grace = 120
	}
	c.sink = opts.Sink
	if !opts.Origin.IsZero() {
		c.origin, c.hasOrigin = opts.Origin.UnixNano(), true
	}
	c.originFunc = opts.OriginFunc
	return c
}

// SetOriginFunc sets CorrelatorOptions.OriginFunc once the run's world
// exists.
func (c *Correlator) SetOriginFunc(f func() time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.originFunc = f
}

// knownOrigin reports whether the run's origin is known, asking OriginFunc if
// need be; c.mu is held.
func (c *Correlator) knownOrigin() bool {
	if !c.hasOrigin && c.originFunc != nil {
		if t := c.originFunc(); !t.IsZero() {
			c.origin, c.hasOrigin = t.UnixNano(), true
		}
	}
	return c.hasOrigin
}

var _ journal.Sink = (*Correlator)(nil)

// SetSink sets the sink of inferred journal events (CorrelatorOptions.Sink)
// once the run's bus exists: the bus needs the correlator among its sinks
// first. Call it before any span arrives.
func (c *Correlator) SetSink(s journal.Sink) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sink = s
}

// Processor returns the span processor that feeds in-process workload
// spans (the simulated workers') to the correlator.
func (c *Correlator) Processor() sdktrace.SpanProcessor { return processor{c} }

// Emit reads the run's events: its start, eviction phases and VMs. It never
// emits from here (the bus holds its lock while it calls sinks).
func (c *Correlator) Emit(e *journal.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastT = max(c.lastT, e.T)
	c.checkLanded()
	switch e.Type {
	case journal.RunStarted:
		if !c.hasOrigin && c.originFunc == nil && e.Run != nil {
			if t, err := time.Parse(time.RFC3339Nano, e.Run.Start); err == nil {
				c.origin, c.hasOrigin = t.UnixNano(), true
			}
		}
	case journal.EvictionRequested, journal.EvictionNoticed, journal.EvictionDrained, journal.EvictionEvicted:
		c.noteVM(e.VM)
		c.onEvictionPhase(e)
	case journal.VMRunning:
		c.noteVM(e.VM)
		if i, ok := c.latest[e.VM]; ok && isSet(c.evictions[i].evicted) {
			c.evictions[i].closed = true
		}
	case journal.RunEnded:
		// Nothing new goes to the journal after its last line; what is
		// queued still goes, since a late line is better than a lost one.
		c.ended = true
	}
}

// noteVM learns a VM the journal names, and the names its workers may give
// it. Spans that came before it named their VM by another name: their
// counts and running attempts move to the journal's name.
func (c *Correlator) noteVM(vm string) {
	if _, ok := c.known[vm]; ok || vm == "" {
		return
	}
	c.known[vm] = struct{}{}
	names := append(vmAliases(vm), vm)
	for _, a := range names {
		c.aliases[strings.ToLower(a)] = vm
	}
	for _, a := range names {
		if a == vm {
			continue
		}
		if n, ok := c.hosts[a]; ok {
			c.hosts[vm] += n
			delete(c.hosts, a)
		}
		if n := c.liveOnHost[a]; n > 0 {
			for _, la := range c.live {
				if la.sig.host == a {
					la.sig.host = vm
				}
			}
			c.liveOnHost[vm] += n
			delete(c.liveOnHost, a)
		}
	}
}

// vmAliases are the other names of a VM given by its ARM resource ID: its
// name, and for a scale-set instance the computer name Azure gives it
// (SCALESET_INSTANCE), which its Scheduled Events and IMDS use.
func vmAliases(id string) []string {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	if len(parts) < 2 || !strings.EqualFold(parts[len(parts)-2], "virtualMachines") {
		return nil
	}
	out := []string{parts[len(parts)-1]}
	if n := len(parts); n >= 4 && strings.EqualFold(parts[n-4], "virtualMachineScaleSets") {
		out = append(out, parts[n-3]+"_"+parts[n-1])
	}
	return out
}

// resolve names a span's VM as the journal does.
func (c *Correlator) resolve(s *signal) {
	if s.resource != "" {
		if vm, ok := c.aliases[strings.ToLower(s.resource)]; ok {
			s.host = vm
			return
		}
	}
	if s.host != "" {
		if vm, ok := c.aliases[strings.ToLower(s.host)]; ok {
			s.host = vm
		}
		return
	}
	s.host = s.resource
}

// openEviction is the record an eviction phase of vm belongs to: its latest
// record while that has not landed, else a new one (as reports count them).
func (c *Correlator) openEviction(vm string, t float64) *evictionRec {
	if i, ok := c.latest[vm]; ok {
		if ev := &c.evictions[i]; !ev.closed && !isSet(ev.evicted) {
			return ev
		}
	}
	c.evictions = append(c.evictions, evictionRec{
		vm: vm, opened: t, evicted: unset, noticed: unset, maxTTR: unset,
		wlNotice: unset, drainStart: unset, drainEnd: unset,
	})
	i := int32(len(c.evictions) - 1)
	c.latest[vm] = i
	return &c.evictions[i]
}

func (c *Correlator) onEvictionPhase(e *journal.Event) {
	ev := c.openEviction(e.VM, e.T)
	switch e.Type {
	case journal.EvictionNoticed:
		ev.noticed = e.T
	case journal.EvictionDrained:
		ev.drained = true
	case journal.EvictionEvicted:
		c.land(ev, e)
	}
}

// land starts every clock that runs from the eviction.
func (c *Correlator) land(ev *evictionRec, e *journal.Event) {
	ev.evicted, ev.policy, ev.count = e.T, e.Policy, e.Count
	_, seen := c.hosts[ev.vm]
	if ev.jobs == 0 && (e.Count > 0 || (c.opts.ExpectSignals && !seen)) {
		ev.gap = true
		c.uncorrelated++
	}
	for _, ri := range ev.early {
		r := &c.results[ri]
		r.ttr = max(0, r.recovered-ev.evicted)
		ev.noteTTR(r.ttr)
	}
	ev.early = nil
	i := c.latest[ev.vm] // openEviction returned the VM's latest record
	switch {
	case c.sink != nil:
		c.undecided = append(c.undecided, i)
	case c.notify:
		ev.checking = true
		c.toCheck = append(c.toCheck, i)
	}
}

// checkLanded settles the evictions that landed before this event with no
// work still down: on the simulated fleet, the attempts an eviction kills
// end right after its eviction.evicted, before the next event.
func (c *Correlator) checkLanded() {
	for _, i := range c.toCheck {
		ev := &c.evictions[i]
		ev.checking = false
		if ev.open == 0 {
			c.settle(i)
		}
	}
	c.toCheck = c.toCheck[:0]
}

// settledEviction is an eviction whose interrupted work all runs again (or
// that interrupted none), with the links to the attempts it interrupted.
type settledEviction struct {
	Eviction
	Links []Interruption
}

// settle queues an eviction whose work all recovered.
func (c *Correlator) settle(i int32) {
	ev := &c.evictions[i]
	if ev.settled || !c.notify {
		return
	}
	ev.settled = true
	se := settledEviction{Eviction: c.evictionResult(i)}
	for _, ri := range ev.results {
		if len(se.Links) == maxEvictionLinks {
			break
		}
		se.Links = append(se.Links, c.interruptionResult(ri))
	}
	c.settledQ = append(c.settledQ, se)
}

// watchSettled turns on the queue of settled evictions.
func (c *Correlator) watchSettled() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notify = true
}

// takeSettled returns the evictions settled since the last call.
func (c *Correlator) takeSettled() []settledEviction {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.settledQ
	c.settledQ = nil
	return q
}

func (ev *evictionRec) noteTTR(v float64) {
	if !isSet(ev.maxTTR) || v > ev.maxTTR {
		ev.maxTTR = v
	}
}

// t converts a wall time in Unix nanoseconds to run seconds.
func (c *Correlator) t(ns int64) float64 { return float64(ns-c.origin) / 1e9 }

// wall converts run seconds back to Unix nanoseconds.
func (c *Correlator) wall(t float64) int64 { return c.origin + int64(math.Round(t*1e9)) }

// observe takes one workload signal.
func (c *Correlator) observe(s *signal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.observeLocked(s)
}

func (c *Correlator) observeLocked(s *signal) {
	if !c.knownOrigin() {
		c.stats.Early++
		return
	}
	c.resolve(s)
	if s.host != "" {
		if n, ok := c.hosts[s.host]; ok || len(c.hosts) < maxHosts {
			c.hosts[s.host] = n + 1
		}
	}
	switch s.kind {
	case kindStarted:
		c.stats.Starts++
		c.attemptStarted(s)
	case kindMark:
		c.stats.Marks++
		c.marked(s)
	case kindAttempt:
		c.stats.Attempts++
		c.attemptStarted(s)
		c.attemptEnded(s)
	}
}

// attemptStarted learns that an attempt runs. The job's previous attempt, if it
// was still running on a VM that has since been evicted, died with it; and
// if the job was waiting to run again, it has recovered.
func (c *Correlator) attemptStarted(s *signal) {
	if _, ok := c.live[s.span]; ok {
		return
	}
	if prev, ok := c.liveByJob[s.job]; ok && prev != s.span {
		if la := c.live[prev]; la != nil {
			if ev := c.landedOn(la.sig.host, la.sig.start); ev >= 0 {
				// The new attempt restored the dead one's last checkpoint,
				// which may have died with the VM before its marker left.
				if r := s.restoredAt; r > la.sig.lastCkpt && r >= la.sig.start && r <= c.wall(c.evictions[ev].evicted) {
					la.sig.lastCkpt = r
				}
				c.settleKilled(la, ev)
			}
		}
	}
	la := &liveAttempt{sig: *s}
	la.sig.kind = kindAttempt
	c.addLive(la)
	if p, ok := c.pending[s.job]; ok && p.span != s.span {
		t := c.t(s.start)
		c.recover(s.job, t)
		c.emit(journal.Event{T: t, Type: journal.JobResumed, Job: s.job, VM: s.host, Attempt: s.attempt,
			TraceID: s.trace.String(), SpanID: s.span.String()})
	}
}

// landedOn is the eviction of host that landed at or after start, or -1.
func (c *Correlator) landedOn(host string, start int64) int32 {
	i, ok := c.latest[host]
	if !ok {
		return -1
	}
	ev := &c.evictions[i]
	if !isSet(ev.evicted) || c.wall(ev.evicted) < start {
		return -1
	}
	return i
}

// marked folds a marker into its running attempt.
func (c *Correlator) marked(s *signal) {
	la := c.live[s.span]
	if la == nil {
		// The start marker was lost: the marker proves the attempt ran
		// from no later than now.
		la = &liveAttempt{sig: *s}
		la.sig.kind, la.sig.mark = kindAttempt, ""
		la.sig.lastCkpt, la.sig.notice, la.sig.drainStart = 0, 0, 0
		c.addLive(la)
	}
	a := &la.sig
	switch {
	case s.lastCkpt != 0 && s.lastCkpt >= a.lastCkpt:
		a.lastCkpt = s.lastCkpt
		if s.hasCkptProg {
			a.ckptProgress, a.hasCkptProg = s.ckptProgress, true
		}
	case s.notice != 0 && (a.notice == 0 || s.notice < a.notice):
		a.notice = s.notice
	case s.drainStart != 0 && (a.drainStart == 0 || s.drainStart < a.drainStart):
		a.drainStart = s.drainStart
	}
}

// attemptEnded takes a whole attempt span.
func (c *Correlator) attemptEnded(s *signal) {
	if la, ok := c.live[s.span]; ok {
		// Markers may know what the span lost to its limits.
		if s.lastCkpt == 0 && la.sig.lastCkpt != 0 {
			s.lastCkpt, s.ckptProgress, s.hasCkptProg = la.sig.lastCkpt, la.sig.ckptProgress, la.sig.hasCkptProg
		}
		c.removeLive(la)
	}
	out := s.outcome
	if out == "" {
		out = c.inferOutcome(s)
	}
	switch out {
	case spotwork.OutcomeCompleted:
		_, touched := c.interrupted[s.job]
		if !touched {
			return
		}
		delete(c.interrupted, s.job)
		t := c.t(s.end)
		c.recover(s.job, t)
		c.emit(journal.Event{T: t, Type: journal.JobCompleted, Job: s.job, VM: s.host, Attempt: s.attempt,
			TraceID: s.trace.String(), SpanID: s.span.String()})
	case spotwork.OutcomeReleased, spotwork.OutcomeKilled:
		c.interrupt(s, out)
	}
}

// inferOutcome judges an attempt span that does not say how it ended: one
// that ended after its VM's notice was interrupted by it.
func (c *Correlator) inferOutcome(s *signal) spotwork.Outcome {
	if i, ok := c.latest[s.host]; ok {
		ev := &c.evictions[i]
		if !ev.closed && isSet(ev.noticed) && c.t(s.end) >= ev.noticed {
			if isSet(ev.evicted) && c.t(s.end) >= ev.evicted {
				return spotwork.OutcomeKilled
			}
			return spotwork.OutcomeReleased
		}
	}
	return spotwork.OutcomeCompleted
}

// settleKilled ends a live attempt that died with its VM's eviction ev.
func (c *Correlator) settleKilled(la *liveAttempt, ev int32) {
	s := la.sig
	s.end = c.wall(c.evictions[ev].evicted)
	c.removeLive(la)
	c.interrupt(&s, spotwork.OutcomeKilled)
}

// addLive and removeLive keep the running attempts and their indexes.
func (c *Correlator) addLive(la *liveAttempt) {
	c.live[la.sig.span] = la
	c.liveByJob[la.sig.job] = la.sig.span
	c.liveOnHost[la.sig.host]++
}

func (c *Correlator) removeLive(la *liveAttempt) {
	s := &la.sig
	delete(c.live, s.span)
	if c.liveByJob[s.job] == s.span {
		delete(c.liveByJob, s.job)
	}
	if n := c.liveOnHost[s.host] - 1; n > 0 {
		c.liveOnHost[s.host] = n
	} else {
		delete(c.liveOnHost, s.host)
	}
}

// interrupt records an attempt that ended without finishing its job.
func (c *Correlator) interrupt(s *signal, out spotwork.Outcome) {
	if p, ok := c.pending[s.job]; ok && p.span != s.span {
		// Interrupted again before any other attempt was seen starting:
		// this attempt proves the job ran again when it started.
		c.recover(s.job, c.t(s.start))
	}
	stop := s.end
	if out == spotwork.OutcomeReleased && s.drainStart != 0 {
		stop = s.drainStart
	}
	lostNs := max(0, stop-max(s.start, s.lastCkpt))
	r := interruption{
		job: s.job, vm: s.host, attempt: s.attempt, start: c.t(s.start), t: c.t(s.end), ev: -1,
		recovered: unset, ttr: unset, lost: float64(lostNs) / 1e9,
		released: out == spotwork.OutcomeReleased, drainLate: out == spotwork.OutcomeKilled && s.drainStart != 0,
		trace: s.trace, span: s.span,
	}
	var ev *evictionRec
	if i, ok := c.latest[s.host]; ok && !c.evictions[i].closed {
		ev, r.ev = &c.evictions[i], i
	}
	if out == spotwork.OutcomeKilled && s.local && ev != nil && ev.policy == "Delete" {
		saved := s.progress
		if s.hasCkptProg {
			saved = s.ckptProgress
		}
		if saved > 0 {
			r.lost += saved
			r.ckptLost = true
		}
	}
	if ev != nil {
		if ev.gap {
			ev.gap = false
			c.uncorrelated--
		}
		ev.jobs++
		ev.open++
		ev.lost += r.lost
		c.noteDrain(ev, s, r.t)
	}
	c.results = append(c.results, r)
	if ev != nil {
		ev.results = append(ev.results, int32(len(c.results)-1))
	}
	c.pending[s.job] = pendingJob{ev: r.ev, t: r.t, span: s.span, res: int32(len(c.results) - 1)}
	c.interrupted[s.job] = struct{}{}
	c.emit(journal.Event{T: r.t, Type: journal.JobInterrupted, Job: r.job, VM: r.vm, Attempt: r.attempt,
		At: journal.Ptr(r.start), Lost: r.lost, Released: r.released, DrainLate: r.drainLate,
		CheckpointLost: r.ckptLost, TraceID: s.trace.String(), SpanID: s.span.String()})
	if ev != nil && r.released && !ev.drained && isSet(ev.noticed) && !isSet(ev.evicted) && !c.busy(ev.vm) {
		// Every attempt the VM ran has handed its job back in time.
		ev.drained = true
		c.emit(journal.Event{T: r.t, Type: journal.EvictionDrained, VM: ev.vm})
	}
}

// noteDrain keeps the drain timing of an eviction: when its workload saw
// the notice, started and finished draining.
func (c *Correlator) noteDrain(ev *evictionRec, s *signal, end float64) {
	minSet := func(dst *float64, ns int64) {
		if ns != 0 {
			if v := c.t(ns); !isSet(*dst) || v < *dst {
				*dst = v
			}
		}
	}
	minSet(&ev.wlNotice, s.notice)
	minSet(&ev.drainStart, s.drainStart)
	if s.drainStart != 0 {
		d := end
		if s.drainEnd != 0 {
			d = c.t(s.drainEnd)
		}
		if !isSet(ev.drainEnd) || d > ev.drainEnd {
			ev.drainEnd = d
		}
	}
}

// busy reports whether an attempt still runs on host.
func (c *Correlator) busy(host string) bool { return c.liveOnHost[host] > 0 }

// recover closes the job's pending interruption at t: TTR runs from the
// eviction of its VM, clamped at zero for work handed back and resumed
// before the eviction landed, whose TTR is known when it lands.
func (c *Correlator) recover(job string, t float64) {
	p, ok := c.pending[job]
	if !ok {
		return
	}
	delete(c.pending, job)
	r := &c.results[p.res]
	r.recovered = t
	if p.ev < 0 {
		r.ttr = max(0, t-p.t)
		return
	}
	ev := &c.evictions[p.ev]
	ev.open--
	if !isSet(ev.evicted) {
		ev.early = append(ev.early, p.res)
		return
	}
	r.ttr = max(0, t-ev.evicted)
	ev.noteTTR(r.ttr)
	if ev.open == 0 && !ev.checking && (c.sink == nil || ev.decided) {
		c.settle(p.ev)
	}
}

// emit queues a journal event for the sink; Flush sends it.
func (c *Correlator) emit(e journal.Event) {
	if c.sink == nil || c.ended {
		return
	}
	c.out = append(c.out, e)
}

// Tick settles the evictions whose grace has passed by run time now: the
// attempts still running on the VM when it went died with it, and an
// eviction that nothing ran on is an observability gap. Run calls it.
func (c *Correlator) Tick(now float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick(now)
}

func (c *Correlator) tick(now float64) {
	keep := c.undecided[:0]
	for _, i := range c.undecided {
		ev := &c.evictions[i]
		if now-ev.evicted < c.grace {
			keep = append(keep, i)
			continue
		}
		ev.decided = true
		var dead []*liveAttempt
		for _, la := range c.live {
			if la.sig.host == ev.vm && la.sig.start <= c.wall(ev.evicted) {
				dead = append(dead, la)
			}
		}
		// Settle in start order so that the journal is in a stable order.
		slices.SortFunc(dead, func(a, b *liveAttempt) int { return cmp.Compare(a.sig.start, b.sig.start) })
		for _, la := range dead {
			c.settleKilled(la, i)
		}
		if ev.gap {
			c.emit(journal.Event{T: now, Type: EvictionUncorrelated, VM: ev.vm, Count: ev.count,
				Reason: "no workload span from " + ev.vm + " explains this eviction"})
		}
		if ev.open == 0 {
			c.settle(i)
		}
	}
	c.undecided = keep
}

// Flush sends the queued journal events to the sink, in order. It must not
// be called from a sink of the same bus.
func (c *Correlator) Flush() {
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	c.mu.Lock()
	out, sink := c.out, c.sink
	c.out = nil
	c.mu.Unlock()
	// The run may end between taking the events and emitting them; a line
	// after run.ended then reads as what it is, a late signal.
	for i := range out {
		sink.Emit(&out[i])
	}
}

// Run settles evictions and flushes journal events every interval of wall
// time until ctx ends, on real fleets. The run's clock is the wall clock
// since the run's origin.
func (c *Correlator) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.Flush()
			return
		case now := <-t.C:
			c.mu.Lock()
			if c.knownOrigin() {
				c.tick(c.t(now.UnixNano()))
			}
			c.mu.Unlock()
			c.Flush()
		}
	}
}

// Interruption is one interrupted attempt and its recovery. Times are run
// seconds; nil when it did not happen.
type Interruption struct {
	Job     string `json:"job"`
	VM      string `json:"vm"`
	Attempt int    `json:"attempt"`
	// Started is when the attempt started; Interrupted when it stopped.
	Started     float64 `json:"started"`
	Interrupted float64 `json:"interrupted"`
	// Evicted is when the eviction that explains it landed.
	Evicted *float64 `json:"evicted,omitempty"`
	// Recovered is when the job ran again; TTR is the time to recover.
	Recovered *float64 `json:"recovered,omitempty"`
	TTR       *float64 `json:"ttr,omitempty"`
	// Lost is compute thrown away, in seconds.
	Lost           float64 `json:"lost"`
	Released       bool    `json:"released,omitempty"`
	DrainLate      bool    `json:"drainLate,omitempty"`
	CheckpointLost bool    `json:"checkpointLost,omitempty"`
	TraceID        string  `json:"traceId,omitempty"`
	SpanID         string  `json:"spanId,omitempty"`
}

// Eviction is what the workload's spans say of one eviction.
type Eviction struct {
	VM string `json:"vm"`
	// Opened is the time of its first phase event.
	Opened  float64  `json:"opened"`
	Evicted *float64 `json:"evicted,omitempty"`
	Policy  string   `json:"policy,omitempty"`
	// Jobs are the attempts it interrupted; Unrecovered those not running
	// again.
	Jobs        int `json:"jobs"`
	Unrecovered int `json:"unrecovered,omitempty"`
	// TTR is the worst of its jobs; Recovered when the last ran again.
	TTR       *float64 `json:"ttr,omitempty"`
	Recovered *float64 `json:"recovered,omitempty"`
	Lost      float64  `json:"lost"`
	// Uncorrelated marks an eviction no workload signal explains (F9).
	Uncorrelated bool `json:"uncorrelated,omitempty"`
	// WorkloadNoticed is when its workload first recorded preempt.notice;
	// DrainStart and DrainEnd bracket its drains.
	WorkloadNoticed *float64 `json:"workloadNoticed,omitempty"`
	DrainStart      *float64 `json:"drainStart,omitempty"`
	DrainEnd        *float64 `json:"drainEnd,omitempty"`
}

// Result is what the correlator concluded so far.
type Result struct {
	Interruptions []Interruption `json:"interruptions,omitempty"`
	Evictions     []Eviction     `json:"evictions,omitempty"`
	Uncorrelated  int            `json:"uncorrelated"`
	Spans         SpanStats      `json:"spans"`
}

func opt(v float64) *float64 {
	if !isSet(v) {
		return nil
	}
	return &v
}

// Result returns the interruptions, evictions and span counts so far. TTRs
// of work that recovered before an eviction that never landed count from
// the interruption, as the reports count them.
func (c *Correlator) Result() Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	res := Result{Uncorrelated: c.uncorrelated, Spans: c.stats}
	res.Interruptions = make([]Interruption, len(c.results))
	for i := range c.results {
		res.Interruptions[i] = c.interruptionResult(int32(i))
	}
	res.Evictions = make([]Eviction, len(c.evictions))
	for i := range c.evictions {
		res.Evictions[i] = c.evictionResult(int32(i))
	}
	for h, n := range c.hosts {
		if _, ok := c.aliases[strings.ToLower(h)]; !ok {
			res.Spans.UnknownHosts = append(res.Spans.UnknownHosts, HostCount{Host: h, Spans: n})
		}
	}
	slices.SortFunc(res.Spans.UnknownHosts, func(a, b HostCount) int {
		return cmp.Or(cmp.Compare(b.Spans, a.Spans), cmp.Compare(a.Host, b.Host))
	})
	return res
}

// interruptionResult is one interruption as Result gives it; c.mu is held.
func (c *Correlator) interruptionResult(i int32) Interruption {
	r := &c.results[i]
	ttr := r.ttr
	evicted := unset
	if r.ev >= 0 {
		evicted = c.evictions[r.ev].evicted
	}
	if !isSet(ttr) && isSet(r.recovered) {
		ttr = max(0, r.recovered-r.t) // its eviction never landed
	}
	return Interruption{
		Job: r.job, VM: r.vm, Attempt: r.attempt, Started: r.start, Interrupted: r.t,
		Evicted: opt(evicted), Recovered: opt(r.recovered), TTR: opt(ttr), Lost: r.lost,
		Released: r.released, DrainLate: r.drainLate, CheckpointLost: r.ckptLost,
		TraceID: r.trace.String(), SpanID: r.span.String(),
	}
}

// evictionResult is one eviction as Result gives it; c.mu is held.
func (c *Correlator) evictionResult(i int32) Eviction {
	ev := &c.evictions[i]
	ttr, start := ev.maxTTR, ev.evicted
	for _, ri := range ev.early { // the eviction never landed
		r := &c.results[ri]
		if v := max(0, r.recovered-r.t); !isSet(ttr) || v > ttr {
			ttr, start = v, r.t
		}
	}
	recovered := unset
	if ev.jobs > 0 && ev.open == 0 && isSet(ttr) && isSet(start) {
		recovered = start + ttr
	}
	return Eviction{
		VM: ev.vm, Opened: ev.opened, Evicted: opt(ev.evicted), Policy: ev.policy,
		Jobs: ev.jobs, Unrecovered: ev.open, TTR: opt(ttr), Recovered: opt(recovered), Lost: ev.lost,
		Uncorrelated:    isSet(ev.evicted) && ev.gap,
		WorkloadNoticed: opt(ev.wlNotice), DrainStart: opt(ev.drainStart), DrainEnd: opt(ev.drainEnd),
	}
}
