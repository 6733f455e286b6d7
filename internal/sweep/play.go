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
	"sync/atomic"

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

// gcHeadroom is the heap a sweep leaves room for beside its runs: the
// figures kept, the statistics, the runtime.
const gcHeadroom = 128 << 20

// GCLimit returns a memory limit under which the garbage collector can be
// left off for a sweep on workers workers, or false when the machine has
// too little memory to spare. A run allocates far more than it keeps, on a
// small live heap: with the collector's default pacing it collects every
// few megabytes on every worker, which costs more than the runs themselves
// on a small scenario and keeps two workers from doubling the throughput
// of one. The limit is the headroom plus twice each worker's largest run.
func (s *Sweep) GCLimit(workers int) (uint64, bool) {
	limit := uint64(gcHeadroom) + uint64(workers)*2*s.largestRun()
	if have, ok := sim.AvailableMemory(); ok && limit > have/2 {
		return 0, false
	}
	return limit, true
}

// CheckMemory refuses a sweep whose workers' runs, all at their largest,
// would not fit in the memory the machine has.
func (s *Sweep) CheckMemory(workers int) error {
	need := uint64(workers) * s.largestRun()
	if have, ok := sim.AvailableMemory(); ok && need > have {
		return fmt.Errorf("%d workers each need up to %d MiB for this scenario, %d MiB in all, more than the %d MiB available (expected fewer --parallel workers)",
			workers, s.largestRun()>>20, need>>20, have>>20)
	}
	return nil
}

func (s *Sweep) largestRun() uint64 {
	var most uint64
	for _, pt := range s.Points {
		most = max(most, sim.EstimateMemory(pt.Scenario))
	}
	return most
}

// Workers is how many runs Play plays at once for the given --parallel.
func Workers(parallel int) int {
	if parallel <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return parallel
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
	workers := min(Workers(opts.Parallel), max(len(runs), 1))
	if opts.KeepJournals != "" {
		if err := os.MkdirAll(opts.KeepJournals, 0o755); err != nil {
			return nil, fmt.Errorf("--keep-journals: %w", err)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]RunResult, len(runs))
	// Workers take the next run from a shared counter: no goroutine hands
	// work to another, so none parks and wakes between runs of a
	// millisecond.
	var (
		next     atomic.Int64
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
			for ctx.Err() == nil {
				k := int(next.Add(1) - 1)
				if k >= len(runs) {
					return
				}
				r, err := s.playOne(ctx, runs[k], opts)
				if err != nil {
					fail(err)
					return
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
