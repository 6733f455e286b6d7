package experiments

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/blastradius"
	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/injector/azure"
	"github.com/spotdrill/spotdrill/injector/azure/azurefake"
	"github.com/spotdrill/spotdrill/internal/runlock"
	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// diskFull is a journal file that takes limit bytes and then fails, as a
// full or read-only file system does. It keeps what it took, so that a
// test can tell what had reached the file when a call was made.
type diskFull struct {
	mu     sync.Mutex
	limit  int
	buf    bytes.Buffer
	failed bool
}

var errDiskFull = errors.New("no space left on device")

func (d *diskFull) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.buf.Len()+len(p) > d.limit {
		d.failed = true
		return 0, errDiskFull
	}
	return d.buf.Write(p)
}

// recorded reports whether the file holds an eviction.requested line for
// vm, and whether the file had failed already.
func (d *diskFull) recorded(vm string) (bool, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, line := range strings.Split(d.buf.String(), "\n") {
		if strings.Contains(line, `"type":"eviction.requested"`) && strings.Contains(line, `"vm":"`+vm+`"`) {
			return true, d.failed
		}
	}
	return false, d.failed
}

// callCheck holds what a test saw at each simulateEviction call.
type callCheck struct {
	mu         sync.Mutex
	calls      int
	unrecorded []string
	afterFail  []string
}

func (c *callCheck) call(d *diskFull, vm string) {
	ok, failed := d.recorded(vm)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if !ok {
		c.unrecorded = append(c.unrecorded, vm)
	}
	if failed {
		c.afterFail = append(c.afterFail, vm)
	}
}

// checkedSim is the simulated fleet with every call checked against the
// journal file at the moment it is made.
type checkedSim struct {
	World
	d     *diskFull
	check *callCheck
}

func (c checkedSim) SimulateEviction(ctx context.Context, t injector.Target) error {
	c.check.call(c.d, t.ID)
	return c.World.SimulateEviction(ctx, t)
}

// checkedTransport sees every simulateEviction POST that reaches "Azure".
type checkedTransport struct {
	next  policy.Transporter
	d     *diskFull
	check *callCheck
}

func (c *checkedTransport) Do(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/simulateEviction") {
		c.check.call(c.d, strings.TrimSuffix(req.URL.Path, "/simulateEviction"))
	}
	return c.next.Do(req)
}

// runWithDiskFull plays a scenario with a journal that fails after limit
// bytes, and returns the result and what the calls saw.
func runWithDiskFull(t *testing.T, sc *scenarios.Scenario, limit int, azureFleet func(*azurefake.Fleet)) (Result, *callCheck, *diskFull) {
	t.Helper()
	d := &diskFull{limit: limit}
	jw := journal.NewWriter(d)
	bus := journal.NewBus(jw)
	check := &callCheck{}
	var w World
	if azureFleet == nil {
		sw, err := NewSimWorld(sc, bus, sim.Options{})
		require.NoError(t, err)
		w = checkedSim{World: sw, d: d, check: check}
	} else {
		clock := azurefake.NewClock(azureT0, true)
		f := azurefake.New(clock.Now, 10)
		azureFleet(f)
		aw, err := NewAzureWorld(sc, bus, AzureOptions{PollInterval: time.Minute, Client: azure.Options{
			Transport: &checkedTransport{next: f.Transport(), d: d, check: check}, Credential: &azfake.TokenCredential{},
			Clock: clock, MaxRetries: -1,
		}})
		require.NoError(t, err)
		bus.Subscribe(aw.(journal.Sink))
		w = aw
	}
	res, err := Run(context.Background(), Config{Scenario: sc, World: w, Bus: bus, Journal: jw, Tool: "test"})
	require.NoError(t, err)
	_ = jw.Close()
	return res, check, d
}

// TestNoCallWithoutItsRecord makes the journal fail at many points of a
// run, on the simulated fleet and on Azure over the SDK's fake servers: every
// simulateEviction call finds its eviction.requested line already in the
// file, no call is made once the file failed, and the run ends aborted
// with the error.
func TestNoCallWithoutItsRecord(t *testing.T) {
	simSC, err := scenarios.Load(filepath.Join("..", "scenarios", "library", "batch-checkpointed.yaml"))
	require.NoError(t, err)
	for _, tc := range []struct {
		name  string
		sc    *scenarios.Scenario
		fleet func(*azurefake.Fleet)
	}{
		{"sim", simSC, nil},
		{"azure", parseAzure(t, batchAzure), batchFleet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			whole, check, d := runWithDiskFull(t, tc.sc, 1<<30, tc.fleet)
			require.Equal(t, journal.StatusCompleted, whole.Status)
			require.Equal(t, 9, check.calls)
			require.Empty(t, check.unrecorded)
			size := d.buf.Len()
			aborted := 0
			for i := 1; i <= 40; i++ {
				limit := size * i / 41
				res, check, d := runWithDiskFull(t, tc.sc, limit, tc.fleet)
				require.Empty(t, check.unrecorded, "limit %d: calls made before their record reached the file", limit)
				require.Empty(t, check.afterFail, "limit %d: calls made after the journal failed", limit)
				// A failure before the last wave's record stops the run
				// there; one found only at the end leaves nothing more to
				// call.
				switch res.Status {
				case journal.StatusAborted:
					require.True(t, d.failed)
					require.ErrorIs(t, res.JournalErr, errDiskFull)
					require.Contains(t, res.Reason, "the journal cannot be written")
					// The background flush may find the full disk after the
					// last wave too: the run still stops there.
					require.LessOrEqual(t, check.calls, 9, "limit %d", limit)
					aborted++
				default:
					require.Equal(t, journal.StatusCompleted, res.Status)
					require.Equal(t, 9, check.calls, "limit %d", limit)
				}
			}
			require.Positive(t, aborted)
		})
	}
}

// exemptAzure targets a Spot scale set, a second Spot scale set whose own
// tag exempts it, and standalone Spot VMs tagged in the spellings people
// use; the scenario tries to switch the exemption off.
const exemptAzure = `apiVersion: spotdrill.dev/v1
kind: GameDay
metadata:
  name: exempt-azure
seed: 7
duration: 1h
target:
  provider: azure
  azure:
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroups: [rg]
waves:
  - name: everything
    at: 10m
    evict: {all: true}
blastRadius:
  maxPoolPercent: 100%
  exclude:
    tags: {chaos-exempt: "never"}
`

func TestExemptVMsAndScaleSetsAreNeverEvictedOnAzure(t *testing.T) {
	sc := parseAzure(t, exemptAzure)
	var evs []journal.Event
	bus := journal.NewBus(journal.SinkFunc(func(e *journal.Event) { evs = append(evs, *e) }))
	w, fleet, _, _ := fakeAzure(t, sc, bus, true, func(f *azurefake.Fleet) {
		f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "rg", Name: "open", Priority: "Spot", EvictionPolicy: "Delete", Capacity: 2, Replace: time.Minute})
		f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "rg", Name: "protected", Priority: "Spot", Flexible: true, Capacity: 2,
			Tags: map[string]string{"Chaos-Exempt": "True"}})
		f.AddVM(azurefake.VM{ResourceGroup: "rg", Name: "upper", Priority: "Spot", Tags: map[string]string{"CHAOS-EXEMPT": "yes"}})
		f.AddVM(azurefake.VM{ResourceGroup: "rg", Name: "empty", Priority: "Spot", Tags: map[string]string{"chaos-exempt": ""}})
		f.AddVM(azurefake.VM{ResourceGroup: "rg", Name: "opted-in", Priority: "Spot", Tags: map[string]string{"chaos-exempt": "False"}})
	})
	bus.Subscribe(w)
	res, err := Run(context.Background(), Config{Scenario: sc, World: w, Bus: bus, Tool: "test"})
	require.NoError(t, err)
	require.Equal(t, journal.StatusCompleted, res.Status, res.Reason)

	reasons := map[string]string{}
	for _, e := range res.Plan.Excluded {
		reasons[e.VM] = e.Reason
	}
	assert.Equal(t, map[string]string{
		"protected_00000001": `exempt: tag Chaos-Exempt="True"`,
		"protected_00000002": `exempt: tag Chaos-Exempt="True"`,
		"upper":              `exempt: tag CHAOS-EXEMPT="yes"`,
		"empty":              `exempt: tag chaos-exempt=""`,
	}, reasons)
	var called []string
	for _, c := range fleet.Calls() {
		ref, err := azure.ParseRef(c.ID)
		require.NoError(t, err)
		name := ref.Name
		if ref.Instance != "" {
			name = ref.ScaleSet + "_" + ref.Instance
		}
		called = append(called, name)
	}
	assert.ElementsMatch(t, []string{"open_0", "open_1", "opted-in"}, called)
}

// scaleOutAzure evicts every VM of a scale set that grows right after the
// plan is frozen.
const scaleOutAzure = `apiVersion: spotdrill.dev/v1
kind: GameDay
metadata:
  name: scale-out
seed: 3
duration: 1h
target:
  provider: azure
  azure:
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroups: [rg]
    scaleSets: [workers]
waves:
  - name: everything
    at: 10m
    evict: {all: true}
blastRadius:
  maxPoolPercent: 100%
  maxEvictions: 8
`

// TestNewInstancesAreOutsideThePlan: four instances join the targeted
// scale set after the plan. Without the opt-in no call touches them; with
// target.newInstances: include they are evicted within the same caps, each
// named by plan.extended before its eviction.requested.
func TestNewInstancesAreOutsideThePlan(t *testing.T) {
	for _, include := range []bool{false, true} {
		t.Run(map[bool]string{false: "exclude", true: "include"}[include], func(t *testing.T) {
			sc := parseAzure(t, scaleOutAzure)
			if include {
				sc.Target.NewInstances = scenarios.NewInstancesInclude
			}
			var evs []journal.Event
			var fleet *azurefake.Fleet
			var added []string
			bus := journal.NewBus(journal.SinkFunc(func(e *journal.Event) {
				evs = append(evs, *e)
				if e.Type == journal.Planned {
					added = fleet.ScaleOut("rg", "workers", 4)
				}
			}))
			w, f, _, _ := fakeAzure(t, sc, bus, true, func(f *azurefake.Fleet) {
				f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "rg", Name: "workers", Priority: "Spot", EvictionPolicy: "Delete",
					Zones: []string{"1", "2"}, Capacity: 6, Replace: time.Minute})
			})
			fleet = f
			bus.Subscribe(w)
			res, err := Run(context.Background(), Config{Scenario: sc, World: w, Bus: bus, Tool: "test"})
			require.NoError(t, err)
			require.Equal(t, journal.StatusCompleted, res.Status, res.Reason)
			require.Len(t, res.Plan.Targets, 6)
			require.Len(t, added, 4)

			isNew := map[string]bool{}
			for _, id := range added {
				isNew[injector.Key(id)] = true
			}
			named := map[string]bool{}
			newCalls, requested := 0, 0
			for _, e := range evs {
				switch e.Type {
				case journal.PlanExtended:
					require.True(t, isNew[injector.Key(e.VM)], "only a new instance is named: %s", e.VM)
					named[injector.Key(e.VM)] = true
				case journal.EvictionRequested:
					requested++
					if isNew[injector.Key(e.VM)] {
						newCalls++
						require.True(t, named[injector.Key(e.VM)], "%s evicted before it was named", e.VM)
					}
				}
			}
			calls := fleet.Calls()
			require.Equal(t, requested, len(calls))
			require.LessOrEqual(t, len(calls), 8, "maxEvictions holds for new instances too")
			if !include {
				require.Zero(t, newCalls)
				require.Len(t, calls, 6)
				require.Contains(t, noteTexts(evs), "4 VMs joined the targeted pools after the plan and are not touched (target.newInstances: exclude)")
				return
			}
			require.Len(t, calls, 8)
			require.Positive(t, newCalls)
		})
	}
}

func noteTexts(evs []journal.Event) []string {
	var out []string
	for _, e := range evs {
		if e.Type == journal.Note {
			out = append(out, e.Reason)
		}
	}
	return out
}

// TestTargetLocksOverlapAcrossScenarioNames: two scenarios under different
// names that target the same scale set lock the same key, so the second
// run is refused however it is named or wherever it starts; a scenario on
// another scale set is not in the way.
func TestTargetLocksOverlapAcrossScenarioNames(t *testing.T) {
	build := func(f *azurefake.Fleet) {
		f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "rg", Name: "workers", Priority: "Spot", Capacity: 3})
		f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "rg", Name: "other", Priority: "Spot", Capacity: 2})
	}
	planOf := func(name, sets string) *Plan {
		text := strings.NewReplacer("name: scale-out", "name: "+name, "scaleSets: [workers]", "scaleSets: ["+sets+"]").Replace(scaleOutAzure)
		sc := parseAzure(t, text)
		clock := azurefake.NewClock(azureT0, true)
		f := azurefake.New(clock.Now, 10)
		build(f)
		p, err := PlanAzure(context.Background(), sc, AzureOptions{Client: azure.Options{
			Transport: f.Transport(), Credential: &azfake.TokenCredential{}, Clock: clock}})
		require.NoError(t, err)
		return p
	}
	a, b, c := planOf("nightly", "workers"), planOf("ad-hoc", "workers"), planOf("elsewhere", "other")
	require.Equal(t, []string{"azure:" + injector.Key(azurefake.ScaleSetID("rg", "workers"))}, a.LockKeys())
	require.Equal(t, a.LockKeys(), b.LockKeys())

	dir := t.TempDir()
	held, err := runlock.AcquireTargets(dir, a.LockKeys(), "pid 1, scenario nightly")
	require.NoError(t, err)
	defer held.Release()
	_, err = runlock.AcquireTargets(dir, b.LockKeys(), "pid 2, scenario ad-hoc")
	require.ErrorIs(t, err, runlock.ErrHeld)
	require.Contains(t, err.Error(), "held by pid 1, scenario nightly")
	other, err := runlock.AcquireTargets(dir, c.LockKeys(), "pid 3")
	require.NoError(t, err)
	other.Release()
}

// TestLeaseKeepsOtherRunsAway: with Lease the run tags the targeted scale
// set with its ID for the run's length and removes it at the end, recorded
// in the journal before the write; a run finds a set leased by another
// run ineligible, at the plan and at each wave; leasing a set another run
// holds is refused before any call.
func TestLeaseKeepsOtherRunsAway(t *testing.T) {
	workers := azurefake.ScaleSetID("rg", "workers")
	build := func(f *azurefake.Fleet) {
		f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "rg", Name: "workers", Priority: "Spot", EvictionPolicy: "Delete",
			Zones: []string{"1", "2"}, Capacity: 4, Replace: time.Minute})
	}
	run := func(t *testing.T, cfg Config, during func(*azurefake.Fleet, *journal.Event)) (Result, *azurefake.Fleet, []journal.Event) {
		sc := parseAzure(t, strings.Replace(scaleOutAzure, "evict: {all: true}", "evict: {count: 2}", 1))
		var evs []journal.Event
		var fleet *azurefake.Fleet
		bus := journal.NewBus(journal.SinkFunc(func(e *journal.Event) {
			evs = append(evs, *e)
			if during != nil {
				during(fleet, e)
			}
		}))
		w, f, _, _ := fakeAzure(t, sc, bus, true, build)
		fleet = f
		bus.Subscribe(w)
		cfg.Scenario, cfg.World, cfg.Bus, cfg.Tool = sc, w, bus, "test"
		res, err := Run(context.Background(), cfg)
		require.NoError(t, err)
		return res, f, evs
	}

	t.Run("lease for the run's length", func(t *testing.T) {
		var during map[string]string
		res, f, evs := run(t, Config{RunID: "run-a", Lease: true}, func(f *azurefake.Fleet, e *journal.Event) {
			if e.Type == journal.WaveStarted {
				during = f.Tags(workers)
			}
		})
		require.Equal(t, journal.StatusCompleted, res.Status, res.Reason)
		require.Equal(t, "run-a", during[injector.LeaseTag])
		require.NotContains(t, f.Tags(workers), injector.LeaseTag, "released at the end")
		require.Len(t, f.Calls(), 2)
		require.Contains(t, noteTexts(evs), "leasing 1 resources with spotdrill-run=run-a: "+workers)
		require.Contains(t, noteTexts(evs), "released the lease spotdrill-run=run-a")
		require.Equal(t, []string{"GET " + workers, "PATCH " + workers, "GET " + workers, "GET " + workers, "PATCH " + workers}, f.TagCalls())
	})
	t.Run("a set leased by another run is not eligible", func(t *testing.T) {
		res, f, _ := run(t, Config{RunID: "run-b"}, func(f *azurefake.Fleet, e *journal.Event) {
			if e.Type == journal.RunStarted {
				f.SetTag(workers, "Spotdrill-Run", "run-a")
			}
		})
		require.True(t, res.Refused)
		require.Contains(t, res.Plan.Excluded[0].Reason, "leased by another game day (Spotdrill-Run=run-a)")
		require.Empty(t, f.Calls())
	})
	t.Run("a lease taken mid-run stops later waves", func(t *testing.T) {
		sc := parseAzure(t, scaleOutAzure)
		sc.Waves = append(sc.Waves, scenarios.Wave{Name: "later", At: scenarios.Duration(30 * time.Minute), Evict: &scenarios.Selection{All: true}})
		var evs []journal.Event
		var fleet *azurefake.Fleet
		bus := journal.NewBus(journal.SinkFunc(func(e *journal.Event) {
			evs = append(evs, *e)
			if e.Type == journal.Planned {
				fleet.SetTag(workers, injector.LeaseTag, "run-elsewhere")
			}
		}))
		w, f, _, _ := fakeAzure(t, sc, bus, true, build)
		fleet = f
		bus.Subscribe(w)
		res, err := Run(context.Background(), Config{Scenario: sc, World: w, Bus: bus, RunID: "run-b", Tool: "test"})
		require.NoError(t, err)
		require.Equal(t, journal.StatusCompleted, res.Status)
		require.Empty(t, f.Calls(), "no wave touches a set another run leased after the plan")
	})
	t.Run("leasing a set another run holds is refused", func(t *testing.T) {
		res, f, _ := run(t, Config{RunID: "run-b", Lease: true}, func(f *azurefake.Fleet, e *journal.Event) {
			if e.Type == journal.Planned {
				f.SetTag(workers, injector.LeaseTag, "run-a")
			}
		})
		require.True(t, res.Refused)
		require.Contains(t, res.Reason, "leased by another game day")
		require.Empty(t, f.Calls())
		require.Equal(t, "run-a", f.Tags(workers)[injector.LeaseTag], "another run's lease is left alone")
	})
	t.Run("the simulated fleet has nothing to lease", func(t *testing.T) {
		sc, err := scenarios.Load(filepath.Join("..", "scenarios", "library", "price-spike.yaml"))
		require.NoError(t, err)
		bus := journal.NewBus()
		w, err := NewSimWorld(sc, bus, sim.Options{})
		require.NoError(t, err)
		res, err := Run(context.Background(), Config{Scenario: sc, World: w, Bus: bus, RunID: "x", Lease: true})
		require.NoError(t, err)
		require.True(t, res.Refused)
		require.Contains(t, res.Reason, "--lease needs provider azure")
	})
}

// TestAzureNeverEvictsExemptOrUnplannedVMs is the safety property on the
// Azure provider over the SDK's fake servers: random subscriptions (scale
// sets and standalone VMs, exempt in every spelling on the VM or the set),
// random waves and caps, random opt-in to new instances, and instances that
// join the scale sets right after the plan. Every simulateEviction that
// reached "Azure" is checked against the journal: never exempt, never a
// Regular VM, always frozen for its wave or named as a new instance first,
// and never more than maxEvictions.
func TestAzureNeverEvictsExemptOrUnplannedVMs(t *testing.T) {
	exemptTags := []map[string]string{nil, {"chaos-exempt": "true"}, {"Chaos-Exempt": "True"}, {"CHAOS-EXEMPT": ""}, {"chaos-exempt": "false"}}
	calls, extended := 0, 0
	for seed := uint64(1); seed <= 60; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		exempt := map[string]bool{} // by key of VM or scale set ID
		sets := []string{}
		build := func(f *azurefake.Fleet) {
			for s := range 1 + rng.IntN(3) {
				name := fmt.Sprintf("set%d", s)
				tags := exemptTags[rng.IntN(len(exemptTags))]
				prio := "Spot"
				if rng.IntN(5) == 0 {
					prio = "Regular"
				}
				ids := f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "rg", Name: name, Priority: prio, EvictionPolicy: "Delete",
					Zones: []string{"1", "2"}, Capacity: 1 + rng.IntN(6), Tags: tags, Replace: time.Minute})
				if _, ex := blastradius.Exempt(tags); ex {
					exempt[injector.Key(azurefake.ScaleSetID("rg", name))] = true
					for _, id := range ids {
						exempt[injector.Key(id)] = true
					}
				}
				sets = append(sets, name)
			}
			for v := range rng.IntN(3) {
				tags := exemptTags[rng.IntN(len(exemptTags))]
				id := f.AddVM(azurefake.VM{ResourceGroup: "rg", Name: fmt.Sprintf("vm%d", v), Priority: "Spot", Zone: "1", Tags: tags})
				if _, ex := blastradius.Exempt(tags); ex {
					exempt[injector.Key(id)] = true
				}
			}
		}
		maxEvictions := 4 + rng.IntN(16)
		var waves strings.Builder
		for w := range 1 + rng.IntN(3) {
			sel := []string{"{all: true}", fmt.Sprintf("{count: %d}", 1+rng.IntN(4)), fmt.Sprintf("{percent: %d%%}", 20+rng.IntN(60))}[rng.IntN(3)]
			fmt.Fprintf(&waves, "  - {name: w%d, at: %dm, evict: %s}\n", w, 5+10*w, sel)
		}
		text := fmt.Sprintf(`apiVersion: spotdrill.dev/v1
kind: GameDay
metadata: {name: azure-property}
seed: %d
duration: 1h
target:
  provider: azure
  azure:
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroups: [rg]
waves:
%sblastRadius:
  maxPoolPercent: 100%%
  maxEvictions: %d
  exclude: {tags: {chaos-exempt: "false"}}
`, seed, waves.String(), maxEvictions)
		sc := parseAzure(t, text)
		include := rng.IntN(2) == 0
		if include {
			sc.Target.NewInstances = scenarios.NewInstancesInclude
		}
		var evs []journal.Event
		var fleet *azurefake.Fleet
		bus := journal.NewBus(journal.SinkFunc(func(e *journal.Event) {
			evs = append(evs, *e)
			if e.Type == journal.Planned && len(sets) > 0 {
				fleet.ScaleOut("rg", sets[rng.IntN(len(sets))], 1+rng.IntN(3))
			}
		}))
		w, f, _, _ := fakeAzure(t, sc, bus, true, build)
		fleet = f
		bus.Subscribe(w)
		res, err := Run(context.Background(), Config{Scenario: sc, World: w, Bus: bus, Tool: "test"})
		require.NoError(t, err, "seed %d", seed)

		waveIDs := map[string]map[string]bool{}
		named := map[string]bool{}
		requested := map[string]string{} // key -> wave
		for _, e := range evs {
			switch e.Type {
			case journal.Planned:
				for _, pw := range e.Plan.Waves {
					waveIDs[pw.Name] = map[string]bool{}
					for _, i := range pw.Targets {
						waveIDs[pw.Name][injector.Key(e.Plan.Targets[i])] = true
					}
				}
			case journal.PlanExtended:
				require.True(t, include, "seed %d: %s admitted without the opt-in", seed, e.VM)
				named[e.Wave+"/"+injector.Key(e.VM)] = true
				extended++
			case journal.EvictionRequested:
				k := injector.Key(e.VM)
				require.True(t, waveIDs[e.Wave][k] || named[e.Wave+"/"+k], "seed %d: %s evicted in %s outside the plan", seed, e.VM, e.Wave)
				requested[k] = e.Wave
			}
		}
		for _, c := range f.Calls() {
			k := injector.Key(c.ID)
			_, ok := requested[k]
			require.True(t, ok, "seed %d: a call to %s without its eviction.requested", seed, c.ID)
			require.False(t, exempt[k], "seed %d: an exempt VM was evicted: %s", seed, c.ID)
			require.True(t, strings.Contains(c.ID, "/virtualMachineScaleSets/set") || strings.Contains(c.ID, "/virtualMachines/vm"), c.ID)
		}
		require.LessOrEqual(t, len(f.Calls()), maxEvictions, "seed %d", seed)
		calls += len(f.Calls())
		_ = res
	}
	t.Logf("%d simulateEviction calls checked, %d new instances admitted", calls, extended)
	require.Positive(t, calls)
	require.Positive(t, extended)
}
