package azure_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/injector/azure"
	"github.com/spotdrill/spotdrill/injector/azure/azurefake"
	"github.com/spotdrill/spotdrill/journal"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// counting counts the requests that reach the fake servers, and the ones
// that ask for a next page.
type counting struct {
	next        policy.Transporter
	total, more atomic.Int64
}

func (c *counting) Do(req *http.Request) (*http.Response, error) {
	c.total.Add(1)
	if strings.Contains(req.URL.Path, "fake_page") {
		c.more.Add(1)
	}
	return c.next.Do(req)
}

// newClient connects the real armcompute clients to the fleet.
func newClient(t *testing.T, f *azurefake.Fleet, clock azure.Clock, o azure.Options) (*azure.Client, *counting) {
	t.Helper()
	tr := &counting{next: f.Transport()}
	o.Transport, o.Credential, o.Clock = tr, &azfake.TokenCredential{}, clock
	c, err := azure.NewClient(azurefake.Subscription, o)
	require.NoError(t, err)
	return c, tr
}

// events collects what the observer emits.
type events struct{ list []journal.Event }

func (e *events) Emit(ev *journal.Event) { e.list = append(e.list, *ev) }

func (e *events) take() []journal.Event {
	out := e.list
	e.list = nil
	return out
}
