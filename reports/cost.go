package reports

import (
	"github.com/spotdrill/spotdrill/journal"
)

// costKey groups the VMs that are billed alike: a price.changed event moves
// the price of every Spot VM of a pool (and zone) at once, so the book keeps
// one running rate per group instead of walking every VM on each change.
type costKey struct {
	pool, zone string
	spot       bool
	fallback   bool
}

// costGroup accrues spend and VM-seconds piecewise: between two events that
// touch the group its rate is constant.
type costGroup struct {
	costKey
	running int
	rate    float64 // USD per hour of the VMs running now
	// price is the group's Spot price after its last price.changed; epoch
	// counts those changes so a VM knows whether its own price still holds.
	price    float64
	hasPrice bool
	epoch    int32
	last     float64
	usd      float64
	seconds  float64 // VM-seconds
}

func (g *costGroup) advance(t float64) {
	if dt := t - g.last; dt > 0 {
		g.usd += g.rate * dt / 3600
		g.seconds += float64(g.running) * dt
		g.last = t
	}
}

// at returns spend and VM-seconds up to t without moving the group.
func (g *costGroup) at(t float64) (usd, seconds float64) {
	usd, seconds = g.usd, g.seconds
	if dt := t - g.last; dt > 0 {
		usd += g.rate * dt / 3600
		seconds += float64(g.running) * dt
	}
	return usd, seconds
}

type vmCost struct {
	group int32
	price float64
	epoch int32
}

// costBook follows every running VM from vm.running to the event that
// stops it; each VM's own entry lives in the accumulator's vmState.
type costBook struct {
	groups []costGroup
	byKey  map[costKey]int32
	// poolPrice holds pool-wide price changes for VMs that start later
	// without a price of their own.
	poolPrice map[string]float64
}

func (b *costBook) init() {
	if b.byKey == nil {
		b.byKey = make(map[costKey]int32)
		b.poolPrice = make(map[string]float64)
	}
}

func (b *costBook) group(k costKey, t float64) int32 {
	if i, ok := b.byKey[k]; ok {
		return i
	}
	b.init()
	i := int32(len(b.groups))
	b.groups = append(b.groups, costGroup{costKey: k, last: t})
	b.byKey[k] = i
	return i
}

// start bills a VM from t. A zero price in the event falls back to the
// group's current Spot price, then to the pool's list price.
func (b *costBook) start(v *vmState, e *journal.Event, pool journal.Pool) {
	prio := e.Priority
	if prio == "" {
		prio = pool.Priority
	}
	k := costKey{pool: e.Pool, zone: e.Zone, spot: prio == "Spot", fallback: e.Fallback || pool.FallbackFor != ""}
	b.init()
	b.stop(v, e.T) // a VM reported running twice restarts its bill
	gi := b.group(k, e.T)
	g := &b.groups[gi]
	g.advance(e.T)
	price := e.Price
	switch {
	case price != 0:
	case k.spot && g.hasPrice:
		price = g.price
	case k.spot && b.poolPrice[e.Pool] != 0:
		price = b.poolPrice[e.Pool]
	case k.spot:
		price = pool.SpotPrice
	default:
		price = pool.OnDemandPrice
	}
	g.running++
	g.rate += price
	v.bill, v.billed = vmCost{group: gi, price: price, epoch: g.epoch}, true
}

func (b *costBook) stop(vm *vmState, t float64) {
	if !vm.billed {
		return
	}
	v := vm.bill
	g := &b.groups[v.group]
	g.advance(t)
	price := v.price
	if v.epoch != g.epoch {
		price = g.price
	}
	g.running--
	g.rate -= price
	if g.running == 0 {
		g.rate = 0 // no float drift left behind
	}
	// If it runs again, vm.running bills it afresh.
	vm.billed = false
}

// reprice applies a price.changed: every Spot VM of the pool, in the zone or
// in every zone when zone is empty, costs price from t on.
func (b *costBook) reprice(pool, zone string, price, t float64) {
	b.init()
	for i := range b.groups {
		g := &b.groups[i]
		if !g.spot || g.pool != pool || (zone != "" && g.zone != zone) {
			continue
		}
		g.advance(t)
		g.price, g.hasPrice = price, true
		g.epoch++
		g.rate = float64(g.running) * price
	}
	if zone == "" {
		b.poolPrice[pool] = price
		return
	}
	// Later VMs of that zone start at the new price even if none runs yet.
	k := costKey{pool: pool, zone: zone, spot: true}
	if _, ok := b.byKey[k]; !ok {
		g := &b.groups[b.group(k, t)]
		g.price, g.hasPrice = price, true
	}
}

// costTotals is the book summed up to a time.
type costTotals struct {
	usd, fallbackUSD         float64
	seconds, fallbackSeconds float64
	spotSeconds              float64
	// onDemand is the same VM-seconds at on-demand prices; missing names a
	// Spot pool without an on-demand price, which leaves it unknown.
	onDemand float64
	missing  string
}

func (b *costBook) totals(t float64, pools map[string]journal.Pool) costTotals {
	var c costTotals
	for i := range b.groups {
		g := &b.groups[i]
		usd, sec := g.at(t)
		c.usd += usd
		c.seconds += sec
		if g.fallback {
			c.fallbackUSD += usd
			c.fallbackSeconds += sec
		}
		if g.spot {
			c.spotSeconds += sec
		}
		od := pools[g.pool].OnDemandPrice
		switch {
		case od > 0:
			c.onDemand += sec / 3600 * od
		case !g.spot:
			c.onDemand += usd // a Regular VM's price is the on-demand price
		case sec > 0 && c.missing == "":
			c.missing = g.pool
		}
	}
	return c
}

// fallbackRunning counts the fallback VMs billed now.
func (b *costBook) fallbackRunning() int {
	n := 0
	for i := range b.groups {
		if b.groups[i].fallback {
			n += b.groups[i].running
		}
	}
	return n
}
