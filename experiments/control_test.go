package experiments

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/journal"
)

func playWith(t *testing.T, ctl *Control, progress func(Progress)) run {
	t.Helper()
	return playConfig(t, context.Background(), testScenario(), Config{Control: ctl, Progress: progress})
}

func TestManualModeGivesTheHeadlessJournal(t *testing.T) {
	headless := play(t, context.Background(), testScenario())
	ctl := NewControl(0, true)
	fired := 0
	manual := playWith(t, ctl, func(p Progress) {
		if p.Waiting != "" {
			fired++
			ctl.FireNext()
		}
	})
	require.Equal(t, 3, fired, "each wave waited for the facilitator")
	require.True(t, bytes.Equal(headless.journal, manual.journal), "same seed and key presses in manual mode: same journal")
}

func TestPacedRunTakesWallTimeAndKeepsTheJournal(t *testing.T) {
	headless := play(t, context.Background(), testScenario())
	// Two virtual hours at 36,000x: 0.2 s of wall time.
	began := time.Now()
	paced := playWith(t, NewControl(36000, false), nil)
	require.GreaterOrEqual(t, time.Since(began), 150*time.Millisecond)
	require.True(t, bytes.Equal(headless.journal, paced.journal))
}

func TestHaltNotesAndPause(t *testing.T) {
	ctl := NewControl(36000, false)
	ctl.Note("checkout team paged")
	ctl.Pause()
	var last atomic.Int64
	var sawPause atomic.Bool
	done := make(chan run)
	go func() {
		done <- playWith(t, ctl, func(p Progress) {
			last.Store(int64(p.Now))
			if p.Paused {
				sawPause.Store(true)
			}
		})
	}()
	require.Eventually(t, sawPause.Load, 10*time.Second, 5*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	require.Zero(t, last.Load(), "the clock holds while paused")
	ctl.Resume()
	require.Eventually(t, func() bool { return last.Load() > 0 }, 10*time.Second, 5*time.Millisecond)
	ctl.Halt()
	r := <-done
	require.Equal(t, "aborted", r.res.Status)
	notes, halts := 0, 0
	for _, e := range r.events {
		switch e.Type {
		case journal.Note:
			notes++
			require.Equal(t, "checkout team paged", e.Reason)
		case journal.Aborted:
			halts++
			require.Equal(t, "halt", e.Code)
		}
	}
	require.Equal(t, 1, notes)
	require.Equal(t, 1, halts)
	require.Less(t, r.events[len(r.events)-1].T, 7200.0, "halted before the end")
}

func TestFireNextFiresEarly(t *testing.T) {
	ctl := NewControl(0, false)
	ctl.FireNext()
	r := playWith(t, ctl, nil)
	var first journal.Event
	for _, e := range r.events {
		if e.Type == journal.WaveStarted {
			first = e
			break
		}
	}
	require.Equal(t, "w1", first.Wave)
	require.Less(t, first.T, 20*60.0, "fired before its time")
}

// TestManualFireNextFiresNow: in manual mode a wave fires when the
// facilitator fires it, ahead of its time too, and records its planned
// time; the waves left wait at their times.
func TestManualFireNextFiresNow(t *testing.T) {
	ctl := NewControl(0, true)
	ctl.FireNext()
	r := playWith(t, ctl, func(p Progress) {
		if p.Waiting != "" {
			ctl.FireNext()
		}
	})
	var waves []journal.Event
	for _, e := range r.events {
		if e.Type == journal.WaveStarted {
			waves = append(waves, e)
		}
	}
	require.Len(t, waves, 3)
	require.Less(t, waves[0].T, 20*60.0, "fired at once, before its time")
	require.NotNil(t, waves[0].At, "the planned time is recorded")
	require.Equal(t, 20*60.0, *waves[0].At)
	require.Nil(t, waves[1].At, "a wave fired at its time records none")
}
