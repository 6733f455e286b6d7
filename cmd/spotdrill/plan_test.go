package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// updating reports -update: the flag teatest's golden package defines,
// which this package's golden files share (a second definition would
// panic).
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updating() {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run with -update to create %s", path)
	require.Equal(t, string(want), got)
}

func TestPlanGolden(t *testing.T) {
	r := spotdrill(t, "plan", library(t, "batch-checkpointed.yaml"))
	require.Equal(t, ExitOK, r.code, r.stderr)
	golden(t, "plan-batch-checkpointed.txt", r.stdout)
}

func TestPlanJSON(t *testing.T) {
	r := spotdrill(t, "plan", library(t, "zone-mass-eviction.yaml"), "--output", "json")
	require.Equal(t, ExitOK, r.code, r.stderr)
	var p struct {
		Targets []struct{ Name, Pool, Zone string }
		Waves   []struct {
			Name      string
			Count     int
			Eligible  int
			Fault     bool
			ZoneShare map[string]float64
		}
		Problems []string
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &p))
	require.Len(t, p.Targets, 45)
	require.Len(t, p.Waves, 2)
	require.Equal(t, 15, p.Waves[0].Count)
	require.Equal(t, 1.0, p.Waves[0].ZoneShare["1"])
	require.True(t, p.Waves[1].Fault)
	require.Empty(t, p.Problems)
}

func TestPlanRefusesBrokenLimits(t *testing.T) {
	scenario := filepath.Join(t.TempDir(), "too-wide.yaml")
	require.NoError(t, os.WriteFile(scenario, []byte(`apiVersion: spotdrill.dev/v1
kind: GameDay
metadata: {name: too-wide}
duration: 1h
target: {provider: sim}
fleet:
  pools:
    - {name: spot, priority: Spot, zones: ["1"], capacity: 10, spotPrice: 0.05, onDemandPrice: 0.2}
waves:
  - {name: everything, at: 10m, evict: {all: true}}
  - {name: sliver, at: 20m, evict: {percent: 1%}}
blastRadius:
  maxPoolPercent: 50%
`), 0o644))
	r := spotdrill(t, "plan", scenario)
	require.Equal(t, ExitRefused, r.code)
	require.Contains(t, r.stdout, "REFUSED")
	require.Contains(t, r.stdout, `wave "everything": evicts at least 10 of the 10 VMs of pool spot at once (100%); maxPoolPercent is 50%`)
	require.Contains(t, r.stdout, `wave "sliver": 1% of 10 eligible VMs rounds to none`)

	// The run refuses the same plan before evicting anything.
	journalPath := filepath.Join(t.TempDir(), "j.jsonl")
	r = spotdrill(t, "run", scenario, "--journal", journalPath)
	require.Equal(t, ExitRefused, r.code, r.stderr)
	raw, err := os.ReadFile(journalPath)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "eviction.requested")
	require.Contains(t, string(raw), "refused for safety")
}
