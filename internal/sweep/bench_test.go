package sweep

import (
	"context"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

func libraryNames(b *testing.B) []string {
	files, err := filepath.Glob(filepath.Join("..", "..", "scenarios", "library", "*.yaml"))
	if err != nil || len(files) == 0 {
		b.Fatal("no library scenarios", err)
	}
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	return files
}

// BenchmarkSweep plays each library scenario as a sweep of b.N seeds, on
// one worker and on two: one op is one run, everything included (parsing,
// the runs, keeping their figures, the statistics). Beside it,
// BenchmarkRunAlone plays the same seeds one by one as `spotdrill run`
// does without a journal; the difference is the sweep's overhead.
func BenchmarkSweep(b *testing.B) {
	for _, name := range libraryNames(b) {
		path, data := library(b, name)
		for _, workers := range []int{1, 2} {
			b.Run(strings.TrimSuffix(name, ".yaml")+"/workers="+strconv.Itoa(workers), func(b *testing.B) {
				// One sweep of b.N seeds is b.N ops.
				s, err := New(Spec{File: path, Data: data, Seeds: scenarios.SeedRange{From: 1, To: int64(b.N)}})
				if err != nil {
					b.Fatal(err)
				}
				// As the command does: the collector off below a limit.
				if limit, ok := s.GCLimit(workers); ok {
					defer debug.SetGCPercent(debug.SetGCPercent(-1))
					defer debug.SetMemoryLimit(debug.SetMemoryLimit(int64(limit)))
				}
				runs, err := s.Play(context.Background(), Options{Parallel: workers})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Aggregate(s.Header(), runs); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
			})
		}
	}
}

func BenchmarkRunAlone(b *testing.B) {
	for _, name := range libraryNames(b) {
		path, data := library(b, name)
		base, err := scenarios.Parse(data, path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strings.TrimSuffix(name, ".yaml"), func(b *testing.B) {
			// The same collector setting as a sweep on one worker, so that
			// the difference is the sweep's own work.
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			defer debug.SetMemoryLimit(debug.SetMemoryLimit(int64(gcHeadroom + 2*sim.EstimateMemory(base))))
			seed := int64(0)
			for b.Loop() {
				seed++
				sc := *base
				sc.Seed = seed
				acc := reports.NewAccumulator()
				bus := journal.NewBus(acc)
				w, err := experiments.NewSimWorld(&sc, bus, sim.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := experiments.Run(context.Background(), experiments.Config{Scenario: &sc, World: w, Bus: bus, Live: acc}); err != nil {
					b.Fatal(err)
				}
				_ = acc.Report()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
		})
	}
}
