package blastradius

import (
	"time"

	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/journal"
)

// Guard applies the limits to a run: it keeps the run's State from what it
// allowed and from the run's events, and calls Check before every eviction.
// It is a journal.Sink so that it sees replacements land.
type Guard struct {
	limits Limits
	scope  Scope
	start  time.Time
	st     State
}

var _ journal.Sink = (*Guard)(nil)

// New guards a run that starts at start (the run clock at t=0).
func New(l Limits, scope Scope, start time.Time) *Guard {
	return &Guard{limits: l, scope: scope, start: start, st: State{
		LastWaveStart: -1, WaveStart: -1,
		InFlight: map[string]Flight{}, InWave: map[string]bool{}, Healthy: map[string]int{},
	}}
}

// Limits returns the limits the guard applies.
func (g *Guard) Limits() *Limits { return &g.limits }

// Scope returns the frozen plan.
func (g *Guard) Scope() *Scope { return &g.scope }

// Requested is how many evictions the guard has let through.
func (g *Guard) Requested() int { return g.st.Requested }

// InFlight is how many of them are not yet recovered from.
func (g *Guard) InFlight() int { return len(g.st.InFlight) }

// Abort refuses every eviction from now on.
func (g *Guard) Abort() { g.st.Aborted = true }

// JournalFailed refuses every eviction from now on: the run can no longer
// record what it does.
func (g *Guard) JournalFailed(err error) {
	if g.st.JournalErr == nil {
		g.st.JournalErr = err
	}
}

// Admit lets the current wave touch a VM that appeared after the plan,
// when the scenario opted in (see Scope.Admit).
func (g *Guard) Admit(t injector.Target) bool { return g.scope.Admit(g.st.Wave, t) }

// BeginWave starts an eviction wave at a time of the run, with the fleet as
// it is now: the "never twice in a wave" rule resets, and the healthy
// capacity of each pool is counted afresh from the targets that run and are
// not being evicted.
func (g *Guard) BeginWave(name string, at time.Duration, targets []injector.Target) {
	g.st.Wave = name
	g.st.LastWaveStart = g.st.WaveStart
	g.st.WaveStart = at
	clear(g.st.InWave)
	clear(g.st.Healthy)
	for _, t := range targets {
		if _, evicting := g.st.InFlight[t.Key()]; t.State == injector.StateRunning && !evicting {
			g.st.Healthy[t.Pool]++
		}
	}
}

// Check decides one eviction at a time of the run without recording it.
func (g *Guard) Check(t injector.Target, at time.Duration) *Refusal {
	g.st.Elapsed = at
	g.st.Now = g.start.Add(at)
	return Check(&g.limits, &g.scope, &g.st, t)
}

// Allow checks one eviction and, when allowed, counts it against the
// limits. The runner calls it before every simulateEviction.
func (g *Guard) Allow(t injector.Target, at time.Duration) *Refusal {
	if r := g.Check(t, at); r != nil {
		return r
	}
	g.st.Requested++
	g.st.InWave[t.Key()] = true
	g.st.Land(t.Key(), Flight{Pool: t.Pool, Zone: t.Zone})
	g.st.Healthy[t.Pool]--
	g.st.Recent = append(g.st.Recent, at)
	// Only the last minute matters for the rate.
	for len(g.st.Recent) > 0 && at-g.st.Recent[0] >= time.Minute {
		g.st.Recent = g.st.Recent[1:]
	}
	return nil
}

// Emit follows the run: an eviction stops being in flight when its
// replacement runs, or when the platform refused it.
func (g *Guard) Emit(e *journal.Event) {
	switch e.Type {
	case journal.VMRunning:
		if e.Replaces != "" {
			g.st.Recover(injector.Key(e.Replaces))
		}
	case journal.EvictionFailed:
		g.st.Recover(injector.Key(e.VM))
	}
}
