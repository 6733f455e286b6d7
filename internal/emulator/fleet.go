package emulator

import (
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// Kind says how a pool of the scenario is served.
type Kind string

// Kinds of VM.
const (
	// KindUniform: the pool is a Uniform scale set named after it; its VMs
	// are instances 0, 1, 2, ... named <pool>_<instance>, as in AKS node
	// pools.
	KindUniform Kind = "uniform"
	// KindStandalone: the pool's VMs are standalone VMs named after the
	// simulated VMs, <pool>-00001, <pool>-00002, ...
	KindStandalone Kind = "standalone"
)

// Power states, as Azure spells them after "PowerState/".
const (
	PowerStarting    = "starting"
	PowerRunning     = "running"
	PowerDeallocated = "deallocated"
)

// pool is a pool of the scenario as the subscription shows it.
type pool struct {
	cfg  scenarios.Pool
	kind Kind
	// id is the scale set's resource ID (Uniform).
	id   string
	next int // the next instance ID (Uniform)
	// extra holds the tags written through the tags API.
	extra map[string]string
}

// machine is one VM or scale-set instance of the emulated subscription.
type machine struct {
	extra    map[string]string // tags written through the tags API
	seq      int               // creation order in the subscription: paging tokens
	sim      string            // the simulated fleet's name for it
	name     string            // Azure's
	id       string            // ARM resource ID
	instance string            // Uniform: the instance ID
	pool     *pool
	zone     string
	created  time.Duration // virtual time of the allocation request
	power    string
	gone     bool // deleted: listed nowhere, 404 on Resource Manager
	// event is the Preempt in the VM's Scheduled Events document, nil
	// when there is none; incarnation is the document's.
	event       *preempt
	incarnation int
}

// preempt is one Preempt Scheduled Event, and what the VM's drain handler
// did with it. Times are virtual; -1 until they happen.
type preempt struct {
	id        string
	vm        *machine
	noticed   time.Duration // visible in the document
	notBefore time.Duration
	seen      time.Duration // first read by a client
	acked     time.Duration // StartRequests
	landed    time.Duration // the eviction
}

func (p *preempt) started() bool { return p.acked >= 0 }

// fleet is the emulator's view of the simulated fleet as an Azure
// subscription. It learns of VMs and their power states from the journal
// events the simulated fleet emits, so it needs no access to the fleet's
// internals. It is not safe for concurrent use: the emulator holds its
// lock around every call, including the simulated fleet's calls to Emit.
type fleet struct {
	sub, rg, location string
	seed              int64
	pools             []*pool
	poolByName        map[string]*pool
	machines          []*machine // creation order
	bySim             map[string]*machine
	byKey             map[string]*machine // lower-case resource ID
	byName            map[string]*machine // lower-case Azure name
	out               journal.Sink
	// requested is set when a VM was requested: its name is known only
	// once the fleet lists it (the vm.requested event carries none).
	requested bool
	preempts  []*preempt
	// incarnation is the broadcast document's (every VM's events).
	incarnation int
}

func newFleet(sc *scenarios.Scenario, o Options, out journal.Sink) (*fleet, error) {
	f := &fleet{sub: o.Subscription, rg: o.ResourceGroup, location: o.Location, seed: sc.Seed,
		poolByName: map[string]*pool{}, bySim: map[string]*machine{}, byKey: map[string]*machine{},
		byName: map[string]*machine{}, out: out, incarnation: 1}
	standalone := map[string]bool{}
	for _, name := range o.Standalone {
		standalone[name] = true
	}
	for _, pc := range sc.Fleet.Pools {
		p := &pool{cfg: pc, kind: KindUniform}
		if standalone[pc.Name] {
			p.kind = KindStandalone
			delete(standalone, pc.Name)
		} else {
			p.id = f.scaleSetID(pc.Name)
		}
		f.pools = append(f.pools, p)
		f.poolByName[pc.Name] = p
	}
	for name := range standalone {
		return nil, fmt.Errorf("standalone pool %q is not a pool of scenario %s", name, sc.Metadata.Name)
	}
	return f, nil
}

func (f *fleet) groupID() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", f.sub, f.rg)
}

func (f *fleet) scaleSetID(name string) string {
	return f.groupID() + "/providers/Microsoft.Compute/virtualMachineScaleSets/" + name
}

func (f *fleet) vmID(name string) string {
	return f.groupID() + "/providers/Microsoft.Compute/virtualMachines/" + name
}

// Emit follows the simulated fleet: VMs that run, notices, evictions and
// deletions change the subscription; every event then goes on to the
// journal with the VMs' Azure names.
func (f *fleet) Emit(e *journal.Event) {
	switch e.Type {
	case journal.VMRequested:
		f.requested = true
	case journal.VMRunning:
		m := f.ensure(e.VM, e.Pool, e.Zone, secondsDur(e.T))
		m.power = PowerRunning
		if e.At != nil {
			m.created = secondsDur(*e.At)
		}
	case journal.EvictionNoticed:
		if m := f.bySim[e.VM]; m != nil && e.At != nil {
			f.notice(m, secondsDur(e.T), secondsDur(*e.At))
		}
	case journal.EvictionEvicted:
		if m := f.bySim[e.VM]; m != nil {
			f.stop(m, secondsDur(e.T), e.Policy == scenarios.EvictionDelete)
		}
	case journal.VMDeleted:
		if m := f.bySim[e.VM]; m != nil {
			f.stop(m, secondsDur(e.T), true)
		}
	}
	f.forward(e)
}

// forward hands a copy to the journal, naming VMs as Azure does. The
// simulated workers' own drains are left out: on the emulator, a VM has
// drained when its real drain handler acknowledged the Preempt.
func (f *fleet) forward(e *journal.Event) {
	if f.out == nil || e.Type == journal.EvictionDrained {
		return
	}
	c := *e
	c.VM, c.Replaces = f.azureName(e.VM), f.azureName(e.Replaces)
	f.out.Emit(&c)
}

// emit journals an event of the emulator's own at virtual time t.
func (f *fleet) emit(t time.Duration, e journal.Event) {
	if f.out == nil {
		return
	}
	e.T = t.Seconds()
	f.out.Emit(&e)
}

func (f *fleet) azureName(sim string) string {
	if m := f.bySim[sim]; m != nil {
		return m.name
	}
	return sim
}

// ensure returns the machine of a simulated VM, adding it to the
// subscription the first time it is seen.
func (f *fleet) ensure(sim, poolName, zone string, now time.Duration) *machine {
	if m := f.bySim[sim]; m != nil {
		return m
	}
	p := f.poolByName[poolName]
	if p == nil { // a pool the scenario does not have: cannot happen
		p = &pool{cfg: scenarios.Pool{Name: poolName}, kind: KindStandalone}
		f.poolByName[poolName] = p
	}
	m := &machine{seq: len(f.machines) + 1, sim: sim, pool: p, zone: zone, created: now, power: PowerStarting, incarnation: 1}
	if p.kind == KindUniform {
		m.instance = strconv.Itoa(p.next)
		p.next++
		m.name = p.cfg.Name + "_" + m.instance
		m.id = p.id + "/virtualMachines/" + m.instance
	} else {
		m.name = sim
		m.id = f.vmID(sim)
	}
	f.machines = append(f.machines, m)
	f.bySim[sim] = m
	f.byKey[strings.ToLower(m.id)] = m
	f.byName[strings.ToLower(m.name)] = m
	return m
}

// learn adds the VMs that are still provisioning, whose names only the
// fleet's listing gives.
func (f *fleet) learn(targets []injector.Target, now time.Duration) {
	f.requested = false
	for _, t := range targets {
		if t.State == injector.StateProvisioning {
			f.ensure(t.ID, t.Pool, t.Zone, now)
		}
	}
}

// notice puts a Preempt event in the VM's Scheduled Events.
func (f *fleet) notice(m *machine, now, notBefore time.Duration) {
	p := &preempt{id: eventID(f.seed, m.name, len(f.preempts)), vm: m, noticed: now, notBefore: notBefore,
		seen: -1, acked: -1, landed: -1}
	f.preempts = append(f.preempts, p)
	m.event = p
	f.changed(m)
}

// stop lands an eviction or a deletion: the event leaves the document and
// the VM is deallocated, or gone.
func (f *fleet) stop(m *machine, now time.Duration, deleted bool) {
	if m.event != nil {
		m.event.landed = now
		m.event = nil
		f.changed(m)
	}
	if deleted {
		m.gone = true
		return
	}
	m.power = PowerDeallocated
}

// changed bumps the document incarnations, as IMDS does whenever the
// events change.
func (f *fleet) changed(m *machine) {
	m.incarnation++
	f.incarnation++
}

// lookup finds a VM by resource ID; nil when there is none, or it is gone.
func (f *fleet) lookup(id string) *machine {
	if m := f.byKey[strings.ToLower(id)]; m != nil && !m.gone {
		return m
	}
	return nil
}

// scaleSet finds a Uniform scale set by name.
func (f *fleet) scaleSet(name string) *pool {
	for _, p := range f.pools {
		if p.kind == KindUniform && strings.EqualFold(p.cfg.Name, name) {
			return p
		}
	}
	return nil
}

// live lists the VMs that are not gone and that keep returns true for,
// in creation order, after the paging token.
func (f *fleet) live(after int, keep func(*machine) bool) []*machine {
	var out []*machine
	for _, m := range f.machines {
		if m.seq > after && !m.gone && keep(m) {
			out = append(out, m)
		}
	}
	return out
}

// eventID is a Scheduled Event's ID: a version-4 UUID in Azure's upper
// case, drawn from the seed so that the same run gives the same IDs.
func eventID(seed int64, vm string, n int) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%d/%s/%d", seed, vm, n)))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]))
}

func secondsDur(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
