package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/internal/runlock"
	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

// RunOptions are the flags of `spotdrill run`.
type RunOptions struct {
	IO         *IOStreams
	File       string
	Seed       int64
	SeedSet    bool
	Journal    string
	RunsDir    string
	NoProgress bool
}

// NewCmdRun runs a game day. runF replaces the run in tests of the flags.
func NewCmdRun(ios *IOStreams, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run a game day",
		Long: `Run plays a scenario: it freezes the plan, fires each wave through the
blast-radius guard, observes evictions and recovery, writes the journal and
prints a graded summary.

Exit codes: 0 all SLOs met, 1 internal error, 2 invalid input, 3 an SLO
failed, 4 aborted (abort condition or signal), 5 refused for safety.`,
		Example: `  spotdrill run scenarios/library/batch-checkpointed.yaml
  spotdrill run scenarios/library/ci-runners-no-retry.yaml --seed 7 --journal ci.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			opts.SeedSet = cmd.Flags().Changed("seed")
			if runF != nil {
				return runF(opts)
			}
			return runRun(opts)
		},
	}
	cmd.Flags().Int64Var(&opts.Seed, "seed", 0, "random seed (default: the scenario's seed)")
	cmd.Flags().StringVar(&opts.Journal, "journal", "", "journal path (default: RUNS-DIR/<scenario>-seed<seed>-<time>/journal.jsonl)")
	cmd.Flags().StringVar(&opts.RunsDir, "runs-dir", "runs", "folder for run outputs")
	cmd.Flags().BoolVar(&opts.NoProgress, "no-progress", false, "do not print the live progress line")
	return cmd
}

func runRun(opts *RunOptions) error {
	raw, err := os.ReadFile(opts.File)
	if err != nil {
		return withCode(ExitInvalid, fmt.Errorf("scenario: %w", err))
	}
	sc, err := scenarios.Load(opts.File)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	if opts.SeedSet {
		sc.Seed = opts.Seed
	}
	if sc.Target.Provider != scenarios.ProviderSim {
		return withCode(ExitInvalid, fmt.Errorf("%s: provider %q is not supported by this build yet; use provider: sim", opts.File, sc.Target.Provider))
	}
	lock, err := runlock.Acquire(filepath.Join(opts.RunsDir, ".locks", runlock.Name(sc.Target.Provider, sc.Metadata.Name)),
		fmt.Sprintf("pid %d since %s", os.Getpid(), time.Now().UTC().Format(time.RFC3339)))
	if err != nil {
		if errors.Is(err, runlock.ErrHeld) {
			return withCode(ExitRefused, fmt.Errorf("scenario %s: another run against the same targets is in progress: %w", sc.Metadata.Name, err))
		}
		return withCode(ExitInternal, err)
	}
	defer lock.Release()
	path := opts.Journal
	if path == "" {
		stamp := time.Now().UTC().Format("20060102-150405")
		path = filepath.Join(opts.RunsDir, fmt.Sprintf("%s-seed%d-%s", sc.Metadata.Name, sc.Seed, stamp), "journal.jsonl")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return withCode(ExitInternal, fmt.Errorf("journal: %w", err))
	}
	f, err := os.Create(path)
	if err != nil {
		return withCode(ExitInternal, fmt.Errorf("journal: %w", err))
	}
	defer f.Close()
	sum := sha256.Sum256(raw)
	res, runErr := playScenario(opts, sc, f, hex.EncodeToString(sum[:]))
	if err := f.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("journal: %w", err)
	}
	fmt.Fprintf(opts.IO.Err, "journal: %s\n", path)
	if runErr != nil {
		return withCode(ExitInternal, runErr)
	}
	rep, err := reports.Load(path)
	if err != nil {
		return withCode(ExitInternal, err)
	}
	g := reports.Grade(rep, sc.SLOs)
	if err := reports.WriteText(opts.IO.Out, rep, g, reports.TextOptions{Color: useColor(opts.IO)}); err != nil {
		return withCode(ExitInternal, err)
	}
	switch {
	case res.Refused:
		return withCode(ExitRefused, errors.New(res.Reason))
	case res.Status == journal.StatusAborted:
		return withCode(ExitAborted, nil)
	case !g.Pass():
		return withCode(ExitSLO, nil)
	}
	return nil
}

// playScenario runs the game day into the journal file. The first SIGINT or
// SIGTERM is the kill switch: injection stops and the run closes its
// journal. A second one exits at once, after flushing what is written.
func playScenario(opts *RunOptions, sc *scenarios.Scenario, f *os.File, sha string) (experiments.Result, error) {
	jw := journal.NewWriter(f)
	live := reports.NewAccumulator()
	bus := journal.NewBus(jw, live)
	world, err := experiments.NewSimWorld(sc, bus, sim.Options{})
	if err != nil {
		return experiments.Result{}, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		fmt.Fprintln(opts.IO.Err, "\nspotdrill: stopping: no more evictions; closing the journal (signal again to exit now)")
		cancel()
		if _, ok := <-sigs; ok {
			_ = jw.Flush()
			_ = f.Sync()
			os.Exit(ExitAborted)
		}
	}()
	progress := newProgressLine(opts)
	res, err := experiments.Run(ctx, experiments.Config{
		Scenario: sc, World: world, Bus: bus, Live: live, Progress: progress.update,
		Tool: "spotdrill " + Version, ScenarioSHA256: sha,
	})
	progress.done()
	if cerr := jw.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if serr := f.Sync(); serr != nil && err == nil {
		err = fmt.Errorf("journal: %w", serr)
	}
	return res, err
}

func useColor(ios *IOStreams) bool {
	_, noColor := os.LookupEnv("NO_COLOR")
	return ios.OutTerminal && !noColor
}

// progressLine rewrites one line of stderr with the run's progress, at most
// ten times a second of wall time.
type progressLine struct {
	ios     *IOStreams
	enabled bool
	last    time.Time
	shown   bool
}

func newProgressLine(opts *RunOptions) *progressLine {
	return &progressLine{ios: opts.IO, enabled: opts.IO.ErrTerminal && !opts.NoProgress}
}

func (p *progressLine) update(pr experiments.Progress) {
	if !p.enabled {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && pr.Now < pr.Duration {
		return
	}
	p.last = now
	p.shown = true
	fmt.Fprintf(p.ios.Err, "\r\033[K  %s / %s  evictions %d  backlog %d  running %d",
		scenarios.FormatDuration(pr.Now.Truncate(time.Second)), scenarios.FormatDuration(pr.Duration), pr.Evictions, pr.Backlog, pr.Running)
}

func (p *progressLine) done() {
	if p.shown {
		fmt.Fprint(p.ios.Err, "\r\033[K")
	}
}
