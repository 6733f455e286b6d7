package tui

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/journal"
)

func TestFeedCopiesWhatEmittersReuse(t *testing.T) {
	f := NewFeed(time.Millisecond)
	e := journal.Event{Type: journal.EvictionNoticed, VM: "vm-1", At: journal.Ptr(30),
		Sample: &journal.Sample{Backlog: 4}, Run: &journal.Run{Pools: []journal.Pool{{Name: "p", Zones: []string{"1"}}}}}
	f.Emit(&e)
	// The emitter reuses its value and what it points to.
	e.VM, *e.At, e.Sample.Backlog, e.Run.Pools[0].Zones[0] = "vm-2", 99, 7, "9"
	f.Emit(&e)

	batch := f.nextEvents().(eventsMsg)
	require.Len(t, batch, 2)
	require.Equal(t, "vm-1", batch[0].VM)
	require.Equal(t, 30.0, *batch[0].At)
	require.Equal(t, 4, batch[0].Sample.Backlog)
	require.Equal(t, "1", batch[0].Run.Pools[0].Zones[0])
	require.Equal(t, "vm-2", batch[1].VM)
}

func TestFeedNeverBlocksTheRunner(t *testing.T) {
	f := NewFeed(time.Millisecond)
	e := journal.Event{Type: journal.VMRunning, VM: "vm"}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20_000 {
			f.Emit(&e) // nobody reads
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Emit blocked while nobody read the feed")
	}
	require.Len(t, f.nextEvents().(eventsMsg), 20_000, "one batch holds everything that waited")
}

func TestFeedDeliversTheLastBatchBeforeTheEnd(t *testing.T) {
	f := NewFeed(time.Millisecond)
	f.Emit(&journal.Event{Type: journal.RunEnded, Status: journal.StatusCompleted})
	boom := errors.New("boom")
	f.Finish(experiments.Result{Status: journal.StatusCompleted}, boom)
	f.Finish(experiments.Result{}, nil) // a second call changes nothing

	require.IsType(t, eventsMsg{}, f.nextEvents())
	end, ok := f.nextEvents().(RunEndedMsg)
	require.True(t, ok)
	require.ErrorIs(t, end.Err, boom)
	require.Nil(t, f.nextProgress(), "progress stops once the run ended")
}

func TestFeedKeepsTheLatestProgress(t *testing.T) {
	f := NewFeed(time.Millisecond)
	f.Progress(experiments.Progress{Now: time.Minute})
	f.Progress(experiments.Progress{Now: 2 * time.Minute, Waiting: "w1"})
	p := f.nextProgress().(progressMsg)
	require.Equal(t, 2*time.Minute, p.Now)
	require.Equal(t, "w1", p.Waiting)
}

func TestFeedPacesDeliveries(t *testing.T) {
	f := NewFeed(50 * time.Millisecond)
	e := journal.Event{Type: journal.Note}
	f.Emit(&e)
	f.nextEvents()
	began := time.Now()
	f.Emit(&e)
	f.nextEvents()
	require.GreaterOrEqual(t, time.Since(began), 40*time.Millisecond, "at most one batch a frame")
}
