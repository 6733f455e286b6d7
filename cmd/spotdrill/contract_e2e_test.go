package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/journal"
)

// startEmulator runs `spotdrill emulate` on the library's batch fleet
// without natural evictions, and returns its URL.
func startEmulator(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	raw, err := os.ReadFile(library(t, "batch-checkpointed.yaml"))
	require.NoError(t, err)
	fleet := strings.Replace(string(raw), "evictionRate: 5%", "evictionRate: 0%", 1)
	require.NotEqual(t, string(raw), fleet)
	path := filepath.Join(dir, "fleet.yaml")
	require.NoError(t, os.WriteFile(path, []byte(fleet), 0o644))
	emu := exec.Command(binary, "emulate", "--scenario", path, "--speed", "200", "--no-throttle", "--journal", filepath.Join(dir, "emulator.jsonl"))
	emu.Dir = dir
	stdout, err := emu.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, emu.Start())
	t.Cleanup(func() { _ = emu.Process.Kill(); _ = emu.Wait() })
	first, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	go func() { _, _ = bufio.NewReader(stdout).WriteTo(devNull{}) }()
	url := strings.TrimSpace(strings.TrimPrefix(first, "spotdrill emulator listening on "))
	require.True(t, strings.HasPrefix(url, "http://127.0.0.1:"), first)
	return url
}

type devNull struct{}

func (devNull) Write(p []byte) (int, error) { return len(p), nil }

const setPath = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/spotdrill-emulator/providers/Microsoft.Compute/virtualMachineScaleSets/batch-spot"

func armRequest(t *testing.T, method, url string, body any) map[string]any {
	t.Helper()
	var rd bytes.Buffer
	if body != nil {
		require.NoError(t, json.NewEncoder(&rd).Encode(body))
	}
	req, err := http.NewRequest(method, url, &rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %v", method, url, out)
	return out
}

func setTags(t *testing.T, url string) map[string]any {
	out := armRequest(t, http.MethodGet, url+setPath+"/providers/Microsoft.Resources/tags/default?api-version=2021-04-01", nil)
	return out["properties"].(map[string]any)["tags"].(map[string]any)
}

// gameDayOnEmulator evicts at 1 s and evicts everything at 3 s: by then
// the scale set has replaced the first wave's instances and scaled out.
const gameDayOnEmulator = `apiVersion: spotdrill.dev/v1
kind: GameDay
metadata:
  name: NAME
seed: 5
duration: DURATION
target:
  provider: azure
  newInstances: NEW
  azure:
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroups: [spotdrill-emulator]
    scaleSets: [batch-spot]
waves:
  - name: first
    at: 1s
    evict: {count: 2}
  - name: everything
    at: 3s
    evict: {all: true}
blastRadius:
  maxPoolPercent: 100%
  maxEvictions: 40
`

func writeGameDay(t *testing.T, name, duration, newInstances string) string {
	text := strings.NewReplacer("NAME", name, "DURATION", duration, "NEW", newInstances).Replace(gameDayOnEmulator)
	return writeFile(t, name+".yaml", text)
}

// startRun starts `spotdrill run` on the emulator and waits until its plan
// is in the journal.
func startRun(t *testing.T, url, gameDay, journalPath, lockDir string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"run", gameDay, "--arm-endpoint", url, "--confirm", "any", "--no-tui",
		"--poll-interval", "100ms", "--journal", journalPath}, args...)...)
	cmd.Dir, cmd.Env = t.TempDir(), append(os.Environ(), "SPOTDRILL_LOCK_DIR="+lockDir)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &errb, &errb
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if raw, _ := os.ReadFile(journalPath); bytes.Contains(raw, []byte(`"type":"plan"`)) {
			return cmd, &errb
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no plan in %s: %s", journalPath, errb.String())
	return nil, nil
}

func TestPlanContractAgainstTheEmulator(t *testing.T) {
	for _, newInstances := range []string{"exclude", "include"} {
		t.Run("scale-out with newInstances "+newInstances, func(t *testing.T) {
			url := startEmulator(t)
			dir := t.TempDir()
			journalPath := filepath.Join(dir, "run.jsonl")
			run, out := startRun(t, url, writeGameDay(t, "scale-out", "5s", newInstances), journalPath, filepath.Join(dir, "locks"), "--lease")
			// Another team scales the targeted scale set out after the plan.
			set := armRequest(t, http.MethodGet, url+setPath+"?api-version=2024-07-01", nil)
			capacity := set["sku"].(map[string]any)["capacity"].(float64)
			armRequest(t, http.MethodPatch, url+setPath+"?api-version=2024-07-01", map[string]any{"sku": map[string]any{"capacity": capacity + 3}})
			leased := false
			for deadline := time.Now().Add(10 * time.Second); !leased && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				_, leased = setTags(t, url)[injector.LeaseTag]
			}
			assert.True(t, leased, "the run leases the scale set while it runs")
			require.NoError(t, run.Wait(), out.String())
			assert.NotContains(t, setTags(t, url), injector.LeaseTag, "the lease is gone when the run ends")

			planned, extended, requested, newEvicted := map[string]bool{}, map[string]bool{}, 0, 0
			_, err := journal.ScanFile(journalPath, func(e *journal.Event) error {
				switch e.Type {
				case journal.Planned:
					for _, id := range e.Plan.Targets {
						planned[injector.Key(id)] = true
					}
				case journal.PlanExtended:
					extended[injector.Key(e.VM)] = true
				case journal.EvictionRequested:
					requested++
					if !planned[injector.Key(e.VM)] {
						newEvicted++
						assert.True(t, extended[injector.Key(e.VM)], "%s evicted outside the plan without being named first", e.VM)
					}
				}
				return nil
			})
			require.NoError(t, err)
			require.Len(t, planned, 24)
			if newInstances == "exclude" {
				assert.Zero(t, newEvicted, "new instances are never touched without the opt-in")
				assert.Equal(t, 24, requested, "2, then the 22 planned VMs still running")
			} else {
				assert.GreaterOrEqual(t, newEvicted, 3, "the scale-out's 3 instances (and the replacements) with the opt-in")
			}
		})
	}

	t.Run("two scenario names on the same scale set", func(t *testing.T) {
		url := startEmulator(t)
		dir := t.TempDir()
		locks := filepath.Join(dir, "locks")
		first, out := startRun(t, url, writeGameDay(t, "nightly", "30s", "exclude"), filepath.Join(dir, "a.jsonl"), locks)
		second := exec.Command(binary, "run", writeGameDay(t, "ad-hoc", "5s", "exclude"), "--arm-endpoint", url, "--confirm", "any",
			"--no-tui", "--journal", filepath.Join(dir, "b.jsonl"))
		second.Dir, second.Env = t.TempDir(), append(os.Environ(), "SPOTDRILL_LOCK_DIR="+locks)
		var errb bytes.Buffer
		second.Stderr = &errb
		require.Equal(t, ExitRefused, exitCode(second.Run()), errb.String())
		assert.Contains(t, errb.String(), "another run against the same targets is in progress")
		assert.Contains(t, errb.String(), "scenario nightly")
		require.NoError(t, first.Process.Signal(os.Interrupt))
		require.Equal(t, ExitAborted, exitCode(first.Wait()), out.String())
	})
}
