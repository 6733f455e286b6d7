package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/injector/azure/azurefake"
	"github.com/spotdrill/spotdrill/internal/tui"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

// consoleOnAzure plays the Azure scenario under the live console over the
// SDK's fake servers, the pieces wired as playConsole wires them: the
// plan's confirmation in the console, the wall clock (a test clock that
// the test moves a second per millisecond), the keys pressed by drive.
func consoleOnAzure(t *testing.T, manual bool, drive func(tm *teatest.TestModel, f *azurefake.Fleet)) ([]journal.Event, experiments.Result) {
	t.Helper()
	sc, err := scenarios.Parse([]byte(azureRunScenario), "azure.yaml")
	require.NoError(t, err)
	clock := azurefake.NewClock(time.Now(), false)
	f := azurefake.New(clock.Now, 5)
	f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "rg-batch", Name: "spot", Priority: "Spot", EvictionPolicy: "Delete",
		Zones: []string{"1", "2"}, Capacity: 10, Replace: 2 * time.Minute})

	var evs []journal.Event
	live := reports.NewAccumulator()
	feed := tui.NewFeed(time.Millisecond)
	bus := journal.NewBus(journal.SinkFunc(func(e *journal.Event) { evs = append(evs, *e) }), live, feed)
	opts := azureOptions(f, clock)
	opts.PollInterval = 10 * time.Second
	w, err := experiments.NewAzureWorld(sc, bus, opts)
	require.NoError(t, err)
	if s, ok := w.(journal.Sink); ok {
		bus.Subscribe(s)
	}
	ctl := experiments.NewControl(0, manual)
	tm := teatest.NewTestModel(t, tui.New(tui.Options{Scenario: sc, Feed: feed, Control: ctl, Live: live, Clock: clock.Now}),
		teatest.WithInitialTermSize(150, 40))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	uiDone := make(chan struct{})
	cfg := experiments.Config{Scenario: sc, World: w, Bus: bus, Live: live, Control: ctl, Progress: feed.Progress,
		Confirm: consoleConfirm(ctx, "", sc, tm.Send, uiDone)}
	done := make(chan experiments.Result, 1)
	go func() {
		res, err := experiments.Run(ctx, cfg)
		feed.Finish(res, err)
		done <- res
	}()
	// The wall clock: a second of the run per millisecond.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				clock.Advance(time.Second)
			}
		}
	}()
	drive(tm, f)
	tm.WaitFinished(t, teatest.WithFinalTimeout(30*time.Second))
	close(uiDone)
	return evs, <-done
}

func screen(t *testing.T, tm *teatest.TestModel, text string) {
	t.Helper()
	screenAll(t, tm, text)
}

// screenAll waits until the console has shown every text (the output read
// while waiting is consumed: wait for what one frame shows in one call).
func screenAll(t *testing.T, tm *teatest.TestModel, texts ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		for _, text := range texts {
			if !bytes.Contains(b, []byte(text)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(20*time.Second), teatest.WithCheckInterval(2*time.Millisecond))
}

// TestConsoleRunsAGameDayOnAzure: the console shows the frozen plan and
// its digest and starts on y; on the wall clock (no speed), the facilitator
// fires each wave by hand in manual mode; evictions go through the SDK to
// the fake subscription; the run completes.
func TestConsoleRunsAGameDayOnAzure(t *testing.T) {
	evs, res := consoleOnAzure(t, true, func(tm *teatest.TestModel, f *azurefake.Fleet) {
		screenAll(t, tm, "START THE GAME DAY? Plan ", "10 Spot VMs frozen by resource ID, 2 waves", "wall clock", "CONFIRM THE PLAN")
		tm.Send(press("y"))
		screen(t, tm, "Wave one is due")
		tm.Send(press("n"))
		screen(t, tm, "Wave two is due")
		tm.Send(press("n"))
		screen(t, tm, "COMPLETED")
		tm.Send(press("q"))
	})
	require.Equal(t, journal.StatusCompleted, res.Status, res.Reason)
	var waves, evicted int
	for _, e := range evs {
		switch e.Type {
		case journal.WaveStarted:
			waves++
			require.NotNil(t, e.At, "fired by hand on the wall clock: the planned time is recorded")
		case journal.EvictionAccepted:
			evicted++
		}
	}
	assert.Equal(t, 2, waves)
	assert.Equal(t, 5, evicted, "3 and 2 evictions through the SDK")
}

// TestConsoleRefusedPlanEvictsNothing: n at the plan's question refuses
// the run; nothing is evicted.
func TestConsoleRefusedPlanEvictsNothing(t *testing.T) {
	evs, res := consoleOnAzure(t, false, func(tm *teatest.TestModel, f *azurefake.Fleet) {
		screen(t, tm, "START THE GAME DAY?")
		tm.Send(press("n"))
		screen(t, tm, "q exits")
		tm.Send(press("q"))
	})
	assert.True(t, res.Refused)
	for _, e := range evs {
		assert.NotEqual(t, journal.EvictionRequested, e.Type)
	}
}

func press(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }
