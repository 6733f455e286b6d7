// Package experiments runs a game day: it freezes the plan, advances the
// world step by step, fires each wave through the blast-radius guard and
// the injector, evaluates abort conditions, and records every fact in the
// journal. The same runner drives the simulated fleet and Azure.
package experiments

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spotdrill/spotdrill/blastradius"
	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// World is what the runner drives: the simulated fleet, or Azure seen
// through its injector and observers.
type World interface {
	injector.Injector
	// Start brings the world up at time zero.
	Start(ctx context.Context) error
	// Now is the run clock.
	Now() time.Duration
	// AdvanceTo lets the world run until t, observing everything that
	// happens on the way.
	AdvanceTo(ctx context.Context, t time.Duration) error
	// ApplyFault starts a market fault (simulated fleet only).
	ApplyFault(wave string, f scenarios.Fault) error
	// Finish closes the workload with its summary.
	Finish()
}

// Live answers metric queries during the run, for abort conditions and
// progress. reports.Accumulator is the implementation.
type Live interface {
	journal.Sink
	Value(metric string) (float64, bool)
}

// Progress is what a progress line shows.
type Progress struct {
	Now      time.Duration
	Duration time.Duration
	// Events counts the journal's events so far.
	Events    int64
	Evictions int
	Backlog   int
	Running   int
	// Paused is true while the control holds the clock.
	Paused bool
	// Waiting names the wave that waits for the facilitator (manual mode).
	Waiting string
}

// Config is one run.
type Config struct {
	Scenario *scenarios.Scenario
	World    World
	// Bus receives every event; the journal writer and live views
	// subscribe to it.
	Bus *journal.Bus
	// Live is fed by Bus (the caller subscribes it) and read for abort
	// conditions.
	Live Live
	// Tick is how often abort conditions are checked and progress reported,
	// on the run clock. Default 10 s.
	Tick time.Duration
	// DrainTimeout is how long an aborted run keeps observing recovery.
	// Default 10 min.
	DrainTimeout time.Duration
	// Progress, when set, is called after every tick.
	Progress func(Progress)
	// Control, when set, lets a console pause, pace, fire waves, halt and
	// take notes.
	Control *Control
	// Confirm, when set, is shown the frozen plan before anything is
	// evicted; the run goes on only if it returns true (Azure: --confirm,
	// or an interactive yes).
	Confirm func(*Plan) bool
	// Journal makes what the bus wrote durable before the runner acts on
	// it: every eviction.requested reaches the file before its call, and
	// once the journal fails nothing more is done. Nil only in tests that
	// keep the journal in memory.
	Journal Recorder
	// Claim, when set, is called with the frozen plan before it is
	// confirmed: it locks the plan's targets against other runs, or says
	// who holds them (the run is then refused for safety).
	Claim func(*Plan) error
	// RunID names the run. With Lease, the run tags the plan's scale sets
	// and VMs with spotdrill-run=RunID before the first wave and removes
	// the tag when it ends; every run refuses targets leased by another.
	RunID string
	Lease bool
	// Tool and ScenarioSHA256 go into run.started.
	Tool           string
	ScenarioSHA256 string

	// runDespitePlan lets the safety property tests drive the guard with
	// plans that plan-time checks would refuse, to prove that the guard
	// alone holds every limit. Nothing outside the tests sets it.
	runDespitePlan bool
}

// Recorder is the journal as the runner needs it.
type Recorder interface {
	// Commit writes every event emitted so far to the file (and syncs it
	// on a real fleet), or says why it cannot.
	Commit() error
	// Err is the journal's first write error, if any.
	Err() error
}

// Result is how a run ended.
type Result struct {
	Status string
	Reason string
	// JournalErr is the journal's write error that stopped the run: it
	// was aborted, since nothing may be done that is not recorded.
	JournalErr error
	// LeaseErr is a lease that could not be released: the tag stays on
	// the named resources until someone removes it.
	LeaseErr error
	// Refused is true when the plan broke a safety limit, or had nothing it
	// may evict; nothing was evicted then.
	Refused bool
	// Plan is the frozen plan.
	Plan *Plan
}

// Runner holds one run's state. Use Run.
type runner struct {
	cfg      Config
	sc       *scenarios.Scenario
	w        World
	bus      *journal.Bus
	guard    *blastradius.Guard
	rng      *rand.Rand
	waves    []scenarios.Wave
	next     int
	aborts   []abortState
	end      time.Duration
	start    time.Time
	ctl      *Control
	progress Progress
	leased   []string
	leaseErr error
}

type abortState struct {
	cond  scenarios.Condition
	grace time.Duration
	since time.Duration // when the condition started holding; -1 if not
}

// Run plays a scenario to its end, to an abort, or until ctx is cancelled
// (the kill switch). Only an internal error returns a non-nil error; how the
// run ended is in the Result and the journal.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Tick <= 0 {
		cfg.Tick = 10 * time.Second
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 10 * time.Minute
	}
	sc := cfg.Scenario
	r := &runner{
		cfg: cfg, sc: sc, w: cfg.World, bus: cfg.Bus,
		rng: rand.New(rand.NewPCG(uint64(sc.Seed), 0xa7e5)),
		end: sc.Duration.D(), start: RunStart(sc), ctl: cfg.Control,
	}
	if cfg.Progress != nil {
		r.bus.Subscribe(journal.SinkFunc(r.observe))
	}
	r.waves = slices.Clone(sc.Waves)
	sort.SliceStable(r.waves, func(i, j int) bool { return r.waves[i].At < r.waves[j].At })
	for _, a := range sc.AbortWhen {
		r.aborts = append(r.aborts, abortState{cond: a.When, grace: a.Grace.D(), since: -1})
	}
	r.bus.Emit(&journal.Event{Type: journal.RunStarted, Run: r.runInfo()})
	if err := r.w.Start(ctx); err != nil {
		if ctx.Err() != nil {
			return r.stopped(), nil
		}
		return r.finish(journal.StatusFailed, err.Error()), err
	}
	if ctx.Err() != nil { // a signal during the setup: nothing was planned
		return r.stopped(), nil
	}
	res, err := r.plan(ctx)
	if err != nil || res.Refused {
		return res, err
	}
	out, err := r.loop(ctx)
	out.Plan = res.Plan
	return out, err
}

func (r *runner) runInfo() *journal.Run {
	sc := r.sc
	info := &journal.Run{
		SchemaVersion: journal.SchemaVersion, Tool: r.cfg.Tool, Scenario: sc.Metadata.Name, File: sc.File,
		ScenarioSHA256: r.cfg.ScenarioSHA256, Provider: sc.Target.Provider, Seed: sc.Seed, Start: sc.Start,
		Duration: sc.Duration.D().Seconds(),
	}
	if sc.Target.Provider == scenarios.ProviderAzure {
		info.Start = r.start.Format(time.RFC3339) // the wall clock at t=0
	}
	if sc.Fleet != nil {
		fallbackFor := map[string]string{}
		for _, p := range sc.Fleet.Pools {
			if p.Fallback != nil {
				fallbackFor[p.Fallback.Pool] = p.Name
			}
		}
		for _, p := range sc.Fleet.Pools {
			info.Pools = append(info.Pools, journal.Pool{
				Name: p.Name, Priority: p.Priority, SKU: p.SKU, Zones: p.Zones, Capacity: p.Capacity,
				EvictionPolicy: p.EvictionPolicy, SpotPrice: p.SpotPrice, OnDemandPrice: p.OnDemandPrice,
				FallbackFor: fallbackFor[p.Name],
			})
		}
	}
	for _, s := range sc.SLOs {
		info.SLOs = append(info.SLOs, journal.SLO{Name: s.Name, Objective: s.Objective.Raw})
	}
	for _, a := range sc.AbortWhen {
		info.Aborts = append(info.Aborts, a.When.Raw)
	}
	for _, w := range sc.Waves {
		info.Waves = append(info.Waves, w.Name)
	}
	return info
}

// plan freezes what the run may touch and records it. A plan with problems
// is refused before anything is evicted.
func (r *runner) plan(ctx context.Context) (Result, error) {
	targets, err := r.w.Discover(ctx)
	if err != nil {
		return r.finish(journal.StatusFailed, "discovery failed: "+err.Error()), fmt.Errorf("discover targets: %w", err)
	}
	p, err := NewPlan(r.sc, targets, r.start)
	if err != nil {
		return r.finish(journal.StatusFailed, err.Error()), err
	}
	p.limits.RunID = r.cfg.RunID
	r.guard = blastradius.New(p.limits, p.scope, r.start)
	r.bus.Subscribe(r.guard)
	r.bus.Emit(&journal.Event{T: r.w.Now().Seconds(), Type: journal.Planned, Plan: p.journalPlan()})
	if !p.OK() && !r.cfg.runDespitePlan {
		res := r.finish(journal.StatusAborted, "refused for safety: "+strings.Join(p.Problems, "; "))
		res.Refused = true
		res.Plan = p
		return res, nil
	}
	if r.cfg.Claim != nil {
		if err := r.cfg.Claim(p); err != nil {
			res := r.finish(journal.StatusAborted, "refused for safety: "+err.Error())
			res.Refused = true
			res.Plan = p
			return res, nil
		}
	}
	if r.cfg.Confirm != nil && !r.cfg.Confirm(p) {
		res := r.finish(journal.StatusAborted, "refused for safety: the plan was not confirmed")
		res.Refused = true
		res.Plan = p
		return res, nil
	}
	if r.cfg.Lease {
		if err := r.lease(ctx, p); err != nil {
			res := r.finish(journal.StatusAborted, "refused for safety: "+err.Error())
			res.Refused = true
			res.Plan = p
			return res, nil
		}
	}
	return Result{Plan: p}, nil
}

// Leaser is implemented by worlds that can lease their targets (Azure):
// tag them with the run's ID so that runs on other machines keep away.
type Leaser interface {
	Lease(ctx context.Context, runID string, ids []string) error
	Release(ctx context.Context, runID string, ids []string) error
}

// lease tags the plan's scale sets and VMs with the run's ID, recorded
// before it is written, like every change the run makes.
func (r *runner) lease(ctx context.Context, p *Plan) error {
	l, ok := r.w.(Leaser)
	if !ok {
		return errors.New("--lease needs provider azure: the simulated fleet has nothing to lease")
	}
	if r.cfg.RunID == "" {
		return errors.New("--lease needs a run ID")
	}
	ids := p.LeaseIDs()
	r.bus.Emit(&journal.Event{T: r.w.Now().Seconds(), Type: journal.Note, Code: "lease",
		Reason: fmt.Sprintf("leasing %d resources with %s=%s: %s", len(ids), injector.LeaseTag, r.cfg.RunID, strings.Join(ids, ", "))})
	if err := r.commit(); err != nil {
		return err
	}
	if err := l.Lease(ctx, r.cfg.RunID, ids); err != nil {
		return fmt.Errorf("could not lease the targets: %w", err)
	}
	r.leased = ids
	return nil
}

// release removes the lease, even after the kill switch: it is the run's
// own cleanup, not an action on the fleet.
func (r *runner) release() {
	if len(r.leased) == 0 {
		return
	}
	l := r.w.(Leaser)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := l.Release(ctx, r.cfg.RunID, r.leased); err != nil {
		r.leaseErr = err
		r.bus.Emit(&journal.Event{T: r.w.Now().Seconds(), Type: journal.Note, Code: "lease",
			Reason: fmt.Sprintf("the lease %s=%s could not be removed from every resource: %v", injector.LeaseTag, r.cfg.RunID, err)})
	} else {
		r.bus.Emit(&journal.Event{T: r.w.Now().Seconds(), Type: journal.Note, Code: "lease",
			Reason: fmt.Sprintf("released the lease %s=%s", injector.LeaseTag, r.cfg.RunID)})
	}
	r.leased = nil
}

func hasEvictions(ws []scenarios.Wave) bool {
	for _, w := range ws {
		if w.Evict != nil {
			return true
		}
	}
	return false
}

func (r *runner) loop(ctx context.Context) (Result, error) {
	aborted := false
	reason := ""
	stopAt := r.end
	for now := r.w.Now(); now < stopAt; now = r.w.Now() {
		if ctx.Err() != nil {
			return r.stopped(), nil
		}
		if err := r.journalErr(); err != nil {
			return r.journalFailed(err), nil
		}
		if r.ctl != nil && r.ctl.halted() {
			r.guard.Abort()
			r.bus.Emit(&journal.Event{T: r.w.Now().Seconds(), Type: journal.Aborted, Code: "halt", Reason: "halted by the facilitator (kill switch)"})
			return r.finish(journal.StatusAborted, "halted by the facilitator"), nil
		}
		next := min(now+r.cfg.Tick, stopAt)
		next = next / r.cfg.Tick * r.cfg.Tick
		if next <= now {
			next = min(now+r.cfg.Tick, stopAt)
		}
		if !aborted && r.next < len(r.waves) && r.waves[r.next].At.D() < next {
			next = max(r.waves[r.next].At.D(), now)
		}
		if err := r.advance(ctx, next); err != nil {
			if ctx.Err() != nil {
				continue
			}
			return r.finish(journal.StatusFailed, err.Error()), err
		}
		if !aborted {
			if err := r.fireDue(ctx); err != nil {
				if jerr := r.journalErr(); jerr != nil {
					return r.journalFailed(jerr), nil
				}
				return r.finish(journal.StatusFailed, err.Error()), err
			}
			if c, v, ok := r.checkAborts(); ok {
				aborted = true
				r.guard.Abort()
				reason = fmt.Sprintf("abort condition %q fired (measured %s)", c.Raw, formatMetric(c.Metric, v))
				r.bus.Emit(&journal.Event{T: r.w.Now().Seconds(), Type: journal.Aborted, Code: c.Raw, Value: v, Reason: reason})
				stopAt = min(r.end, r.w.Now()+r.cfg.DrainTimeout)
			}
		}
		r.report()
	}
	if aborted {
		return r.finish(journal.StatusAborted, reason), nil
	}
	return r.finish(journal.StatusCompleted, ""), nil
}

// fireDue fires the waves whose time has come, and the next one early when
// the facilitator fires it (n in the console).
//
// In manual mode no wave fires on its own: the facilitator fires each one,
// before or after its planned time. On the simulated fleet the clock holds
// at a wave's planned time until then; on a real fleet time goes on and
// the wave waits. Outside manual mode a wave fires at its time, and the
// facilitator may fire the next one early.
func (r *runner) fireDue(ctx context.Context) error {
	for r.next < len(r.waves) {
		w := r.waves[r.next]
		due := w.At.D() <= r.w.Now()
		manual := false
		if r.ctl != nil {
			_, _, manual = r.ctl.snapshot()
		}
		switch {
		case r.ctl != nil && r.ctl.takeFire():
			// Fired by hand, now.
		case manual && due && r.holdsClock():
			r.progress.Waiting = w.Name
			r.report()
			r.ctl.waitWhile(ctx, func() bool { return !r.ctl.takeFire() })
			r.progress.Waiting = ""
			if ctx.Err() != nil || r.ctl.halted() {
				return nil
			}
		case manual && due:
			// Wall clock: the wave waits for the facilitator, time goes on.
			if r.progress.Waiting != w.Name {
				r.progress.Waiting = w.Name
				r.report()
			}
			return nil
		case due:
		default:
			return nil
		}
		r.progress.Waiting = ""
		if err := r.fire(ctx, w); err != nil {
			return err
		}
		r.next++
	}
	return nil
}

// holdsClock reports whether the run's clock can wait for the facilitator:
// virtual time can, the wall clock of a real fleet cannot.
func (r *runner) holdsClock() bool {
	_, wall := r.w.(interface{ WallClock() bool })
	return !wall
}

// advance moves the world to next: at once, or paced at the control's speed
// in small steps so that a console sees the day unfold, pausing when asked.
// Pacing only changes when events are processed, never which: a paced run's
// journal is the headless run's, notes aside.
func (r *runner) advance(ctx context.Context, next time.Duration) error {
	if r.ctl == nil {
		return r.w.AdvanceTo(ctx, next)
	}
	var anchorWall time.Time
	var anchorVirt time.Duration
	lastSpeed := -1.0
	for {
		r.writeNotes()
		if ctx.Err() != nil || r.ctl.halted() {
			return nil
		}
		paused, speed, _ := r.ctl.snapshot()
		if paused {
			r.progress.Paused = true
			r.report()
			r.ctl.waitWhile(ctx, func() bool { p, _, _ := r.ctl.snapshot(); return p })
			r.progress.Paused = false
			lastSpeed = -1
			continue
		}
		now := r.w.Now()
		if now >= next {
			return nil
		}
		if speed == 0 && !r.holdsClock() {
			// The wall clock of a real fleet: a second at a time, so that
			// the facilitator's keys (fire, halt, notes) act within one.
			if err := r.w.AdvanceTo(ctx, min(now+time.Second, next)); err != nil {
				return err
			}
			r.report()
			if r.ctl.firePending() {
				return nil // the loop fires it, unless the run was aborted
			}
			continue
		}
		if speed == 0 {
			return r.w.AdvanceTo(ctx, next)
		}
		if speed != lastSpeed {
			anchorWall, anchorVirt, lastSpeed = time.Now(), now, speed
		}
		target := min(now+time.Duration(speed*float64(100*time.Millisecond)), next)
		if err := r.w.AdvanceTo(ctx, target); err != nil {
			return err
		}
		r.report()
		due := anchorWall.Add(time.Duration(float64(target-anchorVirt) / speed))
		if wait := time.Until(due); wait > 0 {
			select {
			case <-ctx.Done():
			case <-r.ctl.wake:
				lastSpeed = -1 // the facilitator acted: re-anchor to the wall clock
			case <-time.After(wait):
			}
		}
	}
}

// writeNotes journals the facilitator's notes at the current time.
func (r *runner) writeNotes() {
	for _, n := range r.ctl.takeNotes() {
		r.bus.Emit(&journal.Event{T: r.w.Now().Seconds(), Type: journal.Note, Reason: n})
	}
}

func formatMetric(name string, v float64) string {
	if m, ok := scenarios.LookupMetric(name); ok {
		return scenarios.FormatValue(m.Unit, v)
	}
	return fmt.Sprint(v)
}

func (r *runner) checkAborts() (scenarios.Condition, float64, bool) {
	if r.cfg.Live == nil {
		return scenarios.Condition{}, 0, false
	}
	now := r.w.Now()
	for i := range r.aborts {
		a := &r.aborts[i]
		v, ok := r.cfg.Live.Value(a.cond.Metric)
		if !ok || !a.cond.Holds(v) {
			a.since = -1
			continue
		}
		if a.since < 0 {
			a.since = now
		}
		if now-a.since >= a.grace {
			return a.cond, v, true
		}
	}
	return scenarios.Condition{}, 0, false
}

func (r *runner) report() {
	if r.cfg.Progress == nil {
		return
	}
	r.progress.Now, r.progress.Duration = r.w.Now(), r.end
	r.cfg.Progress(r.progress)
}

// observe keeps the progress gauges from the events themselves.
func (r *runner) observe(e *journal.Event) {
	r.progress.Events++
	switch e.Type {
	case journal.EvictionEvicted:
		r.progress.Evictions++
	case journal.Sampled:
		r.progress.Backlog, r.progress.Running = e.Sample.Backlog, e.Sample.Running
	}
}

// stopped ends a run that the kill switch stopped.
func (r *runner) stopped() Result {
	r.bus.Emit(&journal.Event{T: r.w.Now().Seconds(), Type: journal.Aborted, Code: "signal", Reason: "stopped by a signal (kill switch)"})
	return r.finish(journal.StatusAborted, "stopped by a signal")
}

func (r *runner) journalErr() error {
	if r.cfg.Journal == nil {
		return nil
	}
	return r.cfg.Journal.Err()
}

// commit makes the events emitted so far durable before the runner acts
// on them. On failure the guard refuses everything from then on.
func (r *runner) commit() error {
	if r.cfg.Journal == nil {
		return nil
	}
	if err := r.cfg.Journal.Commit(); err != nil {
		r.guard.JournalFailed(err)
		return err
	}
	return nil
}

// journalFailed ends a run whose journal cannot be written: aborted, with
// the error, after no more injection. The abort is emitted for the live
// views; the journal itself may not hold it.
func (r *runner) journalFailed(err error) Result {
	r.guard.JournalFailed(err)
	r.guard.Abort()
	reason := "the journal cannot be written, so nothing more is done: " + err.Error()
	r.bus.Emit(&journal.Event{T: r.w.Now().Seconds(), Type: journal.Aborted, Code: "journal", Reason: reason})
	res := r.finish(journal.StatusAborted, reason)
	res.JournalErr = err
	return res
}

// finish closes the workload and the journal's run.
func (r *runner) finish(status, reason string) Result {
	r.w.Finish()
	r.release()
	r.bus.Emit(&journal.Event{T: r.w.Now().Seconds(), Type: journal.RunEnded, Status: status, Reason: reason})
	return Result{Status: status, Reason: reason, LeaseErr: r.leaseErr}
}

// fire runs one wave: a market fault, or evictions picked at random from the
// seed among the targets the plan froze for it, each passed through the
// guard. Every allowed eviction is journaled as requested, and the journal
// committed, before any call is made; then the calls go out (together,
// when the world paces them under a rate limit) and their answers are
// journaled.
func (r *runner) fire(ctx context.Context, w scenarios.Wave) error {
	t := r.w.Now().Seconds()
	// A wave fired off its time (by hand, early or late) records the time
	// it was planned for: the timeline shows both.
	var planned *float64
	if p := w.At.D().Seconds(); p != t {
		planned = &p
	}
	if w.Fault != nil {
		r.bus.Emit(&journal.Event{T: t, Type: journal.WaveStarted, Wave: w.Name, Code: w.Fault.Type, Reason: describeWave(w), At: planned})
		if err := r.w.ApplyFault(w.Name, *w.Fault); err != nil {
			return fmt.Errorf("wave %q: %w", w.Name, err)
		}
		return nil
	}
	targets, err := r.w.Discover(ctx)
	if err != nil {
		return fmt.Errorf("wave %q: discover targets: %w", w.Name, err)
	}
	now := r.w.Now()
	r.guard.BeginWave(w.Name, now, targets)
	picked, newcomers := r.pick(w, targets)
	r.bus.Emit(&journal.Event{T: t, Type: journal.WaveStarted, Wave: w.Name, Code: "evict", Count: len(picked), Reason: describeWave(w), At: planned})
	if newcomers > 0 && !r.guard.Scope().NewInstances {
		r.bus.Emit(&journal.Event{T: t, Type: journal.Note, Wave: w.Name, Code: "newInstances",
			Reason: fmt.Sprintf("%d VMs joined the targeted pools after the plan and are not touched (target.newInstances: exclude)", newcomers)})
	}
	var allowed []injector.Target
	for _, tg := range picked {
		if r.guard.Scope().New(tg) {
			// Named in the journal before the guard may let it through.
			r.bus.Emit(&journal.Event{T: now.Seconds(), Type: journal.PlanExtended, Wave: w.Name, VM: tg.ID, Pool: tg.Pool, Zone: tg.Zone,
				Reason: "joined pool " + tg.Pool + " after the plan; admitted by target.newInstances: include"})
			if err := r.commit(); err != nil {
				return fmt.Errorf("wave %q: %w", w.Name, err)
			}
			r.guard.Admit(tg)
		}
		if ref := r.guard.Allow(tg, now); ref != nil {
			r.bus.Emit(&journal.Event{T: now.Seconds(), Type: journal.EvictionBlocked, Wave: w.Name, VM: tg.ID,
				Pool: tg.Pool, Zone: tg.Zone, Code: ref.Limit, Reason: ref.Reason})
			continue
		}
		r.bus.Emit(&journal.Event{T: now.Seconds(), Type: journal.EvictionRequested, Cause: journal.CauseInjected,
			Wave: w.Name, VM: tg.ID, Pool: tg.Pool, Zone: tg.Zone})
		allowed = append(allowed, tg)
	}
	if len(allowed) == 0 {
		return nil
	}
	if err := r.commit(); err != nil {
		return fmt.Errorf("wave %q: %d evictions not sent: %w", w.Name, len(allowed), err)
	}
	var errs []error
	if b, ok := r.w.(BatchEvicter); ok {
		errs = b.SimulateEvictions(ctx, allowed)
	} else {
		errs = make([]error, len(allowed))
		for i, tg := range allowed {
			errs[i] = r.w.SimulateEviction(ctx, tg)
		}
	}
	at := r.w.Now().Seconds()
	for i, tg := range allowed {
		r.emitOutcome(w.Name, tg, errs[i], at)
	}
	return nil
}

// emitOutcome journals what the platform answered to one eviction call:
// accepted, or failed with its error code. A world that talks to a real API
// adds what it answered (retries, rate-limit headers) to the reason.
func (r *runner) emitOutcome(wave string, tg injector.Target, err error, t float64) {
	e := &journal.Event{T: t, Wave: wave, VM: tg.ID, Pool: tg.Pool, Zone: tg.Zone}
	if cr, ok := r.w.(CallReporter); ok {
		if rep, ok := cr.LastCall(tg.ID); ok {
			e.Reason = "azure: " + rep.String()
		}
	}
	if err != nil {
		e.Type, e.Code = journal.EvictionFailed, failureCode(err)
		e.Reason = strings.TrimSuffix(err.Error()+"; "+e.Reason, "; ")
	} else {
		e.Type = journal.EvictionAccepted
	}
	r.bus.Emit(e)
}

// failureCode is the platform's error code when the error carries one (the
// Azure injector's do), else what the injector's sentinel errors mean.
func failureCode(err error) string {
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) && coded.ErrorCode() != "" {
		return coded.ErrorCode()
	}
	switch {
	case errors.Is(err, injector.ErrNotSpot):
		return "OperationNotAllowed"
	case errors.Is(err, injector.ErrGone):
		return "NotFound"
	}
	return "failed"
}

// pick selects a wave's targets: those the plan froze for the wave that are
// still eligible and run now, plus, when the scenario includes new
// instances, running VMs that joined a targeted pool since; then all, a
// count or a percent of them, drawn from the seed. It also counts the new
// VMs that matched, for the journal. The guard still checks each pick.
func (r *runner) pick(w scenarios.Wave, targets []injector.Target) (picked []injector.Target, newcomers int) {
	scope := r.guard.Scope()
	var eligible []injector.Target
	for _, t := range targets {
		if t.State != injector.StateRunning || !matches(w.Evict, t) {
			continue
		}
		if _, _, out := blastradius.Ineligible(r.guard.Limits(), t); out {
			continue
		}
		switch {
		case scope.MayTouch(w.Name, t):
		case scope.New(t):
			newcomers++
			if !scope.NewInstances {
				continue
			}
		default:
			continue
		}
		eligible = append(eligible, t)
	}
	n, _ := selectionSize(w.Evict, len(eligible))
	r.rng.Shuffle(len(eligible), func(i, j int) { eligible[i], eligible[j] = eligible[j], eligible[i] })
	return eligible[:n], newcomers
}

func matches(sel *scenarios.Selection, t injector.Target) bool {
	if len(sel.Pools) > 0 && !slices.Contains(sel.Pools, t.Pool) {
		return false
	}
	if len(sel.Zones) > 0 && !slices.Contains(sel.Zones, t.Zone) {
		return false
	}
	for k, v := range sel.Tags {
		if t.Tags[k] != v {
			return false
		}
	}
	return true
}

func describeWave(w scenarios.Wave) string {
	if f := w.Fault; f != nil {
		d := f.Type
		switch f.Type {
		case scenarios.FaultCapacityShortage:
			d += fmt.Sprintf(" to %d Spot VMs per zone", *f.Capacity)
		case scenarios.FaultPriceSpike:
			d += fmt.Sprintf(" to $%.4f/h", f.Price)
		case scenarios.FaultShortNotice:
			d += fmt.Sprintf(" of %s", f.Notice)
		}
		if len(f.Zones) > 0 {
			d += " in " + plural("zone", f.Zones)
		}
		if len(f.Pools) > 0 {
			d += " for " + plural("pool", f.Pools)
		}
		if f.For > 0 {
			d += " for " + f.For.String()
		}
		return d
	}
	s := w.Evict
	var d string
	switch {
	case s.All:
		d = "evict all"
	case s.Count > 0:
		d = fmt.Sprintf("evict %d", s.Count)
	default:
		d = "evict " + s.Percent.String()
	}
	if len(s.Pools) > 0 {
		d += " of " + plural("pool", s.Pools)
	}
	if len(s.Zones) > 0 {
		d += " in " + plural("zone", s.Zones)
	}
	if len(s.Tags) > 0 {
		tags := make([]string, 0, len(s.Tags))
		for _, k := range sortedKeys(s.Tags) {
			tags = append(tags, k+"="+s.Tags[k])
		}
		d += " tagged " + strings.Join(tags, ", ")
	}
	return d
}

// plural names a list for people: "zone 2", "zones 1, 2".
func plural(what string, names []string) string {
	if len(names) == 1 {
		return what + " " + names[0]
	}
	return what + "s " + strings.Join(names, ", ")
}

// PlannedCost is what the fleet would cost at its planned size and prices
// for the whole run: the baseline of cost.variance.
func PlannedCost(sc *scenarios.Scenario) float64 {
	if sc.Fleet == nil {
		return 0
	}
	hours := sc.Duration.D().Hours()
	total := 0.0
	for _, p := range sc.Fleet.Pools {
		price := p.OnDemandPrice
		if p.Priority == scenarios.PrioritySpot {
			price = p.SpotPrice
		}
		total += float64(p.Capacity) * price * hours
	}
	return total
}
