package telemetry

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/pkg/spotwork"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

// Attribute keys of spotdrill's own spans, beyond the workload conventions.
const (
	attrCloudProvider = "cloud.provider"
	attrCloudRegion   = "cloud.region"
	attrPool          = "spotdrill.pool"
	attrZone          = "spotdrill.zone"
	attrWave          = "spotdrill.wave"
	attrCause         = "spotdrill.eviction.cause"
	attrPolicy        = "spotdrill.eviction.policy"
)

// maxEvictionLinks bounds the links from an eviction span to the attempts it
// interrupted.
const maxEvictionLinks = 64

// runTrace builds the run's trace from the bus's events: one root span per
// game day, a span per wave, a span per eviction with its phases as events.
// On the simulated fleet it is also the sim.Observer that turns every job
// attempt into a span. It stamps the trace and span IDs on the events it
// traces, so it must sit before the journal writer on the bus.
//
// Spans carry the run's clock: run start + t, virtual on the simulated
// fleet, so the trace of a two-hour simulated game day shows two hours.
type runTrace struct {
	tracer     trace.Tracer
	corr       *Correlator
	region     string
	resourceID func(vm string) string
	model      *simModel

	mu      sync.Mutex
	started bool
	origin  time.Time
	// originFunc gives the wall time of T=0 on a real fleet, whose clock
	// starts after run.started; until it answers, the root's start stands in.
	originFunc func() time.Time
	originOK   bool
	root       trace.Span
	rootCtx    context.Context
	lastT      float64
	endT       float64
	ended      bool
	done       bool

	waves     map[string]*waveSpan
	waveOrder []*waveSpan
	// pending are the eviction spans not ended yet; evByVM the latest of
	// each VM.
	pending map[evKey]*evictionSpan
	evByVM  map[string]*evictionSpan

	// On the simulated fleet: live resumed attempts, the last interrupted
	// attempt and saved progress of each job waiting to run again, and the
	// attempt that ended last (job.interrupted follows it).
	jobs      map[string]*jobSpan
	prev      map[string]trace.SpanContext
	saved     map[string]int64
	lastEnded struct {
		job     string
		attempt int
		sc      trace.SpanContext
	}
}

type waveSpan struct {
	span  trace.Span
	ctx   context.Context
	start float64
	end   float64
}

type evictionSpan struct {
	span   trace.Span
	vm     string
	wave   *waveSpan
	opened float64
	last   float64
	policy string

	evicted, replaced float64
	closed            bool
	// result is what the correlator found once its work all recovered.
	result *settledEviction
}

type jobSpan struct {
	span    trace.Span
	attempt int
	p0      int64
}

// simModel is what the simulated workers' spans need of the workload to
// say how much work each checkpoint saved: the checkpoint interval and cost,
// the restart cost, and where checkpoints go.
type simModel struct {
	tau, delta, restart int64
	local               bool
}

func newSimModel(wl *scenarios.Workload) *simModel {
	if wl == nil {
		return &simModel{}
	}
	return &simModel{
		tau: int64(wl.Checkpoint.Interval), delta: int64(wl.Checkpoint.Cost), restart: int64(wl.RestartCost),
		local: wl.Checkpoint.Storage == scenarios.StorageLocal,
	}
}

func newRunTrace(tp trace.TracerProvider, corr *Correlator, region string, resourceID func(string) string, model *simModel) *runTrace {
	if corr != nil {
		corr.watchSettled()
	}
	return &runTrace{
		tracer: tp.Tracer("github.com/spotdrill/spotdrill"), corr: corr, region: region, resourceID: resourceID,
		model: model, waves: map[string]*waveSpan{}, evByVM: map[string]*evictionSpan{}, pending: map[evKey]*evictionSpan{},
		jobs: map[string]*jobSpan{}, prev: map[string]trace.SpanContext{}, saved: map[string]int64{},
	}
}

var _ journal.Sink = (*runTrace)(nil)
var _ sim.Observer = (*runTrace)(nil)

// at is the wall (or virtual) time of run time t.
func (rt *runTrace) at(t float64) time.Time {
	if !rt.originOK && rt.originFunc != nil {
		if o := rt.originFunc(); !o.IsZero() {
			rt.origin, rt.originOK = o, true
		}
	}
	return rt.origin.Add(time.Duration(math.Round(t * 1e9)))
}

func stamp(e *journal.Event, sc trace.SpanContext) {
	if e.TraceID == "" && sc.IsValid() {
		e.TraceID, e.SpanID = sc.TraceID().String(), sc.SpanID().String()
	}
}

// Emit traces one event of the run.
func (rt *runTrace) Emit(e *journal.Event) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if e.Type == journal.RunStarted {
		rt.startRoot(e)
		return
	}
	if !rt.started || rt.done {
		return
	}
	rt.lastT = max(rt.lastT, e.T)
	rt.drainSettled()
	ts := trace.WithTimestamp(rt.at(e.T))
	switch e.Type {
	case journal.Planned:
		if e.Plan != nil {
			rt.root.AddEvent("plan", ts, trace.WithAttributes(attribute.Int("spotdrill.plan.targets", e.Plan.Size()),
				attribute.Int("spotdrill.plan.excluded", len(e.Plan.Excluded))))
		}
		stamp(e, rt.root.SpanContext())
	case journal.WaveStarted:
		rt.startWave(e)
	case journal.FaultStarted, journal.FaultEnded:
		if w := rt.waves[e.Wave]; w != nil {
			w.span.AddEvent(string(e.Type), ts)
			w.end = max(w.end, e.T)
			stamp(e, w.span.SpanContext())
		}
	case journal.EvictionRequested, journal.EvictionNoticed, journal.EvictionDrained, journal.EvictionEvicted:
		rt.evictionPhase(e)
	case journal.EvictionBlocked, journal.EvictionFailed:
		parent := rt.root
		if w := rt.waves[e.Wave]; w != nil {
			parent = w.span
		}
		parent.AddEvent(string(e.Type), ts, trace.WithAttributes(attribute.String(spotwork.AttrHostName, e.VM),
			attribute.String("spotdrill.code", e.Code), attribute.String("spotdrill.reason", e.Reason)))
		stamp(e, parent.SpanContext())
	case journal.VMRunning:
		rt.vmRunning(e)
	case journal.JobResumed:
		if rt.model != nil {
			rt.resumed(e)
		}
	case journal.JobInterrupted:
		if l := rt.lastEnded; l.job == e.Job && l.attempt == e.Attempt {
			stamp(e, l.sc)
		}
	case journal.Aborted, journal.Note:
		rt.root.AddEvent(string(e.Type), ts, trace.WithAttributes(attribute.String("spotdrill.code", e.Code),
			attribute.String("spotdrill.reason", e.Reason)))
		stamp(e, rt.root.SpanContext())
	case journal.RunEnded:
		rt.ended, rt.endT = true, e.T
		rt.root.SetAttributes(attribute.String("spotdrill.status", e.Status))
		if e.Reason != "" {
			rt.root.SetAttributes(attribute.String("spotdrill.reason", e.Reason))
		}
		stamp(e, rt.root.SpanContext())
		// Attempts still running when the run ends end with it.
		for job, js := range rt.jobs {
			js.span.SetAttributes(attribute.String(spotwork.AttrOutcome, "running"))
			js.span.End(trace.WithTimestamp(rt.at(e.T)))
			delete(rt.jobs, job)
		}
	}
}

func (rt *runTrace) startRoot(e *journal.Event) {
	if rt.started || e.Run == nil {
		return
	}
	start, err := time.Parse(time.RFC3339Nano, e.Run.Start)
	if err != nil || rt.originFunc != nil {
		// A real fleet's clock starts with its world, a moment later.
		start = time.Now()
	}
	rt.started, rt.origin = true, start
	attrs := []attribute.KeyValue{
		attribute.String("spotdrill.scenario", e.Run.Scenario),
		attribute.String("spotdrill.provider", e.Run.Provider),
		attribute.Int64("spotdrill.seed", e.Run.Seed),
		attribute.Float64("spotdrill.duration", e.Run.Duration),
		attribute.String(attrCloudProvider, "azure"),
	}
	if rt.region != "" {
		attrs = append(attrs, attribute.String(attrCloudRegion, rt.region))
	}
	if e.Run.ScenarioSHA256 != "" {
		attrs = append(attrs, attribute.String("spotdrill.scenario.sha256", e.Run.ScenarioSHA256))
	}
	rt.rootCtx, rt.root = rt.tracer.Start(context.Background(), "game day "+e.Run.Scenario,
		trace.WithNewRoot(), trace.WithTimestamp(rt.at(e.T)), trace.WithAttributes(attrs...))
	stamp(e, rt.root.SpanContext())
}

func (rt *runTrace) startWave(e *journal.Event) {
	w := &waveSpan{start: e.T, end: e.T}
	w.ctx, w.span = rt.tracer.Start(rt.rootCtx, "wave "+e.Wave, trace.WithTimestamp(rt.at(e.T)),
		trace.WithAttributes(attribute.String(attrWave, e.Wave), attribute.String("spotdrill.wave.code", e.Code),
			attribute.Int("spotdrill.wave.count", e.Count), attribute.String("spotdrill.wave.what", e.Reason)))
	if old := rt.waves[e.Wave]; old != nil {
		// A wave fired twice (a manual re-fire): the first keeps its span.
		rt.waveOrder = append(rt.waveOrder, old)
	}
	rt.waves[e.Wave] = w
	rt.waveOrder = append(rt.waveOrder, w)
	stamp(e, w.span.SpanContext())
}

// evictionPhase opens or extends the VM's eviction span: a span opens with
// the first phase and closes when the VM runs again, as reports count them.
func (rt *runTrace) evictionPhase(e *journal.Event) {
	ev := rt.evByVM[e.VM]
	if ev == nil || ev.closed || !math.IsNaN(ev.evicted) {
		ev = &evictionSpan{vm: e.VM, opened: e.T, evicted: unset, replaced: unset}
		parent := rt.rootCtx
		if w := rt.waves[e.Wave]; w != nil && e.Wave != "" {
			ev.wave, parent = w, w.ctx
		}
		// On Azure the journal names a VM by its ARM ID: the host is its
		// computer name, the last of its aliases.
		host, id := e.VM, ""
		if names := vmAliases(e.VM); len(names) > 0 {
			host, id = names[len(names)-1], e.VM
		} else if rt.resourceID != nil {
			id = rt.resourceID(e.VM)
		}
		attrs := []attribute.KeyValue{
			attribute.String(spotwork.AttrHostName, host),
			attribute.String(attrCloudProvider, "azure"),
			attribute.String(attrPool, e.Pool),
			attribute.String(attrZone, e.Zone),
		}
		if rt.region != "" {
			attrs = append(attrs, attribute.String(attrCloudRegion, rt.region))
		}
		if id != "" {
			attrs = append(attrs, attribute.String(spotwork.AttrResourceID, id))
		}
		if e.Wave != "" {
			attrs = append(attrs, attribute.String(attrWave, e.Wave))
		}
		_, ev.span = rt.tracer.Start(parent, "eviction "+host, trace.WithTimestamp(rt.at(e.T)), trace.WithAttributes(attrs...))
		rt.evByVM[e.VM] = ev
		rt.pending[evKey{ev.vm, ev.opened}] = ev
	}
	ev.last = max(ev.last, e.T)
	var attrs []attribute.KeyValue
	if e.Cause != "" {
		attrs = append(attrs, attribute.String(attrCause, e.Cause))
		ev.span.SetAttributes(attribute.String(attrCause, e.Cause))
	}
	name := "requested"
	switch e.Type {
	case journal.EvictionNoticed:
		name = "noticed"
		if e.At != nil {
			attrs = append(attrs, attribute.String("spotdrill.notice.not_before", rt.at(*e.At).UTC().Format(time.RFC3339Nano)))
		}
	case journal.EvictionDrained:
		name = "drained"
	case journal.EvictionEvicted:
		name = "evicted"
		ev.evicted, ev.policy = e.T, e.Policy
		attrs = append(attrs, attribute.String(attrPolicy, e.Policy), attribute.Int("spotdrill.eviction.jobs_running", e.Count))
		ev.span.SetAttributes(attribute.String(attrPolicy, e.Policy))
	}
	ev.span.AddEvent(name, trace.WithTimestamp(rt.at(e.T)), trace.WithAttributes(attrs...))
	stamp(e, ev.span.SpanContext())
}

// vmRunning marks the replacement of an evicted VM, and closes the eviction
// of a VM that runs again.
func (rt *runTrace) vmRunning(e *journal.Event) {
	replaced := e.Replaces
	if replaced == "" {
		replaced = e.VM
	}
	if ev := rt.evByVM[replaced]; ev != nil && !math.IsNaN(ev.evicted) && math.IsNaN(ev.replaced) {
		ev.replaced = e.T
		ev.last = max(ev.last, e.T)
		ev.span.AddEvent("replaced", trace.WithTimestamp(rt.at(e.T)),
			trace.WithAttributes(attribute.String("spotdrill.replaced_by", e.VM), attribute.Bool("spotdrill.fallback", e.Fallback)))
		stamp(e, ev.span.SpanContext())
		if ev.result != nil {
			rt.endEviction(ev, e.T)
		}
	}
	if ev := rt.evByVM[e.VM]; ev != nil && !math.IsNaN(ev.evicted) {
		ev.closed = true
	}
}

// resumed starts the span of a simulated attempt that resumes a job, live,
// so that the correlator sees it start when it starts.
func (rt *runTrace) resumed(e *journal.Event) {
	if old := rt.jobs[e.Job]; old != nil {
		old.span.End(trace.WithTimestamp(rt.at(e.T)))
	}
	p0 := rt.saved[e.Job]
	js := &jobSpan{attempt: e.Attempt, p0: p0}
	opts := rt.attemptStart(e.Job, e.Attempt, e.VM, p0, time.Duration(math.Round(e.T*1e9)))
	_, js.span = rt.tracer.Start(rt.rootCtx, spotwork.SpanAttempt, opts...)
	delete(rt.prev, e.Job)
	rt.jobs[e.Job] = js
	stamp(e, js.span.SpanContext())
}

func (rt *runTrace) attemptStart(job string, attempt int, vm string, p0 int64, start time.Duration, more ...attribute.KeyValue) []trace.SpanStartOption {
	attrs := make([]attribute.KeyValue, 0, 5+len(more))
	attrs = append(attrs,
		attribute.String(spotwork.AttrJobID, job),
		attribute.Int(spotwork.AttrAttempt, attempt),
		attribute.String(spotwork.AttrHostName, vm),
	)
	attrs = append(attrs, more...)
	if p0 > 0 {
		attrs = append(attrs, attribute.Float64(spotwork.AttrProgress, float64(p0)/1e9))
	}
	if rt.model.local {
		attrs = append(attrs, attribute.String(spotwork.AttrStorage, spotwork.StorageLocal))
	}
	opts := []trace.SpanStartOption{trace.WithTimestamp(rt.origin.Add(start)), trace.WithAttributes(attrs...)}
	if prev, ok := rt.prev[job]; ok {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: prev,
			Attributes: []attribute.KeyValue{attribute.String(spotwork.AttrLink, spotwork.LinkPreviousAttempt)}}))
	}
	return opts
}

// AttemptEnded turns a simulated job attempt into a span through the SDK:
// the same span a worker instrumented with spotwork would send.
func (rt *runTrace) AttemptEnded(a *sim.Attempt) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if !rt.started || rt.done || rt.model == nil {
		return
	}
	var span trace.Span
	var p0 int64
	// What the attempt's span knows only at its end; a span created now
	// takes it at its start, in one go, which costs the SDK less.
	late := []attribute.KeyValue{attribute.String(attrPool, a.Pool), attribute.String(attrZone, a.Zone),
		attribute.String(spotwork.AttrOutcome, a.Outcome)}
	if js := rt.jobs[a.Job]; js != nil && js.attempt == a.Attempt {
		span, p0 = js.span, js.p0
		delete(rt.jobs, a.Job)
		span.SetAttributes(late...)
	} else {
		if a.Attempt > 1 {
			p0 = rt.saved[a.Job]
		}
		_, span = rt.tracer.Start(rt.rootCtx, spotwork.SpanAttempt, rt.attemptStart(a.Job, a.Attempt, a.VM, p0, a.Start, late...)...)
	}
	m := rt.model
	restart := int64(0)
	if a.Attempt > 1 {
		restart = m.restart
	}
	// Events go on in time order: the checkpoint taken on the notice comes
	// after the notice.
	type ev struct {
		at       time.Duration
		name     string
		progress int64
	}
	evs := make([]ev, 0, len(a.Checkpoints)+3)
	last := p0
	for i, c := range a.Checkpoints {
		k := int64(i + 1)
		p := p0 + k*m.tau
		if int64(c) != int64(a.Start)+restart+k*(m.tau+m.delta) {
			p = m.workDone(p0, int64(a.Start)+restart, int64(a.Notice)) // the checkpoint taken on the notice
		}
		last = p
		evs = append(evs, ev{c, spotwork.EventCheckpoint, p})
	}
	if a.Notice >= 0 {
		evs = append(evs, ev{a.Notice, spotwork.EventPreemptNotice, -1})
	}
	if a.DrainStart >= 0 {
		evs = append(evs, ev{a.DrainStart, spotwork.EventDrainStart, -1})
	}
	if a.DrainEnd >= 0 {
		evs = append(evs, ev{a.DrainEnd, spotwork.EventDrainEnd, -1})
	}
	slices.SortStableFunc(evs, func(x, y ev) int { return cmp.Compare(x.at, y.at) })
	for _, e := range evs {
		opts := []trace.EventOption{trace.WithTimestamp(rt.origin.Add(e.at))}
		if e.progress >= 0 {
			opts = append(opts, trace.WithAttributes(attribute.Float64(spotwork.AttrCheckpointProgress, float64(e.progress)/1e9)))
		}
		span.AddEvent(e.name, opts...)
	}
	if ev := rt.evByVM[a.VM]; ev != nil && !ev.closed && a.Outcome != sim.OutcomeCompleted {
		// Handed back on the eviction's notice, or killed by it.
		span.AddLink(trace.Link{SpanContext: ev.span.SpanContext(),
			Attributes: []attribute.KeyValue{attribute.String(spotwork.AttrLink, spotwork.LinkEvictedBy)}})
		if a.Outcome == sim.OutcomeKilled && ev.policy == scenarios.EvictionDelete && m.local {
			last = 0
		}
	}
	if a.Outcome == sim.OutcomeKilled {
		span.SetStatus(codes.Error, "evicted")
	}
	span.End(trace.WithTimestamp(rt.origin.Add(a.End)))
	sc := span.SpanContext()
	if a.Outcome == sim.OutcomeCompleted {
		delete(rt.prev, a.Job)
		delete(rt.saved, a.Job)
	} else {
		rt.prev[a.Job] = sc
		rt.saved[a.Job] = max(last, 0)
	}
	rt.lastEnded.job, rt.lastEnded.attempt, rt.lastEnded.sc = a.Job, a.Attempt, sc
}

// workDone is the work an attempt that restored p0 and started making
// progress at begin has done by x, saved or not (the simulator's model).
func (m *simModel) workDone(p0, begin, x int64) int64 {
	e := x - begin
	if e <= 0 {
		return p0
	}
	if m.tau <= 0 {
		return p0 + e
	}
	k := e / (m.tau + m.delta)
	return p0 + k*m.tau + min(e-k*(m.tau+m.delta), m.tau)
}

// finish ends every span left: evictions still waiting for their work or
// their replacement, with the run; waves with their last eviction; the
// root with the run and its SLO grades.
func (rt *runTrace) finish(g *reports.Grading, metrics []reports.MetricValue) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if !rt.started || rt.done {
		return
	}
	rt.drainSettled()
	rt.done = true
	end := rt.lastT
	if rt.ended {
		end = rt.endT
	}
	for job, js := range rt.jobs {
		js.span.End(trace.WithTimestamp(rt.at(end)))
		delete(rt.jobs, job)
	}
	var res Result
	if rt.corr != nil {
		res = rt.corr.Result()
	}
	results := map[evKey]*Eviction{}
	for i := range res.Evictions {
		results[evKey{res.Evictions[i].VM, res.Evictions[i].Opened}] = &res.Evictions[i]
	}
	links := map[evKey][]Interruption{}
	for _, in := range res.Interruptions {
		if in.Evicted == nil {
			continue
		}
		for k, ev := range rt.pending {
			if ev.vm == in.VM && ev.evicted == *in.Evicted && len(links[k]) < maxEvictionLinks {
				links[k] = append(links[k], in)
			}
		}
	}
	left := make([]*evictionSpan, 0, len(rt.pending))
	for _, ev := range rt.pending {
		left = append(left, ev)
	}
	slices.SortFunc(left, func(a, b *evictionSpan) int { return cmp.Compare(a.opened, b.opened) })
	for _, ev := range left {
		k := evKey{ev.vm, ev.opened}
		if r := results[k]; r != nil {
			ev.result = &settledEviction{Eviction: *r, Links: links[k]}
		}
		rt.endEviction(ev, end)
	}
	for _, w := range rt.waveOrder {
		w.span.End(trace.WithTimestamp(rt.at(max(w.end, w.start))))
	}
	rt.annotateRoot(g, metrics, res)
	rt.root.End(trace.WithTimestamp(rt.at(end)))
}

// drainSettled ends the eviction spans whose work has recovered and whose
// VM has been replaced, so that a long run holds only the evictions in
// flight.
func (rt *runTrace) drainSettled() {
	if rt.corr == nil {
		return
	}
	for _, se := range rt.corr.takeSettled() {
		ev := rt.pending[evKey{se.VM, se.Opened}]
		if ev == nil {
			continue
		}
		se := se
		ev.result = &se
		if !math.IsNaN(ev.replaced) {
			rt.endEviction(ev, rt.lastT)
		}
	}
}

// endEviction annotates an eviction span with what the correlator found and
// ends it when the last of its phases, its replacement and its recovery has
// happened, or at end if its work is still down.
func (rt *runTrace) endEviction(ev *evictionSpan, end float64) {
	stop := max(ev.last, ev.opened)
	open := math.IsNaN(ev.evicted)
	if r := ev.result; r != nil {
		ev.span.SetAttributes(attribute.Int("spotdrill.jobs.interrupted", r.Jobs),
			attribute.Int("spotdrill.jobs.unrecovered", r.Unrecovered),
			attribute.Float64("spotdrill.lost_work", r.Lost), attribute.Bool("spotdrill.uncorrelated", r.Uncorrelated))
		if r.TTR != nil {
			ev.span.SetAttributes(attribute.Float64("spotdrill.ttr", *r.TTR))
		}
		if r.Recovered != nil {
			ev.span.AddEvent("recovered", trace.WithTimestamp(rt.at(*r.Recovered)))
			stop = max(stop, *r.Recovered)
		}
		open = open || r.Unrecovered > 0
		for _, in := range r.Links {
			ev.span.AddLink(linkTo(in))
		}
	}
	if !math.IsNaN(ev.evicted) && !math.IsNaN(ev.replaced) {
		ev.span.SetAttributes(attribute.Float64("spotdrill.ttr.capacity", ev.replaced-ev.evicted))
	}
	if open {
		stop = max(stop, end)
	}
	ev.span.End(trace.WithTimestamp(rt.at(stop)))
	if ev.wave != nil {
		ev.wave.end = max(ev.wave.end, stop)
	}
	delete(rt.pending, evKey{ev.vm, ev.opened})
	if rt.evByVM[ev.vm] == ev {
		delete(rt.evByVM, ev.vm)
	}
	ev.span, ev.result = nil, nil
}

// evKey names an eviction by its VM and a time: when it opened, or landed.
type evKey struct {
	vm string
	t  float64
}

func linkTo(in Interruption) trace.Link {
	tid, _ := trace.TraceIDFromHex(in.TraceID)
	sid, _ := trace.SpanIDFromHex(in.SpanID)
	return trace.Link{
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, Remote: true}),
		Attributes: []attribute.KeyValue{attribute.String("spotdrill.link", "interrupted"),
			attribute.String(spotwork.AttrJobID, in.Job)},
	}
}

// annotateRoot puts the SLO grades, the metrics and the correlation summary
// on the root span.
func (rt *runTrace) annotateRoot(g *reports.Grading, metrics []reports.MetricValue, res Result) {
	r := rt.root
	r.SetAttributes(attribute.Int("spotdrill.evictions.uncorrelated", res.Uncorrelated),
		attribute.Int("spotdrill.spans.unconventional", res.Spans.Unconventional),
		attribute.Int("spotdrill.spans.unknown_hosts", len(res.Spans.UnknownHosts)))
	for _, m := range metrics {
		if m.Measured {
			r.SetAttributes(attribute.Float64("spotdrill.metric."+m.Name, m.Value))
		}
	}
	if g == nil {
		return
	}
	r.SetAttributes(attribute.String("spotdrill.verdict", string(g.Verdict)), attribute.Int("spotdrill.score", g.Score),
		attribute.Int("spotdrill.slo.met", g.Met), attribute.Int("spotdrill.slo.failed", g.Failed))
	var objectives []string
	var pass []bool
	for _, s := range g.Grades {
		objectives = append(objectives, s.Objective)
		pass = append(pass, s.Pass)
		attrs := []attribute.KeyValue{
			attribute.String("spotdrill.slo.name", s.Name), attribute.String("spotdrill.slo.objective", s.Objective),
			attribute.Bool("spotdrill.slo.pass", s.Pass), attribute.Bool("spotdrill.slo.measured", s.Measured),
		}
		if s.Measured {
			attrs = append(attrs, attribute.Float64("spotdrill.slo.value", s.Value), attribute.Float64("spotdrill.slo.margin", s.Margin))
		}
		if s.Note != "" {
			attrs = append(attrs, attribute.String("spotdrill.slo.note", s.Note))
		}
		r.AddEvent("slo", trace.WithTimestamp(rt.at(max(rt.endT, rt.lastT))), trace.WithAttributes(attrs...))
	}
	r.SetAttributes(attribute.StringSlice("spotdrill.slo.objectives", objectives), attribute.BoolSlice("spotdrill.slo.pass", pass))
	if g.Failed > 0 {
		r.SetStatus(codes.Error, fmt.Sprintf("%d of %d SLOs failed", g.Failed, len(g.Grades)))
	}
}
