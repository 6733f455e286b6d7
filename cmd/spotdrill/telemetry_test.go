package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

// TestTelemetryWiring plays a simulated game day through the telemetry
// helpers the way `spotdrill run` wires them: the session's sink first on
// the bus, the simulated workers' observer, the trace finished with the
// grades. The trace file holds one trace, whose ID the journal carries.
func TestTelemetryWiring(t *testing.T) {
	sc, err := scenarios.Load(filepath.Join("..", "..", "scenarios", "library", "batch-checkpointed.yaml"))
	require.NoError(t, err)
	dir := t.TempDir()
	var errOut bytes.Buffer
	ios := &IOStreams{Out: &bytes.Buffer{}, Err: &errOut}
	cmd := &cobra.Command{Use: "run"}
	var opts TelemetryOptions
	addTelemetryFlags(cmd, &opts)
	require.NoError(t, cmd.ParseFlags([]string{"--trace-file", filepath.Join(dir, "trace.jsonl")}))
	opts.Getenv = func(string) string { return "" }

	tel, err := opts.start(ios, sc, "test")
	require.NoError(t, err)
	require.NotNil(t, tel)
	defer tel.close()

	var buf bytes.Buffer
	jw := journal.NewWriter(&buf)
	live := reports.NewAccumulator()
	bus := journal.NewBus(tel.sinks(jw, live)...)
	world, err := experiments.NewSimWorld(sc, bus, sim.Options{Observer: tel.simObserver()})
	require.NoError(t, err)
	tel.attach(bus, world)
	_, err = experiments.Run(context.Background(), experiments.Config{Scenario: sc, World: world, Bus: bus, Live: live})
	require.NoError(t, err)
	require.NoError(t, jw.Close())
	rep := live.Report()
	require.NoError(t, tel.finish(rep, reports.Grade(rep, sc.SLOs)))
	require.NoError(t, tel.close(), "close after finish is harmless")

	first := strings.SplitN(buf.String(), "\n", 2)[0]
	var started journal.Event
	require.NoError(t, json.Unmarshal([]byte(first), &started))
	require.Len(t, started.TraceID, 32)
	require.Contains(t, errOut.String(), "trace: "+started.TraceID)

	f, err := os.Open(filepath.Join(dir, "trace.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	traces := map[string]int{}
	sc2 := bufio.NewScanner(f)
	sc2.Buffer(nil, 64<<20)
	for sc2.Scan() {
		var req struct {
			ResourceSpans []struct {
				ScopeSpans []struct {
					Spans []struct {
						TraceID string `json:"traceId"`
					} `json:"spans"`
				} `json:"scopeSpans"`
			} `json:"resourceSpans"`
		}
		require.NoError(t, json.Unmarshal(sc2.Bytes(), &req))
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					traces[s.TraceID]++
				}
			}
		}
	}
	require.NoError(t, sc2.Err())
	require.Len(t, traces, 1)
	require.Greater(t, traces[started.TraceID], 300, "waves, evictions and every job attempt")
}

// TestTelemetryOffIsNil: no flag and no variable, no telemetry, and the
// helpers pass the sinks through unchanged.
func TestTelemetryOffIsNil(t *testing.T) {
	sc, err := scenarios.Load(filepath.Join("..", "..", "scenarios", "library", "batch-checkpointed.yaml"))
	require.NoError(t, err)
	opts := TelemetryOptions{Getenv: func(string) string { return "" }}
	tel, err := opts.start(&IOStreams{Err: &bytes.Buffer{}}, sc, "test")
	require.NoError(t, err)
	require.Nil(t, tel)
	jw := journal.NewWriter(&bytes.Buffer{})
	defer jw.Close()
	require.Equal(t, []journal.Sink{jw}, tel.sinks(jw))
	require.Nil(t, tel.simObserver())
	tel.attach(nil, nil)
	require.NoError(t, tel.finish(&reports.Report{}, reports.Grading{}))
	require.NoError(t, tel.close())
}

func TestTelemetryFlagErrors(t *testing.T) {
	simSc, err := scenarios.Load(filepath.Join("..", "..", "scenarios", "library", "batch-checkpointed.yaml"))
	require.NoError(t, err)
	ios := &IOStreams{Err: &bytes.Buffer{}}
	none := func(string) string { return "" }

	_, err = (&TelemetryOptions{OTLPListen: ":4318", Getenv: none}).start(ios, simSc, "test")
	require.ErrorContains(t, err, "need provider azure")
	_, err = (&TelemetryOptions{OTLPListenGRPC: ":4317", Getenv: none}).start(ios, simSc, "test")
	require.ErrorContains(t, err, "need provider azure")

	azure := *simSc
	azure.Target.Provider = scenarios.ProviderAzure
	_, err = (&TelemetryOptions{OTLPListen: "0.0.0.0:4318", Getenv: none}).start(ios, &azure, "test")
	require.ErrorContains(t, err, "not loopback")
	_, err = (&TelemetryOptions{OTLPListenGRPC: "0.0.0.0:4317", Getenv: none}).start(ios, &azure, "test")
	require.ErrorContains(t, err, "--otlp-listen-grpc")

	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"}
	_, err = (&TelemetryOptions{Getenv: func(k string) string { return env[k] }}).start(ios, simSc, "test")
	require.ErrorContains(t, err, "OTEL_EXPORTER_OTLP_PROTOCOL")
}
