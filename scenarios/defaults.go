package scenarios

import (
	"fmt"
	"time"
)

// Defaults that ApplyDefaults fills in. They follow Azure where Azure has a
// value (a 30 s Preempt notice, Deallocate, no price cap) and typical
// queue-worker settings elsewhere.
const (
	DefaultSeed                      = 1
	DefaultStart                     = "2026-01-05T09:00:00Z"
	DefaultNotice                    = 30 * time.Second
	DefaultBootstrapTimeout          = 5 * time.Minute
	DefaultAutoscaleDelay            = 30 * time.Second
	DefaultAutoscaleRetry            = time.Minute
	DefaultFallbackAfter             = 3
	DefaultVisibilityTimeout         = 5 * time.Minute
	DefaultDrainTime                 = 10 * time.Second
	DefaultMaxPrice          float64 = -1 // Azure's "pay up to the on-demand price"
	DefaultSlots                     = 1
)

// DefaultNoticeDelay is how long after an accepted simulateEviction the
// Preempt event appears when the scenario does not say.
func DefaultNoticeDelay() Dist {
	return Dist{Dist: DistUniform, Min: Duration(5 * time.Second), Max: Duration(15 * time.Second)}
}

// DefaultProvisioningLatency is how long a new VM takes to run when the
// scenario does not say.
func DefaultProvisioningLatency() Dist {
	return Dist{Dist: DistUniform, Min: Duration(60 * time.Second), Max: Duration(180 * time.Second)}
}

// ApplyDefaults fills in every field a scenario may leave out. It only sets
// zero values, so applying it twice changes nothing. Parse calls it before
// Validate; code that builds a Scenario should call it too.
//
// A zero written out in the file keeps its meaning where zero means
// something (no Preempt notice, an instant drain, a lease that expires at
// once, an autoscaler that reacts at once): Parse marks those fields, and
// only an absent field gets the default. Elsewhere "0s" gets the default.
func (s *Scenario) ApplyDefaults() {
	if s.Seed == 0 {
		s.Seed = DefaultSeed
	}
	if s.Start == "" {
		s.Start = DefaultStart
	}
	if s.Fleet != nil {
		s.Fleet.applyDefaults()
	}
	if s.Workload != nil {
		s.Workload.applyDefaults()
	}
	for i := range s.SLOs {
		if s.SLOs[i].Name == "" {
			s.SLOs[i].Name = s.SLOs[i].Objective.Raw
		}
	}
}

func (f *Fleet) applyDefaults() {
	if !f.explicitZeroNotice {
		setDuration(&f.Notice, DefaultNotice)
	}
	if f.NoticeDelay == nil {
		d := DefaultNoticeDelay()
		f.NoticeDelay = &d
	}
	for i := range f.Pools {
		f.Pools[i].applyDefaults()
	}
}

func (p *Pool) applyDefaults() {
	if p.Priority == PrioritySpot {
		if p.EvictionPolicy == "" {
			p.EvictionPolicy = EvictionDeallocate
		}
		if p.MaxPrice == nil {
			price := DefaultMaxPrice
			p.MaxPrice = &price
		}
	}
	if p.Slots == 0 {
		p.Slots = DefaultSlots
	}
	if p.Provisioning.Latency == nil {
		d := DefaultProvisioningLatency()
		p.Provisioning.Latency = &d
	}
	setDuration(&p.Provisioning.BootstrapTimeout, DefaultBootstrapTimeout)
	if !p.Autoscale.explicitZeroDelay {
		setDuration(&p.Autoscale.Delay, DefaultAutoscaleDelay)
	}
	setDuration(&p.Autoscale.RetryInterval, DefaultAutoscaleRetry)
	if p.Fallback != nil && p.Fallback.AfterFailures == 0 {
		p.Fallback.AfterFailures = DefaultFallbackAfter
	}
}

func (w *Workload) applyDefaults() {
	if !w.Queue.explicitZeroTimeout {
		setDuration(&w.Queue.VisibilityTimeout, DefaultVisibilityTimeout)
	}
	if w.Queue.Requeue == "" {
		w.Queue.Requeue = RequeueFront
	}
	if w.Checkpoint.Storage == "" {
		w.Checkpoint.Storage = StorageDurable
	}
	if w.OnNotice == "" {
		w.OnNotice = OnNoticeIgnore
	}
	if !w.explicitZeroDrain {
		setDuration(&w.DrainTime, DefaultDrainTime)
	}
	if w.Jobs.Idempotent == nil {
		yes := true
		w.Jobs.Idempotent = &yes
	}
}

func setDuration(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}

// markExplicitZeros notes the fields where the file writes a zero that
// means zero, so that ApplyDefaults leaves them alone.
func (s *Scenario) markExplicitZeros(ix *index) {
	if f := s.Fleet; f != nil {
		f.explicitZeroNotice = f.Notice == 0 && ix.has("fleet.notice")
		for i := range f.Pools {
			p := &f.Pools[i]
			p.Autoscale.explicitZeroDelay = p.Autoscale.Delay == 0 && ix.has(fmt.Sprintf("fleet.pools[%d].autoscale.delay", i))
		}
	}
	if w := s.Workload; w != nil {
		w.Queue.explicitZeroTimeout = w.Queue.VisibilityTimeout == 0 && ix.has("workload.queue.visibilityTimeout")
		w.explicitZeroDrain = w.DrainTime == 0 && ix.has("workload.drainTime")
	}
}
