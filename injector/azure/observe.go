package azure

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// DefaultEvictionTimeout is how long an accepted simulateEviction may take
// to land before it is reported as failed: Azure says "within 30 minutes".
const DefaultEvictionTimeout = 35 * time.Minute

// Observer follows the VMs a scenario selects by polling Azure, and turns
// what changes into journal events: eviction.evicted when a Spot VM is
// deallocated or, with the Delete policy, disappears; vm.running when a VM
// comes up (replacing the oldest unreplaced eviction of its pool);
// vm.deleted when a VM stops other than by eviction; eviction.failed with
// code Timeout when a requested eviction does not land in time.
//
// It is driven by one goroutine (the runner's); it starts none.
type Observer struct {
	c       *Client
	sel     Selector
	sink    journal.Sink
	timeout time.Duration

	vms   map[string]*tracked // every VM of the listed groups, by Key(ID)
	order []string            // keys in discovery order
	// polled are the Uniform scale sets whose instances the selector may
	// pick; each poll lists them.
	polled []ScaleSet
	sets   []ScaleSet
	// unreplaced holds, per pool, the evicted VMs that no new VM has
	// replaced yet, oldest first.
	unreplaced  map[string][]string
	initialized bool
}

type phase int

const (
	phaseNew  phase = iota // seen, not announced: announced when it runs
	phaseUp                // running
	phaseDown              // deallocated or stopped
	phaseGone              // deleted
)

type tracked struct {
	vm       VM
	selected bool
	why      string
	phase    phase
	req      *request
}

// request is an eviction this run asked for.
type request struct {
	at   time.Duration
	wave string
	// failed is the error code of a call whose outcome is unknown (no
	// answer, or a 5xx after the retries): it may still land.
	failed   string
	timedOut bool
	landed   bool
}

func (r *request) pending() bool { return r != nil && r.failed == "" && !r.landed && !r.timedOut }

// NewObserver follows the VMs that sel selects. timeout 0 means
// DefaultEvictionTimeout.
func NewObserver(c *Client, sel Selector, sink journal.Sink, timeout time.Duration) *Observer {
	if timeout <= 0 {
		timeout = DefaultEvictionTimeout
	}
	return &Observer{c: c, sel: sel, sink: sink, timeout: timeout, vms: map[string]*tracked{}, unreplaced: map[string][]string{}}
}

// Refresh discovers the whole fleet again (models and power states) and
// records what changed. The first Refresh announces the running fleet.
func (o *Observer) Refresh(ctx context.Context, now time.Duration) error {
	f, err := o.c.Discover(ctx, o.sel.ResourceGroups, o.sel.MayPick)
	if err != nil {
		return err
	}
	o.sets = f.ScaleSets
	o.polled = o.polled[:0]
	for _, s := range f.ScaleSets {
		if s.Uniform && o.sel.MayPick(&s) {
			o.polled = append(o.polled, s)
		}
	}
	seen := make(map[string]bool, len(f.VMs))
	for i := range f.VMs {
		seen[Key(f.VMs[i].ID)] = true
		o.model(&f.VMs[i])
	}
	o.settle(now, func(k string, t *tracked) bool { return !seen[k] })
	o.initialized = true
	o.expire(now)
	return nil
}

// Poll reads power states (one status-only listing for the VM API, one
// listing per Uniform scale set the selector may pick) and records what
// changed, then reports the evictions that timed out. Nothing is recorded
// unless every listing succeeded, so a failed listing never reads as VMs
// gone.
func (o *Observer) Poll(ctx context.Context, now time.Duration) error {
	if !o.initialized {
		return o.Refresh(ctx, now)
	}
	power, err := o.c.PowerStates(ctx)
	if err != nil {
		return err
	}
	var models []VM
	for k, st := range power {
		if _, known := o.vms[k]; !known && o.inGroups(st.ID) {
			// A VM created since the last listing: its model says whether
			// it is Spot and which scale set it belongs to.
			if models, err = o.c.ListVMs(ctx, o.sel.ResourceGroups, o.sets); err != nil {
				return err
			}
			break
		}
	}
	type listing struct {
		vms  []VM
		gone bool
	}
	inst := make(map[string]listing, len(o.polled))
	for _, s := range o.polled {
		vms, err := o.c.ListInstances(ctx, s)
		switch {
		case errors.Is(err, injector.ErrGone):
			inst[Key(s.ID)] = listing{gone: true}
		case err != nil:
			return err
		default:
			inst[Key(s.ID)] = listing{vms: vms}
		}
	}

	for i := range models {
		if st, ok := power[Key(models[i].ID)]; ok && o.vms[Key(models[i].ID)] == nil {
			models[i].PowerState, models[i].ProvisioningState = st.PowerState, or(st.ProvisioningState, models[i].ProvisioningState)
			o.model(&models[i])
		}
	}
	for k, st := range power {
		if t, ok := o.vms[k]; ok && t.vm.Kind != KindUniform {
			t.vm.PowerState, t.vm.ProvisioningState = st.PowerState, or(st.ProvisioningState, t.vm.ProvisioningState)
		}
	}
	listed := map[string]bool{}
	for _, s := range o.polled {
		l := inst[Key(s.ID)]
		listed[Key(s.Name)+"/"+strings.ToLower(s.ResourceGroup)] = true
		for i := range l.vms {
			o.model(&l.vms[i])
		}
	}
	present := make(map[string]bool, len(power))
	for k := range power {
		present[k] = true
	}
	for _, l := range inst {
		for i := range l.vms {
			present[Key(l.vms[i].ID)] = true
		}
	}
	o.settle(now, func(k string, t *tracked) bool {
		if t.vm.Kind != KindUniform {
			return !present[k]
		}
		// Only instances of a scale set listed just now can be missing.
		return listed[Key(t.vm.ScaleSet)+"/"+strings.ToLower(t.vm.ResourceGroup)] && !present[k]
	})
	kept := o.polled[:0]
	for _, s := range o.polled {
		if !inst[Key(s.ID)].gone {
			kept = append(kept, s)
		}
	}
	o.polled = kept
	o.expire(now)
	return nil
}

// model records a VM's model and power state from a listing.
func (o *Observer) model(v *VM) {
	k := Key(v.ID)
	if t, ok := o.vms[k]; ok {
		id := t.vm.ID
		t.vm = *v
		t.vm.ID = id // keep the spelling the runner was given
		return
	}
	sel, why := o.sel.Match(v)
	o.vms[k] = &tracked{vm: *v, selected: sel, why: why}
	o.order = append(o.order, k)
}

// settle turns the recorded states into events: first every VM that went
// down or away, then every VM that came up, so that a replacement seen in
// the same poll as its eviction pairs with it.
func (o *Observer) settle(now time.Duration, missing func(string, *tracked) bool) {
	for _, k := range o.order {
		t := o.vms[k]
		switch {
		case t.phase == phaseGone:
		case missing(k, t):
			o.vanish(t, now)
		case t.vm.PowerState == "deallocated" || t.vm.PowerState == "stopped":
			o.down(t, now)
		}
	}
	for _, k := range o.order {
		if t := o.vms[k]; t.phase != phaseGone && !missing(k, t) && t.vm.PowerState == "running" {
			o.up(t, now)
		}
	}
}

func (o *Observer) down(t *tracked, now time.Duration) {
	was := t.phase
	t.phase = phaseDown
	if !t.selected || was != phaseUp {
		return // quietly tracked, or already down when first seen
	}
	switch {
	case t.vm.PowerState == "stopped":
		o.emit(now, journal.VMDeleted, t, func(e *journal.Event) {
			e.Reason = "powered off (PowerState/stopped): not an eviction, the VM is still allocated"
		})
	case !t.vm.Spot():
		o.emit(now, journal.VMDeleted, t, func(e *journal.Event) {
			e.Reason = fmt.Sprintf("deallocated (priority %s: not an eviction)", t.vm.Priority)
		})
	default:
		o.landed(t, now, or(t.vm.EvictionPolicy, scenarios.EvictionDeallocate))
	}
}

func (o *Observer) vanish(t *tracked, now time.Duration) {
	was := t.phase
	t.phase = phaseGone
	if !t.selected || was == phaseNew {
		return
	}
	if was == phaseUp && t.vm.Spot() && (t.vm.EvictionPolicy == scenarios.EvictionDelete || t.req.pending()) {
		o.landed(t, now, scenarios.EvictionDelete)
		return
	}
	reason := "deleted"
	if was == phaseDown {
		reason = "deleted after it stopped"
	}
	o.emit(now, journal.VMDeleted, t, func(e *journal.Event) { e.Reason = reason })
}

// landed records an eviction: injected when this run asked for it, natural
// otherwise (ARM does not tell a natural eviction from a manual
// deallocation or scale-in; the Activity Log does).
func (o *Observer) landed(t *tracked, now time.Duration, policy string) {
	cause, reason := journal.CauseNatural, ""
	if r := t.req; r != nil && !r.landed {
		cause, r.landed = journal.CauseInjected, true
		after := scenarios.FormatDuration((now - r.at).Truncate(time.Second))
		switch {
		case r.timedOut:
			reason = fmt.Sprintf("landed %s after the request, after the %s timeout had reported it failed", after, scenarios.FormatDuration(o.timeout))
		case r.failed != "":
			reason = fmt.Sprintf("landed %s after a call that failed with %s", after, r.failed)
		}
	}
	o.emit(now, journal.EvictionEvicted, t, func(e *journal.Event) {
		e.Cause, e.Policy, e.Reason = cause, policy, reason
	})
	pool := t.vm.Pool()
	o.unreplaced[pool] = append(o.unreplaced[pool], Key(t.vm.ID))
}

func (o *Observer) up(t *tracked, now time.Duration) {
	was := t.phase
	t.phase = phaseUp
	if !t.selected || was == phaseUp {
		return
	}
	pool := t.vm.Pool()
	if was == phaseDown {
		// The same VM started again (a restore or a manual start): it
		// closes its own eviction and replaces nothing.
		q := o.unreplaced[pool]
		for i, k := range q {
			if k == Key(t.vm.ID) {
				o.unreplaced[pool] = append(q[:i:i], q[i+1:]...)
				break
			}
		}
		o.emit(now, journal.VMRunning, t, nil)
		return
	}
	o.emit(now, journal.VMRunning, t, func(e *journal.Event) {
		if !o.initialized {
			return // the fleet as the run found it
		}
		if q := o.unreplaced[pool]; len(q) > 0 {
			e.Replaces, o.unreplaced[pool] = o.vms[q[0]].vm.ID, q[1:]
		}
		if !t.vm.Created.IsZero() {
			// Run time of the creation: now minus the VM's age.
			if at := now - o.c.clock.Now().Sub(t.vm.Created); at >= 0 && at <= now {
				e.At = journal.Ptr(at.Seconds())
			}
		}
	})
}

// expire reports the accepted evictions that have not landed in time.
func (o *Observer) expire(now time.Duration) {
	for _, k := range o.order {
		t := o.vms[k]
		r := t.req
		if !r.pending() || now-r.at < o.timeout || t.phase != phaseUp {
			continue
		}
		r.timedOut = true
		o.emit(now, journal.EvictionFailed, t, func(e *journal.Event) {
			e.Wave, e.Code = r.wave, CodeTimeout
			e.Reason = fmt.Sprintf("still running %s after simulateEviction was accepted (timeout %s); Azure may still evict it, and the journal will say so if it does",
				scenarios.FormatDuration((now - r.at).Truncate(time.Second)), scenarios.FormatDuration(o.timeout))
		})
	}
}

func (o *Observer) emit(now time.Duration, typ journal.Type, t *tracked, fill func(*journal.Event)) {
	e := &journal.Event{T: now.Seconds(), Type: typ, VM: t.vm.ID, Pool: t.vm.Pool(), Zone: t.vm.Zone}
	if typ == journal.VMRunning {
		e.Priority = t.vm.Priority
	}
	if fill != nil {
		fill(e)
	}
	o.sink.Emit(e)
}

// Record notes the outcome of a simulateEviction call made at now in a
// wave: an accepted call is watched until it lands or times out; a call
// without a clear answer (none, or a 5xx after the retries) is watched too,
// because Azure may have acted on it.
func (o *Observer) Record(c Call, now time.Duration, wave string) {
	t, ok := o.vms[Key(c.Target)]
	if !ok {
		return
	}
	switch {
	case c.Err == nil:
		t.req = &request{at: now, wave: wave}
	case c.Sent() && (c.Status == 0 || c.Status >= 500):
		code := CodeNoResponse
		var e *Error
		if errors.As(c.Err, &e) {
			code = e.Code
		}
		t.req = &request{at: now, wave: wave, failed: code}
	}
}

// Check refuses, without a call, what must not be asked of Azure: a VM
// that is not Spot, one that is gone, one this run already asked to evict
// and that has not landed yet (never two calls for one target), and one
// that discovery never saw.
func (o *Observer) Check(target injector.Target) error {
	t, ok := o.vms[Key(target.ID)]
	switch {
	case !ok:
		return &Error{Target: target.ID, Code: "NotDiscovered", kind: injector.ErrGone,
			Message: "not among the VMs discovered in the scenario's resource groups; no call was made"}
	case !t.selected:
		return &Error{Target: target.ID, Code: "NotSelected", Message: t.why + "; no call was made"}
	case t.phase == phaseGone:
		return &Error{Target: target.ID, Code: "NotFound", kind: injector.ErrGone, Message: "deleted since discovery; no call was made"}
	case !t.vm.Spot() || !target.Spot():
		return &Error{Target: target.ID, Code: CodeNotSpot, kind: injector.ErrNotSpot,
			Message: fmt.Sprintf("priority %s; only Spot VMs are ever evicted, so no call was made", orUnknown(t.vm.Priority))}
	case t.req.pending():
		return &Error{Target: target.ID, Code: CodeAlreadyRequested,
			Message: fmt.Sprintf("this run asked to evict it at %s and it has not landed yet; no second call", scenarios.FormatDuration(t.req.at.Truncate(time.Second)))}
	}
	return nil
}

// Pending reports whether an accepted eviction of the VM has not landed
// nor timed out yet.
func (o *Observer) Pending(id string) bool {
	t, ok := o.vms[Key(id)]
	return ok && t.req.pending()
}

// Lookup returns the VM with the resource ID.
func (o *Observer) Lookup(id string) (VM, bool) {
	t, ok := o.vms[Key(id)]
	if !ok {
		return VM{}, false
	}
	return t.vm, true
}

// Gone reports whether the VM was seen and has since been deleted.
func (o *Observer) Gone(id string) bool {
	t, ok := o.vms[Key(id)]
	return ok && t.phase == phaseGone
}

// Targets are the selected VMs that exist, in discovery order.
func (o *Observer) Targets() []injector.Target {
	out := make([]injector.Target, 0, len(o.order))
	for _, k := range o.order {
		if t := o.vms[k]; t.selected && t.phase != phaseGone {
			out = append(out, t.vm.Target())
		}
	}
	return out
}

// Unlanded lists the accepted evictions still waiting to land.
func (o *Observer) Unlanded() []VM {
	var out []VM
	for _, k := range o.order {
		if t := o.vms[k]; t.req.pending() {
			out = append(out, t.vm)
		}
	}
	return out
}

func (o *Observer) inGroups(id string) bool {
	if len(o.sel.ResourceGroups) == 0 {
		return true
	}
	g, err := parseGroup(id)
	return err == nil && containsFold(o.sel.ResourceGroups, g)
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
