package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/internal/runlock"
)

// binary is the real spotdrill, built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "spotdrill-e2e")
	if err != nil {
		panic(err)
	}
	// Runs lock their targets in one per-user place; the tests' runs lock
	// in a folder of their own (in-process runs here, the binary's per
	// call in spotdrill()).
	if err := os.Setenv(runlock.DirEnv, filepath.Join(dir, "locks")); err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "spotdrill")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		panic("building spotdrill: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func spotdrill(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), runlock.DirEnv+"="+filepath.Join(cmd.Dir, ".locks"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code, out.String(), errb.String()}
}

func library(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "scenarios", "library", name))
	require.NoError(t, err)
	return p
}

// TestLibraryScenarios runs every library game day with the real binary.
// The expected exit codes are part of the library's contract: the CI
// runner scenario is built to fail its SLOs.
func TestLibraryScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "scenarios", "library", "*.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 6)
	want := map[string]int{
		"batch-checkpointed.yaml":       ExitOK,
		"capacity-crunch-fallback.yaml": ExitSLO,
		"ci-runners-no-retry.yaml":      ExitSLO,
		"gpu-training.yaml":             ExitOK,
		"price-spike.yaml":              ExitOK,
		"short-notice-slow-drain.yaml":  ExitSLO,
		"zone-mass-eviction.yaml":       ExitOK,
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			journalPath := filepath.Join(dir, "journal.jsonl")
			live := filepath.Join(dir, "live.json")
			r := spotdrill(t, "run", library(t, name), "--journal", journalPath, "--report", "json", "-o", live)
			expected, known := want[name]
			require.True(t, known, "add %s to the expected exit codes", name)
			require.Equal(t, expected, r.code, "stderr: %s\nstdout: %s", r.stderr, r.stdout)
			require.Contains(t, r.stdout, "SLOs")
			require.Contains(t, r.stdout, "ttr.p95")
			require.Contains(t, r.stderr, journalPath)
			raw, err := os.ReadFile(journalPath)
			require.NoError(t, err)
			lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
			require.Contains(t, lines[0], `"type":"run.started"`)
			require.Contains(t, lines[len(lines)-1], `"type":"run.ended"`)

			// One pass: the run's report comes from the accumulator that
			// watched it, and equals the report read back from the journal.
			reread := filepath.Join(dir, "reread.json")
			rr := spotdrill(t, "report", journalPath, "--format", "json", "-o", reread)
			require.Contains(t, []int{ExitOK, ExitSLO}, rr.code, rr.stderr)
			a, err := os.ReadFile(live)
			require.NoError(t, err)
			b, err := os.ReadFile(reread)
			require.NoError(t, err)
			require.JSONEq(t, string(b), string(a))
		})
	}
}

func TestRunIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	journals := map[string][]byte{}
	for _, c := range []struct{ name, seed string }{{"a", "42"}, {"b", "42"}, {"c", "43"}} {
		p := filepath.Join(dir, c.name+".jsonl")
		r := spotdrill(t, "run", library(t, "batch-checkpointed.yaml"), "--seed", c.seed, "--journal", p)
		require.Contains(t, []int{ExitOK, ExitSLO}, r.code, r.stderr)
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		journals[c.name] = raw
	}
	require.Equal(t, journals["a"], journals["b"], "same scenario and seed: byte-identical journals")
	require.NotEqual(t, journals["a"], journals["c"], "another seed: another journal")
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"missing file", []string{"run", filepath.Join(dir, "nope.yaml")}, []string{"nope.yaml"}},
		{"malformed yaml", []string{"run", write("bad.yaml", "apiVersion: [\nkind: GameDay\n")}, []string{"bad.yaml:"}},
		{"unknown field", []string{"validate", write("unknown.yaml", "apiVersion: spotdrill.dev/v1\nkind: GameDay\nbogus: 1\n")}, []string{"unknown.yaml:3:1", "bogus"}},
		{"unknown flag", []string{"run", "--nope"}, []string{"unknown flag"}},
		{"no file", []string{"run"}, []string{"accepts 1 arg"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := spotdrill(t, tc.args...)
			require.Equal(t, ExitInvalid, r.code, "stderr: %s", r.stderr)
			for _, w := range tc.want {
				require.Contains(t, r.stderr, w)
			}
			require.NotContains(t, r.stderr, "panic")
		})
	}
}

func TestValidateLibrary(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "scenarios", "library", "*.yaml"))
	require.NoError(t, err)
	for i := range files {
		files[i], _ = filepath.Abs(files[i])
	}
	r := spotdrill(t, append([]string{"validate"}, files...)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	require.Equal(t, len(files), strings.Count(r.stdout, ": ok"))
}

func TestVersion(t *testing.T) {
	r := spotdrill(t, "version")
	require.Equal(t, ExitOK, r.code)
	require.Contains(t, r.stdout, "spotdrill "+Version)
}
