package experiments

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// largeScenario is the benchmark fleet of scenarios/bench/large-fleet.yaml:
// 10,000 Spot VMs, 1,000,000 jobs over 24 h, natural evictions at 10 %/h
// and three waves.
func largeScenario(b *testing.B) *scenarios.Scenario {
	sc, err := scenarios.Load(filepath.Join("..", "scenarios", "bench", "large-fleet.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	return sc
}

func ptr[T any](v T) *T { return &v }

// BenchmarkSimLarge runs the whole large game day, journal to io.Discard.
func BenchmarkSimLarge(b *testing.B) {
	b.ReportAllocs()
	var events uint64
	for i := 0; i < b.N; i++ {
		sc := largeScenario(b)
		jw := journal.NewWriter(io.Discard)
		bus := journal.NewBus(jw)
		w, err := sim.New(sc, sc.Seed, bus, sim.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Run(context.Background(), Config{Scenario: sc, World: simWorld{w}, Bus: bus, Tick: 10 * time.Second}); err != nil {
			b.Fatal(err)
		}
		_ = jw.Close()
		events += w.Events()
	}
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(events), "ns/event")
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

func d(s string) scenarios.Duration {
	v, err := scenarios.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return scenarios.Duration(v)
}
