package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/internal/emulator"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
)

// emulatedFleet is a small fleet with no market evictions: only the tests
// evict.
const emulatedFleet = `apiVersion: spotdrill.dev/v1
kind: GameDay
metadata:
  name: emulated
duration: 1h
target:
  provider: sim
fleet:
  notice: 30s
  noticeDelay: 1s
  pools:
    - name: batch-spot
      priority: Spot
      zones: ["1", "2"]
      capacity: 3
      evictionPolicy: Delete
      provisioning: {latency: 30s}
      autoscale: {delay: 10s}
    - name: render
      priority: Spot
      capacity: 1
`

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

// emulating runs `spotdrill emulate` in process until stop is called,
// which returns the command's exit code.
func emulating(t *testing.T, opts *EmulateOptions) (url string, stop func() int) {
	t.Helper()
	var out, errb bytes.Buffer
	opts.IO = &IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb}
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.Speed == 0 {
		opts.Speed = 1
	}
	if opts.PageSize == 0 {
		opts.PageSize = emulator.DefaultPageSize
	}
	if opts.Subscription == "" {
		opts.Subscription, opts.ResourceGroup = emulator.DefaultSubscription, emulator.DefaultResourceGroup
	}
	ready := make(chan string, 1)
	opts.ready = func(u string) { ready <- u }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- emulateRun(ctx, opts) }()
	select {
	case url = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("emulate ended before serving: %v\n%s", err, errb.String())
	}
	var stopped bool
	var code int
	stop = func() int {
		if !stopped {
			stopped = true
			cancel()
			code = emulateExit(<-done)
			t.Logf("emulate output:\n%s%s", out.String(), errb.String())
		}
		return code
	}
	t.Cleanup(func() { stop() })
	return url, stop
}

func emulateExit(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitInternal
}

func TestEmulateRefusesBadFlags(t *testing.T) {
	fleet := writeFile(t, "fleet.yaml", emulatedFleet)
	azureOnly := writeFile(t, "azure.yaml", emulatorGameDay)
	cases := map[string][]string{
		"no scenario":              {"emulate"},
		"zero speed":               {"emulate", "--scenario", fleet, "--speed", "0"},
		"tls without a cert":       {"emulate", "--scenario", fleet, "--tls"},
		"cert without tls":         {"emulate", "--scenario", fleet, "--cert-out", "x.pem"},
		"unknown standalone":       {"emulate", "--scenario", fleet, "--standalone", "ghost"},
		"a scenario with no fleet": {"emulate", "--scenario", azureOnly},
		"a missing file":           {"emulate", "--scenario", filepath.Join(t.TempDir(), "nope.yaml")},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Execute(args, &IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb})
			assert.Equal(t, ExitInvalid, code, errb.String())
		})
	}
}

// seDoc is the part of a Scheduled Events document the tests read.
type seDoc struct {
	Events []struct{ EventId, EventStatus string }
}

func scheduledEvents(t *testing.T, client *http.Client, base, vm string) seDoc {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/vms/"+vm+"/metadata/scheduledevents?api-version=2020-07-01", nil)
	require.NoError(t, err)
	req.Header.Set("Metadata", "true")
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var d seDoc
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&d))
	return d
}

func acknowledge(t *testing.T, base, vm, id string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/vms/"+vm+"/metadata/scheduledevents?api-version=2020-07-01",
		strings.NewReader(`{"StartRequests":[{"EventId":"`+id+`"}]}`))
	require.NoError(t, err)
	req.Header.Set("Metadata", "true")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func emulatorClients(t *testing.T, endpoint string, transport *http.Client) *armcompute.ClientFactory {
	t.Helper()
	o := &arm.ClientOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: endpoint, Audience: "https://management.azure.com"},
			}},
			InsecureAllowCredentialWithHTTP: true,
		},
		DisableRPRegistration: true,
	}
	if transport != nil {
		o.Transport = transport
	}
	f, err := armcompute.NewClientFactory(emulator.DefaultSubscription, &azfake.TokenCredential{}, o)
	require.NoError(t, err)
	return f
}

// TestEmulateGradesDrainHandlers evicts two VMs: one whose handler
// acknowledges in time, one nobody watches. The journal it writes
// reports like any other, with the drained phase.
func TestEmulateGradesDrainHandlers(t *testing.T) {
	jpath := filepath.Join(t.TempDir(), "emulator.jsonl")
	opts := &EmulateOptions{Scenario: writeFile(t, "fleet.yaml", emulatedFleet), Speed: 20, Journal: jpath, NoThrottle: true}
	url, stop := emulating(t, opts)
	f := emulatorClients(t, url, nil)
	ctx := context.Background()
	_, err := f.NewVirtualMachineScaleSetVMsClient().SimulateEviction(ctx, emulator.DefaultResourceGroup, "batch-spot", "1", nil)
	require.NoError(t, err)
	_, err = f.NewVirtualMachineScaleSetVMsClient().SimulateEviction(ctx, emulator.DefaultResourceGroup, "render", "0", nil)
	require.NoError(t, err)
	var d seDoc
	waitFor(t, "the Preempt of batch-spot_1", func() bool {
		d = scheduledEvents(t, http.DefaultClient, url, "batch-spot_1")
		return len(d.Events) == 1
	})
	acknowledge(t, url, "batch-spot_1", d.Events[0].EventId)
	waitFor(t, "both evictions to land", func() bool {
		landed := 0
		for _, dr := range getStatus(t, url).Drains {
			if dr.Landed != nil {
				landed++
			}
		}
		return landed == 2
	})
	require.Equal(t, ExitOK, stop())
	out := opts.IO.Out.(*bytes.Buffer).String()
	assert.True(t, strings.HasPrefix(out, "spotdrill emulator listening on "+url+"\n"), out)
	assert.Contains(t, out, "scale set batch-spot")
	assert.Regexp(t, `✓ batch-spot_1 +acknowledged [0-9.]+s after the notice`, out)
	assert.Regexp(t, `· render_0 +not read by any drain handler`, out)

	rep, err := reports.Load(jpath)
	require.NoError(t, err)
	assert.False(t, rep.CutShort())
	var drained []string
	for _, ev := range rep.Evictions {
		if ev.Drained != nil {
			drained = append(drained, ev.VM)
		}
	}
	assert.Equal(t, []string{"batch-spot_1"}, drained)
}

func getStatus(t *testing.T, url string) struct{ Drains []emulator.Drain } {
	t.Helper()
	resp, err := http.Get(url + "/emulator")
	require.NoError(t, err)
	defer resp.Body.Close()
	var st struct{ Drains []emulator.Drain }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	return st
}

// TestEmulateExitsThreeWhenAHandlerMissesItsNotice: a handler that reads
// the Preempt and never acknowledges it is graded as a failed drain.
func TestEmulateExitsThreeWhenAHandlerMissesItsNotice(t *testing.T) {
	opts := &EmulateOptions{Scenario: writeFile(t, "fleet.yaml", emulatedFleet), Speed: 50, NoThrottle: true}
	url, stop := emulating(t, opts)
	_, err := emulatorClients(t, url, nil).NewVirtualMachineScaleSetVMsClient().SimulateEviction(context.Background(), emulator.DefaultResourceGroup, "batch-spot", "0", nil)
	require.NoError(t, err)
	waitFor(t, "the Preempt", func() bool { return len(scheduledEvents(t, http.DefaultClient, url, "batch-spot_0").Events) == 1 })
	waitFor(t, "the eviction", func() bool { return len(scheduledEvents(t, http.DefaultClient, url, "batch-spot_0").Events) == 0 })
	assert.Equal(t, ExitSLO, stop())
	assert.Regexp(t, `✗ batch-spot_0 +seen [0-9.]+s after the notice, never acknowledged`, opts.IO.Out.(*bytes.Buffer).String())
}

// TestEmulateServesHTTPS: with --tls the SDK reaches it once it trusts the
// certificate written to --cert-out, and nextLinks stay on https.
func TestEmulateServesHTTPS(t *testing.T) {
	cert := filepath.Join(t.TempDir(), "emulator.pem")
	opts := &EmulateOptions{Scenario: writeFile(t, "fleet.yaml", emulatedFleet), TLS: true, CertOut: cert, PageSize: 2}
	url, _ := emulating(t, opts)
	require.True(t, strings.HasPrefix(url, "https://127.0.0.1:"), url)
	pemBytes, err := os.ReadFile(cert)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pemBytes))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig(pool)}}

	p := emulatorClients(t, url, client).NewVirtualMachineScaleSetVMsClient().NewListPager(emulator.DefaultResourceGroup, "batch-spot", nil)
	var names []string
	for p.More() {
		page, err := p.NextPage(context.Background())
		require.NoError(t, err)
		if page.NextLink != nil {
			assert.True(t, strings.HasPrefix(*page.NextLink, url+"/"), *page.NextLink)
		}
		for _, v := range page.Value {
			names = append(names, *v.Name)
		}
	}
	assert.Equal(t, []string{"batch-spot_0", "batch-spot_1", "batch-spot_2"}, names)
	assert.Empty(t, scheduledEvents(t, client, url, "render_0").Events)

	_, err = http.Get(url + "/emulator")
	assert.Error(t, err, "an untrusting client is refused")
}

// emulatorGameDay is a game day on the emulated subscription: the
// library's batch fleet, its waves in seconds of wall time.
const emulatorGameDay = `apiVersion: spotdrill.dev/v1
kind: GameDay
metadata:
  name: emulated-game-day
seed: 42
duration: 4s
target:
  provider: azure
  azure:
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroups: [spotdrill-emulator]
    scaleSets: [batch-spot]
waves:
  - name: first-strike
    at: 500ms
    evict: {count: 3}
  - name: last-call
    at: 1500ms
    evict: {count: 2}
blastRadius:
  maxEvictions: 5
slos:
  - name: capacity comes back
    objective: ttr.capacity.p95 <= 30s
`

// TestEmulatorWithTheRealBinary is the README's recipe: one command starts
// the emulator, then spotdrill's own Azure path (targets, run) works
// against it over HTTP, and an interrupt stops it cleanly.
func TestEmulatorWithTheRealBinary(t *testing.T) {
	dir := t.TempDir()
	emu := exec.Command(binary, "emulate", "--scenario", library(t, "batch-checkpointed.yaml"), "--speed", "200", "--no-throttle",
		"--journal", filepath.Join(dir, "emulator.jsonl"))
	emu.Dir = dir
	stdout, err := emu.StdoutPipe()
	require.NoError(t, err)
	stderr, err := os.Create(filepath.Join(dir, "emulate.err")) // read once it exits
	require.NoError(t, err)
	defer stderr.Close()
	emu.Stderr = stderr
	require.NoError(t, emu.Start())
	t.Cleanup(func() { _ = emu.Process.Kill(); _ = emu.Wait() })
	lines := bufio.NewReader(stdout)
	first, err := lines.ReadString('\n')
	require.NoError(t, err)
	url := strings.TrimSpace(strings.TrimPrefix(first, "spotdrill emulator listening on "))
	require.True(t, strings.HasPrefix(url, "http://127.0.0.1:"), first)
	rest := make(chan string, 1)
	go func() { b, _ := io.ReadAll(lines); rest <- string(b) }()

	gameDay := writeFile(t, "game-day.yaml", emulatorGameDay)
	targets := spotdrill(t, "targets", gameDay, "--arm-endpoint", url)
	require.Equal(t, ExitOK, targets.code, targets.stderr)
	assert.Contains(t, targets.stdout, "batch-spot_23")

	run := spotdrill(t, "run", gameDay, "--arm-endpoint", url, "--confirm", "any", "--no-tui", "--poll-interval", "100ms",
		"--journal", filepath.Join(dir, "run.jsonl"))
	require.Equal(t, ExitOK, run.code, run.stdout+run.stderr)
	counts := map[journal.Type]int{}
	planned, waveIDs := map[string]bool{}, map[string]map[string]bool{}
	replacements := map[string]bool{}
	_, err = journal.ScanFile(filepath.Join(dir, "run.jsonl"), func(e *journal.Event) error {
		counts[e.Type]++
		switch e.Type {
		case journal.Planned:
			for _, id := range e.Plan.Targets {
				planned[id] = true
			}
			for _, w := range e.Plan.Waves {
				waveIDs[w.Name] = map[string]bool{}
				for _, i := range w.Targets {
					waveIDs[w.Name][e.Plan.Targets[i]] = true
				}
			}
		case journal.VMRunning:
			if !planned[e.VM] && len(planned) > 0 {
				replacements[e.VM] = true
			}
		case journal.EvictionRequested:
			// Over real HTTP, against instances the scale set replaces
			// during the day: only what the plan froze for the wave.
			assert.True(t, waveIDs[e.Wave][e.VM], "%s evicted in wave %s outside the plan", e.VM, e.Wave)
			assert.False(t, replacements[e.VM], "a replacement instance was evicted: %s", e.VM)
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 5, counts[journal.EvictionRequested])
	assert.GreaterOrEqual(t, counts[journal.EvictionEvicted], 5)

	require.NoError(t, emu.Process.Signal(syscall.SIGINT))
	assert.Contains(t, <-rest, "Scheduled Events: ") // read to the end before Wait closes the pipe
	err = emu.Wait()
	errText, _ := os.ReadFile(stderr.Name())
	require.NoError(t, err, string(errText))
}

func tlsConfig(pool *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}
