package azure_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/injector/azure"
	"github.com/spotdrill/spotdrill/injector/azure/azurefake"
)

func discover(t *testing.T, c *azure.Client) map[string]azure.VM {
	t.Helper()
	fl, err := c.Discover(context.Background(), nil, nil)
	require.NoError(t, err)
	return byName(fl.VMs)
}

func TestSimulateEvictionReachesTheRightAPI(t *testing.T) {
	clock := azurefake.NewClock(t0, true)
	f := azurefake.New(clock.Now, 5)
	mixedFleet(f)
	c, _ := newClient(t, f, clock, azure.Options{})
	vms := discover(t, c)

	for _, name := range []string{"spot-04", "flex-render_00000002", "aks-spot-12345678-vmss_3"} {
		call := c.SimulateEviction(context.Background(), vms[name].Target())
		require.NoError(t, call.Err, name)
		require.Equal(t, http.StatusNoContent, call.Status)
		require.Equal(t, 1, call.Attempts)
		require.Equal(t, "199", call.RateLimit["x-ms-ratelimit-remaining-subscription-writes"])
		require.Equal(t, "Microsoft.Compute/DeleteVM3Min;239,Microsoft.Compute/DeleteVM30Min;1199", call.RateLimit["x-ms-ratelimit-remaining-resource"])
		require.NotEmpty(t, call.RequestID)
	}
	calls := f.Calls()
	require.Len(t, calls, 3)
	require.Equal(t, azurefake.VMID("rg-batch", "spot-04"), calls[0].ID)
	require.Equal(t, azurefake.VMID("rg-batch", "flex-render_00000002"), calls[1].ID, "a Flexible VM is evicted through the VM API")
	require.Equal(t, azurefake.InstanceID("mc_rg_aks_eastus", "aks-spot-12345678-vmss", "3"), calls[2].ID, "a Uniform instance through the scale set's")

	clock.Sleep(context.Background(), 30*time.Second)
	require.Equal(t, "deallocated", f.Power(vms["spot-04"].ID))
	require.Equal(t, "", f.Power(vms["aks-spot-12345678-vmss_3"].ID), "Delete policy: the instance is gone")
}

func TestNonSpotIsNeverCalled(t *testing.T) {
	clock := azurefake.NewClock(t0, true)
	f := azurefake.New(clock.Now, 5)
	mixedFleet(f)
	c, _ := newClient(t, f, clock, azure.Options{})
	vms := discover(t, c)

	for _, name := range []string{"regular-1", "aks-system-1234-vmss_1"} {
		call := c.SimulateEviction(context.Background(), vms[name].Target())
		require.ErrorIs(t, call.Err, injector.ErrNotSpot)
		var e *azure.Error
		require.ErrorAs(t, call.Err, &e)
		require.Equal(t, azure.CodeNotSpot, e.ErrorCode())
		require.False(t, call.Sent())
	}
	calls := c.SimulateEvictions(context.Background(), []injector.Target{vms["regular-1"].Target(), vms["db"].Target()})
	for _, call := range calls {
		require.ErrorIs(t, call.Err, injector.ErrNotSpot)
	}
	require.Empty(t, f.Calls(), "Azure must never be asked to evict a Regular VM")
}

func TestServerRefusesNonSpotWith409(t *testing.T) {
	clock := azurefake.NewClock(t0, true)
	f := azurefake.New(clock.Now, 5)
	mixedFleet(f)
	c, _ := newClient(t, f, clock, azure.Options{})
	vms := discover(t, c)

	// A stale model: the VM was recreated as Regular after discovery.
	stale := vms["regular-1"].Target()
	stale.Priority = injector.PrioritySpot
	call := c.SimulateEviction(context.Background(), stale)
	require.ErrorIs(t, call.Err, injector.ErrNotSpot)
	var e *azure.Error
	require.ErrorAs(t, call.Err, &e)
	require.Equal(t, "OperationNotAllowed", e.ErrorCode())
	require.Equal(t, http.StatusConflict, e.Status)
	var re *azcore.ResponseError
	require.ErrorAs(t, call.Err, &re, "the SDK's error stays reachable")
	require.Equal(t, 1, call.Attempts, "a refusal is not retried")
	require.Len(t, f.Calls(), 1)
	require.Equal(t, "simulateEviction rg-batch/regular-1: 409 OperationNotAllowed", call.Err.Error())
}

func TestDeletedVMIsGone(t *testing.T) {
	clock := azurefake.NewClock(t0, true)
	f := azurefake.New(clock.Now, 5)
	mixedFleet(f)
	c, _ := newClient(t, f, clock, azure.Options{})
	vms := discover(t, c)

	f.Delete(vms["spot-09"].ID)
	f.Delete(vms["aks-spot-12345678-vmss_0"].ID)
	for _, name := range []string{"spot-09", "aks-spot-12345678-vmss_0"} {
		call := c.SimulateEviction(context.Background(), vms[name].Target())
		require.ErrorIs(t, call.Err, injector.ErrGone, name)
		var e *azure.Error
		require.ErrorAs(t, call.Err, &e)
		require.Equal(t, "ResourceNotFound", e.ErrorCode())
		require.Equal(t, http.StatusNotFound, e.Status)
	}
}

func TestSimulateEvictionsCallsEachTargetOnce(t *testing.T) {
	clock := azurefake.NewClock(t0, true)
	f := azurefake.New(clock.Now, 5)
	mixedFleet(f)
	c, _ := newClient(t, f, clock, azure.Options{Burst: 100, Rate: 100})
	vms := discover(t, c)

	a, b := vms["spot-01"].Target(), vms["spot-02"].Target()
	again := a
	again.ID = "/SUBSCRIPTIONS/" + azurefake.Subscription[:8] + a.ID[len("/subscriptions/")+8:] // same VM, other spelling
	calls := c.SimulateEvictions(context.Background(), []injector.Target{a, b, again, b})
	require.NoError(t, calls[0].Err)
	require.NoError(t, calls[1].Err)
	for _, i := range []int{2, 3} {
		var e *azure.Error
		require.ErrorAs(t, calls[i].Err, &e)
		require.Equal(t, azure.CodeAlreadyRequested, e.ErrorCode())
		require.False(t, calls[i].Sent())
	}
	require.Len(t, f.Calls(), 2)
}

func TestCancelledCallIsNotSent(t *testing.T) {
	clock := azurefake.NewClock(t0, true)
	f := azurefake.New(clock.Now, 5)
	mixedFleet(f)
	c, _ := newClient(t, f, clock, azure.Options{})
	vms := discover(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	call := c.SimulateEviction(ctx, vms["spot-01"].Target())
	require.True(t, errors.Is(call.Err, context.Canceled))
	require.Empty(t, f.Calls())
}
