package sweep

import (
	"bytes"
	"context"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/scenarios"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func library(t testing.TB, name string) (string, []byte) {
	t.Helper()
	path := filepath.Join("..", "..", "scenarios", "library", name)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return path, data
}

func newSweep(t testing.TB, name string, seeds int64, grid []Param, goal Goal) *Sweep {
	t.Helper()
	path, data := library(t, name)
	s, err := New(Spec{File: path, Data: data, Seeds: scenarios.SeedRange{From: 1, To: seeds}, Grid: grid, Goal: goal})
	require.NoError(t, err)
	return s
}

func resultJSON(t testing.TB, h Header, runs []RunResult) []byte {
	t.Helper()
	res, err := Aggregate(h, runs)
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, WriteJSON(&b, res))
	return b.Bytes()
}

func TestStatistics(t *testing.T) {
	t.Run("a constant metric has a zero-width interval", func(t *testing.T) {
		st := statOf([]float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1})
		require.NotNil(t, st.CI95)
		assert.Equal(t, 0.1, *st.Mean)
		assert.Equal(t, [2]float64{0.1, 0.1}, *st.CI95)
		assert.Equal(t, 0.1, *st.P50)
		assert.Equal(t, 0.1, *st.P95)
	})
	t.Run("t interval of a known sample", func(t *testing.T) {
		// mean 3, sd sqrt(2.5), n 5, t(0.975, 4) = 2.776445
		st := statOf([]float64{1, 2, 3, 4, 5})
		half := 2.7764451051977987 * math.Sqrt(2.5) / math.Sqrt(5)
		assert.InDelta(t, 3-half, st.CI95[0], 1e-9)
		assert.InDelta(t, 3+half, st.CI95[1], 1e-9)
		assert.Equal(t, 3.0, *st.P50)
		assert.Equal(t, 5.0, *st.P95)
	})
	t.Run("unmeasured runs are left out", func(t *testing.T) {
		st := statOf([]float64{math.NaN(), 4, math.NaN()})
		assert.Equal(t, 1, st.N)
		assert.Equal(t, 4.0, *st.Mean)
		assert.Nil(t, st.CI95, "one run gives no interval")
		assert.Equal(t, 0, statOf([]float64{math.NaN()}).N)
	})
	t.Run("Wilson interval", func(t *testing.T) {
		for _, tc := range []struct {
			k, n   int
			lo, hi float64
		}{
			// An SLO that always fails: probability 1, lower bound n/(n+z²).
			{20, 20, 20 / (20 + z95*z95), 1},
			{0, 20, 0, z95 * z95 / (20 + z95*z95)},
			// Wilson (1927), as tabulated by Newcombe (1998): 81/263.
			{81, 263, 0.2553, 0.3662},
		} {
			ci := wilson(tc.k, tc.n)
			assert.InDelta(t, tc.lo, ci[0], 1e-4, "%d/%d", tc.k, tc.n)
			assert.InDelta(t, tc.hi, ci[1], 1e-4, "%d/%d", tc.k, tc.n)
		}
	})
	t.Run("intervals stay inside a metric's range", func(t *testing.T) {
		st := statOf([]float64{1, 1, 1, 0.98})
		st.clamp(domain("jobs.successRate"))
		assert.LessOrEqual(t, st.CI95[1], 1.0)
	})
}

func TestAnSLOThatAlwaysFails(t *testing.T) {
	// ci-runners-no-retry is built to fail its SLOs.
	s := newSweep(t, "ci-runners-no-retry.yaml", 6, nil, Goal{})
	runs, err := s.Play(context.Background(), Options{Parallel: 2})
	require.NoError(t, err)
	res, err := Aggregate(s.Header(), runs)
	require.NoError(t, err)
	require.Len(t, res.Points, 1)
	pr := res.Points[0]
	assert.Equal(t, 0, pr.AllMet.Count)
	var always *SLOResult
	for i := range pr.SLOs {
		if pr.SLOs[i].Breaches == pr.Runs {
			always = &pr.SLOs[i]
		}
	}
	require.NotNil(t, always, "an SLO breached in every run: %+v", pr.SLOs)
	assert.Equal(t, 1.0, always.BreachProbability)
	assert.InDelta(t, 6/(6+z95*z95), always.CI95[0], 1e-12)
	assert.Equal(t, 1.0, always.CI95[1])
}

// TestDeterministicAcrossWorkersAndShards plays one sweep on 1, 2 and 8
// workers and in 1, 3 and 7 shards: every way gives the same bytes.
func TestDeterministicAcrossWorkersAndShards(t *testing.T) {
	grid := []Param{{Path: "workload.drainTime", Values: []string{"5s", "20s"}}, {Path: "fleet.evictionRate", Values: []string{"5%", "20%"}}}
	goal := Goal{Metric: "lostWork.fraction", Probability: 0.5}
	s := newSweep(t, "short-notice-slow-drain.yaml", 5, grid, goal)
	var want []byte
	for _, parallel := range []int{1, 2, 8} {
		runs, err := s.Play(context.Background(), Options{Parallel: parallel})
		require.NoError(t, err)
		got := resultJSON(t, s.Header(), runs)
		if want == nil {
			want = got
			continue
		}
		require.Equal(t, string(want), string(got), "parallel %d", parallel)
	}
	for _, n := range []int{1, 3, 7} {
		var docs []*ShardDoc
		var paths []string
		for i := n; i >= 1; i-- { // in any order
			runs, err := s.Play(context.Background(), Options{Parallel: 2, Shard: Shard{Index: i, Count: n}})
			require.NoError(t, err)
			// Through the file format, as merge reads it.
			path := filepath.Join(t.TempDir(), "shard.json")
			require.NoError(t, WriteFile(path, nil, func(w io.Writer) error { return WriteJSON(w, NewShardDoc(s.Header(), Shard{Index: i, Count: n}, runs)) }))
			doc, err := ReadShard(path)
			require.NoError(t, err)
			docs, paths = append(docs, doc), append(paths, path)
		}
		h, runs, err := Merge(paths, docs)
		require.NoError(t, err)
		require.Equal(t, string(want), string(resultJSON(t, h, runs)), "%d shards", n)
	}
}

func TestMergeRefusesMissingDuplicateAndForeignShards(t *testing.T) {
	s := newSweep(t, "batch-checkpointed.yaml", 3, nil, Goal{})
	other := newSweep(t, "batch-checkpointed.yaml", 4, nil, Goal{})
	shard := func(sw *Sweep, i, n int) *ShardDoc {
		runs, err := sw.Play(context.Background(), Options{Shard: Shard{Index: i, Count: n}})
		require.NoError(t, err)
		return NewShardDoc(sw.Header(), Shard{Index: i, Count: n}, runs)
	}
	a, b, c := shard(s, 1, 3), shard(s, 2, 3), shard(s, 3, 3)
	for _, tc := range []struct {
		name  string
		docs  []*ShardDoc
		paths []string
		err   string
	}{
		{"missing", []*ShardDoc{a, c}, []string{"a", "c"}, "missing shard 2/3"},
		{"duplicate", []*ShardDoc{a, b, b, c}, []string{"a", "b", "b2", "c"}, `shard 2/3 is given twice: "b" and "b2"`},
		{"foreign", []*ShardDoc{a, b, shard(other, 3, 3)}, []string{"a", "b", "x"}, `"x" is a shard of another sweep`},
		{"other split", []*ShardDoc{a, shard(s, 2, 2)}, []string{"a", "y"}, "shards of different splits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Merge(tc.paths, tc.docs)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
		})
	}
	t.Run("all three", func(t *testing.T) {
		_, runs, err := Merge([]string{"c", "a", "b"}, []*ShardDoc{c, a, b})
		require.NoError(t, err)
		assert.Len(t, runs, 3)
	})
}

func TestBadSetsAreRefusedWithThePath(t *testing.T) {
	path, data := library(t, "batch-checkpointed.yaml")
	for _, tc := range []struct {
		name string
		set  Param
		err  string
	}{
		{"unknown field", Param{Path: "fleet.evictionRat", Values: []string{"5%"}}, "no such field"},
		{"a mapping", Param{Path: "workload.checkpoint", Values: []string{"5m"}}, "a mapping cannot be swept"},
		{"a list", Param{Path: "fleet.zones", Values: []string{"1"}}, "a list or mapping cannot be swept"},
		{"bad value", Param{Path: "fleet.evictionRate", Values: []string{"5%", "lots"}}, "--set fleet.evictionRate=lots"},
		{"out of range", Param{Path: "fleet.pools[batch-spot].capacity", Values: []string{"-3"}}, "fleet.pools[0].capacity"},
		{"no such pool", Param{Path: "fleet.pools[gpu].capacity", Values: []string{"3"}}, `no item named "gpu" (expected one of: batch-spot)`},
		{"index out of range", Param{Path: "waves[9].at", Values: []string{"1h"}}, "index 9 is outside the list of 3"},
		{"not a scalar value", Param{Path: "fleet.evictionRate", Values: []string{"[1, 2]"}}, "is not a scalar"},
		{"a run past its length", Param{Path: "waves[last-call].at", Values: []string{"9h"}}, "waves[2].at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Spec{File: path, Data: data, Seeds: scenarios.SeedRange{From: 1, To: 1}, Grid: []Param{tc.set}})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
		})
	}
}

func TestParseSetAndShard(t *testing.T) {
	p, err := ParseSet("workload.checkpoint.interval=2m, 5m,10m")
	require.NoError(t, err)
	assert.Equal(t, Param{Path: "workload.checkpoint.interval", Values: []string{"2m", "5m", "10m"}}, p)
	for _, bad := range []string{"", "=1", "fleet.evictionRate", "fleet.evictionRate=1,,2", "fleet..x=1", "fleet.pools[=1"} {
		_, err := ParseSet(bad)
		assert.Error(t, err, bad)
	}
	env := func(v string) func(string) string { return func(string) string { return v } }
	sh, err := ParseShard("k8s/4", env("3"))
	require.NoError(t, err)
	assert.Equal(t, Shard{Index: 4, Count: 4}, sh)
	for _, bad := range []string{"0/3", "4/3", "a/3", "1/0", "k8s/3"} {
		_, err := ParseShard(bad, env(""))
		assert.Error(t, err, bad)
	}
	_, err = ParseShard("k8s/3", env("3"))
	assert.ErrorContains(t, err, "JOB_COMPLETION_INDEX")
}

func TestTableGolden(t *testing.T) {
	grid := []Param{{Path: "workload.drainTime", Values: []string{"5s", "20s"}}}
	s := newSweep(t, "short-notice-slow-drain.yaml", 8, grid, Goal{Metric: "lostWork.fraction", SubjectTo: []string{"ttr.p95 <= 3m"}, Probability: 0.5})
	runs, err := s.Play(context.Background(), Options{})
	require.NoError(t, err)
	res, err := Aggregate(s.Header(), runs)
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, WriteTable(&b, res, ShownMetrics(res, nil)))
	golden := filepath.Join("testdata", "table.golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, b.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run with -update")
	assert.Equal(t, string(want), b.String())
	require.NotNil(t, res.Best)
	assert.True(t, res.Best.Found)
	assert.Equal(t, map[string]string{"workload.drainTime": "5s"}, res.Best.Params)
}
