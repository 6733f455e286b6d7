package main

import (
	"bytes"
	"context"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/internal/emulator"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

const fleet = `apiVersion: spotdrill.dev/v1
kind: GameDay
metadata:
  name: drain-handler
duration: 1h
target:
  provider: sim
fleet:
  notice: 30s
  noticeDelay: 1s
  pools:
    - name: web-spot
      priority: Spot
      capacity: 2
      evictionPolicy: Delete
`

// emulate serves the fleet at speed, with its journal in an accumulator.
func emulate(t *testing.T, speed float64) (*emulator.Emulator, string, *reports.Accumulator) {
	t.Helper()
	sc, err := scenarios.Parse([]byte(fleet), "fleet.yaml")
	require.NoError(t, err)
	acc := reports.NewAccumulator()
	emu, err := emulator.New(sc, emulator.Options{Speed: speed, Journal: journal.NewBus(acc)})
	require.NoError(t, err)
	srv := httptest.NewServer(emu.Handler())
	emu.Start()
	ctx, cancel := context.WithCancel(context.Background())
	go emu.Run(ctx)
	t.Cleanup(func() { cancel(); srv.Close(); emu.Close() })
	return emu, srv.URL, acc
}

// evict is `az vmss simulate-eviction` against the emulator.
func evict(t *testing.T, url, set, instance string) {
	t.Helper()
	resp, err := http.Post(url+"/subscriptions/"+emulator.DefaultSubscription+"/resourceGroups/"+emulator.DefaultResourceGroup+
		"/providers/Microsoft.Compute/virtualMachineScaleSets/"+set+"/virtualMachines/"+instance+"/simulateEviction?api-version=2025-04-01", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}

// handle runs the handler against one VM's endpoint until it returns.
func handle(t *testing.T, url, vm string, drainTime time.Duration) (logs string, err error) {
	t.Helper()
	var buf bytes.Buffer
	done := make(chan error, 1)
	cfg := config{imds: url + "/vms/" + vm, interval: 20 * time.Millisecond, drainTime: drainTime}
	go func() { done <- run(context.Background(), cfg, log.New(&buf, "", 0)) }()
	time.Sleep(100 * time.Millisecond) // the handler is watching before the eviction, as on a VM
	evict(t, url, "web-spot", "1")
	select {
	case err = <-done:
		return buf.String(), err
	case <-time.After(10 * time.Second):
		t.Fatal("the handler never returned")
		return "", nil
	}
}

// TestHandlerDrainsWithinTheNotice: at speed 10 the 30 s notice is 3 s of
// wall time, and a drain of 0.5 s (5 virtual seconds) fits in it.
func TestHandlerDrainsWithinTheNotice(t *testing.T) {
	emu, url, acc := emulate(t, 10)
	logs, err := handle(t, url, "web-spot_1", 500*time.Millisecond)
	require.NoError(t, err, logs)
	assert.Contains(t, logs, "watching Scheduled Events of web-spot_1") // the name came from IMDS
	assert.Contains(t, logs, "acknowledged")

	drains := emu.Drains()
	require.Len(t, drains, 1)
	assert.True(t, drains[0].InTime())
	took, _ := drains[0].DrainTime()
	assert.InDelta(t, 5.5, took, 3, "0.5 s of drain at speed 10, plus polling")

	// The report of the emulator's journal shows the drained phase, after
	// the notice.
	emu.Close()
	rep := acc.Report()
	require.Len(t, rep.Evictions, 1)
	require.NotNil(t, rep.Evictions[0].Drained)
	require.NotNil(t, rep.Evictions[0].Noticed)
	assert.InDelta(t, took, *rep.Evictions[0].Drained-*rep.Evictions[0].Noticed, 0.001)
}

// TestSlowHandlerIsCaughtOut: at speed 30 the notice is 1 s of wall time;
// a 2 s drain misses it, and the emulator grades it so.
func TestSlowHandlerIsCaughtOut(t *testing.T) {
	emu, url, _ := emulate(t, 30)
	logs, err := handle(t, url, "web-spot_1", 2*time.Second)
	require.Error(t, err, logs)
	assert.Contains(t, err.Error(), "the eviction may have landed already")
	drains := emu.Drains()
	require.Len(t, drains, 1)
	assert.True(t, drains[0].Watched())
	assert.False(t, drains[0].InTime())
	assert.NotNil(t, drains[0].Landed)
}
