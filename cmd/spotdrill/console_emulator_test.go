package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/pkg/spotwork"
)

const consoleGameDay = `apiVersion: spotdrill.dev/v1
kind: GameDay
metadata:
  name: console-on-azure
duration: 15s
target:
  provider: azure
  azure:
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroups: [spotdrill-emulator]
    scaleSets: [batch-spot]
waves:
  - name: first
    at: 3s
    evict: {count: 2}
  - name: second
    at: 6s
    evict: {count: 1}
blastRadius:
  maxPoolPercent: 50%
slos:
  - objective: "ttr.p95 <= 5m"
`

// freePort finds a loopback port for the receiver.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// TestConsoleGameDayAgainstTheEmulator is a facilitator's whole game day on
// a real terminal: the real binary's console against `spotdrill emulate`
// (Resource Manager over HTTP), the plan confirmed with y, both waves fired
// by hand in manual mode, and workers on every VM exporting their spans
// over OTLP/gRPC (the OpenTelemetry SDK's gRPC exporter) to the run's
// --otlp-listen-grpc. The interrupted jobs resume on other VMs; the
// journal holds their correlated recovery, and the summary grades it.
func TestConsoleGameDayAgainstTheEmulator(t *testing.T) {
	url := startEmulator(t)
	dir := t.TempDir()
	gameDay := filepath.Join(dir, "game-day.yaml")
	require.NoError(t, os.WriteFile(gameDay, []byte(consoleGameDay), 0o644))
	journalPath := filepath.Join(dir, "journal.jsonl")
	exitPath := filepath.Join(dir, "exit")
	stderrPath := filepath.Join(dir, "stderr")
	grpcAddr := freePort(t)
	command := fmt.Sprintf("cd %q && SPOTDRILL_LOCK_DIR=%q %q run %q --tui --manual --arm-endpoint %q --poll-interval 300ms --journal %q --otlp-listen-grpc %q 2>%q; echo $? >%q; sleep 60",
		dir, filepath.Join(dir, "locks"), binary, gameDay, url, journalPath, grpcAddr, stderrPath, exitPath)
	s := newTmux(t, 150, 45, command)

	s.waitFor("START THE GAME DAY? Plan", "24 Spot VMs frozen by resource ID, 2 waves", "wall clock", "y yes")

	// A worker on every VM, exporting over gRPC, each with a job that has
	// checkpointed: those on evicted VMs die with them.
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure())
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(resource.NewSchemaless()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	workers := map[string]*spotwork.Worker{}
	attempts := map[string]*spotwork.Attempt{}
	for i := range 24 {
		host := "batch-spot_" + strconv.Itoa(i)
		workers[host] = spotwork.NewWorker(tp, spotwork.Options{Host: host})
	}

	s.keys("y")
	s.waitFor("plan ", "confirmed: the game day starts")
	for host, w := range workers {
		_, a := w.Start(context.Background(), "job-"+strings.TrimPrefix(host, "batch-spot_"), 1, spotwork.Storage(spotwork.StorageDurable))
		a.Checkpoint(time.Second)
		attempts[host] = a
	}
	require.NoError(t, tp.ForceFlush(context.Background()))

	s.waitFor("Wave first is due: press n")
	s.keys("n")
	s.waitFor("✓ first", "Wave second is due: press n")
	s.keys("n")
	s.waitFor("✓ second")

	// The jobs of the evicted VMs resume on VMs that stayed.
	evicted := waitEvicted(t, journalPath, 3)
	spare := ""
	for host := range workers {
		if !evicted[host] {
			spare = host
			break
		}
	}
	for host := range evicted {
		a := attempts[host]
		_, again := workers[spare].Start(context.Background(), "job-"+strings.TrimPrefix(host, "batch-spot_"), 2, spotwork.Resumes(a.SpanContext()))
		again.Complete()
	}
	require.NoError(t, tp.ForceFlush(context.Background()))

	s.waitFor("COMPLETED", "q exits and prints the summary")
	s.keys("q")
	require.Eventually(t, func() bool { _, err := os.Stat(exitPath); return err == nil }, 20*time.Second, 50*time.Millisecond)
	raw, err := os.ReadFile(exitPath)
	require.NoError(t, err)
	stderr, _ := os.ReadFile(stderrPath)
	require.Equal(t, strconv.Itoa(ExitOK), strings.TrimSpace(string(raw)), "%s", stderr)
	assert.Contains(t, string(stderr), "otlp: receiving workers' spans over gRPC on "+grpcAddr)
	assert.Contains(t, string(stderr), "3 interruptions correlated, 0 evictions uncorrelated")

	var waves, interrupted, resumed int
	for _, e := range readJournal(t, journalPath) {
		switch e.Type {
		case journal.WaveStarted:
			waves++
			assert.NotNil(t, e.At, "fired by hand: the planned time is recorded")
		case journal.JobInterrupted:
			interrupted++
		case journal.JobResumed:
			resumed++
		}
	}
	assert.Equal(t, 2, waves)
	assert.Equal(t, 3, interrupted, "the jobs of the three evicted VMs, from their workers' spans")
	assert.Equal(t, 3, resumed)
}

// waitEvicted waits until the journal holds n evictions and returns the
// evicted VMs by their computer names (SCALESET_INSTANCE).
func waitEvicted(t *testing.T, path string, n int) map[string]bool {
	t.Helper()
	var out map[string]bool
	require.Eventually(t, func() bool {
		out = map[string]bool{}
		raw, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if !strings.Contains(line, `"type":"eviction.evicted"`) {
				continue
			}
			i := strings.Index(line, "/virtualMachines/")
			j := strings.Index(line[i+len("/virtualMachines/"):], `"`)
			out["batch-spot_"+line[i+len("/virtualMachines/"):i+len("/virtualMachines/")+j]] = true
		}
		return len(out) == n
	}, 20*time.Second, 50*time.Millisecond)
	return out
}
