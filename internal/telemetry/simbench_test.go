package telemetry_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/internal/telemetry"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// BenchmarkSimLargeTraced runs the large game day of scenarios/bench (10,000
// Spot VMs, 1,000,000 jobs) with telemetry on: every job attempt a span
// through the SDK to the correlator and an OTLP JSON trace file (discarded).
// Compare with experiments' BenchmarkSimLarge, the same run untraced.
func BenchmarkSimLargeTraced(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sc, err := scenarios.Load(filepath.Join("..", "..", "scenarios", "bench", "large-fleet.yaml"))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		sess, err := telemetry.Start(ctx, telemetry.Options{Export: telemetry.Export{TraceFile: io.Discard}, Scenario: sc, Simulated: true})
		if err != nil {
			b.Fatal(err)
		}
		jw := journal.NewWriter(io.Discard)
		bus := journal.NewBus(sess.Sink(), jw)
		w, err := experiments.NewSimWorld(sc, bus, sim.Options{Observer: sess.SimObserver()})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := experiments.Run(ctx, experiments.Config{Scenario: sc, World: w, Bus: bus}); err != nil {
			b.Fatal(err)
		}
		_ = jw.Close()
		if err := sess.Finish(ctx, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}
