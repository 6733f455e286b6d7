package emulator_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/internal/emulator"
	"github.com/spotdrill/spotdrill/journal"
)

// handlerShape is how a drain handler talks to IMDS: the api-versions it
// pins for the instance metadata and for Scheduled Events, and how it
// reads them. The shapes are those of the handlers teams run on Spot
// nodes, which read IMDS with plain HTTP rather than an SDK.
type handlerShape struct {
	name string
	// instance is the path and query the handler reads at start-up to learn
	// its VM ("" when it does not).
	instance string
	// textLeaf reads one field as text instead of the JSON document.
	textLeaf bool
	events   string // api-version of Scheduled Events
	// approves says whether it acknowledges with StartRequests.
	approves bool
}

var handlerShapes = []handlerShape{
	// A Kubernetes drain manager that reads its node's identity with an
	// old pinned version, then polls and approves.
	{name: "node drain manager (2019-08-01)", instance: "/metadata/instance?api-version=2019-08-01", events: "2019-08-01", approves: true},
	// A DaemonSet notice handler from the first Spot days: no instance
	// read, the oldest Scheduled Events version, no approval.
	{name: "notice handler (2017-08-01)", events: "2017-08-01"},
	{name: "notice handler (2017-03-01)", events: "2017-03-01"},
	// Microsoft's documented Python sample.
	{name: "documented sample (2020-07-01)", instance: "/metadata/instance/compute?api-version=2021-02-01&format=json", events: "2020-07-01", approves: true},
	// A shell script: curl of one field as text.
	{name: "shell script (text leaf)", instance: "/metadata/instance/compute/name?api-version=2017-08-01&format=text", textLeaf: true, events: "2019-01-01", approves: true},
	{name: "agent (2019-04-01)", instance: "/metadata/instance?api-version=2021-12-13&format=json", events: "2019-04-01", approves: true},
}

// TestDrainHandlerShapes drives the emulator as each handler does: read
// the VM's identity, poll Scheduled Events until the Preempt of an
// eviction appears with the fields of its version, approve it, and see the
// eviction land early.
func TestDrainHandlerShapes(t *testing.T) {
	for i, h := range handlerShapes {
		t.Run(h.name, func(t *testing.T) {
			v := start(t, fleetScenario, emulator.Options{Speed: 20, Limits: &emulator.Limits{Off: true}})
			vm := []string{"batch-spot_0", "batch-spot_1", "batch-spot_2", "batch-spot_3"}[i%4]
			base := v.srv.URL + "/vms/" + vm
			hdr := map[string]string{"Metadata": "true"}
			if h.instance != "" {
				resp := get(t, base+h.instance, hdr)
				require.Equal(t, http.StatusOK, resp.StatusCode, h.instance)
				raw, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				if h.textLeaf {
					assert.Equal(t, vm, string(raw))
				} else {
					assert.Contains(t, string(raw), `"name":"`+vm+`"`)
				}
			}
			evictInstance(t, v, "batch-spot", strings.TrimPrefix(vm, "batch-spot_"))
			c := seClient{t: t, base: base}
			var raw []byte
			var d document
			eventually(t, "the Preempt", func() bool {
				d, raw = c.get(h.events)
				return len(d.Events) == 1
			})
			ev := d.Events[0]
			assert.Equal(t, "Preempt", ev.EventType)
			assert.Equal(t, []string{vm}, ev.Resources)
			assert.Equal(t, h.events >= "2019-08-01", strings.Contains(string(raw), `"EventSource"`), "EventSource comes with 2019-08-01")
			assert.Equal(t, h.events >= "2020-07-01", strings.Contains(string(raw), `"DurationInSeconds"`), "DurationInSeconds comes with 2020-07-01")
			if !h.approves {
				return
			}
			body, err := json.Marshal(map[string]any{"StartRequests": []map[string]string{{"EventId": ev.EventId}}})
			require.NoError(t, err)
			req, err := http.NewRequest(http.MethodPost, c.url(h.events), bytes.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Metadata", "true")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			eventually(t, "the eviction", func() bool { return len(v.journal.of(journal.EvictionEvicted)) == 1 })
			drained := v.journal.of(journal.EvictionDrained)
			require.Len(t, drained, 1)
			assert.Equal(t, vm, drained[0].VM)
		})
	}
}

// TestEveryDocumentedVersionIsServed: each api-version Azure documents is
// accepted, and any other is refused in IMDS's error shape, naming the
// newest versions, newest first.
func TestEveryDocumentedVersionIsServed(t *testing.T) {
	v := start(t, fleetScenario, emulator.Options{})
	base := v.srv.URL + "/vms/batch-spot_0/metadata/"
	hdr := map[string]string{"Metadata": "true"}
	for _, ver := range emulator.InstanceVersions() {
		assert.Equal(t, http.StatusOK, get(t, base+"instance?api-version="+ver, hdr).StatusCode, "instance %s", ver)
	}
	for _, ver := range emulator.ScheduledEventsVersions() {
		assert.Equal(t, http.StatusOK, get(t, base+"scheduledevents?api-version="+ver, hdr).StatusCode, "scheduledevents %s", ver)
	}
	for _, bad := range []string{"2019-08-02", "latest", "2030-01-01"} {
		resp := get(t, base+"instance?api-version="+bad, hdr)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		var e struct {
			Error          string   `json:"error"`
			NewestVersions []string `json:"newest-versions"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
		assert.Contains(t, e.Error, "api-version is invalid")
		assert.Equal(t, []string{"2025-04-07", "2024-07-17", "2024-03-15"}, e.NewestVersions)
	}
	resp := get(t, v.srv.URL+"/metadata/instance?api-version=2019-08-01", hdr)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	raw, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(raw), "/vms/{vm name}/metadata/instance")
	assert.Equal(t, http.StatusBadRequest, get(t, base+"instance?api-version=2021-02-01&format=text", hdr).StatusCode, "text is for leaves")
}

// TestJournalCarriesTheScenariosSLOs: a report of the emulator's journal
// grades the scenario's SLOs, as a run's report does.
func TestJournalCarriesTheScenariosSLOs(t *testing.T) {
	v := start(t, fleetScenario+"\nslos:\n  - name: recover fast\n    objective: ttr.p95 <= 5m\n", emulator.Options{})
	eventually(t, "run.started", func() bool { return len(v.journal.of(journal.RunStarted)) == 1 })
	run := v.journal.of(journal.RunStarted)[0].Run
	require.NotNil(t, run)
	assert.Equal(t, []journal.SLO{{Name: "recover fast", Objective: "ttr.p95 <= 5m"}}, run.SLOs)
	assert.Positive(t, run.Duration)
}
