package emulator_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/internal/emulator"
	"github.com/spotdrill/spotdrill/journal"
)

// TestListsPageThroughAbsoluteNextLinks lists every kind of resource with
// the real armcompute clients, two items a page, so that the pagers follow
// the emulator's nextLinks.
func TestListsPageThroughAbsoluteNextLinks(t *testing.T) {
	v := start(t, fleetScenario, emulator.Options{PageSize: 2})
	ctx := context.Background()
	f := v.factory(t)

	var raw *http.Response
	vms := f.NewVirtualMachinesClient()
	pager := vms.NewListPager(rg, nil)
	var names []string
	pages := 0
	for pager.More() {
		page, err := pager.NextPage(policy.WithCaptureResponse(ctx, &raw))
		require.NoError(t, err)
		pages++
		if page.NextLink != nil {
			assert.True(t, strings.HasPrefix(*page.NextLink, v.srv.URL+"/subscriptions/"), "nextLink %s points back at the emulator", *page.NextLink)
		}
		for _, m := range page.Value {
			names = append(names, *m.Name)
			assert.Equal(t, armcompute.VirtualMachinePriorityTypesSpot, *m.Properties.Priority)
			assert.Equal(t, armcompute.VirtualMachineEvictionPolicyTypesDeallocate, *m.Properties.EvictionPolicy)
			assert.Equal(t, 0.05, *m.Properties.BillingProfile.MaxPrice)
			assert.Equal(t, "westeurope", *m.Location)
			assert.Equal(t, []*string{to.Ptr("1")}, m.Zones)
			assert.Nil(t, m.Properties.InstanceView, "a plain listing has no instance views")
		}
	}
	assert.Equal(t, []string{"render-00001", "render-00002", "render-00003"}, names)
	assert.Equal(t, 2, pages)
	assert.NotEmpty(t, raw.Header.Get("x-ms-ratelimit-remaining-subscription-reads"))
	assert.Contains(t, raw.Header.Get("x-ms-ratelimit-remaining-resource"), "Microsoft.Compute/HighCostGetVMPerSubscription;")

	all := vms.NewListAllPager(&armcompute.VirtualMachinesClientListAllOptions{StatusOnly: to.Ptr("true")})
	power := map[string]string{}
	for all.More() {
		page, err := all.NextPage(ctx)
		require.NoError(t, err)
		for _, m := range page.Value {
			power[*m.Name] = powerState(m.Properties.InstanceView.Statuses)
		}
	}
	assert.Equal(t, map[string]string{"render-00001": "running", "render-00002": "running", "render-00003": "running"}, power)

	sets := f.NewVirtualMachineScaleSetsClient().NewListAllPager(nil)
	spot := map[string]armcompute.VirtualMachinePriorityTypes{}
	for sets.More() {
		page, err := sets.NextPage(ctx)
		require.NoError(t, err)
		for _, s := range page.Value {
			assert.Equal(t, armcompute.OrchestrationModeUniform, *s.Properties.OrchestrationMode)
			spot[*s.Name] = *s.Properties.VirtualMachineProfile.Priority
		}
	}
	assert.Equal(t, map[string]armcompute.VirtualMachinePriorityTypes{"batch-spot": "Spot", "system": "Regular"}, spot)

	inst := f.NewVirtualMachineScaleSetVMsClient().NewListPager(rg, "batch-spot", &armcompute.VirtualMachineScaleSetVMsClientListOptions{Expand: to.Ptr("instanceView")})
	var ids, zones []string
	pages = 0
	for inst.More() {
		page, err := inst.NextPage(ctx)
		require.NoError(t, err)
		pages++
		for _, m := range page.Value {
			ids = append(ids, *m.InstanceID)
			zones = append(zones, *m.Zones[0])
			assert.Equal(t, "batch-spot_"+*m.InstanceID, *m.Name)
			assert.Equal(t, "running", powerState(m.Properties.InstanceView.Statuses))
			assert.Equal(t, "batch", *m.Tags["team"])
		}
	}
	assert.Equal(t, []string{"0", "1", "2", "3", "4"}, ids)
	assert.Equal(t, []string{"1", "2", "1", "2", "1"}, zones)
	assert.Equal(t, 3, pages)
}

func TestGetAndInstanceViews(t *testing.T) {
	v := start(t, fleetScenario, emulator.Options{})
	ctx := context.Background()
	f := v.factory(t)
	vms := f.NewVirtualMachinesClient()

	got, err := vms.Get(ctx, rg, "render-00002", &armcompute.VirtualMachinesClientGetOptions{Expand: to.Ptr(armcompute.InstanceViewTypesInstanceView)})
	require.NoError(t, err)
	assert.Equal(t, "/subscriptions/"+sub+"/resourceGroups/"+rg+"/providers/Microsoft.Compute/virtualMachines/render-00002", *got.ID)
	assert.Equal(t, "running", powerState(got.Properties.InstanceView.Statuses))
	assert.Equal(t, "Succeeded", *got.Properties.ProvisioningState)

	plain, err := vms.Get(ctx, rg, "RENDER-00002", nil) // names compare case-insensitively
	require.NoError(t, err)
	assert.Nil(t, plain.Properties.InstanceView)

	view, err := vms.InstanceView(ctx, rg, "render-00001", nil)
	require.NoError(t, err)
	assert.Equal(t, "running", powerState(view.Statuses))
	assert.Equal(t, "ProvisioningState/succeeded", *view.Statuses[0].Code)

	setVMs := f.NewVirtualMachineScaleSetVMsClient()
	i, err := setVMs.Get(ctx, rg, "batch-spot", "3", &armcompute.VirtualMachineScaleSetVMsClientGetOptions{Expand: to.Ptr(armcompute.InstanceViewTypesInstanceView)})
	require.NoError(t, err)
	assert.Equal(t, "batch-spot_3", *i.Name)
	assert.Equal(t, "running", powerState(i.Properties.InstanceView.Statuses))
	assert.Equal(t, "batch-spot000003", *i.Properties.InstanceView.ComputerName)

	iv, err := setVMs.GetInstanceView(ctx, rg, "batch-spot", "0", nil)
	require.NoError(t, err)
	assert.Equal(t, "running", powerState(iv.Statuses))

	_, err = setVMs.Get(ctx, rg, "batch-spot", "99", nil)
	re := responseError(t, err)
	assert.Equal(t, http.StatusNotFound, re.StatusCode)
	assert.Equal(t, "NotFound", re.ErrorCode)

	_, err = vms.Get(ctx, rg, "nope", nil)
	re = responseError(t, err)
	assert.Equal(t, http.StatusNotFound, re.StatusCode)
	assert.Equal(t, "ResourceNotFound", re.ErrorCode)
}

// TestSimulateEvictionLandsAsOnAzure evicts a standalone VM (Deallocate:
// it stays, deallocated) and a scale-set instance (Delete: it goes, and
// the scale set brings a new instance up), through the SDK.
func TestSimulateEvictionLandsAsOnAzure(t *testing.T) {
	// The test polls every 10 ms, far above Azure's 12 GETs a minute per
	// VM: throttling would rightly slow it down.
	v := start(t, fleetScenario, emulator.Options{Speed: 100, Limits: &emulator.Limits{Off: true}})
	ctx := context.Background()
	f := v.factory(t)
	vms, setVMs := f.NewVirtualMachinesClient(), f.NewVirtualMachineScaleSetVMsClient()

	var raw *http.Response
	_, err := vms.SimulateEviction(policy.WithCaptureResponse(ctx, &raw), rg, "render-00001", nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, raw.StatusCode)
	_, err = setVMs.SimulateEviction(ctx, rg, "batch-spot", "2", nil)
	require.NoError(t, err)

	eventually(t, "render-00001 deallocated", func() bool {
		view, err := vms.InstanceView(ctx, rg, "render-00001", nil)
		return err == nil && powerState(view.Statuses) == "deallocated"
	})
	eventually(t, "batch-spot_2 deleted", func() bool {
		_, err := setVMs.Get(ctx, rg, "batch-spot", "2", nil)
		return err != nil && responseError(t, err).StatusCode == http.StatusNotFound
	})
	eventually(t, "a new instance of batch-spot running", func() bool {
		i, err := setVMs.Get(ctx, rg, "batch-spot", "5", &armcompute.VirtualMachineScaleSetVMsClientGetOptions{Expand: to.Ptr(armcompute.InstanceViewTypesInstanceView)})
		return err == nil && powerState(i.Properties.InstanceView.Statuses) == "running"
	})

	// A deallocated VM cannot be evicted again.
	_, err = vms.SimulateEviction(ctx, rg, "render-00001", nil)
	re := responseError(t, err)
	assert.Equal(t, http.StatusConflict, re.StatusCode)
	assert.Equal(t, "OperationNotAllowed", re.ErrorCode)

	// The journal names VMs as Azure does, with every phase.
	requested := map[string]bool{}
	for _, e := range v.journal.of(journal.EvictionRequested) {
		requested[e.VM] = true
	}
	assert.Equal(t, map[string]bool{"render-00001": true, "batch-spot_2": true}, requested)
	landed := map[string]string{}
	for _, e := range v.journal.of(journal.EvictionEvicted) {
		landed[e.VM] = e.Policy
		assert.Equal(t, journal.CauseInjected, e.Cause)
	}
	assert.Equal(t, map[string]string{"render-00001": "Deallocate", "batch-spot_2": "Delete"}, landed)
	replaced := map[string]bool{}
	for _, e := range v.journal.of(journal.VMRunning) {
		if e.Replaces != "" {
			replaced[e.Replaces] = true
		}
	}
	assert.True(t, replaced["batch-spot_2"], "batch-spot_2 replaced: %v", replaced)
}

func TestNonSpotVMIsRefusedWith409AndKeepsRunning(t *testing.T) {
	v := start(t, fleetScenario, emulator.Options{})
	ctx := context.Background()
	setVMs := v.factory(t).NewVirtualMachineScaleSetVMsClient()
	_, err := setVMs.SimulateEviction(ctx, rg, "system", "0", nil)
	re := responseError(t, err)
	assert.Equal(t, http.StatusConflict, re.StatusCode)
	assert.Equal(t, "OperationNotAllowed", re.ErrorCode)
	body, err := io.ReadAll(re.RawResponse.Body)
	require.NoError(t, err)
	assert.Contains(t, string(body), "only supported for Spot")

	i, err := setVMs.GetInstanceView(ctx, rg, "system", "0", nil)
	require.NoError(t, err)
	assert.Equal(t, "running", powerState(i.Statuses))
	failed := v.journal.of(journal.EvictionFailed)
	require.Len(t, failed, 1)
	assert.Equal(t, "OperationNotAllowed", failed[0].Code)
	assert.Empty(t, v.journal.of(journal.EvictionRequested))
}

// TestBadRequestsGetCloudErrorsAndChangeNothing sends what a careless
// client sends; every answer is a CloudError and no VM is touched.
func TestBadRequestsGetCloudErrorsAndChangeNothing(t *testing.T) {
	v := start(t, fleetScenario, emulator.Options{})
	base := v.srv.URL + "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Compute"
	evict := base + "/virtualMachines/render-00001/simulateEviction"
	cases := []struct {
		name, method, url string
		status            int
		code              string
	}{
		{"no api-version", http.MethodPost, evict, 400, "MissingApiVersionParameter"},
		{"malformed api-version", http.MethodPost, evict + "?api-version=latest", 400, "InvalidApiVersionParameter"},
		{"unsupported api-version", http.MethodPost, evict + "?api-version=2015-06-15", 400, "NoRegisteredProviderFound"},
		{"another subscription", http.MethodPost, strings.Replace(evict, sub, "11111111-1111-1111-1111-111111111111", 1) + "?api-version=2025-04-01", 404, "SubscriptionNotFound"},
		{"another resource group", http.MethodPost, strings.Replace(evict, rg, "rg-other", 1) + "?api-version=2025-04-01", 404, "ResourceGroupNotFound"},
		{"unknown VM", http.MethodPost, base + "/virtualMachines/ghost/simulateEviction?api-version=2025-04-01", 404, "ResourceNotFound"},
		{"a scale-set instance through the VM API", http.MethodPost, base + "/virtualMachines/batch-spot_1/simulateEviction?api-version=2025-04-01", 404, "ResourceNotFound"},
		{"GET on an action", http.MethodGet, evict + "?api-version=2025-04-01", 405, "HttpMethodNotSupported"},
		{"unknown operation", http.MethodPost, base + "/virtualMachines/render-00001/restart?api-version=2025-04-01", 404, "NotFound"},
		{"bad $expand", http.MethodGet, base + "/virtualMachines/render-00001?api-version=2025-04-01&$expand=everything", 400, "InvalidParameter"},
		{"list $expand without $filter", http.MethodGet, base + "/virtualMachines?api-version=2025-04-01&$expand=instanceView", 400, "InvalidParameter"},
		{"bad $skiptoken", http.MethodGet, base + "/virtualMachines?api-version=2025-04-01&$skiptoken=x", 400, "InvalidParameter"},
		{"outside Resource Manager", http.MethodGet, v.srv.URL + "/providers/Microsoft.Compute/operations", 404, "NotFound"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, c.url, nil)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, c.status, resp.StatusCode)
			assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			assert.Equal(t, c.code, body.Error.Code)
			assert.NotEmpty(t, body.Error.Message)
		})
	}
	for _, vm := range v.emu.VMs() {
		assert.Equal(t, emulator.PowerRunning, vm.PowerState, vm.Name)
	}
	assert.Empty(t, v.journal.of(journal.EvictionRequested))
	assert.Empty(t, v.journal.of(journal.EvictionNoticed))
}
