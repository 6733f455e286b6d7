package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/injector/azure"
	"github.com/spotdrill/spotdrill/injector/azure/azurefake"
	"github.com/spotdrill/spotdrill/journal"
)

const azureRunScenario = `apiVersion: spotdrill.dev/v1
kind: GameDay
metadata:
  name: azure-batch
duration: 1h
target:
  provider: azure
  azure:
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroups: [rg-batch]
waves:
  - name: one
    at: 5m
    evict: {count: 3}
  - name: two
    at: 30m
    evict: {count: 2}
slos:
  - objective: "ttr.capacity.p95 <= 5m"
`

// runAzure runs `spotdrill run` in process against a fake subscription on
// a clock that jumps, so the hour of wall clock takes no time.
func runAzure(t *testing.T, args ...string) (result, *azurefake.Fleet, string) {
	t.Helper()
	f, clock := azureRunFleet()
	return runAzureOn(t, f, clock, args...)
}

func azureRunFleet() (*azurefake.Fleet, *azurefake.Clock) {
	clock := azurefake.NewClock(time.Now(), true)
	f := azurefake.New(clock.Now, 5)
	f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "rg-batch", Name: "spot", Priority: "Spot", EvictionPolicy: "Delete",
		Zones: []string{"1", "2"}, Capacity: 10, Replace: 2 * time.Minute})
	f.AddVM(azurefake.VM{ResourceGroup: "rg-batch", Name: "regular", Priority: "Regular"})
	return f, clock
}

func azureOptions(f *azurefake.Fleet, clock *azurefake.Clock) experiments.AzureOptions {
	return experiments.AzureOptions{Client: azure.Options{Transport: f.Transport(), Credential: &azfake.TokenCredential{}, Clock: clock}}
}

func runAzureOn(t *testing.T, f *azurefake.Fleet, clock *azurefake.Clock, args ...string) (result, *azurefake.Fleet, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "azure.yaml")
	require.NoError(t, os.WriteFile(path, []byte(azureRunScenario), 0o644))
	var out, errb bytes.Buffer
	ios := &IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb}
	cmd := NewCmdRun(ios, func(o *RunOptions) error {
		o.Azure.Options = azureOptions(f, clock)
		return runRun(o)
	})
	journalPath := filepath.Join(dir, "journal.jsonl")
	cmd.SetArgs(append([]string{path, "--runs-dir", dir, "--journal", journalPath, "--no-tui", "--lock-dir", filepath.Join(dir, "locks")}, args...))
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	code := ExitOK
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	} else if err != nil {
		code = ExitInternal
	}
	return result{code, out.String(), errb.String()}, f, journalPath
}

// planDigest runs `spotdrill plan --output json` in process against a fake
// subscription and returns the plan's digest.
func planDigest(t *testing.T, f *azurefake.Fleet, clock *azurefake.Clock) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "azure.yaml")
	require.NoError(t, os.WriteFile(path, []byte(azureRunScenario), 0o644))
	var out, errb bytes.Buffer
	cmd := NewCmdPlan(&IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb}, func(o *PlanOptions) error {
		o.Azure.Options = azureOptions(f, clock)
		return planRun(o)
	})
	cmd.SetArgs([]string{path, "--output", "json"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	require.NoError(t, cmd.Execute(), errb.String())
	var p experiments.Plan
	require.NoError(t, json.Unmarshal(out.Bytes(), &p))
	require.True(t, strings.HasPrefix(p.Digest, "sha256:"), p.Digest)
	return p.Digest
}

// TestRunOnAzureConfirmsThePlanDigest: the digest `spotdrill plan` shows is
// what --confirm pins; the run's journal records it with the IDs.
func TestRunOnAzureConfirmsThePlanDigest(t *testing.T) {
	f, clock := azureRunFleet()
	digest := planDigest(t, f, clock)
	r, _, journalPath := runAzureOn(t, f, clock, "--confirm", strings.TrimPrefix(digest, "sha256:")[:12])
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "the plan above is the one confirmed")
	require.Len(t, f.Calls(), 5)
	var plan *journal.Plan
	_, err := journal.ScanFile(journalPath, func(e *journal.Event) error {
		if e.Type == journal.Planned {
			p := *e.Plan
			plan = &p
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, digest, plan.Digest)
	require.Len(t, plan.Targets, 10)
	require.Contains(t, plan.Targets[0], "/virtualMachineScaleSets/spot/virtualMachines/")
}

// TestRunOnAzureRefusesAChangedPlan: a scale-out after the plan was
// confirmed changes the digest, and the run refuses before any call.
func TestRunOnAzureRefusesAChangedPlan(t *testing.T) {
	f, clock := azureRunFleet()
	digest := planDigest(t, f, clock)
	f.ScaleOut("rg-batch", "spot", 1)
	r, _, _ := runAzureOn(t, f, clock, "--confirm", digest)
	require.Equal(t, ExitRefused, r.code, r.stderr)
	require.Contains(t, r.stderr, "does not match this plan")
	require.Empty(t, f.Calls())
	require.NotContains(t, r.stdout+r.stderr, "SLOs", "a refused run grades nothing")
	require.NotContains(t, r.stdout+r.stderr, "score")
}

func TestRunOnAzureWithConfirmAny(t *testing.T) {
	r, fleet, journalPath := runAzure(t, "--confirm", "any")
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "--confirm any: evicting real Azure VMs")
	require.Contains(t, r.stdout, "provider azure")
	require.Len(t, fleet.Calls(), 5)
	raw, err := os.ReadFile(journalPath)
	require.NoError(t, err)
	require.Equal(t, 5, strings.Count(string(raw), `"type":"eviction.requested"`))
	require.Equal(t, 5, strings.Count(string(raw), `"type":"eviction.evicted"`))
	require.Equal(t, 5, strings.Count(string(raw), `"replaces":`))
}

func TestRunOnAzureNeedsConfirm(t *testing.T) {
	r, fleet, _ := runAzure(t)
	require.Equal(t, ExitRefused, r.code)
	require.Contains(t, r.stderr, "needs --confirm")
	require.Empty(t, fleet.Calls(), "nothing is evicted without a confirmation")
	require.NotContains(t, r.stdout, "SLOs", "a refused run grades nothing")
}

// TestReceiverSummaryAgreesWithTheReport: with the OTLP receiver on and no
// worker sending spans, the closing summary's count of uncorrelated
// evictions is the report's.
func TestReceiverSummaryAgreesWithTheReport(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "report.json")
	r, _, _ := runAzure(t, "--confirm", "any", "--otlp-listen", "127.0.0.1:0", "--report", "json", "-o", out)
	require.Equal(t, ExitOK, r.code, r.stderr)
	raw, err := os.ReadFile(out)
	require.NoError(t, err)
	var rep struct {
		Metrics []struct {
			Name  string
			Value *float64
		}
	}
	require.NoError(t, json.Unmarshal(raw, &rep))
	want := -1.0
	for _, m := range rep.Metrics {
		if m.Name == "evictions.uncorrelated" && m.Value != nil {
			want = *m.Value
		}
	}
	require.GreaterOrEqual(t, want, 0.0)
	require.Contains(t, r.stderr, fmt.Sprintf("%d evictions uncorrelated", int(want)))
}

// TestRunReceivesOverGRPC: --otlp-listen-grpc serves the receiver over
// OTLP/gRPC for the run, beside or instead of OTLP/HTTP, and its summary
// closes the run.
func TestRunReceivesOverGRPC(t *testing.T) {
	r, _, _ := runAzure(t, "--confirm", "any", "--otlp-listen-grpc", "127.0.0.1:0", "--otlp-listen", "127.0.0.1:0")
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Regexp(t, `otlp: receiving workers' spans over gRPC on 127\.0\.0\.1:\d+`, r.stderr)
	require.Contains(t, r.stderr, "otlp: receiving workers' spans on http://127.0.0.1:")
	require.Contains(t, r.stderr, "otlp: 0 spans from workers")

	bad, _, _ := runAzure(t, "--confirm", "any", "--otlp-listen-grpc", "0.0.0.0:4317")
	require.Equal(t, ExitInvalid, bad.code, "another host needs a bearer token")
}
