package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
)

// startLarge starts the real binary on the benchmark game day, long enough
// (seconds of wall time) to be interrupted, and waits for its journal.
func startLarge(t *testing.T) (*exec.Cmd, string, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	journalPath := filepath.Join(dir, "journal.jsonl")
	scenario := longScenario(t, dir)
	cmd := exec.Command(binary, "run", scenario, "--journal", journalPath)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Start())
	// Wait until the run is under way: its first wave's evictions are
	// flushed to the journal within a second of being written.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if raw, _ := os.ReadFile(journalPath); bytes.Contains(raw, []byte(`"type":"vm.running"`)) {
			return cmd, journalPath, &out, &errb
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	t.Fatalf("the run never wrote its journal: %s", errb.String())
	return nil, "", nil, nil
}

// longScenario is the benchmark game day stretched to ten days, so that a
// signal sent at any moment of a test on a loaded machine lands while it
// plays (the run stops long before the end).
func longScenario(t *testing.T, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "scenarios", "bench", "large-fleet.yaml"))
	require.NoError(t, err)
	text := strings.Replace(string(raw), "duration: 24h", "duration: 240h", 1)
	require.Contains(t, text, "duration: 240h")
	path := filepath.Join(dir, "large-fleet-long.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err == nil {
		return 0
	}
	return -1
}

// checkLines asserts that every complete line of a journal parses.
func checkLines(t *testing.T, path string) (lines []string, partial bool) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	partial = len(raw) > 0 && raw[len(raw)-1] != '\n'
	complete := lines
	if partial {
		complete = lines[:len(lines)-1]
	}
	for i, l := range complete {
		var e journal.Event
		require.NoError(t, json.Unmarshal([]byte(l), &e), "line %d", i+1)
	}
	return lines, partial
}

func TestSignalsStopTheRunCleanly(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, journalPath, out, errb := startLarge(t)
			require.NoError(t, cmd.Process.Signal(sig))
			sent := time.Now()
			err := cmd.Wait()
			require.Equal(t, ExitAborted, exitCode(err), "stderr: %s", errb.String())
			require.Less(t, time.Since(sent), 30*time.Second)
			lines, partial := checkLines(t, journalPath)
			require.False(t, partial)
			last := lines[len(lines)-1]
			require.Contains(t, last, `"type":"run.ended"`)
			require.Contains(t, last, `"status":"aborted"`)
			require.Contains(t, strings.Join(lines[len(lines)-4:], "\n"), `"code":"signal"`)
			require.Contains(t, out.String(), "aborted")
			require.Contains(t, errb.String(), "stopping")
		})
	}
}

func TestKilledRunLeavesAReadableJournal(t *testing.T) {
	cmd, journalPath, _, _ := startLarge(t)
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	checkLines(t, journalPath)
	rep, err := reports.Load(journalPath)
	require.NoError(t, err)
	require.True(t, rep.CutShort(), "a killed run's report says it was cut short")
	require.Equal(t, "large-fleet", rep.Run.Scenario)
}

// TestSecondRunOnTheSameTargetsIsRefused: the lock is keyed by the
// targets (here the scenario file's absolute path) and lives in one
// per-user place, so a second run started from another directory, with
// its own runs folder, is refused; it names who holds the targets.
func TestSecondRunOnTheSameTargetsIsRefused(t *testing.T) {
	dir := t.TempDir()
	scenario := longScenario(t, dir)
	locks := filepath.Join(dir, "locks")
	env := append(os.Environ(), "SPOTDRILL_LOCK_DIR="+locks)
	first := exec.Command(binary, "run", scenario, "--journal", filepath.Join(dir, "a.jsonl"))
	first.Dir, first.Env = t.TempDir(), env
	require.NoError(t, first.Start())
	defer func() { _ = first.Process.Kill(); _ = first.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for held := false; !held && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(locks, "*.lock"))
		for _, f := range files {
			raw, _ := os.ReadFile(f)
			held = held || strings.Contains(string(raw), "pid")
		}
	}
	second := exec.Command(binary, "run", scenario, "--journal", filepath.Join(dir, "b.jsonl"), "--seed", "9")
	second.Dir, second.Env = t.TempDir(), env
	var errb bytes.Buffer
	second.Stderr = &errb
	err := second.Run()
	require.Equal(t, ExitRefused, exitCode(err), errb.String())
	require.Contains(t, errb.String(), "another run against the same targets is in progress")
	require.Contains(t, errb.String(), fmt.Sprintf("pid %d", first.Process.Pid))
	require.Contains(t, errb.String(), "a.jsonl")
}

// TestOneJournalPerRun: --journal refuses an existing file unless asked to
// replace it, and a journal another run writes is never shared.
func TestOneJournalPerRun(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "kept.jsonl")
	require.NoError(t, os.WriteFile(existing, []byte("precious\n"), 0o644))
	r := spotdrill(t, "run", library(t, "price-spike.yaml"), "--no-tui", "--journal", existing)
	require.Equal(t, ExitInvalid, r.code, r.stderr)
	require.Contains(t, r.stderr, "already exists")
	raw, err := os.ReadFile(existing)
	require.NoError(t, err)
	require.Equal(t, "precious\n", string(raw), "the existing file is untouched")

	r = spotdrill(t, "run", library(t, "price-spike.yaml"), "--no-tui", "--journal", existing, "--replace-journal")
	require.Equal(t, ExitOK, r.code, r.stderr)
	rep, err := reports.Load(existing)
	require.NoError(t, err)
	require.False(t, rep.CutShort())

	// A long run holds its journal; a second run given the same file and
	// told to replace it is refused rather than interleaving lines.
	shared := filepath.Join(dir, "shared.jsonl")
	first := exec.Command(binary, "run", longScenario(t, dir), "--journal", shared)
	first.Dir, first.Env = t.TempDir(), append(os.Environ(), "SPOTDRILL_LOCK_DIR="+filepath.Join(dir, "locks-a"))
	require.NoError(t, first.Start())
	defer func() { _ = first.Process.Kill(); _ = first.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(shared); err == nil && fi.Size() > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	r = spotdrill(t, "run", library(t, "price-spike.yaml"), "--no-tui", "--journal", shared, "--replace-journal")
	require.Equal(t, ExitRefused, r.code, r.stderr)
	require.Contains(t, r.stderr, "another run is writing it")
}

// TestAFullDiskStopsTheRun: a journal on a full disk aborts the run before
// its first eviction (exit 4): nothing is evicted unrecorded.
func TestAFullDiskStopsTheRun(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full on this system")
	}
	r := spotdrill(t, "run", library(t, "batch-checkpointed.yaml"), "--no-tui", "--journal", "/dev/full")
	require.Equal(t, ExitAborted, r.code, r.stderr)
	require.Contains(t, r.stderr, "no space left on device")
	require.Contains(t, r.stderr, "nothing was evicted unrecorded")
	require.NotContains(t, r.stdout, "SLOs")
}

// TestSIGTERMDuringSetup: a signal while a large fleet is being built stops
// the run within a second, with a journal that reads to its run.ended.
func TestSIGTERMDuringSetup(t *testing.T) {
	dir := t.TempDir()
	scenario := writeFile(t, "big.yaml", `apiVersion: spotdrill.dev/v1
kind: GameDay
metadata: {name: big-setup}
duration: 720h
target: {provider: sim}
fleet:
  evictionRate: 10%
  pools:
    - {name: a, priority: Spot, zones: ["1", "2", "3"], capacity: 100000, slots: 20, spotPrice: 0.1, onDemandPrice: 0.5}
workload:
  jobs: {count: 5000000, duration: {dist: exponential, mean: 1h}}
waves:
  - {name: w, at: 1h, evict: {percent: 10%}}
`)
	journalPath := filepath.Join(dir, "big.jsonl")
	cmd := exec.Command(binary, "run", scenario, "--no-tui", "--journal", journalPath)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "SPOTDRILL_LOCK_DIR="+filepath.Join(dir, "locks"))
	require.NoError(t, cmd.Start())
	time.Sleep(200 * time.Millisecond)
	sent := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err := cmd.Wait()
	took := time.Since(sent)
	t.Logf("exited %v after SIGTERM", took)
	require.Equal(t, ExitAborted, exitCode(err))
	require.Less(t, took, time.Second)
	rep, err := reports.Load(journalPath)
	require.NoError(t, err)
	require.False(t, rep.CutShort(), "the journal was closed, not cut short")
}
