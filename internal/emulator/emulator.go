// Package emulator serves the simulated Spot fleet as a local Azure: the
// subset of Resource Manager's Microsoft.Compute API that spotdrill and
// typical automation use (VMs, scale sets, their instances and instance
// views, simulateEviction), with Azure's JSON shapes, paging, errors and
// throttling, and each VM's Scheduled Events as IMDS serves them, so that
// drain handlers and tools are tested offline, over real HTTP.
//
// The scenario's fleet becomes one subscription and resource group; each
// pool is a Uniform scale set, or standalone VMs. The simulated fleet runs
// on a clock: its virtual time advances at Speed times the wall clock, and
// every request first brings it up to date, so answers are exact whatever
// the tick.
package emulator

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// Defaults of the emulated subscription.
const (
	DefaultSubscription  = "00000000-0000-0000-0000-000000000000"
	DefaultResourceGroup = "spotdrill-emulator"
	DefaultLocation      = "eastus"
	DefaultPageSize      = 100
	DefaultTick          = 20 * time.Millisecond
)

// Options shape the emulated subscription and its clock.
type Options struct {
	// Subscription and ResourceGroup hold every VM and scale set.
	Subscription  string
	ResourceGroup string
	// Location is the VMs' region; the fleet's region, else eastus.
	Location string
	// Standalone names the pools served as standalone VMs; the others are
	// Uniform scale sets.
	Standalone []string
	// Speed is how many virtual seconds pass per wall second; 1 (real
	// time) if zero.
	Speed float64
	// PageSize is how many items a listing returns per page.
	PageSize int
	// Limits are the rate limits; DefaultLimits if nil.
	Limits *Limits
	// Journal, if set, receives the fleet's journal events (VMs named as
	// Azure names them) and the emulator's own: requested evictions, and
	// drains acknowledged through Scheduled Events.
	Journal journal.Sink
	// Now is the wall clock; time.Now if nil.
	Now func() time.Time
	// Tick is how often Run advances the fleet; DefaultTick if zero.
	Tick time.Duration
	// Tool goes into run.started.
	Tool string
}

func (o Options) withDefaults(sc *scenarios.Scenario) Options {
	if o.Subscription == "" {
		o.Subscription = DefaultSubscription
	}
	if o.ResourceGroup == "" {
		o.ResourceGroup = DefaultResourceGroup
	}
	if o.Location == "" {
		o.Location = sc.Fleet.Region
	}
	if o.Location == "" {
		o.Location = DefaultLocation
	}
	if o.Speed <= 0 {
		o.Speed = 1
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.Limits == nil {
		l := DefaultLimits()
		o.Limits = &l
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tick <= 0 {
		o.Tick = DefaultTick
	}
	return o
}

// expediter is what the simulated fleet needs so that an acknowledged
// Preempt lands early, as on Azure (see docs/emulator.md): the eviction of
// VM id lands at virtual time at instead of its NotBefore. Until sim.World
// has it, an acknowledged eviction lands at its NotBefore.
type expediter interface {
	ExpediteEviction(id string, at time.Duration) error
}

// startedFor is how long an acknowledged Preempt stays in the document as
// Started before the VM stops: Azure takes a few seconds to stop it.
const startedFor = 5 * time.Second

// CanExpedite reports whether the simulated fleet lets an acknowledged
// Preempt land early.
func CanExpedite() bool {
	_, ok := any((*sim.World)(nil)).(expediter)
	return ok
}

// Emulator is one emulated subscription. Its methods are safe for
// concurrent use; HTTP handlers and the clock share one lock around the
// simulated fleet.
type Emulator struct {
	mu     sync.Mutex
	sc     *scenarios.Scenario
	opts   Options
	world  *sim.World
	fleet  *fleet
	limits *throttle
	faults []scenarios.Wave // market faults still to come, by time
	start  time.Time        // wall time at virtual time zero
	state  state
	// requests numbers the answers, for x-ms-request-id.
	requests atomic.Int64
}

type state uint8

const (
	stateNew state = iota
	stateRunning
	stateClosed
)

// New builds the emulator of a validated scenario with a simulated fleet.
// Nothing runs until Start.
func New(sc *scenarios.Scenario, opts Options) (*Emulator, error) {
	if sc.Fleet == nil {
		return nil, fmt.Errorf("scenario %s: the emulator needs a fleet section (provider sim)", sc.Metadata.Name)
	}
	opts = opts.withDefaults(sc)
	f, err := newFleet(sc, opts, opts.Journal)
	if err != nil {
		return nil, err
	}
	w, err := sim.New(sc, sc.Seed, f, sim.Options{})
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	e := &Emulator{sc: sc, opts: opts, world: w, fleet: f, limits: newThrottle(*opts.Limits, opts.Now())}
	for _, wv := range sc.Waves {
		if wv.Fault != nil {
			e.faults = append(e.faults, wv)
		}
	}
	slices.SortStableFunc(e.faults, func(a, b scenarios.Wave) int { return cmp.Compare(a.At, b.At) })
	return e, nil
}

// Start brings the fleet up: now is virtual time zero.
func (e *Emulator) Start() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateNew {
		return
	}
	e.start, e.state = e.opts.Now(), stateRunning
	e.fleet.emit(0, journal.Event{Type: journal.RunStarted, Run: e.runInfo()})
	e.world.Start()
	e.learnNew(0)
}

// Run advances the fleet every tick until ctx ends. Requests advance it
// too, so Run only keeps the journal and the market faults on time when
// nobody asks.
func (e *Emulator) Run(ctx context.Context) {
	t := time.NewTicker(e.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.mu.Lock()
			e.advance()
			e.mu.Unlock()
		}
	}
}

// Close stops the clock and closes the journal with the workload's
// summary. It returns what the drain handlers did with each Preempt.
func (e *Emulator) Close() []Drain {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state == stateRunning {
		e.advance()
		now := e.world.Now()
		e.world.Finish()
		e.fleet.emit(now, journal.Event{Type: journal.RunEnded, Status: journal.StatusCompleted, Reason: "emulator stopped"})
	}
	e.state = stateClosed
	return e.drains()
}

// Subscription is the emulated subscription's ID.
func (e *Emulator) Subscription() string { return e.opts.Subscription }

// ResourceGroup holds every VM and scale set.
func (e *Emulator) ResourceGroup() string { return e.opts.ResourceGroup }

// virtualNow maps the wall clock onto the fleet's time.
func (e *Emulator) virtualNow() time.Duration {
	return time.Duration(float64(e.opts.Now().Sub(e.start)) * e.opts.Speed)
}

// wall maps a virtual time onto the wall clock, for the timestamps clients
// read (TimeCreated, NotBefore, statuses).
func (e *Emulator) wall(t time.Duration) time.Time {
	return e.start.Add(time.Duration(float64(t) / e.opts.Speed)).UTC()
}

// advance brings the fleet up to the wall clock, applying the scenario's
// market faults on the way. Called with mu held.
func (e *Emulator) advance() {
	if e.state != stateRunning {
		return
	}
	to := e.virtualNow()
	for len(e.faults) > 0 && e.faults[0].At.D() <= to {
		wv := e.faults[0]
		e.faults = e.faults[1:]
		e.world.AdvanceTo(wv.At.D())
		e.applyFault(wv)
	}
	e.world.AdvanceTo(to)
	e.learnNew(e.world.Now())
}

// applyFault starts a market fault of the scenario: the Spot market's
// weather, which the emulated platform brings by itself. Eviction waves are
// left to the clients, who call simulateEviction.
func (e *Emulator) applyFault(wv scenarios.Wave) {
	now := e.world.Now()
	e.fleet.emit(now, journal.Event{Type: journal.WaveStarted, Wave: wv.Name, Code: wv.Fault.Type,
		Reason: "market fault " + wv.Fault.Type + " (the emulator applies fault waves; clients evict)"})
	if err := e.world.ApplyFault(wv.Name, *wv.Fault); err != nil {
		e.fleet.emit(now, journal.Event{Type: journal.Note, Code: "fault", Reason: err.Error()})
	}
}

// learnNew names the VMs being provisioned, when some were requested.
func (e *Emulator) learnNew(now time.Duration) {
	if !e.fleet.requested {
		return
	}
	ts, err := e.world.Discover(context.Background())
	if err != nil { // the simulated fleet's listing does not fail
		return
	}
	e.fleet.learn(ts, now)
}

// expedite lets an acknowledged Preempt land startedFor from now, when the
// simulated fleet can. Called with mu held.
func (e *Emulator) expedite(m *machine) bool {
	x, ok := any(e.world).(expediter)
	if !ok {
		return false
	}
	return x.ExpediteEviction(m.sim, e.world.Now()+startedFor) == nil
}

// runInfo opens the journal. Its clock starts at the wall time the
// emulator started (t is virtual seconds since then). The scenario's SLOs
// are left out: they grade a game day's waves, which the emulator does not
// play; `spotdrill report --slo` grades the journal against others.
func (e *Emulator) runInfo() *journal.Run {
	sc := e.sc
	info := &journal.Run{SchemaVersion: journal.SchemaVersion, Tool: e.opts.Tool, Scenario: sc.Metadata.Name, File: sc.File,
		Provider: scenarios.ProviderSim, Seed: sc.Seed, Start: e.start.UTC().Format(time.RFC3339),
		Duration: sc.Duration.D().Seconds()}
	// The scenario's SLOs, so that the emulator's journal grades as a run's.
	for _, s := range sc.SLOs {
		info.SLOs = append(info.SLOs, journal.SLO{Name: s.Name, Objective: s.Objective.Raw})
	}
	fallbackFor := map[string]string{}
	for _, p := range sc.Fleet.Pools {
		if p.Fallback != nil {
			fallbackFor[p.Fallback.Pool] = p.Name
		}
	}
	for _, p := range sc.Fleet.Pools {
		info.Pools = append(info.Pools, journal.Pool{Name: p.Name, Priority: p.Priority, SKU: p.SKU, Zones: p.Zones,
			Capacity: p.Capacity, EvictionPolicy: p.EvictionPolicy, SpotPrice: p.SpotPrice, OnDemandPrice: p.OnDemandPrice,
			FallbackFor: fallbackFor[p.Name]})
	}
	return info
}

// VM is one VM of the emulated subscription, as the emulator's own status
// endpoint and the command's banner show it.
type VM struct {
	Name          string `json:"name"`
	ID            string `json:"id"`
	Kind          Kind   `json:"kind"`
	ScaleSet      string `json:"scaleSet,omitempty"`
	InstanceID    string `json:"instanceId,omitempty"`
	Pool          string `json:"pool"`
	Zone          string `json:"zone,omitempty"`
	Priority      string `json:"priority"`
	PowerState    string `json:"powerState"`
	Preempt       bool   `json:"preempt,omitempty"`
	SimulatedName string `json:"simulatedName"`
}

// VMs lists the subscription's VMs now, in creation order.
func (e *Emulator) VMs() []VM {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance()
	return e.vms()
}

func (e *Emulator) vms() []VM {
	var out []VM
	for _, m := range e.fleet.live(0, func(*machine) bool { return true }) {
		v := VM{Name: m.name, ID: m.id, Kind: m.pool.kind, InstanceID: m.instance, Pool: m.pool.cfg.Name, Zone: m.zone,
			Priority: m.pool.cfg.Priority, PowerState: m.power, Preempt: m.event != nil, SimulatedName: m.sim}
		if m.pool.kind == KindUniform {
			v.ScaleSet = m.pool.cfg.Name
		}
		out = append(out, v)
	}
	return out
}

// Drain is what a VM's drain handler did with one Preempt. Times are the
// fleet's virtual seconds (wall seconds at speed 1); Seen and Acked are
// nil when it did not happen.
type Drain struct {
	VM        string   `json:"vm"`
	EventID   string   `json:"eventId"`
	Noticed   float64  `json:"noticed"`
	NotBefore float64  `json:"notBefore"`
	Seen      *float64 `json:"seen,omitempty"`
	Acked     *float64 `json:"acknowledged,omitempty"`
	Landed    *float64 `json:"landed,omitempty"`
}

// Watched reports whether a drain handler read the event at all.
func (d Drain) Watched() bool { return d.Seen != nil }

// InTime reports whether the handler acknowledged before NotBefore.
func (d Drain) InTime() bool { return d.Acked != nil && *d.Acked <= d.NotBefore }

// DrainTime is notice to acknowledgement, in seconds.
func (d Drain) DrainTime() (float64, bool) {
	if d.Acked == nil {
		return 0, false
	}
	return *d.Acked - d.Noticed, true
}

// Drains lists every Preempt so far and what its VM's handler did.
func (e *Emulator) Drains() []Drain {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance()
	return e.drains()
}

func (e *Emulator) drains() []Drain {
	out := make([]Drain, 0, len(e.fleet.preempts))
	for _, p := range e.fleet.preempts {
		out = append(out, Drain{VM: p.vm.name, EventID: p.id, Noticed: p.noticed.Seconds(), NotBefore: p.notBefore.Seconds(),
			Seen: optSeconds(p.seen), Acked: optSeconds(p.acked), Landed: optSeconds(p.landed)})
	}
	return out
}

func optSeconds(t time.Duration) *float64 {
	if t < 0 {
		return nil
	}
	return journal.Ptr(t.Seconds())
}
