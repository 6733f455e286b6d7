package sim

import (
	"time"

	"github.com/spotdrill/spotdrill/scenarios"
)

// Attempt is one job attempt as an instrumented worker would record it:
// what OpenTelemetry spans of the workload carry. Times are virtual, from the
// start of the run.
type Attempt struct {
	Job     string
	Attempt int
	VM      string
	Pool    string
	Zone    string
	Start   time.Duration
	End     time.Duration
	Outcome string
	// Checkpoints are the durable checkpoints the attempt completed, in
	// order, including one taken on the Preempt notice.
	Checkpoints []time.Duration
	// Notice is when the worker saw the Preempt notice; -1 if it did not.
	Notice time.Duration
	// DrainStart and DrainEnd bracket a drain or checkpoint-on-notice; -1
	// when there was none. A drain the eviction cut short ends at End.
	DrainStart, DrainEnd time.Duration
}

// Observer sees job attempts end. The simulated workers report through it
// so that their traces go through the same code as real workers' spans.
type Observer interface {
	AttemptEnded(a *Attempt)
}

// observe reports an attempt that ends now, working out its checkpoints from
// its start and the checkpoint interval rather than from scheduled events.
func (w *World) observe(s *slot, ji int32, outcome string) {
	v := &w.vms[s.vm]
	a := &Attempt{
		Job: jobName(ji), Attempt: int(s.attempt), VM: v.name, Pool: w.pools[v.pool].cfg.Name, Zone: w.zones[v.zone].name,
		Start: time.Duration(s.start), End: time.Duration(w.now), Outcome: outcome,
		Notice: -1, DrainStart: -1, DrainEnd: -1,
	}
	stop := w.now
	if s.stopped {
		stop = s.noticeAt
		a.Notice, a.DrainStart = time.Duration(s.noticeAt), time.Duration(s.noticeAt)
		a.DrainEnd = time.Duration(w.now)
	} else if v.state == vmNoticed {
		a.Notice = time.Duration(v.noticedAt)
	}
	if w.tau > 0 {
		cycle := w.tau + w.delta
		n := (stop - s.start - s.restart) / cycle
		if outcome == OutcomeCompleted {
			n = w.checkpoints(w.jobs[ji].dur - s.p0)
		}
		for k := int64(1); k <= n; k++ {
			a.Checkpoints = append(a.Checkpoints, time.Duration(s.start+s.restart+k*cycle))
		}
	}
	if outcome == OutcomeReleased && w.policy == scenarios.OnNoticeCheckpoint {
		a.Checkpoints = append(a.Checkpoints, time.Duration(w.now))
	}
	w.observer.AttemptEnded(a)
}
