package emulator_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/internal/emulator"
	"github.com/spotdrill/spotdrill/journal"
)

// attempts records the status of every try the SDK makes, retries
// included.
type attempts struct {
	mu       sync.Mutex
	statuses []int
	retry    []string
}

func (a *attempts) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if err == nil {
		a.mu.Lock()
		a.statuses = append(a.statuses, resp.StatusCode)
		a.retry = append(a.retry, resp.Header.Get("Retry-After"))
		a.mu.Unlock()
	}
	return resp, err
}

func vmsClient(t *testing.T, url string, retry policy.RetryOptions, a *attempts) *armcompute.VirtualMachinesClient {
	t.Helper()
	o := clientOptions(url, retry)
	o.PerRetryPolicies = []policy.Policy{a}
	c, err := armcompute.NewVirtualMachinesClient(sub, &azfake.TokenCredential{}, o)
	require.NoError(t, err)
	return c
}

// TestThrottledWriteIsRetriedByAzcore shrinks Resource Manager's write
// bucket to one token refilled each second: the second eviction in a row
// is answered 429 with Retry-After 1, and azcore's retry policy waits and
// succeeds.
func TestThrottledWriteIsRetriedByAzcore(t *testing.T) {
	limits := emulator.DefaultLimits()
	limits.Writes = emulator.Bucket{Size: 1, Refill: 1}
	v := start(t, fleetScenario, emulator.Options{Limits: &limits})
	a := &attempts{}
	vms := vmsClient(t, v.srv.URL, policy.RetryOptions{MaxRetries: 3, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 5 * time.Second}, a)
	ctx := context.Background()

	var raw *http.Response
	_, err := vms.SimulateEviction(policy.WithCaptureResponse(ctx, &raw), rg, "render-00001", nil)
	require.NoError(t, err)
	assert.Equal(t, "0", raw.Header.Get("x-ms-ratelimit-remaining-subscription-writes"))
	assert.Equal(t, "Microsoft.Compute/DeleteVMPerResource;11,Microsoft.Compute/DeleteVMPerSubscription;1499",
		raw.Header.Get("x-ms-ratelimit-remaining-resource"))

	began := time.Now()
	_, err = vms.SimulateEviction(ctx, rg, "render-00002", nil)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(began), 900*time.Millisecond, "azcore waited out Retry-After")
	assert.Equal(t, []int{204, 429, 204}, a.statuses)
	assert.Equal(t, "1", a.retry[1])
	assert.Len(t, v.journal.of(journal.EvictionRequested), 2, "the throttled try never reached the fleet")
}

// TestComputeThrottlesEachVM shrinks the per-VM bucket of the Delete VM
// policy: a second call for the same VM is refused with Compute's 429,
// whose Retry-After is longer than the client waits, while another VM is
// served.
func TestComputeThrottlesEachVM(t *testing.T) {
	limits := emulator.DefaultLimits()
	p := limits.Policies[emulator.PolicyDeleteVM]
	p.PerResource = emulator.Bucket{Size: 1, Refill: 1.0 / 60}
	limits.Policies[emulator.PolicyDeleteVM] = p
	v := start(t, fleetScenario, emulator.Options{Limits: &limits})
	a := &attempts{}
	vms := vmsClient(t, v.srv.URL, policy.RetryOptions{MaxRetries: 3, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 5 * time.Second}, a)
	ctx := context.Background()

	_, err := vms.SimulateEviction(ctx, rg, "render-00001", nil)
	require.NoError(t, err)
	_, err = vms.SimulateEviction(ctx, rg, "render-00001", nil)
	re := responseError(t, err)
	assert.Equal(t, http.StatusTooManyRequests, re.StatusCode)
	assert.Equal(t, "OperationNotAllowed", re.ErrorCode)
	assert.Equal(t, "60", re.RawResponse.Header.Get("Retry-After"), "a wait longer than MaxRetryDelay is not retried")
	// A refused call charges neither bucket.
	assert.Equal(t, "Microsoft.Compute/DeleteVMPerResource;0,Microsoft.Compute/DeleteVMPerSubscription;1499",
		re.RawResponse.Header.Get("x-ms-ratelimit-remaining-resource"))
	body, err := io.ReadAll(re.RawResponse.Body)
	require.NoError(t, err)
	var ce struct {
		Error struct {
			Code    string
			Details []struct{ Code, Target string }
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &ce))
	require.Len(t, ce.Error.Details, 1)
	assert.Equal(t, "TooManyRequests", ce.Error.Details[0].Code)
	assert.Equal(t, emulator.PolicyDeleteVM, ce.Error.Details[0].Target)

	_, err = vms.SimulateEviction(ctx, rg, "render-00002", nil)
	require.NoError(t, err, "the bucket is per VM")
	assert.Len(t, v.journal.of(journal.EvictionRequested), 2)
	assert.Empty(t, v.journal.of(journal.EvictionFailed), "a throttled call never reaches the fleet")
}

func TestReadsCountDownAndOffServesEverything(t *testing.T) {
	v := start(t, fleetScenario, emulator.Options{})
	url := v.srv.URL + "/subscriptions/" + sub + "/providers/Microsoft.Compute/virtualMachines?api-version=2025-04-01"
	first := get(t, url, nil).Header.Get("x-ms-ratelimit-remaining-subscription-reads")
	second := get(t, url, nil).Header.Get("x-ms-ratelimit-remaining-subscription-reads")
	assert.Equal(t, "249", first)
	assert.Equal(t, "248", second)

	off := start(t, fleetScenario, emulator.Options{Limits: &emulator.Limits{Off: true}})
	url = off.srv.URL + "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/virtualMachines/render-00001/instanceView?api-version=2025-04-01"
	for range 50 { // above the 36 a VM's bucket holds
		assert.Equal(t, http.StatusOK, get(t, url, nil).StatusCode)
	}
}
