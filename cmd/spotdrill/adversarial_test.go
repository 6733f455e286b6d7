package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAdversarialInputs runs the real binary on inputs a careless or hostile
// pull request might carry: each is refused with exit 2 and a message that
// names the problem, quickly, without a panic, a hang or a file written
// outside its folder.
func TestAdversarialInputs(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile(library(t, "price-spike.yaml"))
	require.NoError(t, err)
	withName := func(name string) string {
		return writeFile(t, "named.yaml", strings.Replace(string(raw), "name: price-spike", "name: "+name, 1))
	}
	fifo := filepath.Join(dir, "fifo.yaml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	binary := filepath.Join(dir, "binary.yaml")
	require.NoError(t, os.WriteFile(binary, []byte("\x00\x01\x02\xff\xfe garbage \x1b[2J"), 0o644))
	var waves strings.Builder
	waves.WriteString(string(raw[:strings.Index(string(raw), "waves:")]) + "waves:\n")
	for i := range 10_001 {
		waves.WriteString("  - {name: w" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + "-" + strconv.Itoa(i) + ", at: 1m, evict: {count: 1}}\n")
	}
	bad := func(name string) string {
		p, err := filepath.Abs(filepath.Join("..", "..", "scenarios", "testdata", "bad", name))
		require.NoError(t, err)
		return p
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"an endless device", []string{"run", "/dev/zero", "--no-tui"}, "larger than the 1 MiB limit"},
		{"a FIFO with no writer", []string{"validate", fifo}, "the scenario file is empty"},
		{"a directory", []string{"run", dir, "--no-tui"}, "is a directory"},
		{"binary garbage", []string{"validate", binary}, "binary.yaml"},
		{"a name that climbs out of runs/", []string{"run", withName(`"../../x"`), "--no-tui", "--runs-dir", filepath.Join(dir, "runs")}, `metadata.name: "../../x" has '/'`},
		{"a name of 300 characters", []string{"run", withName(strings.Repeat("a", 300)), "--no-tui"}, "metadata.name: \"" + strings.Repeat("a", 300) + "\" is 300 characters long"},
		{"huge numbers", []string{"run", bad("hostile-values.yaml"), "--no-tui"}, "9223372036854775807 VMs are more than a pool may have"},
		{"durations past a year", []string{"validate", bad("hostile-durations.yaml")}, `"1000000h" is longer than a year`},
		{"too many waves", []string{"validate", writeFile(t, "waves.yaml", waves.String())}, "10001 waves are more than a game day may have"},
		{"deep nesting", []string{"validate", writeFile(t, "deep.yaml", "a: "+strings.Repeat("[", 100_000))}, "nesting is deeper than 64 levels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := spotdrill(t, tc.args...)
			require.Equal(t, ExitInvalid, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			require.Contains(t, r.stdout+r.stderr, tc.want)
			require.NotContains(t, r.stderr, "panic")
			require.Less(t, time.Since(start), 10*time.Second)
			requireNoRawControls(t, "output", r.stdout+r.stderr)
		})
	}
	_, err = os.Stat(filepath.Join(dir, "x"))
	require.ErrorIs(t, err, os.ErrNotExist, "nothing was written outside the runs folder")
}

// TestScenarioFromAPipeIsReadOnce: a scenario given through a pipe (as
// <(cat f) or /dev/stdin gives it) is read once and runs.
func TestScenarioFromAPipeIsReadOnce(t *testing.T) {
	f, err := os.Open(library(t, "price-spike.yaml"))
	require.NoError(t, err)
	defer f.Close()
	dir := t.TempDir()
	cmd := exec.Command(binary, "run", "/dev/stdin", "--no-tui", "--journal", filepath.Join(dir, "j.jsonl"))
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "SPOTDRILL_LOCK_DIR="+filepath.Join(dir, "locks"))
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd.Stdin = r
	go func() { _, _ = io.Copy(w, f); w.Close() }()
	out, err := cmd.CombinedOutput()
	r.Close()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "spotdrill · price-spike")
}
