package scenarios

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseWithSets(t *testing.T) {
	data, err := os.ReadFile("../scenarios/library/batch-checkpointed.yaml")
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		sets []Set
		// check inspects the parsed scenario; err is a part of the error.
		check func(t *testing.T, s *Scenario)
		err   string
	}{
		{name: "a scalar", sets: []Set{{"fleet.evictionRate", "20%"}},
			check: func(t *testing.T, s *Scenario) { assert.InDelta(t, 0.2, float64(s.Fleet.EvictionRate), 1e-12) }},
		{name: "a list item by name", sets: []Set{{"fleet.pools[batch-spot].capacity", "48"}},
			check: func(t *testing.T, s *Scenario) { assert.Equal(t, 48, s.Fleet.Pools[0].Capacity) }},
		{name: "a list item by index", sets: []Set{{"waves[1].at", "2h"}},
			check: func(t *testing.T, s *Scenario) { assert.Equal(t, "2h", s.Waves[1].At.String()) }},
		{name: "a key the file does not write", sets: []Set{{"workload.drainTime", "15s"}},
			check: func(t *testing.T, s *Scenario) { assert.Equal(t, "15s", s.Workload.DrainTime.String()) }},
		{name: "sets apply in order", sets: []Set{{"seed", "7"}, {"seed", "8"}},
			check: func(t *testing.T, s *Scenario) { assert.Equal(t, int64(8), s.Seed) }},
		{name: "a value the file could not hold", sets: []Set{{"workload.checkpoint.interval", "-5m"}},
			err: "(the value comes from --set workload.checkpoint.interval=-5m)"},
		{name: "a value of the wrong type", sets: []Set{{"fleet.pools[0].capacity", "many"}},
			err: "batch-checkpointed.yaml:"},
		{name: "an unknown field", sets: []Set{{"fleet.evictionRat", "5%"}}, err: "no such field"},
		{name: "a mapping", sets: []Set{{"workload.checkpoint", "5m"}}, err: "a mapping cannot be swept"},
		{name: "an unknown parent", sets: []Set{{"workload.jobs.retries.max", "3"}}, err: "no such field"},
		{name: "a parent the file does not write", sets: []Set{{"fleet.pools[0].fallback.maxInstances", "3"}}, err: "the scenario has no fleet.pools[0].fallback"},
		{name: "a selector on a mapping", sets: []Set{{"fleet[0].notice", "3s"}}, err: "is not a list"},
		{name: "a flow value", sets: []Set{{"fleet.evictionRate", "{a: 1}"}}, err: "is not a scalar"},
		{name: "an alias", sets: []Set{{"fleet.evictionRate", "*x"}}, err: "anchor or alias"},
		{name: "two lines", sets: []Set{{"fleet.evictionRate", "5%\nseed: 3"}}, err: "spans lines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseWith(data, "batch-checkpointed.yaml", tc.sets)
			if tc.err != "" {
				require.Error(t, err)
				var e *Errors
				require.True(t, errors.As(err, &e), "%T", err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			tc.check(t, s)
		})
	}
}

func TestSweepSection(t *testing.T) {
	base, err := os.ReadFile("../scenarios/sweeps/checkpoint-interval.yaml")
	require.NoError(t, err)
	s, err := Parse(base, "checkpoint-interval.yaml")
	require.NoError(t, err)
	require.NotNil(t, s.Sweep)
	assert.Equal(t, "cost.perJob", s.Sweep.Minimize)
	assert.Equal(t, []string{"1m", "2m", "5m", "10m", "20m", "40m"}, s.Sweep.Set[0].Values)

	for _, tc := range []struct{ set, err string }{
		{"sweep.seeds", `sweep.seeds: "0" holds no seeds`},
		{"sweep.minimize", "sweep.minimize: unknown metric"},
		{"sweep.probability", "sweep.probability: 150.00% is outside"},
	} {
		value := map[string]string{"sweep.seeds": `"0"`, "sweep.minimize": "cost.perjob", "sweep.probability": "150%"}[tc.set]
		_, err := ParseWith(base, "checkpoint-interval.yaml", []Set{{tc.set, value}})
		require.Error(t, err, tc.set)
		assert.Contains(t, err.Error(), tc.err)
	}
}

func TestParseSeeds(t *testing.T) {
	for in, want := range map[string]SeedRange{"100": {1, 100}, "100-199": {100, 199}, " 5 - 5 ": {5, 5}} {
		got, err := ParseSeeds(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got)
	}
	for _, bad := range []string{"", "0", "-3", "5-4", "a", "1-b", "1-2000000"} {
		_, err := ParseSeeds(bad)
		assert.Error(t, err, bad)
	}
}

// FuzzParseWith checks that no set makes the parser panic, and that every
// error is an *Errors.
func FuzzParseWith(f *testing.F) {
	data, err := os.ReadFile("../scenarios/library/batch-checkpointed.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add("fleet.pools[batch-spot].capacity", "12")
	f.Add("waves[0].at", "10m")
	f.Add("fleet.evictionRate", "{x: [1, 2]}")
	f.Add("workload.jobs.duration", "20m")
	f.Fuzz(func(t *testing.T, path, value string) {
		_, err := ParseWith(data, "fuzz.yaml", []Set{{path, value}})
		if err != nil {
			var e *Errors
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not *Errors", err, err)
			}
		}
	})
}

func TestKubernetesTargetValidation(t *testing.T) {
	base := "apiVersion: spotdrill.dev/v1\nkind: GameDay\nmetadata: {name: x}\nduration: 1h\ntarget:\n  provider: azure\n  azure:\n    subscription: s\n    kubernetes: {selector: \"SEL\", namespaces: [NS]}\n"
	for _, tc := range []struct{ sel, ns, err string }{
		{"app=batch,tier!=web", "batch", ""},
		{"a in (b", "batch", "target.azure.kubernetes.selector"},
		{"app=batch", "Bad_NS", "target.azure.kubernetes.namespaces[0]"},
	} {
		text := strings.NewReplacer("SEL", tc.sel, "NS", tc.ns).Replace(base)
		s, err := Parse([]byte(text), "k.yaml")
		if tc.err == "" {
			require.NoError(t, err)
			assert.Equal(t, "app=batch,tier!=web", s.Target.Azure.Kubernetes.Selector)
			continue
		}
		require.Error(t, err)
		assert.Contains(t, err.Error(), "k.yaml:9:")
		assert.Contains(t, err.Error(), tc.err)
	}
}
