package tui

import (
	"context"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

// consoleRun plays sc under the console with the given control and key
// presses, its journal going to sink, and returns the journal's events.
func consoleRun(t *testing.T, sc *scenarios.Scenario, ctl *experiments.Control, sink journal.Sink, drive func(*teatest.TestModel)) []journal.Event {
	t.Helper()
	var evs []journal.Event
	live := reports.NewAccumulator()
	feed := NewFeed(time.Millisecond)
	bus := journal.NewBus(sink, journal.SinkFunc(func(e *journal.Event) { evs = append(evs, *e) }), live, feed)
	w, err := experiments.NewSimWorld(sc, bus, sim.Options{})
	require.NoError(t, err)
	cfg := experiments.Config{Scenario: sc, World: w, Bus: bus, Live: live, Control: ctl, Progress: feed.Progress}
	m := New(Options{Scenario: sc, Feed: feed, Control: ctl, Live: live, Clock: fixedClock})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(140, 40))
	done := make(chan error, 1)
	go func() {
		res, err := experiments.Run(context.Background(), cfg)
		feed.Finish(res, err)
		done <- err
	}()
	drive(tm)
	tm.WaitFinished(t, teatest.WithFinalTimeout(20*time.Second))
	require.NoError(t, <-done)
	return evs
}

var discard = journal.SinkFunc(func(*journal.Event) {})

func firstWave(t *testing.T, evs []journal.Event) journal.Event {
	t.Helper()
	for _, e := range evs {
		if e.Type == journal.WaveStarted {
			return e
		}
	}
	t.Fatal("no wave fired")
	return journal.Event{}
}

// TestNFiresTheNextWaveNow: in manual mode, n fires the next wave at once,
// ahead of its time; the journal records when it was planned for.
func TestNFiresTheNextWaveNow(t *testing.T) {
	ctl := experiments.NewControl(60, true)
	evs := consoleRun(t, loadScenario(t, "batch-checkpointed.yaml"), ctl, discard, func(tm *teatest.TestModel) {
		waitScreen(t, tm, "first-strike")
		tm.Send(press("n"))
		waitScreen(t, tm, "firing wave first-strike now (planned for 0:30:00)")
		ctl.SetSpeed(0)
		for _, wave := range []string{"zone-2-slice", "last-call"} {
			waitScreen(t, tm, "Wave "+wave+" is due")
			tm.Send(press("n"))
		}
		waitScreen(t, tm, "COMPLETED")
		tm.Send(press("q"))
	})
	w := firstWave(t, evs)
	assert.Equal(t, "first-strike", w.Wave)
	assert.Less(t, w.T, 1800.0, "fired before its time")
	require.NotNil(t, w.At)
	assert.Equal(t, 1800.0, *w.At, "planned time recorded")
}

// TestNAsksBeforeFiringAheadOfSchedule: outside manual mode, n asks; n
// keeps the schedule, y fires now.
func TestNAsksBeforeFiringAheadOfSchedule(t *testing.T) {
	ctl := experiments.NewControl(60, false)
	evs := consoleRun(t, loadScenario(t, "batch-checkpointed.yaml"), ctl, discard, func(tm *teatest.TestModel) {
		waitScreen(t, tm, "first-strike")
		tm.Send(press("n"))
		waitScreen(t, tm, "FIRE WAVE first-strike NOW")
		tm.Send(press("n"))
		waitScreen(t, tm, "keeps its time")
		tm.Send(press("n"))
		waitScreen(t, tm, "FIRE WAVE first-strike NOW")
		tm.Send(press("y"))
		waitScreen(t, tm, "firing wave first-strike now")
		ctl.SetSpeed(0)
		waitScreen(t, tm, "COMPLETED")
		tm.Send(press("q"))
	})
	w := firstWave(t, evs)
	assert.Less(t, w.T, 1800.0)
	require.NotNil(t, w.At)
	var waves int
	for _, e := range evs {
		if e.Type == journal.WaveStarted {
			waves++
		}
	}
	assert.Equal(t, 3, waves, "the other waves fire at their times")
}
