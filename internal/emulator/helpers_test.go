package emulator_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/internal/emulator"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

const (
	sub = emulator.DefaultSubscription
	rg  = emulator.DefaultResourceGroup
)

// fleetScenario is a small fleet: a Spot scale set with the Delete policy
// (AKS-like), standalone Spot VMs with Deallocate (served with
// Options.Standalone), and a Regular scale set. Market evictions are off so
// that only the tests evict.
const fleetScenario = `apiVersion: spotdrill.dev/v1
kind: GameDay
metadata:
  name: emulator-test
seed: 7
duration: 1h
target:
  provider: sim
fleet:
  region: westeurope
  notice: 30s
  noticeDelay: 1s
  zones: [{name: "1"}, {name: "2"}]
  pools:
    - name: batch-spot
      sku: Standard_D4s_v5
      priority: Spot
      zones: ["1", "2"]
      capacity: 5
      evictionPolicy: Delete
      tags: {team: batch}
      provisioning: {latency: 30s}
      autoscale: {delay: 10s}
    - name: render
      priority: Spot
      zones: ["1"]
      capacity: 3
      evictionPolicy: Deallocate
      maxPrice: 0.05
      provisioning: {latency: 30s}
      autoscale: {delay: 10s}
    - name: system
      priority: Regular
      zones: ["2"]
      capacity: 2
`

// events collects journal events, safe for the emulator's goroutines.
type events struct {
	mu  sync.Mutex
	all []journal.Event
}

func (r *events) Emit(e *journal.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, *e)
}

func (r *events) of(t journal.Type) []journal.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []journal.Event
	for _, e := range r.all {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

type env struct {
	emu     *emulator.Emulator
	srv     *httptest.Server
	journal *events
}

func parse(t *testing.T, text string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse([]byte(text), "emulator-test.yaml")
	require.NoError(t, err)
	return sc
}

// start serves an emulator of the scenario on loopback and runs its clock
// until the test ends.
func start(t *testing.T, text string, o emulator.Options) *env {
	t.Helper()
	ev := &events{}
	if o.Journal == nil {
		o.Journal = ev
	}
	if o.Standalone == nil {
		o.Standalone = []string{"render"}
	}
	e, err := emulator.New(parse(t, text), o)
	require.NoError(t, err)
	srv := httptest.NewServer(e.Handler())
	e.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
		e.Close()
	})
	return &env{emu: e, srv: srv, journal: ev}
}

// clientOptions is the documented recipe: the emulator's endpoint as the
// Resource Manager of a custom cloud, a bearer token allowed over plain
// http, and no resource-provider registration.
func clientOptions(endpoint string, retry policy.RetryOptions) *arm.ClientOptions {
	return &arm.ClientOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud: cloud.Configuration{
				ActiveDirectoryAuthorityHost: "https://login.microsoftonline.com/",
				Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
					cloud.ResourceManager: {Endpoint: endpoint, Audience: "https://management.azure.com"},
				},
			},
			InsecureAllowCredentialWithHTTP: true,
			Retry:                           retry,
		},
		DisableRPRegistration: true,
	}
}

func (v *env) factory(t *testing.T) *armcompute.ClientFactory {
	t.Helper()
	f, err := armcompute.NewClientFactory(sub, &azfake.TokenCredential{}, clientOptions(v.srv.URL, policy.RetryOptions{MaxRetries: -1}))
	require.NoError(t, err)
	return f
}

// eventually polls cond every 10 ms for up to 10 s of wall time.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func powerState(st []*armcompute.InstanceViewStatus) string {
	for _, s := range st {
		if s != nil && s.Code != nil && strings.HasPrefix(*s.Code, "PowerState/") {
			return strings.TrimPrefix(*s.Code, "PowerState/")
		}
	}
	return ""
}

func responseError(t *testing.T, err error) *azcore.ResponseError {
	t.Helper()
	var re *azcore.ResponseError
	require.True(t, errors.As(err, &re), "want an *azcore.ResponseError, got %v", err)
	return re
}

func get(t *testing.T, url string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
