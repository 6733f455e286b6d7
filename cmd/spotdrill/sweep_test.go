package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sweepFile(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "scenarios", "sweeps", "checkpoint-interval.yaml"))
	require.NoError(t, err)
	return p
}

// TestSweepShardsAsAnIndexedJob runs each shard as its own process of the
// real binary, as a Kubernetes Indexed Job does (JOB_COMPLETION_INDEX set,
// --shard k8s/n), merges them, and compares the result with one process
// playing the whole sweep: the same bytes, and the same best point.
func TestSweepShardsAsAnIndexedJob(t *testing.T) {
	file := sweepFile(t)
	args := []string{"sweep", file, "--seeds", "12", "--set", "workload.checkpoint.interval=2m,10m,40m", "--output", "json"}
	whole := spotdrill(t, append(args, "--parallel", "2")...)
	require.Equal(t, ExitOK, whole.code, whole.stderr)

	dir := t.TempDir()
	const shards = 3
	var files []string
	for i := range shards {
		out := filepath.Join(dir, "shard-"+strconv.Itoa(i)+".json")
		cmd := exec.Command(binary, append(args, "--shard", "k8s/"+strconv.Itoa(shards), "-o", out, "--parallel", "1")...)
		cmd.Env = append(os.Environ(), "JOB_COMPLETION_INDEX="+strconv.Itoa(i))
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, string(b))
		files = append(files, out)
	}
	merged := spotdrill(t, append([]string{"sweep", "merge", "--output", "json"}, files...)...)
	require.Equal(t, ExitOK, merged.code, merged.stderr)
	require.Equal(t, whole.stdout, merged.stdout, "a merged sweep must be byte-identical to one process")

	var res struct {
		Best struct {
			Found  bool              `json:"found"`
			Params map[string]string `json:"params"`
		} `json:"best"`
	}
	require.NoError(t, json.Unmarshal([]byte(merged.stdout), &res))
	assert.True(t, res.Best.Found)
	assert.Equal(t, "10m", res.Best.Params["workload.checkpoint.interval"])

	t.Run("a missing shard is named", func(t *testing.T) {
		r := spotdrill(t, "sweep", "merge", files[0], files[2])
		assert.Equal(t, ExitInvalid, r.code)
		assert.Contains(t, r.stderr, "missing shard 2/3")
	})
	t.Run("a duplicate shard is named", func(t *testing.T) {
		r := spotdrill(t, "sweep", "merge", files[0], files[1], files[1], files[2])
		assert.Equal(t, ExitInvalid, r.code)
		assert.Contains(t, r.stderr, "shard 2/3 is given twice")
	})
	t.Run("the index must fit the count", func(t *testing.T) {
		cmd := exec.Command(binary, append(args, "--shard", "k8s/3")...)
		cmd.Env = append(os.Environ(), "JOB_COMPLETION_INDEX=3")
		b, err := cmd.CombinedOutput()
		require.Error(t, err)
		assert.Equal(t, ExitInvalid, exitCode(err))
		assert.Contains(t, string(b), "JOB_COMPLETION_INDEX is 3")
	})
}

func TestSweepCommand(t *testing.T) {
	file := sweepFile(t)
	t.Run("the file's sweep section, as a table", func(t *testing.T) {
		r := spotdrill(t, "sweep", file, "--seeds", "10")
		require.Equal(t, ExitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, "6 grid points × seeds 10 = 60 runs")
		assert.Contains(t, r.stdout, "lowest mean cost.perJob")
		assert.Empty(t, r.stderr, "no progress line when stderr is not a terminal")
	})
	t.Run("csv", func(t *testing.T) {
		r := spotdrill(t, "sweep", file, "--seeds", "3", "--set", "workload.checkpoint.interval=5m,10m", "--output", "csv")
		require.Equal(t, ExitOK, r.code, r.stderr)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		require.Len(t, lines, 3)
		assert.True(t, strings.HasPrefix(lines[0], "workload.checkpoint.interval,runs,allMet,"))
		assert.True(t, strings.HasPrefix(lines[2], "10m,3,"))
	})
	t.Run("no point meets the goal: exit 3", func(t *testing.T) {
		r := spotdrill(t, "sweep", file, "--seeds", "5", "--set", "workload.checkpoint.interval=40m")
		assert.Equal(t, ExitSLO, r.code, r.stdout+r.stderr)
		assert.Contains(t, r.stdout, "No grid point met all SLOs")
	})
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"unknown path", []string{"--set", "workload.checkpoint.intervall=1m"}, "no such field"},
		{"bad value", []string{"--set", "workload.checkpoint.interval=1m,often"}, "workload.checkpoint.interval"},
		{"bad seeds", []string{"--seeds", "10-1"}, "holds no seeds"},
		{"bad metric", []string{"--minimize", "cost.perjob"}, "unknown metric"},
		{"both goals", []string{"--minimize", "cost.perJob", "--maximize", "jobs.successRate"}, "expected one of them"},
		{"bad SLO", []string{"--subject-to", "be fast"}, `no SLO named "be fast"`},
		{"shard without json", []string{"--shard", "1/2"}, "expected --output json"},
		{"bad output", []string{"--output", "pdf"}, "expected text, json, csv or html"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := spotdrill(t, append([]string{"sweep", file, "--seeds", "2"}, tc.args...)...)
			assert.Equal(t, ExitInvalid, r.code, r.stdout+r.stderr)
			assert.Contains(t, r.stderr, tc.err)
		})
	}
}
