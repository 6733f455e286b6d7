package emulator_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/injector/azure"
	"github.com/spotdrill/spotdrill/internal/emulator"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

// batchOnEmulator is the library's batch-checkpointed game day aimed at
// the emulated subscription, its waves compressed into seconds of wall
// time (the Azure world runs on the wall clock).
const batchOnEmulator = `apiVersion: spotdrill.dev/v1
kind: GameDay
metadata:
  name: batch-checkpointed-emulated
seed: 42
duration: 5s
target:
  provider: azure
  azure:
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroups: [spotdrill-emulator]
    scaleSets: [batch-spot]
waves:
  - name: first-strike
    at: 500ms
    evict: {count: 3}
  - name: zone-2-slice
    at: 1500ms
    evict: {percent: 25%, zones: ["2"]}
  - name: last-call
    at: 2500ms
    evict: {count: 4, pools: [batch-spot]}
blastRadius:
  maxEvictions: 12
slos:
  - name: capacity comes back
    objective: ttr.capacity.p95 <= 30s
`

// TestAzureProviderRunsAGameDayOverHTTP runs spotdrill's own Azure
// provider, unchanged, against the emulator serving the library's batch
// fleet: discovery, the plan, simulateEviction through the SDK, power
// states polled until the evictions land and the scale set replaces them,
// and the report graded from the journal.
func TestAzureProviderRunsAGameDayOverHTTP(t *testing.T) {
	emu, srv := serveBatchFleet(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	sc := parse(t, batchOnEmulator)
	var evs []journal.Event
	live := reports.NewAccumulator()
	bus := journal.NewBus(journal.SinkFunc(func(e *journal.Event) { evs = append(evs, *e) }), live)
	w, err := experiments.NewAzureWorld(sc, bus, experiments.AzureOptions{
		Client:       azure.Options{ARMEndpoint: srv.URL},
		PollInterval: 100 * time.Millisecond,
	})
	require.NoError(t, err)
	bus.Subscribe(w.(journal.Sink))

	res, err := experiments.Run(ctx, experiments.Config{Scenario: sc, World: w, Bus: bus, Live: live, Tool: "test"})
	require.NoError(t, err)
	require.Equal(t, journal.StatusCompleted, res.Status, res.Reason)
	require.Len(t, res.Plan.Targets, 24)

	requested, evicted, replaced := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, e := range evs {
		switch e.Type {
		case journal.EvictionRequested:
			requested[e.VM] = true
		case journal.EvictionEvicted:
			assert.Equal(t, journal.CauseInjected, e.Cause, e.VM)
			assert.Equal(t, "Delete", e.Policy)
			evicted[e.VM] = true
		case journal.VMRunning:
			if e.Replaces != "" {
				replaced[e.Replaces] = true
			}
		case journal.EvictionFailed:
			t.Errorf("eviction failed: %s %s %s", e.VM, e.Code, e.Reason)
		}
	}
	// 3, then a quarter of zone 2's eight, then 4.
	assert.Len(t, requested, 9)
	assert.Equal(t, requested, evicted, "every requested eviction landed")
	assert.Equal(t, evicted, replaced, "the scale set replaced every evicted instance")

	rep := live.Report()
	g := reports.Grade(rep, sc.SLOs)
	assert.True(t, g.Pass(), "SLOs: %+v", g)
	count, ok := rep.Metric("evictions.count")
	require.True(t, ok)
	assert.Equal(t, 9.0, count.Value)

	// The emulator saw the same game day from the platform's side.
	landed := 0
	for _, d := range emu.Drains() {
		if d.Landed != nil {
			landed++
		}
		assert.False(t, d.Watched(), "no drain handler ran")
	}
	assert.Equal(t, 9, landed)
}

// serveBatchFleet serves the library's batch fleet on loopback, its market
// quiet (only the game day evicts), at speed 200: the 30 s notice is 0.15 s
// and a replacement takes at most a second, so the provider may poll every
// 100 ms, which Azure's throttling would rightly refuse.
func serveBatchFleet(t *testing.T) (*emulator.Emulator, *httptest.Server) {
	t.Helper()
	fleet, err := scenarios.Load(filepath.Join("..", "..", "scenarios", "library", "batch-checkpointed.yaml"))
	require.NoError(t, err)
	fleet.Fleet.EvictionRate = 0
	emu, err := emulator.New(fleet, emulator.Options{Speed: 200, Limits: &emulator.Limits{Off: true}})
	require.NoError(t, err)
	srv := httptest.NewServer(emu.Handler())
	emu.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { emu.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
		emu.Close()
	})
	return emu, srv
}
