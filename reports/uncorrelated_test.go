package reports

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/journal"
)

// On real fleets the platform does not say what ran on an evicted VM; the
// correlator reports the evictions it found no workload signal for.
func TestCorrelatorFindingCountsOnce(t *testing.T) {
	a := NewAccumulator()
	for _, e := range []journal.Event{
		{Type: journal.RunStarted, Run: &journal.Run{SchemaVersion: 1, Scenario: "x", Duration: 3600}},
		{T: 10, Type: journal.EvictionRequested, VM: "a"},
		{T: 40, Type: journal.EvictionEvicted, VM: "a"},
		{T: 41, Type: journal.EvictionUncorrelated, VM: "a"},
		{T: 42, Type: journal.EvictionUncorrelated, VM: "a"},
		{T: 10, Type: journal.EvictionRequested, VM: "b"},
		{T: 40, Type: journal.EvictionEvicted, VM: "b", Count: 1},
		// The platform already said b ran work and no signal came: counted
		// once, not twice.
		{T: 41, Type: journal.EvictionUncorrelated, VM: "b"},
		{T: 42, Type: journal.EvictionUncorrelated, VM: "ghost"},
	} {
		a.Emit(&e)
	}
	v, ok := a.Value("evictions.uncorrelated")
	require.True(t, ok)
	require.Equal(t, 2.0, v)
	rep := a.Report()
	for _, ev := range rep.Evictions {
		require.True(t, ev.Uncorrelated, ev.VM)
	}
}
