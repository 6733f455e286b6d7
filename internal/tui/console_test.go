package tui

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

// playJournal runs a scenario and returns its journal; with a console, the
// console program subscribes to the bus and steers the run, and drive
// presses its keys.
func playJournal(t *testing.T, sc *scenarios.Scenario, console func(*Model) func(*teatest.TestModel)) []byte {
	t.Helper()
	var buf bytes.Buffer
	jw := journal.NewWriter(&buf)
	live := reports.NewAccumulator()
	feed := NewFeed(time.Millisecond)
	bus := journal.NewBus(jw, live)
	w, err := experiments.NewSimWorld(sc, bus, sim.Options{})
	require.NoError(t, err)
	cfg := experiments.Config{Scenario: sc, World: w, Bus: bus, Live: live}
	if console == nil {
		_, err = experiments.Run(context.Background(), cfg)
		require.NoError(t, err)
		require.NoError(t, jw.Close())
		return buf.Bytes()
	}
	bus.Subscribe(feed)
	cfg.Control = experiments.NewControl(0, true)
	cfg.Progress = feed.Progress
	m := New(Options{Scenario: sc, Feed: feed, Control: cfg.Control, Live: live, Clock: fixedClock})
	drive := console(m)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
	done := make(chan error, 1)
	go func() {
		res, err := experiments.Run(context.Background(), cfg)
		feed.Finish(res, err)
		done <- err
	}()
	drive(tm)
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	require.NoError(t, <-done)
	require.NoError(t, jw.Close())
	return buf.Bytes()
}

func waitScreen(t *testing.T, tm *teatest.TestModel, text string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(text)) },
		teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
}

// TestConsoleRunWritesTheHeadlessJournal plays the batch game day under the
// console in manual mode, pressing n whenever a wave waits: the journal is
// the headless run's, byte for byte. The console is a subscriber; it steers
// only through the Control.
func TestConsoleRunWritesTheHeadlessJournal(t *testing.T) {
	headless := playJournal(t, loadScenario(t, "batch-checkpointed.yaml"), nil)
	console := playJournal(t, loadScenario(t, "batch-checkpointed.yaml"), func(m *Model) func(*teatest.TestModel) {
		return func(tm *teatest.TestModel) {
			for _, wave := range []string{"first-strike", "zone-2-slice", "last-call"} {
				waitScreen(t, tm, "Wave "+wave+" is due")
				tm.Send(press("n"))
			}
			waitScreen(t, tm, "COMPLETED")
			tm.Send(press("q"))
		}
	})
	require.True(t, bytes.Equal(headless, console), "same seed, same keys: same journal")
}
