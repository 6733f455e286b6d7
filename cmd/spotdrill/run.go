package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/internal/runlock"
	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

// RunOptions are the flags of `spotdrill run`.
type RunOptions struct {
	IO      *IOStreams
	File    string
	Seed    int64
	SeedSet bool
	Journal string
	// ReplaceJournal lets --journal overwrite an existing file.
	ReplaceJournal bool
	RunsDir        string
	// LockDir is where runs lock their targets (runlock.Dir by default).
	LockDir    string
	NoProgress bool
	Quiet      bool
	// The live console (console.go): TUI forces it, NoTUI refuses it;
	// Manual waits for the facilitator before each wave; Speed paces it.
	TUI, NoTUI, Manual bool
	Speed              string
	speed              float64
	// Report and ReportOut write reports beside the summary (--report, -o).
	Report, ReportOut string
	// Confirm is --confirm: the plan digest (or a prefix of at least 12
	// hex digits) that a run on Azure may go ahead with without asking, or
	// "any" for whatever plan is frozen at the start (scheduled runs
	// against a fleet whose instances change).
	Confirm string
	Azure   AzureFlags
	// Lease tags the targets on Azure with the run's ID for the run's
	// length (--lease), so runs from other machines keep away.
	Lease bool
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
	cmd.Flags().StringVar(&opts.Journal, "journal", "", "journal path, a new file (default: RUNS-DIR/<scenario>-seed<seed>-<time>/journal.jsonl)")
	cmd.Flags().BoolVar(&opts.ReplaceJournal, "replace-journal", false, "let --journal overwrite an existing file")
	cmd.Flags().StringVar(&opts.LockDir, "lock-dir", "", "where runs lock their targets (default: $"+runlock.DirEnv+", else a per-user directory)")
	_ = cmd.Flags().MarkHidden("lock-dir")
	cmd.Flags().StringVar(&opts.RunsDir, "runs-dir", "runs", "folder for run outputs")
	cmd.Flags().BoolVar(&opts.NoProgress, "no-progress", false, "do not print the live progress line")
	cmd.Flags().BoolVar(&opts.Quiet, "quiet", false, "no progress line on a terminal (the same as --no-progress)")
	cmd.Flags().BoolVar(&opts.TUI, "tui", false, "play the run in the live console (the default on an interactive terminal)")
	cmd.Flags().BoolVar(&opts.NoTUI, "no-tui", false, "run headless even on an interactive terminal")
	cmd.Flags().BoolVar(&opts.Manual, "manual", false, "console: wait for the n key before each wave")
	cmd.Flags().StringVar(&opts.Speed, "speed", "", "console: virtual seconds per wall second, 1, 10, 60 or max (default 60)")
	cmd.Flags().StringVar(&opts.Report, "report", "", "also write these reports: text, md, html, json, junit (comma-separated)")
	cmd.Flags().StringVarP(&opts.ReportOut, "output", "o", "", "where --report writes: a directory, or a file for one format (default: beside the journal)")
	cmd.Flags().StringVar(&opts.Confirm, "confirm", "", "Azure: go ahead without asking if the frozen plan has this digest (from spotdrill plan; 12 hex digits suffice), or \"any\" for whatever plan is frozen")
	cmd.Flags().BoolVar(&opts.Lease, "lease", false, "Azure: tag the targeted scale sets and VMs spotdrill-run=<run id> for the run, so runs from other machines keep away (needs Microsoft.Resources/tags/write)")
	addAzureFlags(cmd, &opts.Azure, true)
	addTelemetryFlags(cmd, &opts.Telemetry)
	return cmd
}

func runRun(opts *RunOptions) error {
	console, err := useConsole(opts)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	sc, raw, err := loadScenario(opts.File)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	if opts.SeedSet {
		sc.Seed = opts.Seed
	}
	if sc.Target.Provider == scenarios.ProviderSim {
		// Before anything is allocated or written: a fleet that would not
		// fit in memory is the scenario's problem, told with the estimate.
		if err := sim.CheckMemory(sc); err != nil {
			return withCode(ExitInvalid, fmt.Errorf("%s: %w", opts.File, err))
		}
	}
	if console && sc.Target.Provider != scenarios.ProviderSim && opts.Speed != "" {
		return withCode(ExitInvalid, fmt.Errorf("--speed %s: %s runs on the wall clock of a real fleet, which has no speed to set", opts.Speed, opts.File))
	}
	tel, err := opts.Telemetry.start(opts.IO, sc, Version)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	defer tel.close()
	var out reports.Output
	path, f, err := openJournal(opts, sc)
	if err != nil {
		return err
	}
	defer f.Close()
	if opts.Report != "" {
		if out, err = reports.OutputFor(opts.Report, opts.ReportOut, path); err != nil {
			return withCode(ExitInvalid, err)
		}
	}
	sum := sha256.Sum256(raw)
	sess := newSession(opts, sc, f, hex.EncodeToString(sum[:]), tel)
	play := playScenario
	if console {
		play = playConsole
	}
	res, runErr := play(sess)
	sess.targets.Release()
	if err := f.Close(); err != nil && runErr == nil && res.JournalErr == nil {
		runErr = fmt.Errorf("journal: %w", err)
	}
	fmt.Fprintf(opts.IO.Err, "journal: %s\n", path)
	switch {
	case res.LeaseErr != nil:
		fmt.Fprintf(opts.IO.Err, "spotdrill: warning: %v\nRemove the tag by hand: az tag update --operation delete --resource-id ID --tags %s=%s\n",
			res.LeaseErr, injector.LeaseTag, sess.runID)
	}
	switch {
	case res.JournalErr != nil:
		// Nothing was evicted after the failure; what the journal holds is
		// still readable, up to the failure.
		return withCode(ExitAborted, fmt.Errorf("aborted: %w; injection stopped at once, nothing was evicted unrecorded", res.JournalErr))
	case runErr != nil:
		return withCode(ExitInternal, runErr)
	case res.Refused:
		// A refused run evicted nothing: there is nothing to grade.
		if res.Plan != nil && len(res.Plan.Problems) > 0 {
			fmt.Fprintf(opts.IO.Err, "refused for safety, nothing was evicted: the plan breaks the blast radius:\n")
			for _, p := range res.Plan.Problems {
				fmt.Fprintf(opts.IO.Err, "  - %s\n", p)
			}
			return withCode(ExitRefused, nil)
		}
		return withCode(ExitRefused, fmt.Errorf("%s; nothing was evicted", res.Reason))
	}
	// The summary and reports come from the accumulator that watched the
	// run: the journal is not read back (it may be a pipe or /dev/null).
	rep := sess.live.Report()
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
	opts    *RunOptions
	targets *runlock.Set
	runID   string
	sc      *scenarios.Scenario
	f       *os.File
	sha     string
	jw      *journal.Writer
	live    *reports.Accumulator
	bus     *journal.Bus
	world   experiments.World
	tel     *runTelemetry
}

// newSession wires the bus: telemetry first, so that it can stamp trace and
// span IDs on each event before the journal writes it.
func newSession(opts *RunOptions, sc *scenarios.Scenario, f *os.File, sha string, tel *runTelemetry) *session {
	jw := journal.NewWriter(f)
	// On a real fleet every line that describes a call is synced to disk
	// before the call; the simulated fleet only needs it written.
	jw.SetDurable(sc.Target.Provider == scenarios.ProviderAzure)
	live := reports.NewAccumulator()
	return &session{opts: opts, sc: sc, f: f, sha: sha, jw: jw, live: live, bus: journal.NewBus(tel.sinks(jw, live)...), tel: tel,
		runID: newRunID(sc)}
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
		Scenario: s.sc, World: s.world, Bus: s.bus, Live: s.live, Journal: s.jw, Claim: s.claim,
		RunID: s.runID, Lease: s.opts.Lease,
		Confirm: confirmPlan(ctx, s.opts.IO, s.sc, s.opts.Confirm),
		Tool:    "spotdrill " + Version, ScenarioSHA256: s.sha,
	}
}

// loadScenario reads a scenario once, bounded, and gives up at the first
// SIGINT or SIGTERM even while a pipe or FIFO keeps it waiting.
func loadScenario(path string) (*scenarios.Scenario, []byte, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return scenarios.LoadContext(ctx, path)
}

// newRunID names a run for its lease tag: the scenario, the start, and a
// random suffix so that two runs started in the same second differ.
func newRunID(sc *scenarios.Scenario) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s-%s", sc.Metadata.Name, time.Now().UTC().Format("20060102T150405Z"), hex.EncodeToString(b[:]))
}

// claim locks the plan's targets in the per-user lock directory, so that
// no other run, from any directory and under any scenario name, evicts
// the same targets at once.
func (s *session) claim(p *experiments.Plan) error {
	dir := s.opts.LockDir
	if dir == "" {
		dir = runlock.Dir()
	}
	owner := fmt.Sprintf("pid %d since %s, scenario %s, journal %s", os.Getpid(), time.Now().UTC().Format(time.RFC3339),
		s.sc.Metadata.Name, s.f.Name())
	set, err := runlock.AcquireTargets(dir, p.LockKeys(), owner)
	if err != nil {
		if errors.Is(err, runlock.ErrHeld) {
			return fmt.Errorf("another run against the same targets is in progress: %w", err)
		}
		return fmt.Errorf("lock the targets: %w", err)
	}
	s.targets = set
	return nil
}

// openJournal creates the run's journal: a new file (an existing one only
// with --replace-journal), locked for as long as the run holds it open, so
// that two runs never write into one journal.
func openJournal(opts *RunOptions, sc *scenarios.Scenario) (string, *os.File, error) {
	path := opts.Journal
	if path == "" {
		stamp := time.Now().UTC().Format("20060102-150405")
		name := fmt.Sprintf("%s-seed%d-%s", sc.Metadata.Name, sc.Seed, stamp)
		// Two runs in the same second get folders of their own.
		for i := 2; ; i++ {
			if _, err := os.Lstat(filepath.Join(opts.RunsDir, name)); errors.Is(err, fs.ErrNotExist) || i > 100 {
				break
			}
			name = fmt.Sprintf("%s-seed%d-%s-%d", sc.Metadata.Name, sc.Seed, stamp, i)
		}
		// The scenario's name is checked to be an identifier; this keeps
		// the folder inside the runs folder whatever a future rule allows.
		if !filepath.IsLocal(name) || filepath.Base(name) != name {
			return "", nil, withCode(ExitInvalid, fmt.Errorf("scenario name %q would put the journal outside %s", sc.Metadata.Name, opts.RunsDir))
		}
		path = filepath.Join(opts.RunsDir, name, "journal.jsonl")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", nil, withCode(ExitInternal, fmt.Errorf("journal: %w", err))
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if fi, err := os.Stat(path); err == nil {
		switch {
		case !fi.Mode().IsRegular():
			// A pipe or a device (/dev/null, a FIFO read by another tool)
			// is written as it is.
			flags = os.O_WRONLY
		case opts.ReplaceJournal:
			flags = os.O_WRONLY
		default:
			return "", nil, withCode(ExitInvalid, fmt.Errorf("journal %s already exists (expected a new file; --replace-journal overwrites it)", path))
		}
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", nil, withCode(ExitInvalid, fmt.Errorf("journal %s already exists (expected a new file; --replace-journal overwrites it)", path))
		}
		return "", nil, withCode(ExitInternal, fmt.Errorf("journal: %w", err))
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		if err := runlock.LockOpen(f); err != nil {
			f.Close()
			if errors.Is(err, runlock.ErrHeld) {
				return "", nil, withCode(ExitRefused, fmt.Errorf("journal %s: another run is writing it", path))
			}
			return "", nil, withCode(ExitInternal, fmt.Errorf("journal: %w", err))
		}
		// Truncate only once the lock is ours: a replaced journal that
		// another run still writes is never cut under it.
		if err := f.Truncate(0); err != nil {
			f.Close()
			return "", nil, withCode(ExitInternal, fmt.Errorf("journal: %w", err))
		}
	}
	return path, f, nil
}

// flush writes what the journal holds, for a second signal's hasty exit.
func (s *session) flush() { _ = s.jw.Sync() }

// close ends the journal: every line written, and synced when it is a
// regular file.
func (s *session) close(err error) error {
	if cerr := s.jw.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if serr := s.jw.Sync(); serr != nil && err == nil {
		err = serr
	}
	return err
}

// playScenario runs the game day headless. The first SIGINT or SIGTERM is
// the kill switch: injection stops and the run closes its journal. A second
// one exits at once, after flushing what is written.
func playScenario(s *session) (experiments.Result, error) {
	// The kill switch is armed before the world is built, so that a
	// signal during the setup of a large fleet stops the run as soon as
	// the setup returns, with a closed journal, rather than killing it.
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
	if err := s.start(); err != nil {
		return experiments.Result{}, s.close(err)
	}
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
// ten times a second of wall time: the run clock, the events per second of
// wall time, and the time left at the pace so far.
type progressLine struct {
	ios     *IOStreams
	enabled bool
	start   time.Time
	last    time.Time
	shown   bool
}

func newProgressLine(opts *RunOptions) *progressLine {
	return &progressLine{ios: opts.IO, enabled: opts.IO.ErrTerminal && !opts.NoProgress && !opts.Quiet, start: time.Now()}
}

func (p *progressLine) update(pr experiments.Progress) {
	if !p.enabled {
		return
	}
	now := time.Now()
	if p.shown && now.Sub(p.last) < 100*time.Millisecond && pr.Now < pr.Duration {
		return
	}
	p.last = now
	p.shown = true
	elapsed := now.Sub(p.start)
	rate := float64(pr.Events) / max(elapsed.Seconds(), 1e-3)
	eta := "–"
	if pr.Now > 0 && pr.Now < pr.Duration {
		left := time.Duration(float64(elapsed) * float64(pr.Duration-pr.Now) / float64(pr.Now))
		if left < 10*time.Second {
			eta = fmt.Sprintf("%.1fs", left.Seconds())
		} else {
			eta = scenarios.FormatDuration(left.Round(time.Second))
		}
	}
	fmt.Fprintf(p.ios.Err, "\r\033[K  %s / %s  %s events/s  ETA %s  evictions %d  backlog %d  running %d",
		scenarios.FormatDuration(pr.Now.Truncate(time.Second)), scenarios.FormatDuration(pr.Duration), formatRate(rate), eta,
		pr.Evictions, pr.Backlog, pr.Running)
}

// formatRate writes events per second in a few digits: 950, 12.3k, 1.2M.
func formatRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.1fM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.0fk", r/1e3)
	case r >= 1e3:
		return fmt.Sprintf("%.1fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

func (p *progressLine) done() {
	if p.shown {
		fmt.Fprint(p.ios.Err, "\r\033[K")
	}
}
