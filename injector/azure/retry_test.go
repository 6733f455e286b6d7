package azure_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/injector/azure"
	"github.com/spotdrill/spotdrill/injector/azure/azurefake"
)

func TestThrottledCallWaitsOutRetryAfter(t *testing.T) {
	srv, a := newARM(t, &arm{script: []int{429}, retryAfter: "1"})
	c := emulatorClient(t, srv.URL, azure.Options{})
	start := time.Now()
	call := c.SimulateEviction(context.Background(), spot(1))
	elapsed := time.Since(start)
	require.NoError(t, call.Err)
	require.Equal(t, http.StatusNoContent, call.Status)
	require.Equal(t, 2, call.Attempts)
	require.Equal(t, 1, call.Throttled)
	require.GreaterOrEqual(t, elapsed, time.Second, "Retry-After: 1 is honoured")
	require.Equal(t, 2, a.stats().calls)
	require.Contains(t, call.RateLimit, "x-ms-ratelimit-remaining-subscription-writes")
}

func TestRetryAfterBeyondTheLimitIsReported(t *testing.T) {
	srv, _ := newARM(t, &arm{script: []int{429}, retryAfter: "120"})
	c := emulatorClient(t, srv.URL, azure.Options{MaxRetryAfter: time.Minute})
	start := time.Now()
	call := c.SimulateEviction(context.Background(), spot(1))
	require.Less(t, time.Since(start), 5*time.Second, "a two-minute Retry-After is not waited out")
	require.ErrorIs(t, call.Err, azure.ErrThrottled)
	var e *azure.Error
	require.ErrorAs(t, call.Err, &e)
	require.Equal(t, "TooManyRequests", e.ErrorCode())
	require.Equal(t, http.StatusTooManyRequests, e.Status)
	require.Contains(t, e.Error(), "Retry-After 120s")
	require.Equal(t, 1, call.Attempts)
}

func TestServerErrorsAreRetried(t *testing.T) {
	srv, a := newARM(t, &arm{script: []int{503, 500}})
	c := emulatorClient(t, srv.URL, azure.Options{RetryDelay: 5 * time.Millisecond})
	call := c.SimulateEviction(context.Background(), spot(1))
	require.NoError(t, call.Err)
	require.Equal(t, 3, call.Attempts)
	require.Equal(t, 3, a.stats().calls)

	// Still failing after the retries: reported with Azure's code.
	srv, _ = newARM(t, &arm{script: []int{500, 500, 500, 500}})
	c = emulatorClient(t, srv.URL, azure.Options{RetryDelay: 5 * time.Millisecond, MaxRetries: 2})
	call = c.SimulateEviction(context.Background(), spot(1))
	var e *azure.Error
	require.ErrorAs(t, call.Err, &e)
	require.Equal(t, "InternalServerError", e.ErrorCode())
	require.Equal(t, 500, e.Status)
	require.Equal(t, 3, call.Attempts)
	require.NotErrorIs(t, call.Err, injector.ErrGone)
}

func TestConcurrencyIsBounded(t *testing.T) {
	srv, a := newARM(t, &arm{delay: 20 * time.Millisecond})
	c := emulatorClient(t, srv.URL, azure.Options{Rate: 1000, Burst: 100, Concurrency: 4})
	var ts []injector.Target
	for i := range 24 {
		ts = append(ts, spot(i))
	}
	for _, call := range c.SimulateEvictions(context.Background(), ts) {
		require.NoError(t, call.Err)
	}
	st := a.stats()
	require.Equal(t, 24, st.calls)
	require.LessOrEqual(t, st.maxInflight, 4)
	require.Greater(t, st.maxInflight, 1, "the calls do overlap")
}

func TestLoopbackEndpointAndTokens(t *testing.T) {
	srv, a := newARM(t, &arm{script: []int{409}})
	// Bearer tokens over http only to loopback, and never in an error.
	c := emulatorClient(t, srv.URL, azure.Options{})
	call := c.SimulateEviction(context.Background(), spot(1))
	require.Error(t, call.Err)
	require.NotContains(t, call.Err.Error(), "fake_token")
	require.Equal(t, "simulateEviction rg/spot-0001: 409 Conflict: injected", call.Err.Error())
	require.Equal(t, []string{"Bearer fake_token"}, a.stats().auth)

	// No credential for a loopback emulator: no Authorization header.
	c2, err := azure.NewClient(azurefake.Subscription, azure.Options{ARMEndpoint: srv.URL + "/"})
	require.NoError(t, err)
	require.NoError(t, c2.SimulateEviction(context.Background(), spot(2)).Err)
	require.Equal(t, "", a.stats().auth[1])

	for _, bad := range []string{"http://arm.example.com", "ftp://127.0.0.1", "not a url"} {
		_, err := azure.NewClient(azurefake.Subscription, azure.Options{ARMEndpoint: bad})
		require.Error(t, err, bad)
	}
	_, err = azure.NewClient(azurefake.Subscription, azure.Options{ARMEndpoint: "http://arm.example.com"})
	require.ErrorContains(t, err, "clear text")
	_, err = azure.NewClient(azurefake.Subscription, azure.Options{Cloud: "AzureMoon"})
	require.ErrorContains(t, err, `cloud "AzureMoon" is not known`)
	_, err = azure.NewClient(" ", azure.Options{})
	require.ErrorContains(t, err, "no subscription")
	for _, cl := range []string{"", "AzurePublic", "azurechina", "AzureUSGovernment", "AzureGovernment"} {
		_, err := azure.NewClient(azurefake.Subscription, azure.Options{Cloud: cl, Credential: &azfake.TokenCredential{}})
		require.NoError(t, err, cl)
	}
}
