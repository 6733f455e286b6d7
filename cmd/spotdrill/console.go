package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/internal/tui"
	"github.com/spotdrill/spotdrill/scenarios"
)

// defaultConsoleSpeed paces a console run: an hour of the run clock takes a
// minute, slow enough to follow and steer, fast enough for a rehearsal.
const defaultConsoleSpeed = 60

// parseSpeed reads --speed: 1, 10 or 60 virtual seconds per wall second, or
// max (0: as fast as the machine goes).
func parseSpeed(s string) (float64, error) {
	switch s {
	case "":
		return defaultConsoleSpeed, nil
	case "1", "10", "60":
		var v float64
		_, err := fmt.Sscan(s, &v)
		return v, err
	case "max":
		return 0, nil
	}
	return 0, fmt.Errorf("--speed %q: expected 1, 10, 60 or max", s)
}

// useConsole decides between the live console and the headless run and
// checks the console's flags: the console on an interactive terminal unless
// --no-tui, headless everywhere else (CI, pipes, files).
func useConsole(opts *RunOptions) (bool, error) {
	if opts.TUI && opts.NoTUI {
		return false, errors.New("--tui and --no-tui contradict each other")
	}
	speed, err := parseSpeed(opts.Speed)
	if err != nil {
		return false, err
	}
	opts.speed = speed
	interactive := opts.IO.InTerminal && opts.IO.OutTerminal
	if opts.TUI && !interactive {
		return false, errors.New("--tui needs an interactive terminal on standard input and output")
	}
	use := opts.TUI || (interactive && !opts.NoTUI)
	if !use && (opts.Manual || opts.Speed != "") {
		return false, errors.New("--manual and --speed steer the live console, which this run does not use (--no-tui, or no terminal)")
	}
	return use, nil
}

// playConsole runs the game day under the live console. The runner plays in
// its own goroutine; the console subscribes to its bus and steers it through
// a Control. When the console exits the run is halted if it still plays, and
// the journal is closed either way, so the summary follows as after a
// headless run.
func playConsole(s *session) (experiments.Result, error) {
	opts := s.opts
	feed := tui.NewFeed(0)
	s.bus.Subscribe(feed)
	if err := s.start(); err != nil {
		return experiments.Result{}, s.close(err)
	}
	speed := opts.speed
	real := s.sc.Target.Provider != scenarios.ProviderSim
	if real {
		speed = 0 // the wall clock: the runner steps it a second at a time
	}
	ctl := experiments.NewControl(speed, opts.Manual)
	prog := tea.NewProgram(tui.New(tui.Options{
		Scenario: s.sc, Feed: feed, Control: ctl, Live: s.live, Output: opts.IO.Out, Color: useColor(opts.IO),
	}), tea.WithAltScreen(), tea.WithInput(opts.IO.In), tea.WithOutput(opts.IO.Out), tea.WithoutSignalHandler())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer consoleSignals(prog, cancel, s.flush)()

	type outcome struct {
		res experiments.Result
		err error
	}
	done := make(chan outcome, 1)
	uiDone := make(chan struct{})
	go func() {
		cfg := s.config(ctx)
		cfg.Progress, cfg.Control = feed.Progress, ctl
		if real {
			cfg.Confirm = consoleConfirm(ctx, opts.Confirm, s.sc, prog.Send, uiDone)
		}
		res, err := experiments.Run(ctx, cfg)
		feed.Finish(res, err)
		done <- outcome{res, err}
	}()
	// A killed program is the second signal's doing, which exits by itself.
	if _, uiErr := prog.Run(); uiErr != nil && !errors.Is(uiErr, tea.ErrProgramKilled) {
		fmt.Fprintf(opts.IO.Err, "spotdrill: console: %v; halting the run\n", uiErr)
	}
	close(uiDone) // a plan still unanswered is refused
	// A run is never left playing unseen: quitting the console halts it
	// (a no-op when it has ended).
	ctl.Halt()
	out := <-done
	return out.res, s.close(out.err)
}

// consoleConfirm is the plan's confirmation inside the console: the plan is
// frozen and its targets and waves on screen; the facilitator starts the
// game day with y, or refuses it. --confirm DIGEST|any answers for them,
// as on a headless run; a mismatch is refused without asking.
func consoleConfirm(ctx context.Context, confirm string, sc *scenarios.Scenario, send func(tea.Msg), uiDone <-chan struct{}) func(*experiments.Plan) bool {
	if confirm != "" {
		// The terminal belongs to the console: the plan's text goes nowhere,
		// the decision is --confirm's alone.
		quiet := &IOStreams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}
		return confirmPlan(ctx, quiet, sc, confirm)
	}
	return func(p *experiments.Plan) bool {
		answer := make(chan bool, 1)
		go send(tui.ConfirmPlanMsg{Digest: p.ShortDigest(), Targets: len(p.Targets), Waves: len(sc.Waves), Excluded: len(p.Excluded), Answer: answer})
		select {
		case yes := <-answer:
			return yes
		case <-ctx.Done():
			return false
		case <-uiDone:
			return false
		}
	}
}

// consoleSignals keeps signals the kill switch while the console owns the
// terminal: the first SIGINT or SIGTERM stops the run (the console says so
// and exits once the journal is closed); a second one gives the terminal
// back, flushes what is written and exits at once. It returns the function
// that stops listening.
func consoleSignals(prog *tea.Program, cancel context.CancelFunc, flush func()) func() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		cancel()
		prog.Send(tui.SignalMsg{})
		if _, ok := <-sigs; ok {
			prog.Kill()
			prog.Wait()
			flush()
			os.Exit(ExitAborted)
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(sigs)
	}
}
