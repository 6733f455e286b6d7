package azure_test

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/injector/azure"
	"github.com/spotdrill/spotdrill/injector/azure/azurefake"
)

// arm is a loopback stand-in for Resource Manager's simulateEviction,
// with real HTTP answers, so that azcore's retry policy runs as it does
// against Azure (the SDK's fake servers mark every error non-retriable).
// Writes draw on a token bucket as Azure documents it; an empty bucket
// answers 429 with Retry-After.
type arm struct {
	mu sync.Mutex
	// script forces the status of the next calls (429, 503, ...).
	script     []int
	retryAfter string
	// bucket
	capacity, refill, tokens float64
	last                     time.Time
	// what happened
	calls, throttled, accepted int
	inflight, maxInflight      int
	auth                       []string
	delay                      time.Duration
	firstAt, lastOK            time.Time
}

func newARM(t *testing.T, a *arm) (*httptest.Server, *arm) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}/simulateEviction", a.evict)
	mux.HandleFunc("POST /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{set}/virtualMachines/{id}/simulateEviction", a.evict)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, a
}

func (a *arm) evict(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	now := time.Now()
	a.calls++
	a.auth = append(a.auth, r.Header.Get("Authorization"))
	if a.firstAt.IsZero() {
		a.firstAt = now
	}
	a.inflight++
	a.maxInflight = max(a.maxInflight, a.inflight)
	status := http.StatusNoContent
	var wait time.Duration
	if len(a.script) > 0 {
		status, a.script = a.script[0], a.script[1:]
	} else if a.capacity > 0 {
		if a.last.IsZero() {
			a.last = now
		}
		a.tokens = math.Min(a.capacity, a.tokens+now.Sub(a.last).Seconds()*a.refill)
		a.last = now
		if a.tokens >= 1 {
			a.tokens--
		} else {
			status = http.StatusTooManyRequests
			wait = time.Duration((1 - a.tokens) / a.refill * float64(time.Second))
		}
	}
	remaining := int(a.tokens)
	delay := a.delay
	a.mu.Unlock()

	time.Sleep(delay)
	w.Header().Set("x-ms-ratelimit-remaining-subscription-writes", strconv.Itoa(remaining))
	w.Header().Set("x-ms-request-id", "req-1")
	switch status {
	case http.StatusNoContent:
		w.WriteHeader(status)
	case http.StatusTooManyRequests:
		ra := a.retryAfter
		if wait > 0 {
			// Azure speaks in seconds; the compressed clock needs
			// milliseconds, which azcore prefers when both are sent.
			ra = strconv.Itoa(int(math.Ceil(wait.Seconds())))
			w.Header().Set("Retry-After-Ms", strconv.FormatInt(max(1, int64(math.Ceil(float64(wait)/float64(time.Millisecond)))), 10))
		}
		w.Header().Set("Retry-After", ra)
		cloudError(w, status, "TooManyRequests", "The request is being throttled.")
	default:
		cloudError(w, status, strings.ReplaceAll(http.StatusText(status), " ", ""), "injected")
	}
	a.mu.Lock()
	a.inflight--
	switch status {
	case http.StatusNoContent:
		a.accepted++
		a.lastOK = time.Now()
	case http.StatusTooManyRequests:
		a.throttled++
	}
	a.mu.Unlock()
}

func cloudError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`, code, msg)
}

func (a *arm) stats() arm {
	a.mu.Lock()
	defer a.mu.Unlock()
	return arm{calls: a.calls, throttled: a.throttled, accepted: a.accepted, maxInflight: a.maxInflight,
		auth: append([]string(nil), a.auth...), firstAt: a.firstAt, lastOK: a.lastOK}
}

// spot is a Spot VM target on the emulator.
func spot(i int) injector.Target {
	return injector.Target{ID: azurefake.VMID("rg", fmt.Sprintf("spot-%04d", i)), Name: fmt.Sprintf("spot-%04d", i),
		Priority: injector.PrioritySpot, State: injector.StateRunning}
}

func emulatorClient(t *testing.T, url string, o azure.Options) *azure.Client {
	t.Helper()
	o.ARMEndpoint = url
	if o.Credential == nil {
		o.Credential = &azfake.TokenCredential{}
	}
	c, err := azure.NewClient(azurefake.Subscription, o)
	require.NoError(t, err)
	return c
}
