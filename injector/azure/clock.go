package azure

import (
	"context"
	"time"
)

// Clock is the time the provider paces calls and observes evictions by.
// Azure runs on the wall clock; tests inject a fake one so that a 35-minute
// eviction timeout or a rate limit takes no real time.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx is done, whichever comes first, and
	// returns ctx.Err() in the second case.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the wall clock.
type SystemClock struct{}

var _ Clock = SystemClock{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits on a timer that it stops when ctx ends first, so that a
// cancelled run leaves no timer behind.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
