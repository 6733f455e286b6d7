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
	// The live console (console.go): TUI forces it, NoTUI refuses it;
	// Manual waits for the facilitator before each wave; Speed paces it.
	TUI, NoTUI, Manual bool
	Speed              string
	speed              float64
	// Report and ReportOut write reports beside the summary (--report, -o).
	Report, ReportOut string
	// Confirm goes ahead on Azure without asking (--confirm).
	Confirm bool
	Azure   AzureFlags
	// Telemetry is --trace-file and --otlp-listen (telemetry.go).
	Telemetry TelemetryOptions
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

On an interactive terminal the run plays in the live console (--no-tui for
the plain run). A run against Azure shows the frozen plan and needs
--confirm or an interactive yes before anything is evicted.

Exit codes: 0 all SLOs met, 1 internal error, 2 invalid input, 3 an SLO
failed, 4 aborted (abort condition, halt key or signal), 5 refused for safety.`,
		Example: `  spotdrill run scenarios/library/batch-checkpointed.yaml
  spotdrill run scenarios/library/ci-runners-no-retry.yaml --no-tui --seed 7 --journal ci.jsonl
  spotdrill run scenarios/library/gpu-training.yaml --tui --manual --speed 10
  spotdrill run nightly.yaml --no-tui --report junit,html -o out/`,
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
	cmd.Flags().BoolVar(&opts.TUI, "tui", false, "play the run in the live console (the default on an interactive terminal)")
	cmd.Flags().BoolVar(&opts.NoTUI, "no-tui", false, "run headless even on an interactive terminal")
	cmd.Flags().BoolVar(&opts.Manual, "manual", false, "console: wait for the n key before each wave")
	cmd.Flags().StringVar(&opts.Speed, "speed", "", "console: virtual seconds per wall second, 1, 10, 60 or max (default 60)")
	cmd.Flags().StringVar(&opts.Report, "report", "", "also write these reports: text, md, html, json, junit (comma-separated)")
	cmd.Flags().StringVarP(&opts.ReportOut, "output", "o", "", "where --report writes: a directory, or a file for one format (default: beside the journal)")
	cmd.Flags().BoolVar(&opts.Confirm, "confirm", false, "Azure: evict the frozen plan's VMs without asking")
	addAzureFlags(cmd, &opts.Azure, true)
	addTelemetryFlags(cmd, &opts.Telemetry)
	return cmd
}

func runRun(opts *RunOptions) error {
	console, err := useConsole(opts)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
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
	if console && sc.Target.Provider != scenarios.ProviderSim {
		return withCode(ExitInvalid, fmt.Errorf("%s: the live console plays simulated game days; run Azure scenarios with --no-tui", opts.File))
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
	tel, err := opts.Telemetry.start(opts.IO, sc, Version)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	defer tel.close()
	path := opts.Journal
	if path == "" {
		stamp := time.Now().UTC().Format("20060102-150405")
		path = filepath.Join(opts.RunsDir, fmt.Sprintf("%s-seed%d-%s", sc.Metadata.Name, sc.Seed, stamp), "journal.jsonl")
	}
	var out reports.Output
	if opts.Report != "" {
		if out, err = reports.OutputFor(opts.Report, opts.ReportOut, path); err != nil {
			return withCode(ExitInvalid, err)
		}
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
	sess := newSession(opts, sc, f, hex.EncodeToString(sum[:]), tel)
	play := playScenario
	if console {
		play = playConsole
	}
	res, runErr := play(sess)
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
	if err := tel.finish(rep, g); err != nil {
		fmt.Fprintf(opts.IO.Err, "spotdrill: %v\n", err)
	}
	if err := reports.WriteText(opts.IO.Out, rep, g, reports.TextOptions{Color: useColor(opts.IO)}); err != nil {
		return withCode(ExitInternal, err)
	}
	if len(out.Formats) > 0 {
		written, err := reports.WriteAll(rep, g, out)
		for _, p := range written {
			fmt.Fprintf(opts.IO.Err, "report: %s\n", p)
		}
		if err != nil {
			return withCode(ExitInternal, err)
		}
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

// session is what a run needs whichever way it plays: the journal writer,
// the live metrics, the bus and the world, wired the same for the headless
// run and the console.
type session struct {
	opts  *RunOptions
	sc    *scenarios.Scenario
	f     *os.File
	sha   string
	jw    *journal.Writer
	live  *reports.Accumulator
	bus   *journal.Bus
	world experiments.World
	tel   *runTelemetry
}

// newSession wires the bus: telemetry first, so that it can stamp trace and
// span IDs on each event before the journal writes it.
func newSession(opts *RunOptions, sc *scenarios.Scenario, f *os.File, sha string, tel *runTelemetry) *session {
	jw := journal.NewWriter(f)
	live := reports.NewAccumulator()
	return &session{opts: opts, sc: sc, f: f, sha: sha, jw: jw, live: live, bus: journal.NewBus(tel.sinks(jw, live)...), tel: tel}
}

// start builds the world; the caller subscribes its own sinks first.
func (s *session) start() error {
	w, err := newWorld(s.sc, s.bus, &s.opts.Azure, s.tel.simObserver())
	if err != nil {
		return err
	}
	s.tel.attach(s.bus, w)
	s.world = w
	return nil
}

// config is the runner's configuration; the caller adds its steering.
func (s *session) config(ctx context.Context) experiments.Config {
	return experiments.Config{
		Scenario: s.sc, World: s.world, Bus: s.bus, Live: s.live,
		Confirm: confirmPlan(ctx, s.opts.IO, s.sc, s.opts.Confirm),
		Tool:    "spotdrill " + Version, ScenarioSHA256: s.sha,
	}
}

// flush writes what the journal holds, for a second signal's hasty exit.
func (s *session) flush() {
	_ = s.jw.Flush()
	_ = s.f.Sync()
}

// close ends the journal: every line written and synced.
func (s *session) close(err error) error {
	if cerr := s.jw.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if serr := s.f.Sync(); serr != nil && err == nil {
		err = fmt.Errorf("journal: %w", serr)
	}
	return err
}

// playScenario runs the game day headless. The first SIGINT or SIGTERM is
// the kill switch: injection stops and the run closes its journal. A second
// one exits at once, after flushing what is written.
func playScenario(s *session) (experiments.Result, error) {
	if err := s.start(); err != nil {
		return experiments.Result{}, s.close(err)
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
		fmt.Fprintln(s.opts.IO.Err, "\nspotdrill: stopping: no more evictions; closing the journal (signal again to exit now)")
		cancel()
		if _, ok := <-sigs; ok {
			s.flush()
			os.Exit(ExitAborted)
		}
	}()
	progress := newProgressLine(s.opts)
	cfg := s.config(ctx)
	cfg.Progress = progress.update
	res, err := experiments.Run(ctx, cfg)
	progress.done()
	return res, s.close(err)
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
