package experiments

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

func testScenario() *scenarios.Scenario {
	mp := -1.0
	return &scenarios.Scenario{
		APIVersion: scenarios.APIVersion, Kind: scenarios.Kind, Metadata: scenarios.Metadata{Name: "runner-test"},
		Seed: 7, Duration: d("2h"), Start: "2026-01-05T09:00:00Z",
		Target: scenarios.Target{Provider: scenarios.ProviderSim},
		Fleet: &scenarios.Fleet{Notice: d("30s"), EvictionRate: 0.05, Pools: []scenarios.Pool{
			{Name: "spot", Priority: "Spot", Zones: []string{"1", "2"}, Capacity: 10, EvictionPolicy: "Deallocate", MaxPrice: &mp,
				SpotPrice: 0.04, OnDemandPrice: 0.19, Slots: 1, Tags: map[string]string{"team": "batch"},
				Autoscale: scenarios.Autoscale{Delay: d("30s"), RetryInterval: d("1m")}, Fallback: &scenarios.Fallback{Pool: "od", AfterFailures: 2}},
			{Name: "od", Priority: "Regular", Zones: []string{"1", "2"}, Capacity: 2, OnDemandPrice: 0.19, Slots: 1},
		}},
		Workload: &scenarios.Workload{Jobs: scenarios.Jobs{Count: 300, RatePerHour: 200, Duration: scenarios.Dist{Dist: "uniform", Min: d("5m"), Max: d("15m")}},
			Queue: scenarios.Queue{VisibilityTimeout: d("5m")}, Checkpoint: scenarios.Checkpoint{Interval: d("2m"), Cost: d("5s"), Storage: "durable"},
			RestartCost: d("20s"), OnNotice: "checkpoint", DrainTime: d("10s")},
		Waves: []scenarios.Wave{{Name: "w1", At: d("20m"), Evict: &scenarios.Selection{Count: 3}},
			{Name: "crunch", At: d("40m"), Fault: &scenarios.Fault{Type: "capacityShortage", Capacity: new(int), For: d("20m")}},
			{Name: "w2", At: d("30m"), Evict: &scenarios.Selection{Percent: 0.5}}},
	}
}

type run struct {
	res     Result
	journal []byte
	events  []journal.Event
}

func play(t *testing.T, ctx context.Context, sc *scenarios.Scenario) run {
	t.Helper()
	return playConfig(t, ctx, sc, Config{})
}

// playConfig runs a scenario on the simulated fleet with the journal in
// memory; cfg supplies the control and progress hooks.
func playConfig(t *testing.T, ctx context.Context, sc *scenarios.Scenario, cfg Config) run {
	t.Helper()
	var buf bytes.Buffer
	jw := journal.NewWriter(&buf)
	live := reports.NewAccumulator()
	var events []journal.Event
	bus := journal.NewBus(jw, live, journal.SinkFunc(func(e *journal.Event) { events = append(events, *e) }))
	w, err := NewSimWorld(sc, bus, sim.Options{})
	require.NoError(t, err)
	cfg.Scenario, cfg.World, cfg.Bus, cfg.Live = sc, w, bus, live
	res, err := Run(ctx, cfg)
	require.NoError(t, err)
	require.NoError(t, jw.Close())
	return run{res: res, journal: buf.Bytes(), events: events}
}

func count(evs []journal.Event, typ journal.Type) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func TestSameSeedSameJournal(t *testing.T) {
	a := play(t, context.Background(), testScenario())
	b := play(t, context.Background(), testScenario())
	require.Equal(t, journal.StatusCompleted, a.res.Status)
	require.Greater(t, len(a.journal), 10_000)
	require.True(t, bytes.Equal(a.journal, b.journal), "same scenario and seed must give byte-identical journals")

	other := testScenario()
	other.Seed = 8
	c := play(t, context.Background(), other)
	require.False(t, bytes.Equal(a.journal, c.journal), "another seed must give another journal")
}

func TestPlanRefusesWhatItCannotAllow(t *testing.T) {
	sc := testScenario()
	sc.BlastRadius.MaxEvictions = ptr(4)
	r := play(t, context.Background(), sc)
	require.True(t, r.res.Refused)
	require.Zero(t, count(r.events, journal.EvictionRequested))
	require.Contains(t, strings.Join(r.res.Plan.Problems, "\n"), "maxEvictions is 4")
	require.Equal(t, journal.RunEnded, r.events[len(r.events)-1].Type)
}

func TestGuardBlocksAtRunTime(t *testing.T) {
	sc := testScenario()
	pct := scenarios.Percent(0.3)
	sc.BlastRadius.MaxPoolPercent = &pct
	sc.Waves = []scenarios.Wave{
		{Name: "w1", At: d("20m"), Evict: &scenarios.Selection{Count: 3}},
		// A minute later the first three are not replaced yet: the pool is
		// at its 30 % in flight, so the guard refuses all three.
		{Name: "w2", At: d("21m"), Evict: &scenarios.Selection{Count: 3}},
	}
	r := play(t, context.Background(), sc)
	require.False(t, r.res.Refused, r.res.Reason)
	require.Equal(t, 3, count(r.events, journal.EvictionRequested))
	require.Equal(t, 3, count(r.events, journal.EvictionBlocked))
	for _, e := range r.events {
		switch e.Type {
		case journal.EvictionBlocked:
			require.Equal(t, "w2", e.Wave)
			require.Equal(t, "maxPoolPercent", e.Code)
			require.Contains(t, e.Reason, "4 of 10 VMs of pool spot would be in flight (40%), above 30%")
		case journal.EvictionRequested:
			require.Equal(t, "spot", e.Pool, "only Spot VMs are ever requested")
		}
	}
}

func TestExemptTagIsNeverTargeted(t *testing.T) {
	sc := testScenario()
	sc.Fleet.Pools[0].Tags = map[string]string{"chaos-exempt": "true"}
	r := play(t, context.Background(), sc)
	require.True(t, r.res.Refused)
	require.Zero(t, count(r.events, journal.EvictionRequested))
	require.Equal(t, journal.StatusAborted, r.res.Status)
}

func TestAbortConditionStopsInjection(t *testing.T) {
	sc := testScenario()
	c, err := scenarios.ParseCondition("evictions.count >= 3")
	require.NoError(t, err)
	sc.AbortWhen = []scenarios.Abort{{When: c}}
	r := play(t, context.Background(), sc)
	require.Equal(t, journal.StatusAborted, r.res.Status)
	require.Equal(t, 1, count(r.events, journal.Aborted))
	// The first wave's three evictions fire the condition: later waves never
	// start, and the run keeps observing recovery for the drain timeout.
	require.Equal(t, 1, count(r.events, journal.WaveStarted))
	last := r.events[len(r.events)-1]
	require.Equal(t, journal.RunEnded, last.Type)
	require.InDelta(t, (20*time.Minute + 10*time.Minute).Seconds(), last.T, 60)
}

func TestCancelIsTheKillSwitch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := play(t, ctx, testScenario())
	require.Equal(t, journal.StatusAborted, r.res.Status)
	require.Zero(t, count(r.events, journal.EvictionRequested))
	require.Equal(t, journal.RunEnded, r.events[len(r.events)-1].Type)
}
