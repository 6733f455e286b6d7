package tui

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/journal"
)

func ev(typ journal.Type, vm, pool, zone string) *journal.Event {
	return &journal.Event{Type: typ, VM: vm, Pool: pool, Zone: zone}
}

func startFleet(vms map[string]int) fleet {
	f := newFleet()
	var pools []journal.Pool
	for _, p := range []string{"spot", "regular"} {
		if vms[p] > 0 {
			pools = append(pools, journal.Pool{Name: p, Zones: []string{"1", "2"}})
		}
	}
	f.apply(&journal.Event{Type: journal.RunStarted, Run: &journal.Run{Pools: pools}})
	for pool, n := range vms {
		for i := range n {
			f.apply(ev(journal.VMRunning, fmt.Sprintf("%s-%05d", pool, i), pool, fmt.Sprint(1+i%2)))
		}
	}
	return f
}

// checkCounts recounts every bucket and total by brute force.
func checkCounts(t *testing.T, f *fleet) {
	t.Helper()
	var totals [nStates]int
	for _, g := range f.groups {
		require.Len(t, g.buckets, ceilDiv(len(g.slots), f.scale))
		var count [nStates]int
		for b := range g.buckets {
			var want [nStates]int32
			for i := b * f.scale; i < min(len(g.slots), (b+1)*f.scale); i++ {
				want[g.slots[i]]++
			}
			require.Equal(t, want, g.buckets[b], "group %s z%s bucket %d", g.pool, g.zone, b)
		}
		for i, s := range g.slots {
			count[s]++
			totals[s]++
			if s != stGone {
				require.Equal(t, slotRef{f.byKey[[2]string{g.pool, g.zone}], int32(i)}, f.vms[g.names[i]])
			}
		}
		require.Equal(t, count, g.count)
	}
	require.Equal(t, totals, f.totals)
}

func TestFleetFollowsTheEvictionPhases(t *testing.T) {
	f := startFleet(map[string]int{"spot": 4})
	require.Equal(t, 4, f.totals[stRunning])

	f.apply(ev(journal.EvictionNoticed, "spot-00000", "spot", "1"))
	require.Equal(t, 1, f.totals[stNotice])
	f.apply(ev(journal.EvictionDrained, "spot-00000", "", ""))
	require.Equal(t, 1, f.totals[stDrained])
	f.apply(ev(journal.EvictionEvicted, "spot-00000", "spot", "1"))
	require.Equal(t, 1, f.totals[stEvicted])
	require.Equal(t, 3, f.live())

	f.apply(ev(journal.VMRequested, "", "spot", "1"))
	require.Equal(t, 1, f.prov)
	f.apply(ev(journal.VMAllocationFailed, "", "spot", "1"))
	require.Equal(t, 0, f.prov)
	f.apply(ev(journal.VMRequested, "", "spot", "1"))

	// The replacement takes the evicted VM's cell: the grid keeps its size.
	repl := ev(journal.VMRunning, "spot-00009", "spot", "1")
	repl.Replaces, repl.At = "spot-00000", journal.Ptr(10)
	f.apply(repl)
	require.Equal(t, 0, f.prov)
	require.Equal(t, 0, f.totals[stEvicted])
	g := f.groups[f.byKey[[2]string{"spot", "1"}]]
	require.Equal(t, []string{"spot-00009", "spot-00002"}, g.names)
	checkCounts(t, &f)
}

func TestFleetShowsFallbackAndDeletedVMs(t *testing.T) {
	f := startFleet(map[string]int{"spot": 2, "regular": 2})
	fb := ev(journal.VMRunning, "regular-00100", "regular", "1")
	fb.Fallback = true
	f.apply(fb)
	require.Equal(t, 1, f.totals[stFallback])
	f.apply(ev(journal.VMDeleted, "regular-00100", "regular", "1"))
	require.Equal(t, 0, f.totals[stFallback])
	require.Equal(t, 1, f.totals[stGone])
	// A deleted VM's cell goes to the next VM of its group.
	f.apply(ev(journal.VMRunning, "regular-00101", "regular", "1"))
	require.Equal(t, 0, f.totals[stGone])
	checkCounts(t, &f)
}

func TestFleetClearsAnEvictionReplacedElsewhere(t *testing.T) {
	f := startFleet(map[string]int{"spot": 4})
	f.apply(ev(journal.EvictionEvicted, "spot-00000", "spot", "1"))
	repl := ev(journal.VMRunning, "spot-00009", "spot", "2")
	repl.Replaces = "spot-00000"
	f.apply(repl)
	require.Equal(t, 0, f.totals[stEvicted], "the capacity is back, in another zone")
	require.Equal(t, 1, f.totals[stGone])
	checkCounts(t, &f)
}

func TestFleetAggregatesLargeFleetsToFit(t *testing.T) {
	f := startFleet(map[string]int{"spot": 10_000})
	f.fit(160, 20)
	require.Greater(t, f.scale, 1)
	require.LessOrEqual(t, f.rowsAt(f.scale, f.perLine), 20)
	checkCounts(t, &f)

	// One evicted VM among many makes its cell show the eviction.
	f.apply(ev(journal.EvictionEvicted, "spot-04242", "spot", "1"))
	g := f.groups[0]
	ref := f.vms["spot-04242"]
	require.Equal(t, stEvicted, worst(&g.buckets[int(ref.i)/f.scale]))

	lines := f.view(new(theme), 160, 20)
	require.Len(t, lines, 21)
	require.Contains(t, lines[20], "evicted 1")

	// A screen with room for every VM draws one cell each.
	f.fit(400, 100)
	require.Equal(t, 1, f.scale)
	checkCounts(t, &f)
}

// TestFleetCountsStayExact plays random event sequences, resizing on the
// way, and recounts everything after each step.
func TestFleetCountsStayExact(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		f := startFleet(map[string]int{"spot": 50 + rng.IntN(200)})
		next := 1000
		var alive []string
		for name := range f.vms {
			alive = append(alive, name)
		}
		for step := range 2000 {
			zone := fmt.Sprint(1 + rng.IntN(2))
			switch r := rng.IntN(10); {
			case r < 3 && len(alive) > 0:
				i := rng.IntN(len(alive))
				typ := []journal.Type{journal.EvictionNoticed, journal.EvictionDrained, journal.EvictionEvicted, journal.VMDeleted}[rng.IntN(4)]
				f.apply(ev(typ, alive[i], "spot", zone))
				if typ == journal.EvictionEvicted || typ == journal.VMDeleted {
					alive = append(alive[:i], alive[i+1:]...)
				}
			case r < 6:
				e := ev(journal.VMRunning, fmt.Sprintf("spot-%05d", next), "spot", zone)
				if rng.IntN(2) == 0 {
					e.Replaces = fmt.Sprintf("spot-%05d", rng.IntN(next))
				}
				next++
				alive = append(alive, e.VM)
				f.apply(e)
			case r < 8:
				f.apply(ev(journal.VMRequested, "", "spot", zone))
			case r < 9:
				f.fit(20+rng.IntN(200), 1+rng.IntN(30))
			default:
				f.apply(ev(journal.VMAllocationFailed, "", "spot", zone))
			}
			if step%97 == 0 {
				checkCounts(t, &f)
			}
		}
		checkCounts(t, &f)
	}
}
