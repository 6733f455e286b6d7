package tui

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

// fixedClock is the wall clock of every test: frames must not depend on
// when the test runs.
var fixedClock = func() time.Time { return time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC) }

func loadScenario(t testing.TB, name string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Load(filepath.Join("..", "..", "scenarios", "library", name))
	require.NoError(t, err)
	return sc
}

// recorded is a whole run played headless, its events copied as a console
// would get them, and the live metrics at the end.
type recorded struct {
	events []journal.Event
	live   *reports.Accumulator
	res    experiments.Result
}

// record plays a scenario at full speed. steer, when set, is the runner's
// progress callback with the run's control (manual when manual is true).
func record(t testing.TB, sc *scenarios.Scenario, manual bool, steer func(experiments.Progress, *experiments.Control)) recorded {
	t.Helper()
	var rec recorded
	rec.live = reports.NewAccumulator()
	jw := journal.NewWriter(io.Discard)
	bus := journal.NewBus(jw, rec.live, journal.SinkFunc(func(e *journal.Event) { rec.events = append(rec.events, copyEvent(e)) }))
	w, err := experiments.NewSimWorld(sc, bus, sim.Options{})
	require.NoError(t, err)
	cfg := experiments.Config{Scenario: sc, World: w, Bus: bus, Live: rec.live}
	if steer != nil || manual {
		ctl := experiments.NewControl(0, manual)
		cfg.Control = ctl
		cfg.Progress = func(p experiments.Progress) {
			if steer != nil {
				steer(p, ctl)
			}
		}
	}
	rec.res, err = experiments.Run(context.Background(), cfg)
	require.NoError(t, err)
	require.NoError(t, jw.Close())
	return rec
}

// until returns the events up to run-clock second t.
func (r recorded) until(t float64) []journal.Event {
	for i, e := range r.events {
		if e.T > t {
			return r.events[:i]
		}
	}
	return r.events
}

// newTestModel is a console without a terminal: no colour, a fixed clock.
func newTestModel(t testing.TB, sc *scenarios.Scenario, ctl *experiments.Control, live Live) *Model {
	t.Helper()
	feed := NewFeed(time.Millisecond)
	t.Cleanup(func() { feed.Finish(experiments.Result{}, nil) })
	return New(Options{Scenario: sc, Feed: feed, Control: ctl, Live: live, Clock: fixedClock})
}

// withProfile redraws the model's styles for a colour profile.
func withProfile(m *Model, p termenv.Profile) *Model {
	m.theme = newTheme(p)
	m.help = newHelpBar(&m.theme)
	return m
}

// send feeds messages to Update. The command a key returns (steering the
// control, or quitting) runs at once and a control state it reports is fed
// back, as the program would; commands of other messages wait (the feed,
// ticks) and are not run. It returns what the last command produced.
func send(m *Model, msgs ...tea.Msg) tea.Msg {
	var out tea.Msg
	for _, msg := range msgs {
		_, cmd := m.Update(msg)
		out = nil
		if _, isKey := msg.(tea.KeyMsg); !isKey || cmd == nil {
			continue
		}
		out = cmd()
		if c, ok := out.(controlMsg); ok {
			m.Update(c)
		}
	}
	return out
}

func press(s string) tea.KeyMsg {
	switch s {
	case " ":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "end":
		return tea.KeyMsg{Type: tea.KeyEnd}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

func typeText(s string) []tea.Msg {
	msgs := make([]tea.Msg, 0, len(s))
	for _, r := range s {
		msgs = append(msgs, press(string(r)))
	}
	return msgs
}

func bytesContains(b []byte, s string) bool { return strings.Contains(string(b), s) }

// batch is a copy of events as one delivery: the model hands delivered
// batches back to the feed for reuse, so a test must not send a slice it
// keeps.
func batch(events []journal.Event) eventsMsg { return eventsMsg(slices.Clone(events)) }
