package sim

import (
	"fmt"
	"time"

	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// newVM allocates a VM record in the provisioning state, reusing the
// record of a gone VM of the pool when there is one (with its slots). Stale
// events of the record's earlier lives carry older gens and are skipped.
func (w *World) newVM(pi, z int32, fallback bool, replaces string) int32 {
	p := &w.pools[pi]
	p.seq++
	name := fmt.Sprintf("%s-%05d", p.cfg.Name, p.seq)
	spot := p.cfg.Priority == scenarios.PrioritySpot
	w.born++
	fresh := vm{
		born: w.born, name: name, replaces: replaces, requested: w.now, pool: pi, zone: z,
		state: vmProvisioning, fallback: fallback, spot: spot,
	}
	var idx int32
	if n := len(p.retired); n > 0 {
		idx = p.retired[n-1]
		p.retired = p.retired[:n-1]
		old := &w.vms[idx]
		fresh.slotBase, fresh.nslots, fresh.gen = old.slotBase, old.nslots, old.gen
		*old = fresh
		for s := fresh.slotBase; s < fresh.slotBase+fresh.nslots; s++ {
			sl := &w.slots[s]
			*sl = slot{vm: idx, job: -1, gen: sl.gen, epoch: sl.epoch + 1}
		}
	} else {
		idx = int32(len(w.vms))
		fresh.slotBase, fresh.nslots = int32(len(w.slots)), int32(max(p.cfg.Slots, 1))
		w.vms = append(w.vms, fresh)
		for i := int32(0); i < fresh.nslots; i++ {
			w.slots = append(w.slots, slot{vm: idx, job: -1})
		}
	}
	w.vmIdx[name] = idx
	p.live[z]++
	if spot {
		w.zones[z].spotUsed++
	}
	w.zones[z].vmsOfZone++
	w.provisioning++
	return idx
}

// vmUp finishes provisioning: the VM runs, or runs broken when its
// bootstrap fails.
func (w *World) vmUp(vi int32) {
	v := &w.vms[vi]
	p := &w.pools[v.pool]
	w.provisioning--
	v.started = w.now
	v.price = p.price[v.zone]
	broken := !v.initial && p.cfg.Provisioning.BootstrapFailureRate > 0 &&
		w.rFleet.Float64() < float64(p.cfg.Provisioning.BootstrapFailureRate)
	e := journal.Event{Type: journal.VMRunning, VM: v.name, Pool: p.cfg.Name, Zone: w.zones[v.zone].name,
		Priority: p.cfg.Priority, Price: v.price, Fallback: v.fallback}
	if !v.initial {
		e.At = journal.Ptr(secs(v.requested))
	}
	if !broken {
		e.Replaces = v.replaces
	}
	w.emit(e)
	w.countUp(v, +1)
	if v.fallback {
		p.fbLive++
		p.fbSumStart += float64(w.now)
	}
	if broken {
		v.state = vmBroken
		w.q.push(ev{t: w.now + int64(bootstrapTimeout(p.cfg)), kind: kBootstrapCheck, a: vi, gen: v.gen})
	} else {
		v.state = vmRunning
		for s := v.slotBase; s < v.slotBase+v.nslots; s++ {
			w.pushFree(s)
		}
	}
	if v.spot {
		if rate := w.zones[v.zone].rate; rate > 0 {
			w.q.push(ev{t: w.now + expDraw(w.rFleet, rate), kind: kNatural, a: vi, gen: v.gen})
		}
	}
	w.dispatch()
}

func bootstrapTimeout(p scenarios.Pool) time.Duration {
	if p.Provisioning.BootstrapTimeout > 0 {
		return p.Provisioning.BootstrapTimeout.D()
	}
	return 5 * time.Minute
}

func (w *World) countUp(v *vm, d int) {
	switch {
	case v.fallback:
		w.fbUp += d
	case v.spot:
		w.spotUp += d
	default:
		w.regularUp += d
	}
}

// startEviction begins the eviction of a VM: the notice becomes visible after
// delay (simulateEviction) or at once (the market). noticeOverride >= 0
// replaces the zone's notice length (a zone outage gives none).
func (w *World) startEviction(vi int32, cause string, delay int64, noticeOverride int64) {
	v := &w.vms[vi]
	v.state = vmPending
	v.cause = cause
	v.gen++
	if delay <= 0 {
		w.notice(vi, noticeOverride)
		return
	}
	w.q.push(ev{t: w.now + delay, kind: kNotice, a: vi, gen: v.gen})
}

// notice makes the Preempt event visible and lets the workers react.
func (w *World) notice(vi int32, noticeOverride int64) {
	v := &w.vms[vi]
	z := &w.zones[v.zone]
	length := z.notice
	if noticeOverride >= 0 {
		length = noticeOverride
	}
	v.state = vmNoticed
	v.noticedAt = w.now
	v.evictAt = w.now + length
	w.noticed++
	w.emit(journal.Event{Type: journal.EvictionNoticed, VM: v.name, Pool: w.pools[v.pool].cfg.Name,
		Zone: z.name, Cause: v.cause, At: journal.Ptr(secs(v.evictAt))})
	reacting := w.policy == scenarios.OnNoticeDrain || w.policy == scenarios.OnNoticeCheckpoint
	for si := v.slotBase; si < v.slotBase+v.nslots; si++ {
		s := &w.slots[si]
		if s.job < 0 || s.end <= v.evictAt || !reacting {
			continue
		}
		took := w.drain
		if w.policy == scenarios.OnNoticeCheckpoint {
			took = w.delta
		}
		s.stopped = true
		s.noticeAt = w.now
		// The attempt's natural end no longer applies: work stopped.
		s.gen++
		if w.now+took <= v.evictAt {
			v.draining++
			w.q.push(ev{t: w.now + took, kind: kRelease, a: vi, b: si, gen: s.gen})
		} else {
			s.late = true
			v.late = true
		}
	}
	if reacting && v.draining == 0 && !v.late {
		w.emit(journal.Event{Type: journal.EvictionDrained, VM: v.name})
	}
	w.q.push(ev{t: v.evictAt, kind: kEvict, a: vi, gen: v.gen})
}

// evict lands the eviction: running attempts die, the VM stops, and the
// autoscaler is told.
func (w *World) evict(vi int32) {
	v := &w.vms[vi]
	p := &w.pools[v.pool]
	busy := int32(0)
	for si := v.slotBase; si < v.slotBase+v.nslots; si++ {
		if w.slots[si].job >= 0 {
			busy++
		}
	}
	policy := p.cfg.EvictionPolicy
	if policy == "" {
		policy = scenarios.EvictionDelete
	}
	w.emit(journal.Event{Type: journal.EvictionEvicted, VM: v.name, Pool: p.cfg.Name, Zone: w.zones[v.zone].name,
		Cause: v.cause, Policy: policy, Count: int(busy + v.released)})
	for si := v.slotBase; si < v.slotBase+v.nslots; si++ {
		if w.slots[si].job >= 0 {
			w.kill(si, policy == scenarios.EvictionDelete)
		}
	}
	w.noticed--
	w.stopVM(vi)
	w.replace(v.pool, v.name, v.fallback)
	w.dispatch()
}

// stopVM takes a VM out of the fleet and its bills.
func (w *World) stopVM(vi int32) {
	v := &w.vms[vi]
	p := &w.pools[v.pool]
	wasUp := v.state != vmProvisioning
	if wasUp {
		w.countUp(v, -1)
	} else {
		w.provisioning--
	}
	v.state = vmGone
	v.gen++
	p.live[v.zone]--
	if v.spot {
		w.zones[v.zone].spotUsed--
	}
	w.zones[v.zone].vmsOfZone--
	if v.fallback && wasUp {
		p.fbLive--
		p.fbSumStart -= float64(v.started)
		p.fbClosed += v.price * float64(w.now-v.started) / float64(time.Hour)
	}
	// Gone for good: its name no longer resolves, and its record is free
	// for the pool's next VM.
	delete(w.vmIdx, v.name)
	p.retired = append(p.retired, vi)
}

// replace hands a lost VM to the autoscaler. A fallback VM is replaced by
// another fallback VM.
func (w *World) replace(pi int32, replaces string, fallback bool) {
	p := &w.pools[pi]
	if p.cfg.Autoscale.Disabled {
		return
	}
	if fallback && p.fallbackFor >= 0 {
		// A lost fallback VM stands in for its Spot pool: ask that pool again.
		pi = p.fallbackFor
		p = &w.pools[pi]
	}
	delay := int64(p.cfg.Autoscale.Delay)
	w.q.push(ev{t: w.now + delay, kind: kProvision, a: w.newTicket(ticket{pool: pi, replaces: replaces})})
}

// newTicket files a request for a VM, in the record of a finished one when
// there is one: the tickets follow the requests in flight, not the day.
func (w *World) newTicket(tk ticket) int32 {
	if n := len(w.doneTickets); n > 0 {
		ti := w.doneTickets[n-1]
		w.doneTickets = w.doneTickets[:n-1]
		w.tickets[ti] = tk
		return ti
	}
	w.tickets = append(w.tickets, tk)
	return int32(len(w.tickets) - 1)
}

// provision tries one allocation for a ticket: in the Spot pool, or in its
// fallback pool once Spot failed often enough and the budget allows.
func (w *World) provision(ti int32) {
	tk := &w.tickets[ti]
	spotPool := &w.pools[tk.pool]
	pi := tk.pool
	if tk.fallback {
		pi = spotPool.fallback
	}
	p := &w.pools[pi]
	z := w.pickZone(p, int(tk.failures))
	zn := &w.zones[z]
	w.emit(journal.Event{Type: journal.VMRequested, Pool: p.cfg.Name, Zone: zn.name, Replaces: tk.replaces, Fallback: tk.fallback})
	code, reason := w.allocationCheck(p, z)
	if code != "" {
		w.emit(journal.Event{Type: journal.VMAllocationFailed, Pool: p.cfg.Name, Zone: zn.name, Code: code, Reason: reason})
		tk.failures++
		if !tk.fallback && spotPool.fallback >= 0 && int(tk.failures) >= fallbackAfter(spotPool.cfg) && w.fallbackAllowed(tk.pool) {
			tk.fallback = true
			w.q.push(ev{t: w.now, kind: kProvision, a: ti})
			return
		}
		w.q.push(ev{t: w.now + int64(retryInterval(p.cfg)), kind: kProvision, a: ti})
		return
	}
	vi := w.newVM(pi, z, tk.fallback, tk.replaces)
	w.doneTickets = append(w.doneTickets, ti) // no event refers to it any more
	w.q.push(ev{t: w.now + max(p.latency.draw(w.rFleet), int64(time.Millisecond)), kind: kVMUp, a: vi, gen: w.vms[vi].gen})
}

func fallbackAfter(p scenarios.Pool) int {
	if p.Fallback != nil && p.Fallback.AfterFailures > 0 {
		return p.Fallback.AfterFailures
	}
	return 3
}

func retryInterval(p scenarios.Pool) time.Duration {
	if p.Autoscale.RetryInterval > 0 {
		return p.Autoscale.RetryInterval.D()
	}
	return time.Minute
}

// pickZone spreads a pool over its zones like a scale set: the zone with the
// fewest of its VMs, rotating after each failure so a dead zone is not asked
// forever.
func (w *World) pickZone(p *pool, failures int) int32 {
	best := p.zones[0]
	for _, z := range p.zones[1:] {
		if p.live[z] < p.live[best] {
			best = z
		}
	}
	if failures == 0 || len(p.zones) == 1 {
		return best
	}
	for i, z := range p.zones {
		if z == best {
			return p.zones[(i+failures)%len(p.zones)]
		}
	}
	return best
}

func (w *World) allocationCheck(p *pool, z int32) (code, reason string) {
	zn := &w.zones[z]
	if zn.down {
		return "capacity", fmt.Sprintf("zone %s is down", zn.name)
	}
	if p.cfg.Priority == scenarios.PrioritySpot {
		if zn.spotCap >= 0 && zn.spotUsed >= zn.spotCap {
			return "capacity", fmt.Sprintf("no Spot capacity in zone %s (%d of %d in use)", zn.name, zn.spotUsed, zn.spotCap)
		}
		if p.maxPrice >= 0 && p.price[z] > p.maxPrice {
			return "price", fmt.Sprintf("Spot price %.4f is above the max price %.4f", p.price[z], p.maxPrice)
		}
	}
	if fr := float64(p.cfg.Provisioning.FailureRate); fr > 0 && w.rFleet.Float64() < fr {
		return "failure", "allocation failed"
	}
	return "", ""
}

// fallbackAllowed applies the fallback's instance cap and budget.
func (w *World) fallbackAllowed(spotPool int32) bool {
	sp := &w.pools[spotPool]
	fb := sp.cfg.Fallback
	fp := &w.pools[sp.fallback]
	if fb.MaxInstances > 0 && w.fallbackLive(sp.fallback) >= fb.MaxInstances {
		return false
	}
	if fb.Budget > 0 {
		price := fp.cfg.OnDemandPrice
		spent := fp.fbClosed + price*(float64(fp.fbLive)*float64(w.now)-fp.fbSumStart)/float64(time.Hour)
		if spent >= fb.Budget {
			return false
		}
	}
	return true
}

func (w *World) fallbackLive(pi int32) int {
	n := 0
	for _, c := range w.pools[pi].live {
		n += c
	}
	return n
}

// bootstrapFailed is the autoscaler finding a VM that never took work: it
// deletes it and asks again, still on behalf of the VM it replaced.
func (w *World) bootstrapFailed(vi int32) {
	v := &w.vms[vi]
	p := &w.pools[v.pool]
	zn := w.zones[v.zone].name
	w.emit(journal.Event{Type: journal.VMBootstrapFailed, VM: v.name, Pool: p.cfg.Name, Zone: zn, Replaces: v.replaces})
	w.emit(journal.Event{Type: journal.VMDeleted, VM: v.name, Pool: p.cfg.Name, Zone: zn, Reason: "bootstrap failed"})
	replaces := v.replaces
	if replaces == "" {
		replaces = v.name
	}
	w.stopVM(vi)
	w.replace(v.pool, replaces, v.fallback)
}
