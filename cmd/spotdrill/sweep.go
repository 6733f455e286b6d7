package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/spotdrill/spotdrill/internal/sweep"
	"github.com/spotdrill/spotdrill/internal/textsafe"
	"github.com/spotdrill/spotdrill/scenarios"
)

// SweepOptions are the flags of sweep and sweep merge.
type SweepOptions struct {
	IO       *IOStreams
	File     string
	Seeds    string
	Sets     []string
	Parallel int
	Keep     string
	Shard    string
	goalFlags
	outFlags
	// Getenv reads JOB_COMPLETION_INDEX; os.Getenv unless a test sets it.
	Getenv func(string) string
}

type goalFlags struct {
	Minimize, Maximize string
	SubjectTo          []string
	Probability        string
}

type outFlags struct {
	Output  string
	File    string
	Metrics []string
	Quiet   bool
}

func (g *goalFlags) add(f interface {
	StringVar(*string, string, string, string)
	StringSliceVar(*[]string, string, []string, string)
}) {
	f.StringVar(&g.Minimize, "minimize", "", "name the grid point with the lowest mean of this metric")
	f.StringVar(&g.Maximize, "maximize", "", "name the grid point with the highest mean of this metric")
	f.StringSliceVar(&g.SubjectTo, "subject-to", nil, "SLOs the best point must meet, by name (default: all of the scenario's)")
	f.StringVar(&g.Probability, "probability", "", "share of runs in which the best point must meet them (default 95%)")
}

// NewCmdSweep builds `spotdrill sweep` and `spotdrill sweep merge`.
func NewCmdSweep(ios *IOStreams) *cobra.Command {
	opts := &SweepOptions{IO: ios, Getenv: os.Getenv}
	cmd := &cobra.Command{
		Use:   "sweep FILE",
		Short: "Play a scenario over a grid of parameters and seeds and report distributions",
		Long: `Sweep plays a scenario on the simulated fleet many times: every
combination of the --set values (the grid), each with every seed. For each
grid point it reports every metric's mean with its 95% confidence interval,
p50 and p95 across seeds; each SLO's probability of breach with its 95%
Wilson interval; and the share of runs that met every SLO. With --minimize
or --maximize it names the best grid point among those that met the SLOs
in at least --probability of their runs, and says whether its interval
overlaps the runner-up's.

--set PATH=V1,V2,... addresses any single-valued field by its YAML path:
fleet.evictionRate, workload.checkpoint.interval, list items by name or
index (fleet.pools[batch-spot].capacity, waves[0].at). Values are checked as
the scenario's own. A scenario's sweep: section holds the same, so that a
sweep is a reviewable file; flags override it.

Runs play on --parallel workers, each deterministic: the output is the
same whatever the number of workers. --shard i/n plays a disjoint share of
the runs (k8s/n takes i from JOB_COMPLETION_INDEX) and, with --output json,
prints the shard document that 'sweep merge' combines into exactly the
result of one process.

Exit codes: 0 done, 2 invalid input, 3 no grid point met the goal's SLOs
often enough, 4 interrupted.`,
		Example: `  spotdrill sweep scenarios/library/batch-checkpointed.yaml --seeds 50 \
      --set workload.checkpoint.interval=2m,5m,10m,20m --minimize lostWork.fraction
  spotdrill sweep scenario.yaml --set fleet.evictionRate=5%,10%,20% --output html -o sweep.html
  spotdrill sweep scenario.yaml --shard 2/8 --output json -o shard-2.json
  spotdrill sweep merge shard-*.json --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.File = args[0]
			return sweepRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Seeds, "seeds", "", "seeds per grid point: N for 1..N, or a range A-B (default: the file's sweep.seeds, else 100)")
	f.StringArrayVar(&opts.Sets, "set", nil, "PATH=V1,V2,...: a field to vary and its values (repeatable; the grid is their product)")
	f.IntVar(&opts.Parallel, "parallel", 0, "runs played at once (default: GOMAXPROCS, the CPUs this process may use)")
	f.StringVar(&opts.Keep, "keep-journals", "", "directory to write every run's journal to (none is written otherwise)")
	f.StringVar(&opts.Shard, "shard", "", "play shard i of n (i/n, 1-based; k8s/n reads JOB_COMPLETION_INDEX)")
	opts.goalFlags.add(f)
	addOutFlags(f, &opts.outFlags)
	cmd.AddCommand(newCmdSweepMerge(ios))
	return cmd
}

func addOutFlags(f interface {
	StringVar(*string, string, string, string)
	StringVarP(*string, string, string, string, string)
	StringSliceVar(*[]string, string, []string, string)
	BoolVar(*bool, string, bool, string)
}, o *outFlags) {
	f.StringVar(&o.Output, "output", "text", "text, json, csv or html")
	f.StringVarP(&o.File, "out-file", "o", "", "write the output to this file (default: standard output)")
	f.StringSliceVar(&o.Metrics, "metric", nil, "metrics to show in the table and plots beside the goal's and the SLOs' (repeatable)")
	f.BoolVar(&o.Quiet, "quiet", false, "no progress line on a terminal")
}

func newCmdSweepMerge(ios *IOStreams) *cobra.Command {
	var (
		goal goalFlags
		out  outFlags
	)
	cmd := &cobra.Command{
		Use:   "merge SHARD...",
		Short: "Combine the shard documents of a sweep into its result",
		Long: `Merge reads the documents that 'spotdrill sweep --shard i/n --output json'
wrote, checks that they are every shard of one sweep, each once, and
prints the result exactly as one process playing the whole sweep would,
in any of its formats.`,
		Example: `  spotdrill sweep merge results/shard-*.json
  spotdrill sweep merge results/*.json --minimize lostWork.fraction --output html -o sweep.html`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return sweepMerge(ios, args, goal, out)
		},
	}
	goal.add(cmd.Flags())
	addOutFlags(cmd.Flags(), &out)
	return cmd
}

func checkOutput(o outFlags) error {
	switch o.Output {
	case "text", "json", "csv", "html":
		return nil
	}
	return fmt.Errorf("--output %s: expected text, json, csv or html", textsafe.Quote(o.Output))
}

// goal combines the file's sweep section with the flags.
func (g goalFlags) goal(base sweep.Goal) (sweep.Goal, error) {
	if g.Minimize != "" && g.Maximize != "" {
		return base, errors.New("--minimize and --maximize: expected one of them")
	}
	switch {
	case g.Minimize != "":
		base.Metric, base.Maximize = g.Minimize, false
	case g.Maximize != "":
		base.Metric, base.Maximize = g.Maximize, true
	}
	if len(g.SubjectTo) > 0 {
		base.SubjectTo = g.SubjectTo
	}
	if g.Probability != "" {
		p, err := scenarios.ParsePercent(g.Probability)
		if err != nil || p <= 0 || p > 1 {
			return base, fmt.Errorf("--probability %s: expected a share of runs such as 95%%", textsafe.Quote(g.Probability))
		}
		base.Probability = p
	}
	if base.Metric != "" {
		if _, ok := scenarios.LookupMetric(base.Metric); !ok {
			return base, fmt.Errorf("unknown metric %s (expected one of %s)", textsafe.Quote(base.Metric), strings.Join(scenarios.MetricNames(), ", "))
		}
	}
	return base, nil
}

func sweepRun(opts *SweepOptions) error {
	if err := checkOutput(opts.outFlags); err != nil {
		return withCode(ExitInvalid, err)
	}
	var shard sweep.Shard
	if opts.Shard != "" {
		var err error
		if shard, err = sweep.ParseShard(opts.Shard, opts.Getenv); err != nil {
			return withCode(ExitInvalid, err)
		}
		if opts.Output != "json" {
			return withCode(ExitInvalid, fmt.Errorf("--shard %s: a shard prints the document sweep merge reads (expected --output json)", opts.Shard))
		}
	}
	if opts.Parallel < 0 || opts.Parallel > 1024 {
		return withCode(ExitInvalid, fmt.Errorf("--parallel %d: expected 1 to 1024 workers, or 0 for one per CPU", opts.Parallel))
	}
	var flagGrid []sweep.Param
	for _, s := range opts.Sets {
		p, err := sweep.ParseSet(s)
		if err != nil {
			return withCode(ExitInvalid, err)
		}
		flagGrid = append(flagGrid, p)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	data, err := scenarios.ReadFile(ctx, opts.File)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	base, err := scenarios.Parse(data, opts.File)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	spec := sweep.Spec{File: opts.File, Data: data}
	seeds := opts.Seeds
	if sw := base.Sweep; sw != nil {
		if seeds == "" {
			seeds = sw.Seeds
		}
		for _, s := range sw.Set {
			spec.Grid = append(spec.Grid, sweep.Param{Path: s.Path, Values: s.Values})
		}
		spec.Goal = sweep.Goal{Metric: sw.Minimize, SubjectTo: sw.SubjectTo}
		if sw.Maximize != "" {
			spec.Goal.Metric, spec.Goal.Maximize = sw.Maximize, true
		}
		if sw.Probability != nil {
			spec.Goal.Probability = float64(*sw.Probability)
		}
	}
	spec.Grid = sweep.MergeGrid(spec.Grid, flagGrid)
	if seeds != "" {
		if spec.Seeds, err = scenarios.ParseSeeds(seeds); err != nil {
			return withCode(ExitInvalid, fmt.Errorf("--seeds: %w", err))
		}
	}
	if spec.Goal, err = opts.goal(spec.Goal); err != nil {
		return withCode(ExitInvalid, err)
	}
	sw, err := sweep.New(spec)
	if err != nil {
		return withCode(ExitInvalid, err)
	}

	workers := sweep.Workers(opts.Parallel)
	if err := sw.CheckMemory(workers); err != nil {
		return withCode(ExitInvalid, err)
	}
	tuneGC(sw, workers, opts.Getenv)

	total := sw.Runs()
	if !shard.Whole() {
		total = (total - shard.Index + shard.Count) / shard.Count
	}
	bar := newProgress(opts.IO, opts.Quiet, total)
	runs, err := sw.Play(ctx, sweep.Options{
		Parallel: opts.Parallel, Shard: shard, KeepJournals: opts.Keep,
		Progress: bar.update, Tool: "spotdrill " + Version,
	})
	bar.done()
	if err != nil {
		if ctx.Err() != nil {
			return withCode(ExitAborted, err)
		}
		return withCode(ExitInternal, err)
	}
	h := sw.Header()
	if !shard.Whole() {
		doc := sweep.NewShardDoc(h, shard, runs)
		return sweep.WriteFile(opts.outFlags.File, opts.IO.Out, func(w io.Writer) error { return sweep.WriteJSON(w, doc) })
	}
	res, err := sweep.Aggregate(h, runs)
	if err != nil {
		return withCode(ExitInternal, err)
	}
	return writeSweep(opts.IO, res, opts.outFlags)
}

func sweepMerge(ios *IOStreams, paths []string, gf goalFlags, out outFlags) error {
	if err := checkOutput(out); err != nil {
		return withCode(ExitInvalid, err)
	}
	docs := make([]*sweep.ShardDoc, len(paths))
	for i, p := range paths {
		d, err := sweep.ReadShard(p)
		if err != nil {
			return withCode(ExitInvalid, err)
		}
		docs[i] = d
	}
	h, runs, err := sweep.Merge(paths, docs)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	if h.Goal, err = gf.goal(h.Goal); err != nil {
		return withCode(ExitInvalid, err)
	}
	for _, name := range h.Goal.SubjectTo {
		for p, slos := range h.SLOs {
			found := false
			for _, s := range slos {
				found = found || s.Name == name
			}
			if !found {
				return withCode(ExitInvalid, fmt.Errorf("--subject-to: no SLO named %s at grid point %d", textsafe.Quote(name), p))
			}
		}
	}
	res, err := sweep.Aggregate(h, runs)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	return writeSweep(ios, res, out)
}

// writeSweep prints the result in its format; exit 3 when a goal found no
// grid point that met its SLOs often enough.
func writeSweep(ios *IOStreams, res *sweep.Result, out outFlags) error {
	metrics := sweep.ShownMetrics(res, out.Metrics)
	err := sweep.WriteFile(out.File, ios.Out, func(w io.Writer) error {
		switch out.Output {
		case "json":
			return sweep.WriteJSON(w, res)
		case "csv":
			return sweep.WriteCSV(w, res)
		case "html":
			return sweep.WriteHTML(w, res, metrics)
		}
		return sweep.WriteTable(w, res, metrics)
	})
	if err != nil {
		return withCode(ExitInternal, err)
	}
	if res.Best != nil && !res.Best.Found {
		return withCode(ExitSLO, nil)
	}
	return nil
}

// tuneGC leaves the garbage collector off below a memory limit sized for
// the sweep (sweep.GCLimit), unless the user set GOGC or GOMEMLIMIT.
func tuneGC(sw *sweep.Sweep, workers int, getenv func(string) string) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return
	}
	if limit, ok := sw.GCLimit(workers); ok {
		debug.SetMemoryLimit(int64(limit))
		debug.SetGCPercent(-1)
	}
}

// progress draws a bar with the runs done and an estimate of the time
// left, on standard error when it is a terminal; it is silent otherwise.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	on    bool
	total int
	start time.Time
	last  time.Time
}

func newProgress(ios *IOStreams, quiet bool, total int) *progress {
	return &progress{w: ios.Err, on: ios.ErrTerminal && !quiet, total: total, start: time.Now()}
}

func (p *progress) update(done, total int) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if done < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	const width = 30
	fill := width * done / max(total, 1)
	elapsed := now.Sub(p.start)
	eta := "–"
	if done > 0 {
		left := time.Duration(float64(elapsed) / float64(done) * float64(total-done))
		eta = scenarios.FormatDuration(left.Round(time.Second))
	}
	rate := float64(done) / max(elapsed.Seconds(), 1e-9)
	fmt.Fprintf(p.w, "\r\x1b[K[%s%s] %d/%d runs · %.1f runs/s · ETA %s", strings.Repeat("█", fill), strings.Repeat("░", width-fill), done, total, rate, eta)
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
