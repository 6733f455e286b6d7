package experiments

import (
	"context"
	"sync"
	"time"
)

// Control steers a run while it plays: pause, speed, firing the next wave by
// hand, halting, and facilitator notes. The live console holds one; the
// runner reads it between steps. It is safe for concurrent use.
type Control struct {
	mu     sync.Mutex
	paused bool
	speed  float64 // virtual seconds per wall second; 0 = as fast as possible
	manual bool
	fire   int // requests to fire the next wave now
	halt   bool
	notes  []string
	wake   chan struct{}
}

// NewControl starts with a speed (0 for as fast as possible) and, in manual
// mode, waits for FireNext before each wave.
func NewControl(speed float64, manual bool) *Control {
	return &Control{speed: speed, manual: manual, wake: make(chan struct{}, 1)}
}

func (c *Control) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Pause stops the clock of a simulated run; Resume lets it go on.
func (c *Control) Pause() { c.set(func() { c.paused = true }) }

// Resume lets a paused run go on.
func (c *Control) Resume() { c.set(func() { c.paused = false }) }

// TogglePause pauses a running run and resumes a paused one.
func (c *Control) TogglePause() { c.set(func() { c.paused = !c.paused }) }

// SetSpeed sets virtual seconds per wall second; 0 runs as fast as possible.
func (c *Control) SetSpeed(s float64) { c.set(func() { c.speed = max(s, 0) }) }

// FireNext fires the next wave now (or, in manual mode, lets it fire).
func (c *Control) FireNext() { c.set(func() { c.fire++ }) }

// Halt is the kill switch: no more evictions, the run ends.
func (c *Control) Halt() { c.set(func() { c.halt = true }) }

// Note records a facilitator's note in the journal at the current time.
func (c *Control) Note(text string) { c.set(func() { c.notes = append(c.notes, text) }) }

func (c *Control) set(f func()) {
	c.mu.Lock()
	f()
	c.mu.Unlock()
	c.poke()
}

// State is what the console shows of the control.
type State struct {
	Paused bool
	Speed  float64
	Manual bool
	Halted bool
}

// State returns the control's current state.
func (c *Control) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return State{Paused: c.paused, Speed: c.speed, Manual: c.manual, Halted: c.halt}
}

func (c *Control) halted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.halt
}

func (c *Control) takeNotes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.notes
	c.notes = nil
	return n
}

// takeFire consumes one request to fire a wave.
func (c *Control) takeFire() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fire > 0 {
		c.fire--
		return true
	}
	return false
}

// firePending reports a request to fire a wave, without taking it.
func (c *Control) firePending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fire > 0
}

func (c *Control) snapshot() (paused bool, speed float64, manual bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paused, c.speed, c.manual
}

// waitWhile blocks while cond holds, until ctx ends or the control halts.
func (c *Control) waitWhile(ctx context.Context, cond func() bool) {
	for cond() && !c.halted() {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-time.After(250 * time.Millisecond):
		}
	}
}
