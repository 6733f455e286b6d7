package azurefake

import (
	"context"
	"sync"
	"time"
)

// Clock is a test clock for azure.Clock. In auto mode Sleep moves the
// clock forward instead of waiting, so a single goroutine runs hours of
// game day at once; otherwise sleepers wait until Advance passes their
// time.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	auto    bool
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan struct{}
}

// NewClock starts at start.
func NewClock(start time.Time, auto bool) *Clock { return &Clock{now: start, auto: auto} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep waits for d of the clock's time, or until ctx ends.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil || d <= 0 {
		return err
	}
	c.mu.Lock()
	if c.auto {
		c.now = c.now.Add(d)
		c.mu.Unlock()
		return nil
	}
	w := waiter{at: c.now.Add(d), ch: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		for i := range c.waiters {
			if c.waiters[i].ch == w.ch {
				c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
				break
			}
		}
		c.mu.Unlock()
		return ctx.Err()
	}
}

// Advance moves the clock forward and wakes the sleepers that are due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		close(w.ch)
	}
	c.waiters = kept
}

// Sleepers is how many goroutines are sleeping on the clock.
func (c *Clock) Sleepers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// WaitForSleepers waits (in real time, up to timeout) until n goroutines
// sleep on the clock.
func (c *Clock) WaitForSleepers(n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for c.Sleepers() < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}
