package experiments

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// largeScenario is the benchmark fleet: 10,000 Spot VMs in three zones,
// 1,000,000 jobs over 24 h, natural evictions at 10 %/h and three waves.
func largeScenario() *scenarios.Scenario {
	mp := -1.0
	return &scenarios.Scenario{
		APIVersion: scenarios.APIVersion, Kind: scenarios.Kind, Metadata: scenarios.Metadata{Name: "large"},
		Seed: 1, Duration: d("24h"), Start: "2026-01-05T09:00:00Z",
		Target: scenarios.Target{Provider: "sim"},
		Fleet: &scenarios.Fleet{Notice: d("30s"), EvictionRate: 0.10, Pools: []scenarios.Pool{
			{Name: "spot", Priority: "Spot", Zones: []string{"1", "2", "3"}, Capacity: 10000, EvictionPolicy: "Delete", MaxPrice: &mp,
				SpotPrice: 0.04, OnDemandPrice: 0.19, Slots: 1,
				Provisioning: scenarios.Provisioning{Latency: &scenarios.Dist{Dist: "uniform", Min: d("1m"), Max: d("3m")}, BootstrapTimeout: d("5m")},
				Autoscale:    scenarios.Autoscale{Delay: d("30s"), RetryInterval: d("1m")}},
		}},
		Workload: &scenarios.Workload{Jobs: scenarios.Jobs{Count: 1_000_000, RatePerHour: 45000, Duration: scenarios.Dist{Dist: "exponential", Mean: d("12m")}},
			Queue: scenarios.Queue{VisibilityTimeout: d("5m")}, Checkpoint: scenarios.Checkpoint{Interval: d("5m"), Cost: d("5s"), Storage: "durable"},
			RestartCost: d("20s"), OnNotice: "checkpoint", DrainTime: d("10s")},
		Waves: []scenarios.Wave{
			{Name: "strike", At: d("2h"), Evict: &scenarios.Selection{Count: 500}},
			{Name: "zone-1", At: d("8h"), Evict: &scenarios.Selection{Percent: 0.5, Zones: []string{"1"}}},
			{Name: "crunch", At: d("14h"), Fault: &scenarios.Fault{Type: "capacityShortage", Zones: []string{"2"}, Capacity: ptr(2000), For: d("2h")}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// BenchmarkSimLarge runs the whole large game day, journal to io.Discard.
func BenchmarkSimLarge(b *testing.B) {
	b.ReportAllocs()
	var events uint64
	for i := 0; i < b.N; i++ {
		sc := largeScenario()
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
