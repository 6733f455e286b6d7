package azure

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/time/rate"
)

// Default pace of simulateEviction calls. Azure Resource Manager refills
// 10 writes/s per principal (bucket of 200) and Compute refills 500
// SimulateEviction/Delete/Deallocate calls a minute per subscription and
// region (8.3/s): 8/s stays under both for a sustained run, and a burst of
// 20 leaves most of ARM's bucket to the team's own tooling during the game
// day.
const (
	DefaultRate        = 8.0
	DefaultBurst       = 20
	DefaultConcurrency = 8
)

// Pacer is a client-side token bucket in front of simulateEviction. It
// reserves tokens from a golang.org/x/time/rate limiter at the times its
// Clock gives, and sleeps on that Clock, so that a fake clock tests it
// without waiting.
type Pacer struct {
	lim   *rate.Limiter
	clock Clock
}

// NewPacer allows perSecond calls a second on average and burst at once.
func NewPacer(perSecond float64, burst int, clock Clock) (*Pacer, error) {
	if !(perSecond > 0) || burst < 1 {
		return nil, fmt.Errorf("rate limit %v/s with burst %d: expected a rate above 0 and a burst of at least 1", perSecond, burst)
	}
	if clock == nil {
		clock = SystemClock{}
	}
	// A new limiter starts with a full bucket, as Azure's do.
	return &Pacer{clock: clock, lim: rate.NewLimiter(rate.Limit(perSecond), burst)}, nil
}

// Wait blocks until the next call may go, or ctx ends; a cancelled wait
// gives its token back.
func (p *Pacer) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := p.clock.Now()
	r := p.lim.ReserveN(now, 1)
	if !r.OK() {
		return fmt.Errorf("rate limiter: cannot reserve a call (burst %d)", p.lim.Burst())
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	if err := p.clock.Sleep(ctx, d); err != nil {
		r.CancelAt(p.clock.Now())
		return err
	}
	return nil
}

// Throttled empties the bucket: Azure answered 429, so its bucket is
// empty whatever ours says (another principal spent it, or it started
// refilling later than ours). The calls waiting and the retries then go
// at the average rate, instead of spending the rest of a burst on more
// 429s.
func (p *Pacer) Throttled() {
	now := p.clock.Now()
	if n := int(p.lim.TokensAt(now)); n > 0 {
		p.lim.ReserveN(now, n)
	}
}

// Limit is the average rate and the burst.
func (p *Pacer) Limit() (perSecond float64, burst int) {
	return float64(p.lim.Limit()), p.lim.Burst()
}

// Allowed is how long n calls take at this pace when the bucket starts
// full: the first burst at once, the rest at the average rate.
func Allowed(n int, perSecond float64, burst int) time.Duration {
	if n <= burst {
		return 0
	}
	return time.Duration(float64(n-burst) / perSecond * float64(time.Second))
}
