package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/internal/emulator"
	"github.com/spotdrill/spotdrill/journal"
)

// document and event are the Scheduled Events payload, as a drain handler
// declares them after Microsoft's documentation.
type document struct {
	DocumentIncarnation int
	Events              []event
}

type event struct {
	EventId           string
	EventType         string
	ResourceType      string
	Resources         []string
	EventStatus       string
	NotBefore         string
	Description       string
	EventSource       string
	DurationInSeconds *int
}

// seClient follows the documented protocol against one base URL.
type seClient struct {
	t    *testing.T
	base string // http://host/vms/NAME
}

func (c seClient) url(version string) string {
	return c.base + "/metadata/scheduledevents?api-version=" + version
}

func (c seClient) get(version string) (document, []byte) {
	c.t.Helper()
	resp := get(c.t, c.url(version), map[string]string{"Metadata": "true"})
	require.Equal(c.t, http.StatusOK, resp.StatusCode)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	var d document
	require.NoError(c.t, json.Unmarshal(raw, &d))
	return d, raw
}

func (c seClient) ack(body string) int {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.url("2020-07-01"), bytes.NewReader([]byte(body)))
	require.NoError(c.t, err)
	req.Header.Set("Metadata", "true")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func evictInstance(t *testing.T, v *env, set, id string) {
	t.Helper()
	_, err := v.factory(t).NewVirtualMachineScaleSetVMsClient().SimulateEviction(context.Background(), rg, set, id, nil)
	require.NoError(t, err)
}

// TestScheduledEventsProtocol is a drain handler's view: poll, see the
// Preempt, acknowledge it, and see the VM evicted.
func TestScheduledEventsProtocol(t *testing.T) {
	v := start(t, fleetScenario, emulator.Options{Speed: 20, Limits: &emulator.Limits{Off: true}})
	c := seClient{t: t, base: v.srv.URL + "/vms/batch-spot_1"}

	resp := get(t, c.url("2020-07-01"), nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "the Metadata header is required")
	body, _ := io.ReadAll(resp.Body)
	assert.JSONEq(t, `{"error":"Bad request. Required metadata header not specified"}`, string(body))
	assert.Equal(t, http.StatusBadRequest, get(t, c.base+"/metadata/scheduledevents", map[string]string{"Metadata": "true"}).StatusCode, "api-version is required")
	assert.Equal(t, http.StatusBadRequest, get(t, c.url("2020-07-01"), map[string]string{"Metadata": "true", "X-Forwarded-For": "10.0.0.1"}).StatusCode, "no proxies")

	_, raw := c.get("2020-07-01")
	assert.JSONEq(t, `{"DocumentIncarnation":1,"Events":[]}`, string(raw))

	evictInstance(t, v, "batch-spot", "1")
	var d document
	eventually(t, "the Preempt event", func() bool {
		d, _ = c.get("2020-07-01")
		return len(d.Events) == 1
	})
	e := d.Events[0]
	assert.Equal(t, 2, d.DocumentIncarnation)
	assert.Regexp(t, `^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`, e.EventId)
	assert.Equal(t, "Preempt", e.EventType)
	assert.Equal(t, "VirtualMachine", e.ResourceType)
	assert.Equal(t, []string{"batch-spot_1"}, e.Resources)
	assert.Equal(t, "Scheduled", e.EventStatus)
	assert.Equal(t, "Platform", e.EventSource)
	require.NotNil(t, e.DurationInSeconds)
	assert.Equal(t, -1, *e.DurationInSeconds)
	nb, err := time.Parse(http.TimeFormat, e.NotBefore)
	require.NoError(t, err, "NotBefore is an HTTP date")
	assert.WithinDuration(t, time.Now().Add(1500*time.Millisecond), nb, 2*time.Second, "30 s of notice at speed 20")

	old, _ := c.get("2019-01-01")
	assert.Empty(t, old.Events[0].EventSource, "EventSource came with 2019-08-01")
	assert.Nil(t, old.Events[0].DurationInSeconds, "DurationInSeconds came with 2020-07-01")

	// Bad acknowledgements are refused and change nothing.
	assert.Equal(t, http.StatusBadRequest, c.ack(`{"StartRequests":[{"EventId":"00000000-0000-4000-8000-000000000000"}]}`))
	assert.Equal(t, http.StatusBadRequest, c.ack(`{"StartRequests":`))
	assert.Equal(t, http.StatusBadRequest, c.ack(`{"StartRequests":[]}`))
	again, _ := c.get("2020-07-01")
	assert.Equal(t, d, again)

	assert.Equal(t, http.StatusOK, c.ack(`{"StartRequests":[{"EventId":"`+e.EventId+`"}]}`))
	started, _ := c.get("2020-07-01")
	assert.Equal(t, 3, started.DocumentIncarnation)
	assert.Equal(t, "Started", started.Events[0].EventStatus)
	assert.Empty(t, started.Events[0].NotBefore)
	assert.Equal(t, http.StatusOK, c.ack(`{"StartRequests":[{"EventId":"`+e.EventId+`"}]}`), "acknowledging twice is fine")

	set := v.factory(t).NewVirtualMachineScaleSetVMsClient()
	eventually(t, "batch-spot_1 evicted (Delete policy: gone)", func() bool {
		_, err := set.Get(context.Background(), rg, "batch-spot", "1", nil)
		return err != nil && responseError(t, err).StatusCode == http.StatusNotFound
	})
	after, _ := c.get("2020-07-01")
	assert.Empty(t, after.Events, "the event leaves the document when the eviction lands")
	assert.Equal(t, 4, after.DocumentIncarnation)

	drains := v.emu.Drains()
	require.Len(t, drains, 1)
	assert.Equal(t, "batch-spot_1", drains[0].VM)
	assert.True(t, drains[0].Watched())
	assert.True(t, drains[0].InTime())
	took, ok := drains[0].DrainTime()
	assert.True(t, ok)
	assert.Less(t, took, 30.0)
	drained := v.journal.of(journal.EvictionDrained)
	require.Len(t, drained, 1)
	assert.Equal(t, "batch-spot_1", drained[0].VM)
}

// TestAcknowledgedPreemptLandsEarly needs the simulated fleet's hook to
// evict early (docs/emulator.md); without it the eviction lands at
// NotBefore.
func TestAcknowledgedPreemptLandsEarly(t *testing.T) {
	if !emulator.CanExpedite() {
		t.Skip("internal/sim has no ExpediteEviction yet: an acknowledged Preempt lands at its NotBefore")
	}
	// 30 s of notice at speed 5 is 6 s of wall time; the VM stops 5
	// virtual seconds (1 s) after the acknowledgement.
	v := start(t, fleetScenario, emulator.Options{Speed: 5, Limits: &emulator.Limits{Off: true}})
	c := seClient{t: t, base: v.srv.URL + "/vms/render-00002"}
	_, err := v.factory(t).NewVirtualMachinesClient().SimulateEviction(context.Background(), rg, "render-00002", nil)
	require.NoError(t, err)
	var d document
	eventually(t, "the Preempt event", func() bool {
		d, _ = c.get("2020-07-01")
		return len(d.Events) == 1
	})
	acked := time.Now()
	require.Equal(t, http.StatusOK, c.ack(`{"StartRequests":[{"EventId":"`+d.Events[0].EventId+`"}]}`))
	eventually(t, "render-00002 deallocated", func() bool {
		for _, vm := range v.emu.VMs() {
			if vm.Name == "render-00002" {
				return vm.PowerState == emulator.PowerDeallocated
			}
		}
		return false
	})
	assert.Less(t, time.Since(acked), 4*time.Second)
	drains := v.emu.Drains()
	require.Len(t, drains, 1)
	require.NotNil(t, drains[0].Landed)
	assert.InDelta(t, *drains[0].Acked+5, *drains[0].Landed, 0.001)
}

func TestEveryVMsEventsAtThePrefixlessEndpoint(t *testing.T) {
	v := start(t, fleetScenario, emulator.Options{Speed: 20, Limits: &emulator.Limits{Off: true}})
	evictInstance(t, v, "batch-spot", "0")
	evictInstance(t, v, "batch-spot", "3")
	all := seClient{t: t, base: v.srv.URL}
	var d document
	eventually(t, "two Preempt events", func() bool {
		d, _ = all.get("2020-07-01")
		return len(d.Events) == 2
	})
	assert.ElementsMatch(t, [][]string{{"batch-spot_0"}, {"batch-spot_3"}}, [][]string{d.Events[0].Resources, d.Events[1].Resources})
	one, _ := seClient{t: t, base: v.srv.URL + "/vms/batch-spot_0"}.get("2020-07-01")
	require.Len(t, one.Events, 1, "a VM's own endpoint shows its own events only")
	assert.Equal(t, []string{"batch-spot_0"}, one.Events[0].Resources)
}

func TestInstanceMetadata(t *testing.T) {
	v := start(t, fleetScenario, emulator.Options{})
	resp := get(t, v.srv.URL+"/vms/batch-spot_2/metadata/instance/compute?api-version=2021-02-01&format=json", map[string]string{"Metadata": "true"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var in map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&in))
	assert.Equal(t, "batch-spot_2", in["name"])
	assert.Equal(t, "batch-spot", in["vmScaleSetName"])
	assert.Equal(t, "Spot", in["priority"])
	assert.Equal(t, "Delete", in["evictionPolicy"])
	assert.Equal(t, "westeurope", in["location"])
	assert.Equal(t, "1", in["zone"])
	assert.Equal(t, "team:batch", in["tags"])
	assert.Equal(t, "/subscriptions/"+sub+"/resourceGroups/"+rg+"/providers/Microsoft.Compute/virtualMachineScaleSets/batch-spot/virtualMachines/2", in["resourceId"])

	assert.Equal(t, http.StatusNotFound, get(t, v.srv.URL+"/vms/ghost/metadata/scheduledevents?api-version=2020-07-01", map[string]string{"Metadata": "true"}).StatusCode)
}

// TestFaultWavesAreThePlatformsWeather: a scenario's market faults happen
// at their time on the emulator's clock; its eviction waves do not (the
// clients evict).
func TestFaultWavesAreThePlatformsWeather(t *testing.T) {
	text := fleetScenario + `waves:
  - name: zone-1-down
    at: 2m
    fault: {type: zoneOutage, zones: ["1"], for: 10m}
  - name: evict-all
    at: 1m
    evict: {all: true}
`
	v := start(t, text, emulator.Options{Speed: 600, Limits: &emulator.Limits{Off: true}})
	eventually(t, "the outage", func() bool { return len(v.journal.of(journal.FaultStarted)) == 1 })
	waves := v.journal.of(journal.WaveStarted)
	require.Len(t, waves, 1)
	assert.Equal(t, "zone-1-down", waves[0].Wave)
	assert.Equal(t, 120.0, waves[0].T)
	eventually(t, "zone 1 evicted", func() bool {
		for _, vm := range v.emu.VMs() {
			if vm.Zone == "1" && vm.PowerState == emulator.PowerRunning {
				return false
			}
		}
		return true
	})
	for _, e := range v.journal.of(journal.EvictionEvicted) {
		assert.Equal(t, journal.CauseOutage, e.Cause, e.VM)
	}
	assert.Empty(t, v.journal.of(journal.EvictionRequested), "eviction waves are the clients' to run")
}

// TestServerDropsSlowAndIdleClients: the emulator's server has read,
// write and idle timeouts and a header limit; a client that trickles its
// headers, or sits idle, is disconnected (here with the timeouts shortened).
func TestServerDropsSlowAndIdleClients(t *testing.T) {
	srv := start(t, fleetScenario, emulator.Options{Limits: &emulator.Limits{Off: true}}).emu.Server()
	require.Equal(t, emulator.ReadHeaderTimeout, srv.ReadHeaderTimeout)
	require.Positive(t, srv.ReadTimeout)
	require.Positive(t, srv.WriteTimeout)
	require.Positive(t, srv.IdleTimeout)
	require.Equal(t, emulator.MaxHeaderBytes, srv.MaxHeaderBytes)
	srv.ReadHeaderTimeout, srv.IdleTimeout = 200*time.Millisecond, 200*time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	slow, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer slow.Close()
	_, err = slow.Write([]byte("GET /emulator HTTP/1.1\r\nHost: x\r\n")) // and never the end
	require.NoError(t, err)
	require.NoError(t, slow.SetReadDeadline(time.Now().Add(5*time.Second)))
	start := time.Now()
	_, err = io.ReadAll(slow)
	require.NoError(t, err, "the server closed the connection")
	require.Less(t, time.Since(start), 4*time.Second)

	big, err := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/emulator", nil)
	require.NoError(t, err)
	big.Header.Set("X-Padding", strings.Repeat("x", 2*emulator.MaxHeaderBytes))
	resp, err := http.DefaultClient.Do(big)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
}
