package telemetry_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/internal/telemetry"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

// simRun plays a scenario on the simulated fleet with telemetry on, and
// returns the report computed from the simulator's own journal events, what
// the correlator concluded from the simulated workers' spans, the journal
// and the spans.
type simRun struct {
	rep     *reports.Report
	corr    telemetry.Result
	journal []journal.Event
	spans   *tracetest.InMemoryExporter
	file    bytes.Buffer
	traceID string
}

func playSim(t *testing.T, sc *scenarios.Scenario) *simRun {
	t.Helper()
	ctx := context.Background()
	out := &simRun{spans: tracetest.NewInMemoryExporter()}
	sess, err := telemetry.Start(ctx, telemetry.Options{
		Export:   telemetry.Export{TraceFile: &out.file, Exporters: []sdktrace.SpanExporter{keepOnShutdown{out.spans}}},
		Scenario: sc, Simulated: true,
	})
	require.NoError(t, err)
	require.NotNil(t, sess)
	acc := reports.NewAccumulator()
	keep := journal.SinkFunc(func(e *journal.Event) { out.journal = append(out.journal, *e) })
	bus := journal.NewBus(sess.Sink(), keep, acc)
	world, err := experiments.NewSimWorld(sc, bus, sim.Options{Observer: sess.SimObserver()})
	require.NoError(t, err)
	_, err = experiments.Run(ctx, experiments.Config{Scenario: sc, World: world, Bus: bus, Live: acc, Tool: "test"})
	require.NoError(t, err)
	out.rep = acc.Report()
	out.traceID = sess.TraceID()
	require.NoError(t, sess.Finish(ctx, &out.rep.Grading, out.rep.Metrics))
	out.corr = sess.Correlator().Result()
	return out
}

// keepOnShutdown keeps the in-memory exporter's spans past the provider's
// shutdown, which would reset them.
type keepOnShutdown struct{ *tracetest.InMemoryExporter }

func (keepOnShutdown) Shutdown(context.Context) error { return nil }

func loadLibrary(t *testing.T, name string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Load(filepath.Join("..", "..", "scenarios", "library", name))
	require.NoError(t, err)
	return sc
}

// TestSimulatedCorrelationMatchesReports is the promise of one correlator
// for simulated and real runs: from the simulated workers' spans alone, the
// correlator finds the same interruptions, per-job TTR, lost work and
// uncorrelated evictions as the reports compute from the simulator's own
// journal events.
func TestSimulatedCorrelationMatchesReports(t *testing.T) {
	cases := map[string]func(t *testing.T) *scenarios.Scenario{
		"checkpoint on notice":   func(t *testing.T) *scenarios.Scenario { return loadLibrary(t, "batch-checkpointed.yaml") },
		"drain, mass eviction":   func(t *testing.T) *scenarios.Scenario { return loadLibrary(t, "zone-mass-eviction.yaml") },
		"ignore, no retries":     func(t *testing.T) *scenarios.Scenario { return loadLibrary(t, "ci-runners-no-retry.yaml") },
		"drain cut short":        func(t *testing.T) *scenarios.Scenario { return loadLibrary(t, "short-notice-slow-drain.yaml") },
		"long jobs":              func(t *testing.T) *scenarios.Scenario { return loadLibrary(t, "gpu-training.yaml") },
		"local checkpoints lost": localCheckpoints,
	}
	// Random seeds on a busy market, each way of meeting the notice.
	for seed := int64(1); seed <= 4; seed++ {
		for _, policy := range []string{scenarios.OnNoticeIgnore, scenarios.OnNoticeDrain, scenarios.OnNoticeCheckpoint} {
			cases[fmt.Sprintf("seed %d %s", seed, policy)] = func(t *testing.T) *scenarios.Scenario {
				sc := loadLibrary(t, "batch-checkpointed.yaml")
				sc.Seed = seed
				sc.Fleet.EvictionRate = 0.3
				sc.Workload.OnNotice = policy
				sc.Workload.DrainTime = scenarios.Duration(time.Duration(seed) * 10 * time.Second)
				return sc
			}
		}
	}
	for name, load := range cases {
		t.Run(name, func(t *testing.T) {
			r := playSim(t, load(t))
			requireSameRecovery(t, r)
			in := r.rep.Interruptions
			switch name {
			case "checkpoint on notice":
				require.NotZero(t, in.Released)
			case "drain cut short":
				require.NotZero(t, in.DrainLate)
			case "local checkpoints lost":
				require.NotZero(t, in.CheckpointLost)
			case "ignore, no retries":
				require.NotEmpty(t, r.rep.Unrecovered)
			}
		})
	}
}

// localCheckpoints is a batch queue that checkpoints to local disk on Delete
// VMs and ignores the notice: every eviction throws saved work away (F5).
func localCheckpoints(t *testing.T) *scenarios.Scenario {
	sc := loadLibrary(t, "batch-checkpointed.yaml")
	sc.Workload.Checkpoint.Storage = scenarios.StorageLocal
	sc.Workload.OnNotice = scenarios.OnNoticeIgnore
	sc.Fleet.Pools[0].EvictionPolicy = scenarios.EvictionDelete
	sc.Fleet.EvictionRate = 0.2
	return sc
}

func requireSameRecovery(t *testing.T, r *simRun) {
	t.Helper()
	rep, corr := r.rep, r.corr
	require.NotZero(t, rep.Interruptions.Count, "the scenario interrupts nothing: a useless test")

	// The same interruptions, each with the lost work the simulator
	// computed.
	lost := map[[2]any]float64{}
	for _, e := range r.journal {
		if e.Type == journal.JobInterrupted {
			lost[[2]any{e.Job, e.Attempt}] = e.Lost
		}
	}
	require.Len(t, corr.Interruptions, len(lost))
	var released, late, ckpt int
	var sum float64
	for _, in := range corr.Interruptions {
		want, ok := lost[[2]any{in.Job, in.Attempt}]
		require.True(t, ok, "%s attempt %d: not interrupted in the journal", in.Job, in.Attempt)
		require.InDelta(t, want, in.Lost, 1e-9, "%s attempt %d: lost work", in.Job, in.Attempt)
		released += b2i(in.Released)
		late += b2i(in.DrainLate)
		ckpt += b2i(in.CheckpointLost)
		sum += in.Lost
	}
	require.Equal(t, rep.Interruptions.Count, len(corr.Interruptions))
	require.Equal(t, rep.Interruptions.Released, released)
	require.Equal(t, rep.Interruptions.DrainLate, late)
	require.Equal(t, rep.Interruptions.CheckpointLost, ckpt)
	require.InDelta(t, rep.Interruptions.LostWork, sum, 1e-6)

	// The same time to recover, job by job.
	var ttrs []float64
	var down []string
	for _, in := range corr.Interruptions {
		if in.TTR == nil {
			down = append(down, in.Job)
			continue
		}
		ttrs = append(ttrs, *in.TTR)
	}
	sort.Float64s(ttrs)
	require.Equal(t, len(rep.TTRs), len(ttrs))
	if len(ttrs) > 0 {
		require.Equal(t, rep.TTRs, ttrs)
	}
	var repDown []string
	for _, u := range rep.Unrecovered {
		repDown = append(repDown, u.Job)
	}
	slices.Sort(down)
	slices.Sort(repDown)
	require.Equal(t, repDown, down)

	// The same evictions: jobs, worst TTR, lost work, observability gaps.
	require.Len(t, corr.Evictions, len(rep.Evictions))
	for i, ev := range rep.Evictions {
		got := corr.Evictions[i]
		require.Equal(t, ev.VM, got.VM)
		require.Equal(t, ev.Jobs, got.Jobs, "%s: jobs", ev.VM)
		require.Equal(t, ev.Unrecovered, got.Unrecovered, "%s: unrecovered", ev.VM)
		require.InDelta(t, ev.LostWork, got.Lost, 1e-6, "%s: lost work", ev.VM)
		require.Equal(t, ev.TTR, got.TTR, "%s: ttr", ev.VM)
		require.Equal(t, ev.Recovered, got.Recovered, "%s: recovered", ev.VM)
		require.Equal(t, ev.Uncorrelated, got.Uncorrelated, "%s: uncorrelated", ev.VM)
	}
	m, _ := rep.Metric("evictions.uncorrelated")
	require.Equal(t, m.Value, float64(corr.Uncorrelated))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSimulatedTraceIsOneTrace checks the run's trace: one root per game
// day, waves under it, evictions under their wave with their phases, every
// job attempt in the same trace, a resumed attempt linked to the one it
// continues and a killed attempt linked to its eviction; spans on the
// virtual clock; the journal stamped with the IDs.
func TestSimulatedTraceIsOneTrace(t *testing.T) {
	sc := loadLibrary(t, "batch-checkpointed.yaml")
	r := playSim(t, sc)
	spans := r.spans.GetSpans()
	require.NotEmpty(t, spans)
	start := experiments.RunStart(sc)

	byID := map[string]tracetest.SpanStub{}
	var roots, waves, evictions, attempts []tracetest.SpanStub
	for _, s := range spans {
		require.Equal(t, r.traceID, s.SpanContext.TraceID().String(), "%s: not in the run's trace", s.Name)
		byID[s.SpanContext.SpanID().String()] = s
		switch {
		case s.Name == "game day batch-checkpointed":
			roots = append(roots, s)
		case len(s.Name) > 5 && s.Name[:5] == "wave ":
			waves = append(waves, s)
		case len(s.Name) > 9 && s.Name[:9] == "eviction ":
			evictions = append(evictions, s)
		case s.Name == "job.attempt":
			attempts = append(attempts, s)
		}
		require.False(t, s.EndTime.Before(s.StartTime), "%s ends before it starts", s.Name)
	}
	require.Len(t, roots, 1)
	root := roots[0]
	require.Equal(t, start, root.StartTime, "the root starts at the run's virtual start")
	require.Equal(t, start.Add(sc.Duration.D()), root.EndTime, "a 3h simulated game day shows 3 hours")
	require.Len(t, waves, len(sc.Waves))
	for _, w := range waves {
		require.Equal(t, root.SpanContext.SpanID(), w.Parent.SpanID())
	}
	attrs := func(s tracetest.SpanStub) map[string]any {
		m := map[string]any{}
		for _, kv := range s.Attributes {
			m[string(kv.Key)] = kv.Value.AsInterface()
		}
		return m
	}
	ra := attrs(root)
	require.Equal(t, "azure", ra["cloud.provider"])
	require.Equal(t, "westeurope", ra["cloud.region"])
	require.Equal(t, string(r.rep.Grading.Verdict), ra["spotdrill.verdict"])
	require.Len(t, ra["spotdrill.slo.objectives"], len(sc.SLOs))

	require.Len(t, evictions, len(r.rep.Evictions))
	injected := 0
	for _, ev := range evictions {
		a := attrs(ev)
		for _, k := range []string{"host.name", "spotdrill.pool", "spotdrill.zone", "cloud.provider", "cloud.region"} {
			require.NotEmpty(t, a[k], "%s: %s", ev.Name, k)
		}
		var phases []string
		for _, e := range ev.Events {
			phases = append(phases, e.Name)
		}
		require.Contains(t, phases, "evicted", ev.Name)
		if a["spotdrill.eviction.cause"] == journal.CauseInjected {
			injected++
			require.Equal(t, "requested", phases[0])
			parent := byID[ev.Parent.SpanID().String()]
			require.Equal(t, "wave "+a["spotdrill.wave"].(string), parent.Name)
		}
	}
	require.NotZero(t, injected)
	// The eviction spans carry what the reports measured.
	byVM := map[string]reports.Eviction{}
	for _, ev := range r.rep.Evictions {
		byVM[ev.VM] = ev
	}
	for _, ev := range evictions {
		a := attrs(ev)
		want := byVM[a["host.name"].(string)]
		require.Equal(t, int64(want.Jobs), a["spotdrill.jobs.interrupted"], ev.Name)
		if want.TTR != nil {
			require.Equal(t, *want.TTR, a["spotdrill.ttr"], ev.Name)
		}
	}

	interrupted, linkedToEviction, linkedToPrevious := 0, 0, 0
	for _, a := range attempts {
		require.Equal(t, root.SpanContext.SpanID(), a.Parent.SpanID())
		at := attrs(a)
		require.NotEmpty(t, at["spotdrill.job.id"])
		require.NotEmpty(t, at["host.name"])
		require.NotZero(t, at["spotdrill.job.attempt"])
		if o := at["spotdrill.attempt.outcome"]; o == "killed" || o == "released" {
			interrupted++
		}
		for _, l := range a.Links {
			target, ok := byID[l.SpanContext.SpanID().String()]
			require.True(t, ok, "%s: link to a span not in the trace", a.Name)
			switch target.Name {
			case "job.attempt":
				linkedToPrevious++
				require.Equal(t, at["spotdrill.job.id"], attrs(target)["spotdrill.job.id"])
				require.Less(t, attrs(target)["spotdrill.job.attempt"].(int64), at["spotdrill.job.attempt"].(int64))
			default:
				linkedToEviction++
				require.Equal(t, "eviction "+at["host.name"].(string), target.Name)
			}
		}
	}
	require.Equal(t, r.rep.Interruptions.Count, interrupted)
	require.NotZero(t, linkedToEviction)
	require.NotZero(t, linkedToPrevious)

	// The journal carries the IDs, so that a reader can jump to the trace.
	stamped := map[journal.Type]int{}
	for _, e := range r.journal {
		if e.TraceID != "" {
			require.Equal(t, r.traceID, e.TraceID, "%s", e.Type)
			_, ok := byID[e.SpanID]
			require.True(t, ok, "%s: span %s not in the trace", e.Type, e.SpanID)
			stamped[e.Type]++
		}
	}
	for _, typ := range []journal.Type{journal.RunStarted, journal.WaveStarted, journal.EvictionRequested,
		journal.EvictionEvicted, journal.JobInterrupted, journal.JobResumed, journal.RunEnded} {
		require.NotZero(t, stamped[typ], "%s carries no trace ID", typ)
	}
}

// TestTelemetryOffCostsNothing: with no exporter and nothing to correlate,
// there is no session, no observer and no sink.
func TestTelemetryOffCostsNothing(t *testing.T) {
	sess, err := telemetry.Start(context.Background(), telemetry.Options{Simulated: true})
	require.NoError(t, err)
	require.Nil(t, sess)
	require.Nil(t, sess.SimObserver(), "a nil session gives a nil interface, not a typed nil")
}
