package azure_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/injector/azure"
	"github.com/spotdrill/spotdrill/injector/azure/azurefake"
	"github.com/spotdrill/spotdrill/journal"
)

// watch is an observer over a fleet on an auto clock, with the run clock
// at the fleet's clock minus t0.
type watch struct {
	t     *testing.T
	clock *azurefake.Clock
	fleet *azurefake.Fleet
	c     *azure.Client
	obs   *azure.Observer
	ev    *events
}

func newWatch(t *testing.T, sel azure.Selector, build func(*azurefake.Fleet)) *watch {
	clock := azurefake.NewClock(t0, true)
	f := azurefake.New(clock.Now, 4)
	build(f)
	// No retries: the fake's failures are meant to reach the observer.
	c, _ := newClient(t, f, clock, azure.Options{Rate: 100, Burst: 100, MaxRetries: -1})
	ev := &events{}
	w := &watch{t: t, clock: clock, fleet: f, c: c, obs: azure.NewObserver(c, sel, ev, 35*time.Minute), ev: ev}
	require.NoError(t, w.obs.Refresh(context.Background(), w.now()))
	return w
}

func (w *watch) now() time.Duration { return w.clock.Now().Sub(t0) }

// pollAt moves the clock to run time at and polls.
func (w *watch) pollAt(at time.Duration) []journal.Event {
	w.t.Helper()
	w.clock.Sleep(context.Background(), at-w.now())
	require.NoError(w.t, w.obs.Poll(context.Background(), w.now()))
	return w.ev.take()
}

func (w *watch) evict(id string, wave string) {
	w.t.Helper()
	tg, ok := w.obs.Lookup(id)
	require.True(w.t, ok)
	require.NoError(w.t, w.obs.Check(tg.Target()))
	call := w.c.SimulateEviction(context.Background(), tg.Target())
	require.NoError(w.t, call.Err)
	w.obs.Record(call, w.now(), wave)
}

func TestObserveInjectedEvictionAndReplacement(t *testing.T) {
	var ids []string
	w := newWatch(t, azure.Selector{ScaleSets: []string{"aks-spot"}}, func(f *azurefake.Fleet) {
		ids = f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "mc_rg", Name: "aks-spot", Priority: "Spot", EvictionPolicy: "Delete",
			Zones: []string{"1", "2"}, Capacity: 3, Replace: 4 * time.Minute})
		f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "mc_rg", Name: "aks-system", Priority: "Regular", Capacity: 2})
	})
	initial := w.ev.take()
	require.Len(t, initial, 3, "the running fleet is announced, the unselected system pool is not")
	for i, e := range initial {
		require.Equal(t, journal.VMRunning, e.Type)
		require.Equal(t, ids[i], e.VM)
		require.Equal(t, "aks-spot", e.Pool)
		require.Equal(t, "Spot", e.Priority)
		require.Empty(t, e.Replaces)
		require.Nil(t, e.At, "the initial fleet has no request time")
	}
	require.Len(t, w.obs.Targets(), 3)

	w.pollAt(time.Minute)
	w.evict(ids[1], "first")
	err := w.obs.Check(injector.Target{ID: ids[1], Priority: "Spot"})
	var e *azure.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, azure.CodeAlreadyRequested, e.ErrorCode(), "never two calls for one target")

	require.Empty(t, w.pollAt(time.Minute+15*time.Second), "the eviction has not landed yet")
	evs := w.pollAt(time.Minute + 30*time.Second)
	require.Equal(t, []journal.Event{{T: 90, Type: journal.EvictionEvicted, VM: ids[1], Pool: "aks-spot", Zone: "2",
		Cause: journal.CauseInjected, Policy: "Delete"}}, evs)
	require.Len(t, w.obs.Targets(), 2)
	require.False(t, w.obs.Pending(ids[1]))

	require.Empty(t, w.pollAt(4*time.Minute), "the replacement is starting: not running yet")
	evs = w.pollAt(5*time.Minute + 30*time.Second)
	require.Len(t, evs, 1)
	r := evs[0]
	require.Equal(t, journal.VMRunning, r.Type)
	require.Equal(t, azurefake.InstanceID("mc_rg", "aks-spot", "3"), r.VM)
	require.Equal(t, ids[1], r.Replaces, "a new instance of the scale set replaces the evicted one")
	require.Equal(t, 210.0, *r.At, "created 2 min after the eviction landed")
	require.Len(t, w.obs.Targets(), 3)
}

func TestObserveDeallocationNaturalEvictionAndRestart(t *testing.T) {
	w := newWatch(t, azure.Selector{ResourceGroups: []string{"rg"}}, func(f *azurefake.Fleet) {
		f.AddVM(azurefake.VM{ResourceGroup: "rg", Name: "spot-a", Priority: "Spot", Zone: "1"})
		f.AddVM(azurefake.VM{ResourceGroup: "rg", Name: "spot-b", Priority: "Spot", Zone: "2"})
		f.AddVM(azurefake.VM{ResourceGroup: "rg", Name: "regular", Priority: "Regular"})
		f.AddVM(azurefake.VM{ResourceGroup: "elsewhere", Name: "spot-x", Priority: "Spot"})
	})
	require.Len(t, w.ev.take(), 3, "spot-x is in another resource group")
	a, b, reg := azurefake.VMID("rg", "spot-a"), azurefake.VMID("rg", "spot-b"), azurefake.VMID("rg", "regular")

	w.evict(a, "w1")
	w.fleet.PowerAt(t0.Add(20*time.Second), b, "deallocated") // Azure's own eviction
	w.fleet.PowerAt(t0.Add(25*time.Second), reg, "deallocated")
	w.fleet.PowerAt(t0.Add(25*time.Second), azurefake.VMID("elsewhere", "spot-x"), "deallocated")
	evs := w.pollAt(45 * time.Second)
	require.Equal(t, []journal.Event{
		{T: 45, Type: journal.EvictionEvicted, VM: a, Pool: "standalone", Zone: "1", Cause: journal.CauseInjected, Policy: "Deallocate"},
		{T: 45, Type: journal.EvictionEvicted, VM: b, Pool: "standalone", Zone: "2", Cause: journal.CauseNatural, Policy: "Deallocate"},
		{T: 45, Type: journal.VMDeleted, VM: reg, Pool: "standalone", Reason: "deallocated (priority Regular: not an eviction)"},
	}, evs)
	st, _ := w.obs.Lookup(a)
	require.Equal(t, injector.StateEvicted, st.State())

	// Someone starts spot-a again: it closes its own eviction.
	w.fleet.SetPower(a, "running")
	evs = w.pollAt(time.Minute)
	require.Equal(t, []journal.Event{{T: 60, Type: journal.VMRunning, VM: a, Pool: "standalone", Zone: "1", Priority: "Spot"}}, evs)
	require.NoError(t, w.obs.Check(injector.Target{ID: a, Priority: "Spot"}), "evicting it again in a later wave is allowed")
}

func TestObserveTimeoutThenLateLanding(t *testing.T) {
	w := newWatch(t, azure.Selector{}, func(f *azurefake.Fleet) {
		f.AddVM(azurefake.VM{ResourceGroup: "rg", Name: "slow", Priority: "Spot", Zone: "3"})
	})
	w.ev.take()
	slow := azurefake.VMID("rg", "slow")
	w.fleet.NeverLand(slow)
	w.evict(slow, "wave-1")
	require.Empty(t, w.pollAt(34*time.Minute+59*time.Second))
	evs := w.pollAt(35 * time.Minute)
	require.Len(t, evs, 1)
	require.Equal(t, journal.EvictionFailed, evs[0].Type)
	require.Equal(t, "wave-1", evs[0].Wave)
	require.Equal(t, azure.CodeTimeout, evs[0].Code)
	require.Equal(t, "still running 35m after simulateEviction was accepted (timeout 35m); Azure may still evict it, and the journal will say so if it does", evs[0].Reason)
	require.Empty(t, w.pollAt(40*time.Minute), "a timeout is reported once")
	require.Empty(t, w.obs.Unlanded())

	w.fleet.SetPower(slow, "deallocated")
	evs = w.pollAt(41 * time.Minute)
	require.Len(t, evs, 1)
	require.Equal(t, journal.CauseInjected, evs[0].Cause)
	require.Equal(t, "landed 41m after the request, after the 35m timeout had reported it failed", evs[0].Reason)
}

func TestObserveDeletionsAndFailedListings(t *testing.T) {
	w := newWatch(t, azure.Selector{}, func(f *azurefake.Fleet) {
		f.AddVM(azurefake.VM{ResourceGroup: "rg", Name: "keep", Priority: "Spot"})
		f.AddVM(azurefake.VM{ResourceGroup: "rg", Name: "doomed", Priority: "Spot"})
		f.AddVM(azurefake.VM{ResourceGroup: "rg", Name: "off", Priority: "Regular"})
		f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "rg", Name: "pool", Priority: "Spot", Capacity: 2})
	})
	require.Len(t, w.ev.take(), 5)

	w.fleet.FailListings(1)
	require.Error(t, w.obs.Poll(context.Background(), w.now()))
	require.Empty(t, w.ev.take(), "a failed listing says nothing about the VMs")
	require.Empty(t, w.pollAt(15*time.Second))

	doomed := azurefake.VMID("rg", "doomed")
	w.fleet.Delete(doomed)
	w.fleet.SetPower(azurefake.VMID("rg", "off"), "stopped")
	evs := w.pollAt(30 * time.Second)
	require.Equal(t, []journal.Event{
		{T: 30, Type: journal.VMDeleted, VM: doomed, Pool: "standalone", Reason: "deleted"},
		{T: 30, Type: journal.VMDeleted, VM: azurefake.VMID("rg", "off"), Pool: "standalone", Reason: "powered off (PowerState/stopped): not an eviction, the VM is still allocated"},
	}, evs, "a Deallocate VM that disappears without a request was deleted, not evicted")
	require.True(t, w.obs.Gone(doomed))
	err := w.obs.Check(injector.Target{ID: doomed, Priority: "Spot"})
	require.ErrorIs(t, err, injector.ErrGone)

	w.fleet.DeleteScaleSet("rg", "pool")
	evs = w.pollAt(45 * time.Second)
	require.Len(t, evs, 2)
	for _, e := range evs {
		require.Equal(t, journal.VMDeleted, e.Type)
		require.Equal(t, "pool", e.Pool)
	}
	require.Empty(t, w.pollAt(time.Minute), "a deleted scale set is not listed again")
	require.Len(t, w.obs.Targets(), 2)

	err = w.obs.Check(injector.Target{ID: azurefake.VMID("rg", "nobody"), Priority: "Spot"})
	require.ErrorIs(t, err, injector.ErrGone)
	err = w.obs.Check(injector.Target{ID: azurefake.VMID("rg", "off"), Priority: "Regular"})
	require.ErrorIs(t, err, injector.ErrNotSpot)
}

func TestObserveFlexibleReplacementFoundByStatusListing(t *testing.T) {
	w := newWatch(t, azure.Selector{ScaleSets: []string{"flex"}}, func(f *azurefake.Fleet) {
		f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "rg", Name: "flex", Flexible: true, Priority: "Spot", EvictionPolicy: "Delete",
			Capacity: 2, Replace: time.Minute})
		f.AddVM(azurefake.VM{ResourceGroup: "rg", Name: "other", Priority: "Spot"})
	})
	require.Len(t, w.ev.take(), 2)
	first := azurefake.VMID("rg", "flex_00000001")
	w.evict(first, "w")
	evs := w.pollAt(30 * time.Second)
	require.Len(t, evs, 1)
	require.Equal(t, journal.CauseInjected, evs[0].Cause)
	require.Equal(t, "Delete", evs[0].Policy)
	require.Empty(t, w.pollAt(time.Minute+10*time.Second))
	evs = w.pollAt(2 * time.Minute)
	require.Len(t, evs, 1)
	require.Equal(t, azurefake.VMID("rg", "flex_00000003"), evs[0].VM)
	require.Equal(t, first, evs[0].Replaces)
	require.Equal(t, "Spot", evs[0].Priority, "its model was read when the status listing showed a new VM")
}
