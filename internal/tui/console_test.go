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

// playJournal runs a scenario and returns its journal; with drive, the
// console subscribes to the bus and steers the run in manual mode, and
// drive presses its keys.
func playJournal(t *testing.T, sc *scenarios.Scenario, drive func(*teatest.TestModel)) []byte {
	t.Helper()
	var buf bytes.Buffer
	jw := journal.NewWriter(&buf)
	if drive != nil {
		consoleRun(t, sc, experiments.NewControl(0, true), jw, drive)
		require.NoError(t, jw.Close())
		return buf.Bytes()
	}
	live := reports.NewAccumulator()
	bus := journal.NewBus(jw, live)
	w, err := experiments.NewSimWorld(sc, bus, sim.Options{})
	require.NoError(t, err)
	_, err = experiments.Run(context.Background(), experiments.Config{Scenario: sc, World: w, Bus: bus, Live: live})
	require.NoError(t, err)
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
	console := playJournal(t, loadScenario(t, "batch-checkpointed.yaml"), func(tm *teatest.TestModel) {
		for _, wave := range []string{"first-strike", "zone-2-slice", "last-call"} {
			waitScreen(t, tm, "Wave "+wave+" is due")
			tm.Send(press("n"))
		}
		waitScreen(t, tm, "COMPLETED")
		tm.Send(press("q"))
	})
	require.True(t, bytes.Equal(headless, console), "same seed, same keys: same journal")
}
