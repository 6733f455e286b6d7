package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/injector/azure"
	"github.com/spotdrill/spotdrill/injector/azure/azurefake"
)

const aksScenario = `apiVersion: spotdrill.dev/v1
kind: GameDay
metadata:
  name: aks-spot-pool
duration: 1h
target:
  provider: azure
  azure:
    subscription: ${SPOTDRILL_TEST_SUB:-00000000-0000-0000-0000-000000000000}
    resourceGroups: [mc_rg_aks_eastus, rg-batch]
    scaleSets: [aks-spot-12345678-vmss, aks-system-1234-vmss]
    vms: [render-1, render-2, render-3, render-4]
waves:
  - name: one-node
    at: 5m
    evict: {count: 1}
blastRadius:
  exclude:
    tags: {keep: "yes"}
`

// subscriptionFleet is an AKS cluster's node resource group and a batch
// resource group.
func subscriptionFleet(f *azurefake.Fleet) {
	f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "mc_rg_aks_eastus", Name: "aks-spot-12345678-vmss", Priority: "Spot",
		EvictionPolicy: "Delete", Zones: []string{"1", "2", "3"}, Capacity: 3})
	f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "mc_rg_aks_eastus", Name: "aks-system-1234-vmss", Priority: "Regular", Capacity: 1, Zones: []string{"1"}})
	f.AddVM(azurefake.VM{ResourceGroup: "rg-batch", Name: "render-1", Priority: "Spot", Zone: "2"})
	f.AddVM(azurefake.VM{ResourceGroup: "rg-batch", Name: "render-2", Priority: "Spot", Zone: "3", Tags: map[string]string{"keep": "yes"}})
	f.AddVM(azurefake.VM{ResourceGroup: "rg-batch", Name: "render-3", Priority: "Spot", Zone: "1", Power: "deallocated"})
	f.AddVM(azurefake.VM{ResourceGroup: "rg-batch", Name: "render-4", Priority: "Spot", Zone: "2", Tags: map[string]string{"Chaos-Exempt": "True"}})
	f.AddVM(azurefake.VM{ResourceGroup: "rg-batch", Name: "build-agent", Priority: "Spot", Zone: "1"})
}

// runTargets runs `spotdrill targets` in process against a fake
// subscription.
func runTargets(t *testing.T, scenario string, build func(*azurefake.Fleet), args ...string) (result, *TargetsOptions) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scenario.yaml")
	require.NoError(t, os.WriteFile(path, []byte(scenario), 0o644))
	clock := azurefake.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), true)
	fleet := azurefake.New(clock.Now, 2)
	build(fleet)
	var out, errb bytes.Buffer
	ios := &IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb}
	var seen *TargetsOptions
	cmd := NewCmdTargets(ios, func(o *TargetsOptions) error {
		seen = o
		o.Azure = experiments.AzureOptions{Client: azure.Options{Transport: fleet.Transport(), Credential: &azfake.TokenCredential{}, Clock: clock}}
		return targetsRun(o)
	})
	cmd.SetArgs(append([]string{path}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	code := ExitOK
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err != nil {
			errb.WriteString(ee.err.Error())
		}
	} else if err != nil {
		code = -1
		errb.WriteString(err.Error())
	}
	require.Empty(t, fleet.Calls(), "targets never evicts")
	return result{code, out.String(), errb.String()}, seen
}

func TestTargetsText(t *testing.T) {
	r, _ := runTargets(t, aksScenario, subscriptionFleet)
	require.Equal(t, ExitOK, r.code, r.stderr)
	golden(t, "targets-aks.txt", r.stdout)
}

func TestTargetsJSON(t *testing.T) {
	r, opts := runTargets(t, aksScenario, subscriptionFleet, "--output", "json", "--cloud", "AzureChina")
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Equal(t, "AzureChina", opts.Azure.Client.Cloud)
	var l targetList
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &l))
	require.Equal(t, "aks-spot-pool", l.Scenario)
	require.Equal(t, azurefake.Subscription, l.Subscription)
	var eligible []string
	for _, e := range l.Eligible {
		eligible = append(eligible, e.Name)
	}
	require.Equal(t, []string{"aks-spot-12345678-vmss_0", "aks-spot-12345678-vmss_1", "aks-spot-12345678-vmss_2", "render-1", "render-3"}, eligible)
	require.Equal(t, "uniform", l.Eligible[0].Kind)
	require.Equal(t, "Delete", l.Eligible[0].EvictionPolicy)
	require.Equal(t, "deallocated", l.Eligible[4].PowerState)
	reasons := map[string]string{}
	for _, e := range l.Excluded {
		reasons[e.Name] = e.Reason
	}
	require.Equal(t, map[string]string{
		"aks-system-1234-vmss_0": "not Spot (priority Regular)",
		"render-2":               "tag keep=yes",
		"render-4":               `exempt: tag Chaos-Exempt="True"`,
		"build-agent":            "not selected by target.azure scaleSets, vms",
	}, reasons)
}

func TestTargetsNothingEligible(t *testing.T) {
	r, _ := runTargets(t, aksScenario, func(f *azurefake.Fleet) {
		f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "mc_rg_aks_eastus", Name: "aks-system-1234-vmss", Priority: "Regular", Capacity: 2})
	})
	require.Equal(t, ExitRefused, r.code)
	require.Contains(t, r.stdout, "Eligible  0 Spot VMs")
	require.Contains(t, r.stdout, "not Spot (priority Regular)")
	require.Contains(t, r.stdout, "✗ Nothing eligible")
	require.Contains(t, r.stderr, "nothing eligible")
}

func TestTargetsBadInput(t *testing.T) {
	r, _ := runTargets(t, aksScenario, subscriptionFleet, "--output", "yaml")
	require.Equal(t, ExitInvalid, r.code)
	r, _ = runTargets(t, strings.Replace(aksScenario, "provider: azure", "provider: sim", 1), subscriptionFleet)
	require.Equal(t, ExitInvalid, r.code)
	r, _ = runTargets(t, strings.Replace(aksScenario, "vms: [render-1, render-2, render-3, render-4]",
		"nodeProviderIDs: [azure:///subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/x]", 1), subscriptionFleet)
	require.Equal(t, ExitInvalid, r.code)
	require.Contains(t, r.stderr, "is in subscription 11111111-1111-1111-1111-111111111111")
	r, _ = runTargets(t, aksScenario, subscriptionFleet, "--arm-endpoint", "http://arm.example.com")
	require.Equal(t, ExitInternal, r.code)
	require.Contains(t, r.stderr, "clear text")
}
