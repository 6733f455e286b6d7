package sim

import (
	"strconv"

	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

func jobName(j int32) string { return "job-" + strconv.Itoa(int(j)) }

// arrive submits the next job.
func (w *World) arrive() {
	j := int32(len(w.jobs))
	w.jobs = append(w.jobs, job{dur: max(w.durSampler.draw(w.rWork), 1e6), submitted: w.now})
	w.arrivals++
	w.submitted++
	w.enqueue(j)
}

// enqueue makes a job visible. Jobs coming back from an interruption go to
// the retry line, served first, unless the queue requeues at the back.
func (w *World) enqueue(j int32) {
	jb := &w.jobs[j]
	if jb.inQueue {
		return
	}
	jb.inQueue = true
	jb.state = jQueued
	jb.visibleAt = w.now
	if jb.attempts > 0 && w.retryFirst {
		w.retry.push(j)
	} else {
		w.fresh.push(j)
	}
	w.setBacklog(w.backlog + 1)
}

// fifo is a queue of job indices that reuses its backing array.
type fifo struct {
	items []int32
	head  int
}

func (f *fifo) len() int { return len(f.items) - f.head }

func (f *fifo) push(j int32) { f.items = append(f.items, j) }

func (f *fifo) pop() int32 {
	j := f.items[f.head]
	f.head++
	// Compact once the consumed head dominates.
	if f.head > 4096 && f.head*2 > len(f.items) {
		n := copy(f.items, f.items[f.head:])
		f.items = f.items[:n]
		f.head = 0
	}
	return j
}

func (w *World) nextJob() int32 {
	if w.retry.len() > 0 {
		return w.retry.pop()
	}
	return w.fresh.pop()
}

func (w *World) setBacklog(n int) {
	w.backlogArea += float64(w.backlog) * secs(w.now-w.backlogT)
	w.backlogT = w.now
	w.backlog = n
	if n > w.backlogMax {
		w.backlogMax = n
	}
}

func (w *World) pushFree(s int32) {
	if sl := &w.slots[s]; !sl.free {
		sl.free = true
		w.free = append(w.free, freeSlot{slot: s, epoch: sl.epoch})
	}
}

// dispatch hands queued jobs to idle workers on healthy VMs.
func (w *World) dispatch() { w.dispatchUntil(nil) }

// dispatchUntil is dispatch that gives up when stop says so (checked every
// few thousand jobs): the start of a large fleet hands out millions.
func (w *World) dispatchUntil(stop func() bool) {
	for n := 0; w.backlog > 0 && len(w.free) > 0; n++ {
		if stop != nil && n&4095 == 4095 && stop() {
			return
		}
		top := w.free[len(w.free)-1]
		w.free = w.free[:len(w.free)-1]
		s := top.slot
		sl := &w.slots[s]
		if top.epoch != sl.epoch {
			continue // an entry of the slot's earlier life
		}
		sl.free = false
		if sl.job >= 0 || w.vms[sl.vm].state != vmRunning {
			continue
		}
		j := w.nextJob()
		w.setBacklog(w.backlog - 1)
		w.jobs[j].inQueue = false
		if w.jobs[j].state != jQueued {
			// Done or failed while it waited (a duplicate's twin finished).
			w.pushFree(s)
			continue
		}
		w.startAttempt(s, j)
	}
}

// checkpoints is how many periodic checkpoints an attempt with work left
// takes: one after every full interval but the last.
func (w *World) checkpoints(work int64) int64 {
	if w.tau <= 0 || work <= 0 {
		return 0
	}
	return (work - 1) / w.tau
}

func (w *World) startAttempt(si, ji int32) {
	s := &w.slots[si]
	j := &w.jobs[ji]
	v := &w.vms[s.vm]
	j.attempts++
	j.running++
	j.state = jRunning
	s.job = ji
	s.attempt = j.attempts
	s.gen++
	s.start = w.now
	s.p0 = j.durable
	s.restart = 0
	if j.attempts > 1 {
		s.restart = w.restart
	}
	s.stopped, s.late = false, false
	work := j.dur - s.p0
	s.end = w.now + s.restart + work + w.checkpoints(work)*w.delta
	w.running++
	w.wait = append(w.wait, secs(w.now-j.visibleAt))
	w.q.push(ev{t: s.end, kind: kAttemptEnd, a: s.vm, b: si, gen: s.gen})
	if !w.renew {
		j.leaseGen++
		w.q.push(ev{t: w.now + w.vt, kind: kLeaseExpire, a: ji, gen: j.leaseGen})
	}
	if j.awaiting {
		j.awaiting = false
		w.emit(journal.Event{Type: journal.JobResumed, Job: jobName(ji), VM: v.name, Attempt: int(j.attempts), Fallback: v.fallback})
	}
}

// progress is what an attempt has made durable by time x, and when that
// last durable point was reached (the attempt start when none).
func (w *World) progress(s *slot, x int64) (durable, at int64) {
	e := x - s.start - s.restart
	if e <= 0 || w.tau <= 0 {
		return s.p0, s.start
	}
	k := e / (w.tau + w.delta)
	if k == 0 {
		return s.p0, s.start
	}
	return s.p0 + k*w.tau, s.start + s.restart + k*(w.tau+w.delta)
}

// workDone is the progress of an attempt at x, saved or not.
func (w *World) workDone(s *slot, x int64) int64 {
	e := x - s.start - s.restart
	if e <= 0 {
		return s.p0
	}
	if w.tau <= 0 {
		return s.p0 + e
	}
	k := e / (w.tau + w.delta)
	return s.p0 + k*w.tau + min(e-k*(w.tau+w.delta), w.tau)
}

// Attempt outcomes, as an Observer sees them.
const (
	OutcomeCompleted = "completed"
	OutcomeReleased  = "released"
	OutcomeKilled    = "killed"
)

func (w *World) endAttempt(si int32, outcome string) (int32, *job) {
	s := &w.slots[si]
	ji := s.job
	j := &w.jobs[ji]
	if w.observer != nil {
		w.observe(s, ji, outcome)
	}
	w.compute += w.now - s.start
	w.running--
	j.running--
	s.job = -1
	s.gen++
	return ji, j
}

// complete finishes an attempt whose compute is done.
func (w *World) complete(si int32) {
	v := &w.vms[w.slots[si].vm]
	ji, j := w.endAttempt(si, OutcomeCompleted)
	j.completions++
	if j.completions > 1 {
		w.duplicates++
		w.emit(journal.Event{Type: journal.JobCompleted, Job: jobName(ji), VM: v.name, Submitted: journal.Ptr(secs(j.submitted)),
			Attempt: int(j.attempts), Fallback: v.fallback, Duplicate: true})
	} else {
		j.state = jDone
		j.leaseGen++
		w.completed++
		if v.spot {
			w.completedOnSpot++
		}
		if j.interrupted {
			w.emit(journal.Event{Type: journal.JobCompleted, Job: jobName(ji), VM: v.name, Submitted: journal.Ptr(secs(j.submitted)),
				Attempt: int(j.attempts), Fallback: v.fallback})
		} else {
			w.turnaround = append(w.turnaround, secs(w.now-j.submitted))
		}
	}
	if v.state == vmRunning {
		w.pushFree(si)
		w.dispatch()
	}
}

// release hands a job back on notice after a drain or a checkpoint that
// finished before the eviction.
func (w *World) release(si int32) {
	s := &w.slots[si]
	v := &w.vms[s.vm]
	durable, at := w.progress(s, s.noticeAt)
	lost := secs(s.noticeAt - at)
	if w.policy == scenarios.OnNoticeCheckpoint {
		durable, lost = w.workDone(s, s.noticeAt), 0
	}
	start := s.start
	ji, j := w.endAttempt(si, OutcomeReleased)
	if durable > j.durable {
		j.durable = durable
	}
	v.draining--
	v.released++
	w.interrupted(ji, j, v, start, lost, true, false, false)
	if v.draining == 0 && !v.late {
		w.emit(journal.Event{Type: journal.EvictionDrained, VM: v.name})
	}
	w.dispatch()
}

// kill ends an attempt with its VM. Work since the last durable checkpoint is
// lost; with local checkpoints on a deleted VM, everything saved is lost too.
func (w *World) kill(si int32, deleted bool) {
	s := &w.slots[si]
	v := &w.vms[s.vm]
	stop := w.now
	if s.stopped {
		stop = s.noticeAt
	}
	durable, at := w.progress(s, stop)
	lost := secs(w.now - at)
	late := s.late
	start := s.start
	ji, j := w.endAttempt(si, OutcomeKilled)
	ckLost := false
	if deleted && w.deleteLosesCheckpoint {
		if durable > 0 {
			ckLost = true
			lost += secs(durable)
		}
		durable = 0
		j.durable = 0
	} else if durable > j.durable {
		j.durable = durable
	}
	w.interrupted(ji, j, v, start, lost, false, late, ckLost)
}

// interrupted records an attempt that ended unfinished and decides what
// becomes of its job: back in the queue at once (handed back), after the
// lease expires (the worker died holding it), or failed (out of attempts).
func (w *World) interrupted(ji int32, j *job, v *vm, start int64, lost float64, released, late, ckLost bool) {
	w.emit(journal.Event{Type: journal.JobInterrupted, Job: jobName(ji), VM: v.name, Attempt: int(j.attempts),
		At: journal.Ptr(secs(start)), Submitted: journal.Ptr(secs(j.submitted)), Lost: lost,
		Released: released, DrainLate: late, CheckpointLost: ckLost})
	if j.state == jDone || j.state == jFailed {
		return
	}
	j.interrupted = true
	if j.running > 0 || j.inQueue {
		// Another attempt (a lease that expired under a live worker) runs
		// on, or the job already waits in the queue.
		return
	}
	j.awaiting = true
	if w.maxAttempts > 0 && j.attempts >= w.maxAttempts {
		w.fail(ji, j)
		return
	}
	if released {
		j.leaseGen++
		w.enqueue(ji)
		return
	}
	j.state = jLeased
	j.leaseGen++
	w.q.push(ev{t: w.now + w.vt, kind: kLeaseExpire, a: ji, gen: j.leaseGen})
}

func (w *World) fail(ji int32, j *job) {
	j.state = jFailed
	j.leaseGen++
	w.failed++
	w.emit(journal.Event{Type: journal.JobFailed, Job: jobName(ji), Attempt: int(j.attempts),
		Reason: "out of attempts (maxAttempts " + strconv.Itoa(int(w.maxAttempts)) + ")"})
}

// leaseExpired makes a job visible again: its worker died, or (without
// lease renewal) its attempt outlived the visibility timeout.
func (w *World) leaseExpired(ji int32) {
	j := &w.jobs[ji]
	switch j.state {
	case jLeased:
		w.enqueue(ji)
		w.dispatch()
	case jRunning:
		if w.maxAttempts > 0 && j.attempts >= w.maxAttempts {
			return
		}
		w.enqueue(ji)
		w.dispatch()
	}
}
