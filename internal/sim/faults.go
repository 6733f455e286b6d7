package sim

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// ApplyFault starts a market fault now. It ends after f.For, or never.
func (w *World) ApplyFault(wave string, f scenarios.Fault) error {
	ft := fault{cfg: f, wave: wave}
	for _, name := range f.Zones {
		z, ok := w.zoneIdx[name]
		if !ok {
			return fmt.Errorf("fault %s: unknown zone %q", f.Type, name)
		}
		ft.zones = append(ft.zones, z)
	}
	if len(ft.zones) == 0 {
		for z := range w.zones {
			ft.zones = append(ft.zones, int32(z))
		}
	}
	for _, name := range f.Pools {
		p, ok := w.poolIdx[name]
		if !ok {
			return fmt.Errorf("fault %s: unknown pool %q", f.Type, name)
		}
		ft.pools = append(ft.pools, p)
	}
	if len(ft.pools) == 0 {
		for p := range w.pools {
			if w.pools[p].cfg.Priority == scenarios.PrioritySpot {
				ft.pools = append(ft.pools, int32(p))
			}
		}
	}
	w.faults = append(w.faults, ft)
	fi := int32(len(w.faults) - 1)
	jf := &journal.Fault{Type: f.Type, Zones: f.Zones, Pools: f.Pools, Capacity: f.Capacity, Price: f.Price}
	if f.Notice != nil {
		jf.Notice = journal.Ptr(f.Notice.D().Seconds())
	}
	if f.For > 0 {
		jf.Until = secs(w.now + int64(f.For))
	}
	w.emit(journal.Event{Type: journal.FaultStarted, Wave: wave, Fault: jf})
	switch f.Type {
	case scenarios.FaultCapacityShortage:
		w.shortage(&ft)
	case scenarios.FaultPriceSpike:
		w.priceSpike(&ft)
	case scenarios.FaultShortNotice:
		for _, z := range ft.zones {
			w.zones[z].notice = int64(*f.Notice)
		}
	case scenarios.FaultZoneOutage:
		w.outage(&ft)
	default:
		return fmt.Errorf("unknown fault type %q", f.Type)
	}
	if f.For > 0 {
		w.q.push(ev{t: w.now + int64(f.For), kind: kFaultEnd, a: fi})
	}
	w.dispatch()
	return nil
}

// liveIn lists the VMs of a zone that the market can still evict, in
// creation order so that picks from the seed are reproducible.
func (w *World) liveIn(z int32, spotOnly bool) []int32 {
	return w.inOrder(func(v *vm) bool {
		return v.zone == z && (!spotOnly || v.spot) && (v.state == vmRunning || v.state == vmBroken)
	})
}

// inOrder lists the VMs that keep holds for, in creation order (records are
// reused, so their indexes are not in that order).
func (w *World) inOrder(keep func(*vm) bool) []int32 {
	var out []int32
	for i := range w.vms {
		if v := &w.vms[i]; v.state != vmGone && keep(v) {
			out = append(out, int32(i))
		}
	}
	slices.SortFunc(out, func(a, b int32) int { return cmp.Compare(w.vms[a].born, w.vms[b].born) })
	return out
}

// shortage cuts Spot capacity; Azure evicts what no longer fits.
func (w *World) shortage(ft *fault) {
	capacity := *ft.cfg.Capacity
	for _, z := range ft.zones {
		zn := &w.zones[z]
		zn.spotCap = capacity
		excess := zn.spotUsed - capacity
		if excess <= 0 {
			continue
		}
		live := w.liveIn(z, true)
		w.rFleet.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
		for _, vi := range live[:min(excess, len(live))] {
			w.startEviction(vi, journal.CauseCapacity, 0, -1)
		}
	}
}

// priceSpike raises the Spot price; VMs whose max price it passes are
// evicted, the rest bill at the new price.
func (w *World) priceSpike(ft *fault) {
	for _, pi := range ft.pools {
		p := &w.pools[pi]
		for _, z := range ft.zones {
			p.price[z] = ft.cfg.Price
		}
		w.emitPrices(pi, ft.zones)
	}
	for _, vi := range w.inOrder(func(v *vm) bool { return v.spot && (v.state == vmRunning || v.state == vmBroken) }) {
		v := &w.vms[vi]
		p := &w.pools[v.pool]
		if !slices.Contains(ft.pools, v.pool) || !slices.Contains(ft.zones, v.zone) {
			continue
		}
		if p.maxPrice >= 0 && p.price[v.zone] > p.maxPrice {
			w.startEviction(vi, journal.CausePrice, 0, -1)
		}
	}
}

func (w *World) emitPrices(pi int32, zones []int32) {
	p := &w.pools[pi]
	if len(zones) == len(w.zones) {
		w.emit(journal.Event{Type: journal.PriceChanged, Pool: p.cfg.Name, Price: p.price[zones[0]]})
		return
	}
	for _, z := range zones {
		w.emit(journal.Event{Type: journal.PriceChanged, Pool: p.cfg.Name, Zone: w.zones[z].name, Price: p.price[z]})
	}
}

// outage takes a zone down: every VM in it stops without notice and nothing
// can be allocated there until it ends.
func (w *World) outage(ft *fault) {
	for _, z := range ft.zones {
		w.zones[z].down = true
		for _, vi := range w.liveIn(z, false) {
			w.startEviction(vi, journal.CauseOutage, 0, 0)
		}
		for _, vi := range w.inOrder(func(v *vm) bool { return v.zone == z && v.state == vmProvisioning }) {
			v := &w.vms[vi]
			w.emit(journal.Event{Type: journal.VMAllocationFailed, Pool: w.pools[v.pool].cfg.Name, Zone: w.zones[z].name,
				Code: "capacity", Reason: fmt.Sprintf("zone %s went down while provisioning", w.zones[z].name)})
			w.stopVM(vi)
			w.replace(v.pool, v.replaces, v.fallback)
		}
	}
}

func (w *World) endFault(fi int32) {
	ft := &w.faults[fi]
	switch ft.cfg.Type {
	case scenarios.FaultCapacityShortage:
		for _, z := range ft.zones {
			w.zones[z].spotCap = w.zones[z].baseCap
		}
	case scenarios.FaultPriceSpike:
		for _, pi := range ft.pools {
			p := &w.pools[pi]
			for _, z := range ft.zones {
				p.price[z] = p.basePrice[z]
			}
			w.emitPrices(pi, ft.zones)
		}
	case scenarios.FaultShortNotice:
		for _, z := range ft.zones {
			w.zones[z].notice = w.zones[z].baseNote
		}
	case scenarios.FaultZoneOutage:
		for _, z := range ft.zones {
			w.zones[z].down = false
		}
	}
	w.emit(journal.Event{Type: journal.FaultEnded, Wave: ft.wave, Fault: &journal.Fault{Type: ft.cfg.Type, Zones: ft.cfg.Zones, Pools: ft.cfg.Pools}})
}

// Discover lists the VMs of the fleet as targets, in creation order.
func (w *World) Discover(context.Context) ([]injector.Target, error) {
	live := w.inOrder(func(*vm) bool { return true })
	out := make([]injector.Target, 0, len(live))
	for _, vi := range live {
		out = append(out, w.target(&w.vms[vi]))
	}
	return out, nil
}

func (w *World) target(v *vm) injector.Target {
	p := &w.pools[v.pool]
	state := injector.StateRunning
	switch v.state {
	case vmProvisioning:
		state = injector.StateProvisioning
	case vmNoticed:
		state = injector.StateNoticed
	}
	return injector.Target{ID: v.name, Name: v.name, Pool: p.cfg.Name, Zone: w.zones[v.zone].name,
		Priority: p.cfg.Priority, EvictionPolicy: p.cfg.EvictionPolicy, Tags: p.cfg.Tags, PoolID: p.cfg.Name, PoolTags: p.cfg.Tags,
		State: state, Fallback: v.fallback}
}

// SimulateEviction behaves like Azure's: the call is accepted at once, the
// Preempt notice becomes visible a few seconds later, and the VM is evicted
// when the notice runs out. A VM that is not Spot is refused, as Azure
// refuses it.
func (w *World) SimulateEviction(_ context.Context, t injector.Target) error {
	vi, ok := w.vmIdx[t.ID]
	if !ok {
		return fmt.Errorf("%s: %w", t.ID, injector.ErrGone)
	}
	v := &w.vms[vi]
	if !v.spot {
		return fmt.Errorf("%s: %w (OperationNotAllowed)", t.ID, injector.ErrNotSpot)
	}
	if v.state != vmRunning && v.state != vmBroken {
		return fmt.Errorf("%s is not running: %w", t.ID, injector.ErrGone)
	}
	w.startEviction(vi, journal.CauseInjected, max(w.noticeDel.draw(w.rNotice), 0), -1)
	return nil
}

var _ injector.Injector = (*World)(nil)

// sample emits the gauges and the interval's backlog peak and area.
func (w *World) sample() {
	w.setBacklog(w.backlog)
	w.emit(journal.Event{Type: journal.Sampled, Sample: &journal.Sample{
		Spot: w.spotUp, Regular: w.regularUp, Fallback: w.fbUp, Provisioning: w.provisioning, Noticed: w.noticed,
		Backlog: w.backlog, Running: w.running, BacklogMax: w.backlogMax, BacklogArea: w.backlogArea,
		Submitted: w.submitted, Completed: w.completed, Failed: w.failed, Compute: w.computeNow(),
	}})
	w.backlogMax = w.backlog
	w.backlogArea = 0
}

// computeNow is all compute spent so far, counting running attempts.
func (w *World) computeNow() float64 {
	c := w.compute
	for i := range w.slots {
		if s := &w.slots[i]; s.job >= 0 {
			c += w.now - s.start
		}
	}
	return secs(c)
}

// Finish closes the workload at the current time: a last sample, then the
// summary of all jobs and the exact values of untouched work.
func (w *World) Finish() {
	if w.now%w.sampleEvery != 0 || w.now == 0 {
		w.sample()
	}
	unfinished := 0
	for i := range w.jobs {
		if s := w.jobs[i].state; s != jDone && s != jFailed {
			unfinished++
		}
	}
	sum := &journal.Summary{
		Submitted: w.submitted, Completed: w.completed, CompletedOnSpot: w.completedOnSpot, Failed: w.failed,
		Duplicates: w.duplicates, Unfinished: unfinished, Compute: w.computeNow(),
		Turnaround: w.turnaround, Wait: w.wait,
	}
	for _, part := range journal.SummaryParts(sum) {
		w.emit(journal.Event{Type: journal.WorkloadSummarized, Summary: part})
	}
}

// ExpediteEviction lets a noticed eviction land at virtual time at (not
// before now) instead of its NotBefore, as Azure does when the VM
// acknowledges its Preempt Scheduled Event (StartRequests). Drains and
// checkpoints that would still be under way then are cut short, as if the
// notice had run out.
func (w *World) ExpediteEviction(id string, at time.Duration) error {
	vi, ok := w.vmIdx[id]
	if !ok {
		return fmt.Errorf("%s: %w", id, injector.ErrGone)
	}
	v := &w.vms[vi]
	if v.state != vmNoticed {
		return fmt.Errorf("%s has no Preempt notice to expedite", id)
	}
	t := max(int64(at), w.now)
	if t >= v.evictAt {
		return nil
	}
	took := w.drain
	if w.policy == scenarios.OnNoticeCheckpoint {
		took = w.delta
	}
	for si := v.slotBase; si < v.slotBase+v.nslots; si++ {
		if s := &w.slots[si]; s.job >= 0 && s.stopped && s.noticeAt+took > t {
			s.late, v.late = true, true
		}
	}
	v.evictAt = t
	v.gen++
	w.q.push(ev{t: t, kind: kEvict, a: vi, gen: v.gen})
	return nil
}

// ScaleOut asks a pool's autoscaler for n more VMs now, as a scale set's
// capacity raised by hand or by another team: they are provisioned like
// replacements, after the pool's provisioning latency, and replace nothing.
func (w *World) ScaleOut(pool string, n int) error {
	pi := int32(-1)
	for i := range w.pools {
		if w.pools[i].cfg.Name == pool {
			pi = int32(i)
		}
	}
	if pi < 0 {
		return fmt.Errorf("scale out: no pool %q", pool)
	}
	for range n {
		w.q.push(ev{t: w.now, kind: kProvision, a: w.newTicket(ticket{pool: pi})})
	}
	return nil
}
