package azure_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/injector/azure"
	"github.com/spotdrill/spotdrill/injector/azure/azurefake"
)

// mixedFleet has every kind of VM: standalone Spot and Regular VMs, a
// Flexible scale set mixing Spot and Regular, a Spot Uniform scale set
// (an AKS Spot node pool) and a Regular one, over two resource groups.
func mixedFleet(f *azurefake.Fleet) {
	for i := range 30 {
		f.AddVM(azurefake.VM{ResourceGroup: "rg-batch", Name: fmt.Sprintf("spot-%02d", i), Priority: "Spot",
			Zone: fmt.Sprint(i%3 + 1), Tags: map[string]string{"team": "render"}})
	}
	f.AddVM(azurefake.VM{ResourceGroup: "rg-batch", Name: "regular-1", Priority: "Regular", Zone: "1"})
	f.AddVM(azurefake.VM{ResourceGroup: "rg-batch", Name: "spot-off", Priority: "Spot", Power: "deallocated"})
	f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "rg-batch", Name: "flex-render", Flexible: true, Priority: "Spot",
		EvictionPolicy: "Delete", Zones: []string{"1", "2"}, Capacity: 3, Tags: map[string]string{"pool": "flex"}})
	f.AddVM(azurefake.VM{ResourceGroup: "rg-other", Name: "db", Priority: "Regular"})
	f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "mc_rg_aks_eastus", Name: "aks-spot-12345678-vmss", Priority: "Spot",
		EvictionPolicy: "Delete", Zones: []string{"1", "2", "3"}, Capacity: 4, Tags: map[string]string{"aks-managed-poolName": "spot"}})
	f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "mc_rg_aks_eastus", Name: "aks-system-1234-vmss", Priority: "Regular", Capacity: 2})
}

func byName(vms []azure.VM) map[string]azure.VM {
	out := map[string]azure.VM{}
	for _, v := range vms {
		out[v.Name] = v
	}
	return out
}

func TestDiscoverEveryKindOverManyPages(t *testing.T) {
	clock := azurefake.NewClock(t0, true)
	f := azurefake.New(clock.Now, 3)
	mixedFleet(f)
	c, tr := newClient(t, f, clock, azure.Options{})

	fl, err := c.Discover(context.Background(), nil, nil)
	require.NoError(t, err)
	require.Len(t, fl.VMs, 30+2+3+1+4+2)
	require.Len(t, fl.ScaleSets, 3)
	// 36 VM models and 36 power states three a page, 3 scale sets, 4 and 2 instances.
	require.GreaterOrEqual(t, tr.more.Load(), int64(11+11+0+1+0), "the listings must follow nextLink")

	vms := byName(fl.VMs)
	s := vms["spot-07"]
	require.Equal(t, azure.KindStandalone, s.Kind)
	require.Equal(t, "rg-batch", s.ResourceGroup)
	require.Equal(t, azurefake.VMID("rg-batch", "spot-07"), s.ID)
	require.Equal(t, "Spot", s.Priority)
	require.Equal(t, "Deallocate", s.EvictionPolicy)
	require.Equal(t, "2", s.Zone)
	require.Equal(t, "running", s.PowerState)
	require.Equal(t, map[string]string{"team": "render"}, s.Tags)
	require.Equal(t, -1.0, *s.MaxPrice)
	require.Equal(t, injector.Target{ID: s.ID, Name: "spot-07", Pool: azure.PoolStandalone, Zone: "2", Priority: "Spot",
		EvictionPolicy: "Deallocate", Tags: s.Tags, State: injector.StateRunning}, s.Target())

	require.Equal(t, "deallocated", vms["spot-off"].PowerState)
	require.Equal(t, injector.StateEvicted, vms["spot-off"].State())
	require.Equal(t, "Regular", vms["regular-1"].Priority)
	require.Empty(t, vms["regular-1"].EvictionPolicy)

	flex := vms["flex-render_00000001"]
	require.Equal(t, azure.KindFlexible, flex.Kind, "a Flexible scale-set VM comes from the VM API")
	require.Equal(t, "flex-render", flex.ScaleSet)
	require.Equal(t, "flex-render", flex.Pool())
	require.Equal(t, "Spot", flex.Priority)
	require.Equal(t, "Delete", flex.EvictionPolicy)
	require.Equal(t, "flex", flex.Tags["pool"], "scale-set tags apply to its VMs")

	inst := vms["aks-spot-12345678-vmss_2"]
	require.Equal(t, azure.KindUniform, inst.Kind)
	require.Equal(t, azurefake.InstanceID("mc_rg_aks_eastus", "aks-spot-12345678-vmss", "2"), inst.ID)
	require.Equal(t, "Spot", inst.Priority, "a Uniform instance's priority is the scale set profile's")
	require.Equal(t, "Delete", inst.EvictionPolicy)
	require.Equal(t, "3", inst.Zone)
	require.Equal(t, "running", inst.PowerState)
	require.Equal(t, "aks-spot-12345678-vmss", inst.Pool())
	require.Equal(t, "spot", inst.Tags["aks-managed-poolName"])
	require.Equal(t, t0, inst.Created)
	require.Equal(t, "Regular", vms["aks-system-1234-vmss_0"].Priority)
}

func TestDiscoverOnlyTheResourceGroups(t *testing.T) {
	clock := azurefake.NewClock(t0, true)
	f := azurefake.New(clock.Now, 4)
	mixedFleet(f)
	c, _ := newClient(t, f, clock, azure.Options{})

	fl, err := c.Discover(context.Background(), []string{"rg-batch", "MC_RG_AKS_EASTUS"}, nil)
	require.NoError(t, err)
	require.Len(t, fl.VMs, 30+2+3+4+2)
	for _, v := range fl.VMs {
		require.NotEqual(t, "rg-other", v.ResourceGroup)
	}
}

func TestSelectorMatch(t *testing.T) {
	clock := azurefake.NewClock(t0, true)
	f := azurefake.New(clock.Now, 50)
	mixedFleet(f)
	c, _ := newClient(t, f, clock, azure.Options{})
	fl, err := c.Discover(context.Background(), nil, nil)
	require.NoError(t, err)
	vms := byName(fl.VMs)

	node, err := azure.NodeID("azure:///subscriptions/"+azurefake.Subscription+
		"/resourceGroups/MC_RG_AKS_EASTUS/providers/Microsoft.Compute/virtualMachineScaleSets/aks-spot-12345678-vmss/virtualMachines/1", azurefake.Subscription)
	require.NoError(t, err)

	cases := []struct {
		name string
		sel  azure.Selector
		vm   string
		ok   bool
		why  string
	}{
		{"everything", azure.Selector{}, "db", true, ""},
		{"group", azure.Selector{ResourceGroups: []string{"RG-BATCH"}}, "spot-01", true, ""},
		{"other group", azure.Selector{ResourceGroups: []string{"rg-batch"}}, "db", false, "resource group rg-other is not in target.azure.resourceGroups"},
		{"scale set", azure.Selector{ScaleSets: []string{"flex-render"}}, "flex-render_00000002", true, ""},
		{"not the scale set", azure.Selector{ScaleSets: []string{"flex-render"}}, "spot-01", false, "not selected by target.azure scaleSets"},
		{"vm by name", azure.Selector{ScaleSets: []string{"flex-render"}, VMs: []string{"spot-01"}}, "spot-01", true, ""},
		{"vms never name instances", azure.Selector{VMs: []string{"aks-spot-12345678-vmss_1"}}, "aks-spot-12345678-vmss_1", false, "not selected by target.azure vms"},
		{"node", azure.Selector{Nodes: []string{node}}, "aks-spot-12345678-vmss_1", true, ""},
		{"other node", azure.Selector{Nodes: []string{node}}, "aks-spot-12345678-vmss_0", false, "not selected by target.azure nodeProviderIDs"},
		{"tag", azure.Selector{Tags: map[string]string{"team": "render"}}, "spot-03", true, ""},
		{"tag missing", azure.Selector{Tags: map[string]string{"team": "render"}}, "regular-1", false, "tag team=render missing (target.azure.tags)"},
		{"zone", azure.Selector{Zones: []string{"1"}}, "spot-03", true, ""},
		{"other zone", azure.Selector{Zones: []string{"2", "3"}}, "spot-03", false, "zone 1 is not in target.azure.zones"},
		{"no zone", azure.Selector{Zones: []string{"1"}}, "db", false, "zone (none) is not in target.azure.zones"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := vms[tc.vm]
			require.True(t, ok, tc.vm)
			got, why := tc.sel.Match(&v)
			require.Equal(t, tc.ok, got)
			require.Equal(t, tc.why, why)
		})
	}
	require.Empty(t, (&azure.Selector{Nodes: []string{node}}).Missing(fl))
	gone, err := azure.NodeID("azure:///subscriptions/"+azurefake.Subscription+
		"/resourceGroups/mc_rg_aks_eastus/providers/Microsoft.Compute/virtualMachineScaleSets/aks-spot-12345678-vmss/virtualMachines/99", "")
	require.NoError(t, err)
	require.Equal(t, []string{gone}, (&azure.Selector{Nodes: []string{node, gone}}).Missing(fl))
}

func TestNodeProviderIDs(t *testing.T) {
	id, err := azure.NodeID("azure:///subscriptions/"+azurefake.Subscription+
		"/resourceGroups/mc_rg_aks_eastus/providers/Microsoft.Compute/virtualMachineScaleSets/aks-spot-12345678-vmss/virtualMachines/3", azurefake.Subscription)
	require.NoError(t, err)
	require.Equal(t, azurefake.InstanceID("mc_rg_aks_eastus", "aks-spot-12345678-vmss", "3"), id)
	ref, err := azure.ParseRef(id)
	require.NoError(t, err)
	require.Equal(t, azure.Ref{Subscription: azurefake.Subscription, ResourceGroup: "mc_rg_aks_eastus",
		Name: "aks-spot-12345678-vmss", ScaleSet: "aks-spot-12345678-vmss", Instance: "3"}, ref)

	// A VMAS or standalone node is a VM.
	id, err = azure.NodeID("azure:///subscriptions/"+azurefake.Subscription+"/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/aks-node-0", "")
	require.NoError(t, err)
	require.Equal(t, azurefake.VMID("rg", "aks-node-0"), id)

	_, err = azure.NodeID("azure:///subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/x", azurefake.Subscription)
	require.ErrorContains(t, err, "is in subscription 11111111-1111-1111-1111-111111111111, not "+azurefake.Subscription)
	_, err = azure.NodeID("azure:///subscriptions/"+azurefake.Subscription+"/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/lb", "")
	require.ErrorContains(t, err, "expected a virtual machine or a scale-set instance")
	_, err = azure.NodeID("aks-spot-12345678-vmss000003", "")
	require.Error(t, err)
}
