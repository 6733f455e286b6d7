package blastradius

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/journal"
)

func vm(i int, pool, zone string) injector.Target {
	name := fmt.Sprintf("%s-%02d", pool, i)
	return injector.Target{ID: name, Name: name, Pool: pool, Zone: zone, Priority: injector.PrioritySpot, State: injector.StateRunning}
}

// fleet is two pools of ten Spot VMs over two zones.
func fleet() []injector.Target {
	var out []injector.Target
	for i := 0; i < 10; i++ {
		out = append(out, vm(i, "a", []string{"1", "2"}[i%2]), vm(i, "b", []string{"1", "2"}[i%2]))
	}
	return out
}

// scopeOf freezes the targets for the waves the tests fire.
func scopeOf(ts []injector.Target) Scope {
	s := NewScope(false)
	for _, t := range ts {
		s.Freeze(t)
		for _, w := range []string{"w", "w1", "w2", "w3"} {
			s.FreezeWave(w, t)
		}
	}
	return s
}

var start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC) // a Monday

func TestEachLimitRefusesWithItsNumbers(t *testing.T) {
	tests := []struct {
		name   string
		limits func(*Limits)
		evict  []injector.Target // allowed in order, in one wave, at t=0
		next   injector.Target
		limit  string
		reason string
	}{
		{"max evictions", func(l *Limits) { l.MaxEvictions = 2 }, []injector.Target{vm(0, "a", "1"), vm(1, "a", "2")}, vm(2, "a", "1"),
			LimitMaxEvictions, "the run already requested 2 of at most 2 evictions"},
		{"max in flight", func(l *Limits) { l.MaxInFlight = 1 }, []injector.Target{vm(0, "a", "1")}, vm(1, "b", "2"),
			LimitMaxInFlight, "1 evictions are in flight, at most 1 may be"},
		{"in-flight share", func(l *Limits) { l.MaxInFlightPercent = 0.1 }, []injector.Target{vm(0, "a", "1"), vm(0, "b", "1")}, vm(1, "a", "2"),
			LimitInFlightShare, "3 of 20 targeted VMs would be in flight (15%), above 10%"},
		{"pool share", func(l *Limits) { l.MaxPoolPercent = 0.2 }, []injector.Target{vm(0, "a", "1"), vm(1, "a", "2")}, vm(2, "a", "1"),
			LimitPoolShare, "3 of 10 VMs of pool a would be in flight (30%), above 20%"},
		{"zone share", func(l *Limits) { l.MaxZonePercent = 0.1 }, []injector.Target{vm(0, "a", "1")}, vm(0, "b", "1"),
			LimitZoneShare, "2 of 10 targeted VMs in zone 1 would be in flight (20%), above 10%"},
		{"healthy floor", func(l *Limits) { l.MinHealthyPercent = 0.8 }, []injector.Target{vm(0, "a", "1"), vm(1, "a", "2")}, vm(2, "a", "1"),
			LimitMinHealthy, "pool a would keep 7 healthy running VMs of 10 planned (70%), below 80%"},
		{"rate", func(l *Limits) { l.MaxPerMinute = 2 }, []injector.Target{vm(0, "a", "1"), vm(1, "a", "2")}, vm(0, "b", "1"),
			LimitRate, "2 evictions in the last minute, at most 2 per minute"},
		{"excluded by tag", func(l *Limits) { l.Exclude.Tags = map[string]string{"tier": "db"} }, nil,
			injector.Target{ID: "x", Name: "x", Pool: "a", Zone: "1", Priority: "Spot", State: "running", Tags: map[string]string{"tier": "db"}},
			LimitExcluded, "x is excluded: tag tier=db"},
		{"exempt by default", nil, nil,
			injector.Target{ID: "x", Name: "x", Pool: "a", Zone: "1", Priority: "Spot", State: "running", Tags: map[string]string{"chaos-exempt": "true"}},
			LimitExempt, `x is exempt: tag chaos-exempt="true"`},
		{"excluded pool", func(l *Limits) { l.Exclude.Pools = []string{"b"} }, nil, vm(3, "b", "2"),
			LimitExcluded, "b-03 is excluded: pool b is excluded"},
		{"not spot", nil, nil, injector.Target{ID: "r", Name: "r", Pool: "a", Priority: "Regular", State: "running"},
			LimitNotSpot, "r has priority Regular; only Spot VMs are ever evicted"},
		{"outside plan", nil, nil, vm(0, "c", "1"), LimitOutsidePlan, "c-00 (pool c) is outside the frozen plan of wave w"},
		{"new instance of a targeted pool", nil, nil, vm(42, "a", "1"), LimitOutsidePlan, "a-42 (pool a) is outside the frozen plan of wave w"},
		{"twice in a wave", nil, []injector.Target{vm(0, "a", "1")}, vm(0, "a", "1"), LimitTwiceInWave, "a-00 was already evicted in wave w"},
		{"not running", nil, nil, func() injector.Target { v := vm(0, "a", "1"); v.State = injector.StateNoticed; return v }(),
			LimitNotRunning, "a-00 is noticed, not running"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := NoLimits()
			if tc.limits != nil {
				tc.limits(&l)
			}
			f := fleet()
			g := New(l, scopeOf(f), start)
			g.BeginWave("w", 0, f)
			for _, e := range tc.evict {
				require.Nil(t, g.Allow(e, 0), "setup eviction of %s", e.Name)
			}
			r := g.Allow(tc.next, 0)
			require.NotNil(t, r)
			require.Equal(t, tc.limit, r.Limit)
			require.Equal(t, tc.reason, r.Reason)
		})
	}
}

func TestInFlightEndsWhenTheReplacementRuns(t *testing.T) {
	l := NoLimits()
	l.MaxInFlight = 1
	f := fleet()
	g := New(l, scopeOf(f), start)
	g.BeginWave("w1", 0, f)
	require.Nil(t, g.Allow(f[0], 0))
	require.NotNil(t, g.Allow(f[1], 0))
	g.Emit(&journal.Event{Type: journal.VMRunning, VM: "a-99", Replaces: f[0].ID})
	g.BeginWave("w2", time.Minute, f[1:])
	require.Nil(t, g.Allow(f[1], time.Minute))
	require.Equal(t, 2, g.Requested())
	require.Equal(t, 1, g.InFlight())
}

func TestWaveGapAndAbort(t *testing.T) {
	l := NoLimits()
	l.MinWaveGap = 10 * time.Minute
	f := fleet()
	g := New(l, scopeOf(f), start)
	g.BeginWave("w1", 0, f)
	require.Nil(t, g.Allow(f[0], 0))
	g.BeginWave("w2", 5*time.Minute, f)
	r := g.Allow(f[1], 5*time.Minute)
	require.Equal(t, LimitWaveGap, r.Limit)
	require.Equal(t, "wave w2 starts 5m0s after the previous one; the minimum gap is 10m0s", r.Reason)
	g.BeginWave("w3", 16*time.Minute, f)
	require.Nil(t, g.Allow(f[1], 16*time.Minute))
	g.Abort()
	require.Equal(t, LimitAborted, g.Allow(f[2], 16*time.Minute).Limit)
}

func TestRateWindowSlides(t *testing.T) {
	l := NoLimits()
	l.MaxPerMinute = 1
	f := fleet()
	g := New(l, scopeOf(f), start)
	g.BeginWave("w", 0, f)
	require.Nil(t, g.Allow(f[0], 0))
	require.Equal(t, LimitRate, g.Allow(f[1], 59*time.Second).Limit)
	require.Nil(t, g.Allow(f[1], 60*time.Second))
}
