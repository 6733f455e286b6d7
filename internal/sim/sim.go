// Package sim is the simulated Azure Spot fleet: a deterministic
// discrete-event model of Spot capacity and price, Preempt notices, evictions,
// autoscaling with provisioning latency and failures, fallback to Regular
// VMs, and a checkpointing job queue with leases.
//
// Only state changes are scheduled (arrivals, attempt ends, notices,
// evictions, lease expiries, provisioning), never each checkpoint: the
// progress of an attempt at any instant follows from its start, the
// checkpoint interval and cost. The same scenario and seed give the same
// events in the same order.
package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

type vmState uint8

const (
	vmProvisioning vmState = iota
	vmRunning
	vmBroken  // runs and bills, but its bootstrap failed: takes no work
	vmPending // simulateEviction accepted, notice not yet visible
	vmNoticed
	vmGone
)

type vm struct {
	// born orders VMs by creation: records are reused, so their indexes
	// do not.
	born      uint64
	name      string
	replaces  string
	cause     string
	requested int64
	started   int64
	evictAt   int64
	noticedAt int64
	price     float64
	pool      int32
	zone      int32
	slotBase  int32
	nslots    int32
	draining  int32
	released  int32
	gen       uint32
	state     vmState
	fallback  bool
	spot      bool
	late      bool
	initial   bool
}

type slot struct {
	start    int64
	end      int64
	p0       int64
	restart  int64
	noticeAt int64
	vm       int32
	job      int32 // -1 when idle
	attempt  int32
	gen      uint32
	// epoch counts the lives of a reused slot: a free-stack entry of an
	// earlier life is stale.
	epoch   uint32
	free    bool // on the free stack
	stopped bool // stopped work at notice (drain or checkpoint)
	late    bool // its drain or checkpoint cannot finish before the eviction
}

type jobState uint8

const (
	jQueued jobState = iota
	jRunning
	jLeased // its worker died: invisible until the lease expires
	jDone
	jFailed
)

type job struct {
	dur         int64
	submitted   int64
	visibleAt   int64
	durable     int64
	attempts    int32
	running     int32
	leaseGen    uint32
	state       jobState
	interrupted bool
	awaiting    bool // interrupted and not yet resumed
	inQueue     bool
	completions uint8
}

type zone struct {
	name      string
	spotCap   int // -1: unlimited
	spotUsed  int // Spot VMs provisioning or alive
	notice    int64
	rate      float64 // natural evictions per Spot VM-hour
	down      bool
	baseCap   int
	baseNote  int64
	vmsOfZone int
}

type pool struct {
	cfg         scenarios.Pool
	zones       []int32
	price       []float64 // Spot price per zone index of the world
	basePrice   []float64
	maxPrice    float64
	latency     sampler
	fallback    int32 // pool index, -1 for none
	fallbackFor int32
	live        []int // per world zone: VMs provisioning or alive
	seq         int
	// retired are records of this pool's gone VMs, to be reused: memory
	// follows the live fleet, not every VM the day ever had.
	retired []int32
	// fallback spend so far, for the budget: closed VMs plus live ones.
	fbClosed   float64
	fbLive     int
	fbSumStart float64
}

// freeSlot is an idle slot on the free stack, in the life it was idle in.
type freeSlot struct {
	slot  int32
	epoch uint32
}

type ticket struct {
	replaces string
	pool     int32
	failures int32
	fallback bool
}

type fault struct {
	cfg  scenarios.Fault
	wave string
	// what it changed, to restore
	zones []int32
	pools []int32
}

// World is the simulated fleet and its workload.
type World struct {
	sink     journal.Sink
	ev       journal.Event
	observer Observer
	sc       *scenarios.Scenario
	wl       *scenarios.Workload
	q        queue
	now      int64
	end      int64
	steps    uint64

	rFleet, rWork, rNotice *rand.Rand

	zones   []zone
	zoneIdx map[string]int32
	pools   []pool
	poolIdx map[string]int32
	vms     []vm
	vmIdx   map[string]int32
	slots   []slot
	free    []freeSlot
	born    uint64
	tickets []ticket
	// doneTickets are tickets whose VM was created, to be reused.
	doneTickets []int32
	faults      []fault

	jobs       []job
	fresh      fifo
	retry      fifo
	retryFirst bool
	durSampler sampler
	noticeDel  sampler
	arrivals   int

	tau, delta, restart, vt, drain int64
	policy                         string
	deleteLosesCheckpoint          bool
	maxAttempts                    int32
	renew                          bool

	// gauges and totals
	backlog, backlogMax     int
	backlogArea             float64
	backlogT                int64
	sampleEvery             int64
	running                 int
	spotUp, regularUp, fbUp int
	provisioning, noticed   int
	submitted, completed    int
	completedOnSpot, failed int
	duplicates              int
	compute                 int64
	turnaround, wait        []float64
	started                 bool
}

// Options tune a world beyond its scenario.
type Options struct {
	// SampleEvery is the interval of sample events; 0 picks about 720
	// samples over the run, at least every 10 s.
	SampleEvery time.Duration
	// Observer, when set, sees every job attempt as a worker would trace
	// it. It costs nothing when nil.
	Observer Observer
}

// New builds the world of a validated scenario. Events go to sink.
func New(sc *scenarios.Scenario, seed int64, sink journal.Sink, opts Options) (*World, error) {
	if sc.Fleet == nil {
		return nil, fmt.Errorf("scenario %s: the simulated fleet needs a fleet section", sc.Metadata.Name)
	}
	if err := CheckMemory(sc); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Metadata.Name, err)
	}
	w := &World{
		sink:    sink,
		sc:      sc,
		wl:      sc.Workload,
		end:     int64(sc.Duration),
		rFleet:  rand.New(rand.NewPCG(uint64(seed), 0x5f1e7)),
		rWork:   rand.New(rand.NewPCG(uint64(seed), 0x90b)),
		rNotice: rand.New(rand.NewPCG(uint64(seed), 0x707)),
		zoneIdx: map[string]int32{},
		poolIdx: map[string]int32{},
		vmIdx:   map[string]int32{},
	}
	w.observer = opts.Observer
	w.sampleEvery = int64(opts.SampleEvery)
	if w.sampleEvery <= 0 {
		w.sampleEvery = max(roundMS(w.end/720), int64(10*time.Second))
		// round to whole seconds so sample times print short
		w.sampleEvery = (w.sampleEvery + int64(time.Second) - 1) / int64(time.Second) * int64(time.Second)
	}
	if err := w.buildZones(); err != nil {
		return nil, err
	}
	if err := w.buildPools(); err != nil {
		return nil, err
	}
	// Room for the fleet and a quarter more for replacements, so that a
	// large fleet does not grow its tables by doubling.
	vms, slots := 0, 0
	for _, p := range sc.Fleet.Pools {
		vms += p.Capacity
		slots += p.Capacity * max(p.Slots, 1)
	}
	vms += vms / 4
	slots += slots / 4
	w.vms = make([]vm, 0, vms)
	w.slots = make([]slot, 0, slots)
	w.vmIdx = make(map[string]int32, vms)
	w.buildWorkload()
	return w, nil
}

func (w *World) buildZones() error {
	f := w.sc.Fleet
	rate := perHour(f.EvictionRate, f.MeanTimeBetweenEvictions)
	add := func(name string) int32 {
		if i, ok := w.zoneIdx[name]; ok {
			return i
		}
		i := int32(len(w.zones))
		w.zones = append(w.zones, zone{name: name, spotCap: -1, baseCap: -1, notice: int64(f.Notice), baseNote: int64(f.Notice), rate: rate})
		w.zoneIdx[name] = i
		return i
	}
	for _, z := range f.Zones {
		i := add(z.Name)
		if z.SpotCapacity != nil {
			w.zones[i].spotCap, w.zones[i].baseCap = *z.SpotCapacity, *z.SpotCapacity
		}
		if z.EvictionRate != nil {
			w.zones[i].rate = perHour(*z.EvictionRate, 0)
		}
	}
	for _, p := range f.Pools {
		if len(p.Zones) == 0 {
			add("")
		}
		for _, z := range p.Zones {
			add(z)
		}
	}
	return nil
}

// perHour turns Azure's quoted eviction percentage per hour (or a mean time
// between evictions) into a Poisson rate: lambda = -ln(1-p).
func perHour(p scenarios.Percent, mtbe scenarios.Duration) float64 {
	if mtbe > 0 {
		return float64(time.Hour) / float64(mtbe)
	}
	if p <= 0 {
		return 0
	}
	if p >= 1 {
		return math.Inf(1)
	}
	return -math.Log1p(-float64(p))
}

func (w *World) buildPools() error {
	for i, pc := range w.sc.Fleet.Pools {
		p := pool{cfg: pc, fallback: -1, fallbackFor: -1, latency: newSampler(latencyOf(pc)), maxPrice: -1}
		if pc.MaxPrice != nil {
			p.maxPrice = *pc.MaxPrice
		}
		zs := pc.Zones
		if len(zs) == 0 {
			zs = []string{""}
		}
		for _, z := range zs {
			p.zones = append(p.zones, w.zoneIdx[z])
		}
		p.price = make([]float64, len(w.zones))
		p.basePrice = make([]float64, len(w.zones))
		for z := range p.price {
			p.price[z] = poolPrice(pc)
			p.basePrice[z] = p.price[z]
		}
		p.live = make([]int, len(w.zones))
		w.pools = append(w.pools, p)
		w.poolIdx[pc.Name] = int32(i)
	}
	for i := range w.pools {
		if fb := w.pools[i].cfg.Fallback; fb != nil {
			j, ok := w.poolIdx[fb.Pool]
			if !ok {
				return fmt.Errorf("pool %s: fallback pool %q does not exist", w.pools[i].cfg.Name, fb.Pool)
			}
			w.pools[i].fallback = j
			w.pools[j].fallbackFor = int32(i)
		}
	}
	return nil
}

func latencyOf(p scenarios.Pool) scenarios.Dist {
	if p.Provisioning.Latency != nil {
		return *p.Provisioning.Latency
	}
	return scenarios.Dist{Dist: scenarios.DistUniform, Min: scenarios.Duration(time.Minute), Max: scenarios.Duration(3 * time.Minute)}
}

// poolPrice is what a VM of the pool costs per hour when it starts.
func poolPrice(p scenarios.Pool) float64 {
	if p.Priority == scenarios.PrioritySpot {
		return p.SpotPrice
	}
	return p.OnDemandPrice
}

func (w *World) buildWorkload() {
	if w.wl == nil {
		return
	}
	wl := w.wl
	w.durSampler = newSampler(wl.Jobs.Duration)
	w.tau, w.delta = int64(wl.Checkpoint.Interval), int64(wl.Checkpoint.Cost)
	w.restart = int64(wl.RestartCost)
	w.vt = int64(wl.Queue.VisibilityTimeout)
	w.drain = int64(wl.DrainTime)
	w.policy = wl.OnNotice
	w.deleteLosesCheckpoint = wl.Checkpoint.Storage == scenarios.StorageLocal
	w.maxAttempts = int32(wl.MaxAttempts)
	w.renew = !wl.Queue.NoLeaseRenewal
	w.retryFirst = wl.Queue.Requeue != scenarios.RequeueBack
	w.fresh.items = make([]int32, 0, wl.Jobs.Count)
	w.jobs = make([]job, 0, wl.Jobs.Count)
	w.turnaround = make([]float64, 0, wl.Jobs.Count)
	w.wait = make([]float64, 0, wl.Jobs.Count)
}

// Start brings up the initial fleet at time zero and submits the first
// jobs. Call it once, after the run's opening events.
func (w *World) Start() { w.StartContext(context.Background()) }

// StartContext is Start that stops bringing the fleet and the jobs up when
// ctx is cancelled (a signal during the setup of a large scenario): the
// world is then smaller but consistent, and the run ends at once.
func (w *World) StartContext(ctx context.Context) {
	if w.started {
		return
	}
	stopped := func(i int) bool { return i&4095 == 4095 && ctx.Err() != nil }
	w.started = true
	nd := scenarios.Dist{Dist: scenarios.DistUniform, Min: scenarios.Duration(5 * time.Second), Max: scenarios.Duration(15 * time.Second)}
	if w.sc.Fleet.NoticeDelay != nil {
		nd = *w.sc.Fleet.NoticeDelay
	}
	w.noticeDel = newSampler(nd)
	for pi := range w.pools {
		p := &w.pools[pi]
		for i := 0; i < p.cfg.Capacity && !stopped(i); i++ {
			z := p.zones[i%len(p.zones)]
			v := w.newVM(int32(pi), z, false, "")
			w.vms[v].initial = true
			w.vmUp(v)
		}
	}
	if w.wl != nil {
		if w.wl.Jobs.RatePerHour <= 0 {
			for i := 0; i < w.wl.Jobs.Count && !stopped(i); i++ {
				w.arrive()
			}
		} else {
			w.q.push(ev{t: expDraw(w.rWork, w.wl.Jobs.RatePerHour), kind: kArrive})
		}
	}
	w.q.push(ev{t: w.sampleEvery, kind: kSample})
	w.dispatchUntil(func() bool { return ctx.Err() != nil })
}

// Now is the virtual time.
func (w *World) Now() time.Duration { return time.Duration(w.now) }

// Events is how many scheduled events the world has processed.
func (w *World) Events() uint64 { return w.steps }

// AdvanceTo processes every event up to and including t.
func (w *World) AdvanceTo(t time.Duration) {
	limit := int64(t)
	for {
		next, ok := w.q.peek()
		if !ok || next > limit {
			break
		}
		e := w.q.pop()
		w.now = e.t
		w.steps++
		w.fire(e)
	}
	if limit > w.now {
		w.now = limit
	}
}

func (w *World) fire(e ev) {
	switch e.kind {
	case kArrive:
		w.arrive()
		if w.arrivals < w.wl.Jobs.Count {
			w.q.push(ev{t: w.now + expDraw(w.rWork, w.wl.Jobs.RatePerHour), kind: kArrive})
		}
		w.dispatch()
	case kAttemptEnd:
		if s := &w.slots[e.b]; s.gen == e.gen && s.job >= 0 {
			w.complete(e.b)
		}
	case kRelease:
		if s := &w.slots[e.b]; s.gen == e.gen && s.job >= 0 {
			w.release(e.b)
		}
	case kNatural:
		if v := &w.vms[e.a]; v.gen == e.gen && (v.state == vmRunning || v.state == vmBroken) {
			w.startEviction(e.a, journal.CauseNatural, 0, -1)
		}
	case kNotice:
		if v := &w.vms[e.a]; v.gen == e.gen && v.state == vmPending {
			w.notice(e.a, -1)
		}
	case kEvict:
		if v := &w.vms[e.a]; v.gen == e.gen && v.state == vmNoticed {
			w.evict(e.a)
		}
	case kLeaseExpire:
		if j := &w.jobs[e.a]; j.leaseGen == e.gen {
			w.leaseExpired(e.a)
		}
	case kProvision:
		w.provision(e.a)
	case kVMUp:
		if v := &w.vms[e.a]; v.gen == e.gen && v.state == vmProvisioning {
			w.vmUp(e.a)
		}
	case kBootstrapCheck:
		if v := &w.vms[e.a]; v.gen == e.gen && v.state == vmBroken {
			w.bootstrapFailed(e.a)
		}
	case kSample:
		w.sample()
		w.q.push(ev{t: w.now + w.sampleEvery, kind: kSample})
	case kFaultEnd:
		w.endFault(e.a)
	}
}

func (w *World) t() float64 { return float64(w.now) / 1e9 }

func secs(ns int64) float64 { return float64(ns) / 1e9 }

// emit stamps the event with the virtual time and hands it to the sink. One
// event value is reused, since sinks copy what they keep (journal.Sink).
func (w *World) emit(e journal.Event) {
	e.T = w.t()
	w.ev = e
	w.sink.Emit(&w.ev)
}
