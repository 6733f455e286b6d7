package sim

// kind says what a scheduled event does when it fires.
type kind uint8

const (
	kArrive         kind = iota + 1 // next job arrives (Poisson arrivals)
	kAttemptEnd                     // an attempt's compute finishes (a: vm, b: slot)
	kRelease                        // a worker hands its job back on notice (a: vm, b: slot)
	kNatural                        // the market evicts a Spot VM (a: vm)
	kNotice                         // a Preempt notice becomes visible (a: vm)
	kEvict                          // an eviction lands (a: vm)
	kLeaseExpire                    // a dead or expired lease frees its job (a: job)
	kProvision                      // the autoscaler asks for a VM (a: ticket)
	kVMUp                           // a requested VM finishes provisioning (a: vm)
	kBootstrapCheck                 // the autoscaler finds a VM that never bootstrapped (a: vm)
	kSample                         // the fleet and queue are sampled
	kFaultEnd                       // a market fault ends (a: fault)
)

// ev is a scheduled state change. It is a small value so the queue holds no
// pointers and the garbage collector never scans it. gen guards against
// stale events: an event whose gen no longer matches its subject's is
// skipped, which is cheaper than removing it from the heap.
type ev struct {
	t    int64
	seq  uint64
	a    int32
	b    int32
	gen  uint32
	kind kind
}

// queue is a 4-ary min-heap of events ordered by (time, sequence), so that
// events at the same instant fire in the order they were scheduled and runs
// are deterministic. Four children per node halve the depth of a binary
// heap and keep siblings in one cache line.
type queue struct {
	h   []ev
	seq uint64
}

func (q *queue) len() int { return len(q.h) }

func less(x, y *ev) bool {
	return x.t < y.t || (x.t == y.t && x.seq < y.seq)
}

func (q *queue) push(e ev) {
	q.seq++
	e.seq = q.seq
	q.h = append(q.h, e)
	h := q.h
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 4
		if !less(&e, &h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
}

// peek returns the time of the next event; ok is false when there is none.
func (q *queue) peek() (int64, bool) {
	if len(q.h) == 0 {
		return 0, false
	}
	return q.h[0].t, true
}

func (q *queue) pop() ev {
	h := q.h
	top := h[0]
	n := len(h) - 1
	last := h[n]
	q.h = h[:n]
	if n == 0 {
		return top
	}
	h = q.h
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		best := c
		end := min(c+4, n)
		for j := c + 1; j < end; j++ {
			if less(&h[j], &h[best]) {
				best = j
			}
		}
		if !less(&h[best], &last) {
			break
		}
		h[i] = h[best]
		i = best
	}
	h[i] = last
	return top
}
