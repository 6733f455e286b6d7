package sweep

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

// Shard is a deterministic, disjoint share of a sweep's runs: run i
// belongs to shard i mod Count + 1. The zero value is the whole sweep.
type Shard struct{ Index, Count int }

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

func (s Shard) Whole() bool { return s.Count <= 1 }

func (s Shard) has(run int) bool { return s.Whole() || run%s.Count == s.Index-1 }

// Options says how to play a sweep.
type Options struct {
	// Parallel is how many runs play at once; GOMAXPROCS if zero (the
	// CPUs, or a container's CPU limit).
	Parallel int
	Shard    Shard
	// KeepJournals, when set, is a directory that receives each run's
	// journal; none is written otherwise.
	KeepJournals string
	// Progress, when set, is called after each run with how many are done
	// of how many this process plays. It is called from one goroutine at a
	// time.
	Progress func(done, total int)
	// Tool goes into run.started of kept journals.
	Tool string
}

// RunResult is what a sweep keeps of one run: a few hundred bytes, so that
// a sweep of many thousands of runs needs no more memory than the few runs
// playing at once.
type RunResult struct {
	Run int `json:"run"`
	// Metrics holds the vocabulary's metrics in scenarios.Metrics order,
	// NaN where the run did not measure one.
	Metrics []float64 `json:"-"`
	// Met says, per SLO of the grid point, whether the run met it.
	Met     []bool `json:"met"`
	Verdict string `json:"verdict"`
}

// Play plays the runs of the sweep that the shard holds, on
// opts.Parallel workers, and returns them in run order.
func (s *Sweep) Play(ctx context.Context, opts Options) ([]RunResult, error) {
	var runs []int
	for i := range s.Runs() {
		if opts.Shard.has(i) {
			runs = append(runs, i)
		}
	}
	workers := opts.Parallel
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, max(len(runs), 1))
	if opts.KeepJournals != "" {
		if err := os.MkdirAll(opts.KeepJournals, 0o755); err != nil {
			return nil, fmt.Errorf("--keep-journals: %w", err)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]RunResult, len(runs))
	next := make(chan int)
	var (
		mu       sync.Mutex
		firstErr error
		done     int
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for k := range next {
				r, err := s.playOne(ctx, runs[k], opts)
				if err != nil {
					fail(err)
					continue
				}
				results[k] = r
				mu.Lock()
				done++
				if opts.Progress != nil {
					opts.Progress(done, len(runs))
				}
				mu.Unlock()
			}
		})
	}
feed:
	for k := range runs {
		select {
		case next <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sweep stopped after %d of %d runs: %w", done, len(runs), err)
	}
	return results, nil
}

// playOne plays run i: its grid point's scenario with its seed, graded as
// `spotdrill run` grades it.
func (s *Sweep) playOne(ctx context.Context, i int, opts Options) (RunResult, error) {
	point, seed := s.run(i)
	pt := &s.Points[point]
	// A copy of the parsed scenario with its own seed; the runner and the
	// simulator only read the rest.
	sc := *pt.Scenario
	sc.Seed = seed
	where := func(err error) error {
		return fmt.Errorf("run %d (%s, seed %d): %w", i, pointLabel(s.Grid, pt.Values), seed, err)
	}

	acc := reports.NewAccumulator()
	bus := journal.NewBus(acc)
	var (
		jw *journal.Writer
		f  *os.File
	)
	if opts.KeepJournals != "" {
		var err error
		name := filepath.Join(opts.KeepJournals, fmt.Sprintf("point%04d-seed%d.journal", point, seed))
		if f, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
			return RunResult{}, where(err)
		}
		defer f.Close()
		jw = journal.NewWriter(f)
		bus.Subscribe(jw)
	}
	w, err := experiments.NewSimWorld(&sc, bus, sim.Options{})
	if err != nil {
		return RunResult{}, where(err)
	}
	cfg := experiments.Config{Scenario: &sc, World: w, Bus: bus, Live: acc, Tool: opts.Tool, ScenarioSHA256: s.Digest}
	if jw != nil {
		cfg.Journal = jw
	}
	if _, err := experiments.Run(ctx, cfg); err != nil {
		return RunResult{}, where(err)
	}
	if err := ctx.Err(); err != nil {
		return RunResult{}, err
	}
	if jw != nil {
		if err := errors.Join(jw.Close(), f.Close()); err != nil {
			return RunResult{}, where(err)
		}
	}
	return resultOf(i, acc.Report()), nil
}

// resultOf keeps the figures of a graded report.
func resultOf(i int, r *reports.Report) RunResult {
	res := RunResult{Run: i, Metrics: make([]float64, len(scenarios.Metrics)), Verdict: string(r.Grading.Verdict)}
	for k, m := range scenarios.Metrics {
		res.Metrics[k] = math.NaN()
		if v, ok := r.Metric(m.Name); ok && v.Measured {
			res.Metrics[k] = v.Value
		}
	}
	res.Met = make([]bool, len(r.Grading.Grades))
	for k, g := range r.Grading.Grades {
		res.Met[k] = g.Pass
	}
	return res
}
