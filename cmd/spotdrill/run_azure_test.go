package main

import (
	"bytes"
	"errors"
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
	dir := t.TempDir()
	path := filepath.Join(dir, "azure.yaml")
	require.NoError(t, os.WriteFile(path, []byte(azureRunScenario), 0o644))
	clock := azurefake.NewClock(time.Now(), true)
	f := azurefake.New(clock.Now, 5)
	f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "rg-batch", Name: "spot", Priority: "Spot", EvictionPolicy: "Delete",
		Zones: []string{"1", "2"}, Capacity: 10, Replace: 2 * time.Minute})
	f.AddVM(azurefake.VM{ResourceGroup: "rg-batch", Name: "regular", Priority: "Regular"})
	var out, errb bytes.Buffer
	ios := &IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb}
	cmd := NewCmdRun(ios, func(o *RunOptions) error {
		o.Azure.Options = experiments.AzureOptions{Client: azure.Options{Transport: f.Transport(), Credential: &azfake.TokenCredential{}, Clock: clock}}
		return runRun(o)
	})
	journalPath := filepath.Join(dir, "journal.jsonl")
	cmd.SetArgs(append([]string{path, "--runs-dir", dir, "--journal", journalPath, "--no-tui"}, args...))
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

func TestRunOnAzureWithConfirm(t *testing.T) {
	r, fleet, journalPath := runAzure(t, "--confirm")
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "--confirm: evicting real Azure VMs")
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
}
