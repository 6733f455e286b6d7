package tui

import (
	"slices"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/journal"
)

// DefaultFrame is the least wall time between two deliveries of the same
// kind: a run at full speed emits tens of thousands of events a second, and
// bubbletea renders after every message, so the feed hands them over in
// batches at about 30 frames a second.
const DefaultFrame = time.Second / 30

// Feed is the console's subscription to a run. The runner's bus calls Emit
// and the runner calls Progress, both from the runner's goroutine; the
// console receives batches through commands that wait on a channel and are
// re-armed after each delivery. Emit never blocks on the console: it copies
// the event into a slice under a mutex and signals, so a slow terminal can
// only make batches larger, never the run slower.
type Feed struct {
	frame time.Duration

	mu       sync.Mutex
	events   []journal.Event
	spare    []journal.Event // a delivered batch handed back for reuse
	progress experiments.Progress
	ended    *RunEndedMsg
	lastEv   time.Time
	lastPr   time.Time

	evReady chan struct{} // one pending signal: events are waiting
	prReady chan struct{} // one pending signal: new progress
	done    chan struct{} // closed by Finish
}

var _ journal.Sink = (*Feed)(nil)

// NewFeed returns a feed that delivers at most one batch per frame
// (DefaultFrame when frame <= 0).
func NewFeed(frame time.Duration) *Feed {
	if frame <= 0 {
		frame = DefaultFrame
	}
	return &Feed{
		frame:   frame,
		evReady: make(chan struct{}, 1),
		prReady: make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
}

// Emit keeps a copy of the event, its strings escaped for the terminal
// (journal.Event.Sanitized): emitters reuse the value they pass.
func (f *Feed) Emit(e *journal.Event) {
	e, _ = e.Sanitized()
	c := copyEvent(e)
	f.mu.Lock()
	f.events = append(f.events, c)
	f.mu.Unlock()
	signal(f.evReady)
}

// Progress keeps the runner's latest progress; only the newest matters.
// Use it as experiments.Config.Progress.
func (f *Feed) Progress(p experiments.Progress) {
	f.mu.Lock()
	f.progress = p
	f.mu.Unlock()
	signal(f.prReady)
}

// Finish tells the console that experiments.Run returned. Call it once,
// after the last event.
func (f *Feed) Finish(res experiments.Result, err error) {
	f.mu.Lock()
	if f.ended == nil {
		f.ended = &RunEndedMsg{Result: res, Err: err}
		close(f.done)
	}
	f.mu.Unlock()
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// eventsMsg is a batch of events, in journal order.
type eventsMsg []journal.Event

// progressMsg is the runner's latest progress.
type progressMsg experiments.Progress

// RunEndedMsg says that experiments.Run returned; it arrives after the last
// batch of events.
type RunEndedMsg struct {
	Result experiments.Result
	Err    error
}

// nextEvents waits for the next batch. After Finish it delivers what is left
// and then RunEndedMsg, and is not re-armed any more.
func (f *Feed) nextEvents() tea.Msg {
	for {
		select {
		case <-f.evReady:
		case <-f.done:
		}
		f.pace(&f.lastEv)
		f.mu.Lock()
		batch, ended := f.events, f.ended
		f.events, f.spare = f.spare, nil
		f.mu.Unlock()
		switch {
		case len(batch) > 0:
			return eventsMsg(batch)
		case ended != nil:
			return *ended
		}
	}
}

// maxSpare bounds the batch kept for reuse: a burst's slice is let go.
const maxSpare = 1 << 16

// recycle hands a delivered batch back once the console has folded it in,
// so that the runner appends into it instead of growing a new slice each
// frame.
func (f *Feed) recycle(batch []journal.Event) {
	if cap(batch) > maxSpare {
		return
	}
	clear(batch) // let go of what the events point to
	f.mu.Lock()
	if f.spare == nil {
		f.spare = batch[:0]
	}
	f.mu.Unlock()
}

// nextProgress waits for newer progress; it returns nil once the run ended.
func (f *Feed) nextProgress() tea.Msg {
	select {
	case <-f.prReady:
	case <-f.done:
		return nil
	}
	f.pace(&f.lastPr)
	f.mu.Lock()
	defer f.mu.Unlock()
	return progressMsg(f.progress)
}

// pace sleeps until a frame has passed since the last delivery, so that
// what arrives meanwhile joins this one.
func (f *Feed) pace(last *time.Time) {
	f.mu.Lock()
	wait := time.Until(last.Add(f.frame))
	f.mu.Unlock()
	if wait > 0 {
		time.Sleep(wait)
	}
	f.mu.Lock()
	*last = time.Now()
	f.mu.Unlock()
}

// copyEvent copies an event deeply enough that the emitter may reuse every
// part of it. The workload summary is dropped: the console does not show it
// and it holds a value per job of the run.
func copyEvent(e *journal.Event) journal.Event {
	c := *e
	c.At = clonePtr(e.At)
	c.Submitted = clonePtr(e.Submitted)
	c.Summary = nil
	if e.Sample != nil {
		s := *e.Sample
		c.Sample = &s
	}
	if e.Fault != nil {
		fl := *e.Fault
		fl.Zones, fl.Pools = slices.Clone(fl.Zones), slices.Clone(fl.Pools)
		fl.Capacity, fl.Notice = clonePtr(fl.Capacity), clonePtr(fl.Notice)
		c.Fault = &fl
	}
	if e.Run != nil {
		r := *e.Run
		r.Pools = slices.Clone(r.Pools)
		for i := range r.Pools {
			r.Pools[i].Zones = slices.Clone(r.Pools[i].Zones)
		}
		r.SLOs, r.Aborts, r.Waves = slices.Clone(r.SLOs), slices.Clone(r.Aborts), slices.Clone(r.Waves)
		c.Run = &r
	}
	if e.Plan != nil {
		p := *e.Plan
		p.Excluded, p.Waves = slices.Clone(p.Excluded), slices.Clone(p.Waves)
		c.Plan = &p
	}
	return c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
