package experiments

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/injector/azure"
	"github.com/spotdrill/spotdrill/injector/azure/azurefake"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

var azureT0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// batchAzure is the library's batch-checkpointed game day, aimed at a
// Spot scale set in a subscription instead of the simulated fleet.
const batchAzure = `apiVersion: spotdrill.dev/v1
kind: GameDay
metadata:
  name: batch-checkpointed-azure
seed: 42
duration: 3h
target:
  provider: azure
  azure:
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroups: [rg-batch]
    scaleSets: [batch-spot, batch-ondemand]
waves:
  - name: first-strike
    at: 30m
    evict: {count: 3}
  - name: zone-2-slice
    at: 1h15m
    evict: {percent: 25%, zones: ["2"]}
  - name: last-call
    at: 2h
    evict: {count: 4, pools: [batch-spot]}
blastRadius:
  maxEvictions: 12
slos:
  - name: capacity comes back
    objective: ttr.capacity.p95 <= 5m
`

func batchFleet(f *azurefake.Fleet) {
	f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "rg-batch", Name: "batch-spot", Priority: "Spot", EvictionPolicy: "Delete",
		Zones: []string{"1", "2", "3"}, Capacity: 24, Replace: 2 * time.Minute})
	f.AddScaleSet(azurefake.ScaleSet{ResourceGroup: "rg-batch", Name: "batch-ondemand", Priority: "Regular", Capacity: 2})
	f.AddVM(azurefake.VM{ResourceGroup: "rg-batch", Name: "jumpbox", Priority: "Regular"})
	f.AddVM(azurefake.VM{ResourceGroup: "rg-other", Name: "spot-elsewhere", Priority: "Spot"})
}

type countingTransport struct {
	next   policy.Transporter
	status atomic.Int64
}

func (c *countingTransport) Do(req *http.Request) (*http.Response, error) {
	if req.URL.Query().Get("statusOnly") == "true" && !strings.Contains(req.URL.Path, "fake_page") {
		c.status.Add(1)
	}
	return c.next.Do(req)
}

// fakeAzure is an Azure world over an in-memory subscription on a test
// clock.
func fakeAzure(t *testing.T, sc *scenarios.Scenario, sink journal.Sink, auto bool, build func(*azurefake.Fleet)) (*azureWorld, *azurefake.Fleet, *azurefake.Clock, *countingTransport) {
	t.Helper()
	clock := azurefake.NewClock(azureT0, auto)
	f := azurefake.New(clock.Now, 10)
	build(f)
	tr := &countingTransport{next: f.Transport()}
	w, err := NewAzureWorld(sc, sink, AzureOptions{Client: azure.Options{
		Transport: tr, Credential: &azfake.TokenCredential{}, Clock: clock, MaxRetries: -1,
	}})
	require.NoError(t, err)
	return w.(*azureWorld), f, clock, tr
}

func parseAzure(t *testing.T, text string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse([]byte(text), "batch-azure.yaml")
	require.NoError(t, err)
	return sc
}

func TestAzureScenarioRunsThroughTheRunner(t *testing.T) {
	sc := parseAzure(t, batchAzure)
	var evs []journal.Event
	bus := journal.NewBus(journal.SinkFunc(func(e *journal.Event) { evs = append(evs, *e) }))
	w, fleet, _, _ := fakeAzure(t, sc, bus, true, batchFleet)
	w.opts.PollInterval = time.Minute // three hours of polls, fewer of them
	bus.Subscribe(w)

	res, err := Run(context.Background(), Config{Scenario: sc, World: w, Bus: bus, Tool: "test"})
	require.NoError(t, err)
	require.Equal(t, journal.StatusCompleted, res.Status, res.Reason)
	require.Len(t, res.Plan.Targets, 24)
	var excluded []string
	for _, e := range res.Plan.Excluded {
		excluded = append(excluded, e.VM+": "+e.Reason)
	}
	require.Equal(t, []string{"batch-ondemand_0: not Spot (priority Regular)", "batch-ondemand_1: not Spot (priority Regular)"}, excluded)

	// The runner names VMs by Name or by ID (the ARM ID, which is what it
	// must use on Azure); the world always by ID.
	idOf := map[string]string{}
	for _, e := range evs {
		if e.Type == journal.VMRunning {
			ref, err := azure.ParseRef(e.VM)
			require.NoError(t, err)
			idOf[ref.ScaleSet+"_"+ref.Instance], idOf[e.VM] = e.VM, e.VM
		}
	}
	count := map[journal.Type]int{}
	evicted := map[string]bool{}
	requested := map[string]bool{}
	for _, e := range evs {
		count[e.Type]++
		switch e.Type {
		case journal.EvictionRequested:
			requested[idOf[e.VM]] = true
		case journal.EvictionEvicted:
			require.Equal(t, journal.CauseInjected, e.Cause)
			require.Equal(t, "Delete", e.Policy)
			require.True(t, requested[e.VM], "an injected eviction lands on a VM the run asked to evict")
			evicted[e.VM] = true
		case journal.VMRunning:
			if e.Replaces != "" {
				require.True(t, evicted[e.Replaces], "a replacement names an evicted VM")
				require.Equal(t, "batch-spot", e.Pool)
			}
		case journal.EvictionFailed, journal.EvictionBlocked:
			t.Errorf("unexpected %s: %+v", e.Type, e)
		}
	}
	require.Equal(t, 3, count[journal.WaveStarted])
	require.Equal(t, 9, count[journal.EvictionRequested], "3, then 25% of zone 2's 8, then 4")
	require.Equal(t, 9, count[journal.EvictionEvicted])
	require.Equal(t, 26+9, count[journal.VMRunning], "the fleet, then a replacement for each eviction")
	require.Len(t, fleet.Calls(), 9)
	require.Equal(t, journal.RunStarted, evs[0].Type)
	require.Equal(t, journal.RunEnded, evs[len(evs)-1].Type)
	last := -1.0
	for _, e := range evs {
		require.GreaterOrEqual(t, e.T, last, "the journal's clock never goes back: %+v", e)
		last = e.T
	}
}

// The journal an Azure world writes grades like the simulated fleet's
// once the runner names VMs by ID, which is what it needs to do on Azure.
func TestAzureJournalGradesCapacityTTR(t *testing.T) {
	sc := parseAzure(t, batchAzure)
	acc := reports.NewAccumulator()
	bus := journal.NewBus(acc)
	w, _, clock, _ := fakeAzure(t, sc, bus, true, batchFleet)
	ctx := context.Background()
	require.NoError(t, w.Start(ctx))
	require.NoError(t, w.AdvanceTo(ctx, 10*time.Minute))
	targets, err := w.Discover(ctx)
	require.NoError(t, err)
	tg := targets[5]
	require.NoError(t, w.SimulateEviction(ctx, tg))
	bus.Emit(&journal.Event{T: w.Now().Seconds(), Type: journal.EvictionRequested, Wave: "w", VM: tg.ID, Pool: tg.Pool, Zone: tg.Zone, Cause: journal.CauseInjected})
	require.NoError(t, w.AdvanceTo(ctx, 20*time.Minute))
	v, ok := acc.Value("ttr.capacity.p50")
	require.True(t, ok)
	// Evicted 30 s after the call, seen at the next 15 s poll; the
	// replacement runs 2 min later and is seen at the poll after that.
	require.InDelta(t, 120, v, 15)
	n, ok := acc.Value("evictions.count")
	require.True(t, ok)
	require.Equal(t, 1.0, n)
	require.Equal(t, azureT0.Add(20*time.Minute), clock.Now())
}

func TestAzureWorldPollsOnTheWallClock(t *testing.T) {
	sc := parseAzure(t, batchAzure)
	w, _, clock, tr := fakeAzure(t, sc, journal.SinkFunc(func(*journal.Event) {}), true, batchFleet)
	require.Equal(t, time.Duration(0), w.Now())
	require.NoError(t, w.Start(context.Background()))
	require.EqualValues(t, 1, tr.status.Load(), "the discovery")
	require.NoError(t, w.AdvanceTo(context.Background(), time.Minute))
	require.Equal(t, time.Minute, w.Now())
	require.EqualValues(t, 1+4, tr.status.Load(), "a poll every 15 s")
	require.NoError(t, w.AdvanceTo(context.Background(), 61*time.Second))
	require.EqualValues(t, 5, tr.status.Load(), "not due yet")
	require.Equal(t, azureT0.Add(61*time.Second), clock.Now())
	require.ErrorContains(t, w.ApplyFault("f", scenarios.Fault{Type: scenarios.FaultZoneOutage}), "needs the simulated fleet")
}

func TestAzureWorldStopsAtOnceOnTheKillSwitch(t *testing.T) {
	sc := parseAzure(t, batchAzure)
	// The wall clock, as in a real game day.
	f := azurefake.New(time.Now, 5)
	batchFleet(f)
	w, err := NewAzureWorld(sc, journal.SinkFunc(func(*journal.Event) {}), AzureOptions{PollInterval: time.Hour,
		Client: azure.Options{Transport: f.Transport(), Credential: &azfake.TokenCredential{}}})
	require.NoError(t, err)
	require.NoError(t, w.Start(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.AdvanceTo(ctx, 3*time.Hour) }()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
		require.Less(t, time.Since(start), time.Second)
	case <-time.After(5 * time.Second):
		t.Fatal("AdvanceTo kept waiting after the kill switch")
	}
}

func TestAzureWorldToleratesFailedPollsThenFails(t *testing.T) {
	sc := parseAzure(t, batchAzure)
	var notes []string
	sink := journal.SinkFunc(func(e *journal.Event) {
		if e.Type == journal.Note {
			notes = append(notes, e.Reason)
		}
	})
	w, fleet, _, _ := fakeAzure(t, sc, sink, true, batchFleet)
	w.opts.MaxPollFailures = 3
	ctx := context.Background()
	require.NoError(t, w.Start(ctx))
	fleet.FailListings(2)
	require.NoError(t, w.AdvanceTo(ctx, time.Minute))
	require.Len(t, notes, 3)
	require.Contains(t, notes[0], "poll 1 of 3 allowed in a row failed")
	require.Equal(t, "polling Azure works again after 2 failed polls", notes[2])
	fleet.FailListings(3)
	err := w.AdvanceTo(ctx, 2*time.Minute)
	require.ErrorContains(t, err, "3 polls in a row failed")
}

func TestAzureWorldRefusesWhatItMustNotCallAndReportsCalls(t *testing.T) {
	sc := parseAzure(t, batchAzure)
	var evs []journal.Event
	w, fleet, _, _ := fakeAzure(t, sc, journal.SinkFunc(func(e *journal.Event) { evs = append(evs, *e) }), true, batchFleet)
	ctx := context.Background()
	require.NoError(t, w.Start(ctx))
	targets, err := w.Discover(ctx)
	require.NoError(t, err)
	var spot, regular injector.Target
	for _, t := range targets {
		if t.Spot() {
			spot = t
		} else {
			regular = t
		}
	}
	w.Emit(&journal.Event{Type: journal.WaveStarted, Wave: "w1"})
	errs := w.SimulateEvictions(ctx, []injector.Target{spot, regular, spot})
	require.NoError(t, errs[0])
	require.ErrorIs(t, errs[1], injector.ErrNotSpot)
	var e *azure.Error
	require.ErrorAs(t, errs[2], &e)
	require.Equal(t, azure.CodeAlreadyRequested, e.ErrorCode(), "never two calls for one target")
	require.Len(t, fleet.Calls(), 1)

	rep, ok := w.LastCall(spot.ID)
	require.True(t, ok)
	require.Equal(t, 204, rep.Status)
	require.Equal(t, "204; x-ms-ratelimit-remaining-resource=Microsoft.Compute/DeleteVM3Min;239,Microsoft.Compute/DeleteVM30Min;1199, x-ms-ratelimit-remaining-subscription-writes=199", rep.String())
	_, ok = w.LastCall(regular.ID)
	require.False(t, ok, "no request was sent")
	require.Equal(t, "no answer NoResponse after 3 attempts (1 throttled)", CallReport{Code: "NoResponse", Attempts: 3, Throttled: 1}.String())

	// Stopped before it landed: the journal says so.
	w.Finish()
	w.Finish()
	require.Equal(t, journal.Note, evs[len(evs)-1].Type)
	require.Equal(t, "unlanded", evs[len(evs)-1].Code)
	require.Contains(t, evs[len(evs)-1].Reason, "1 requested evictions had not landed when the run ended ("+spot.Name+")")
	require.Equal(t, 1, strings.Count(evsString(evs), "unlanded"))
}

func evsString(evs []journal.Event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Code + " ")
	}
	return b.String()
}

func TestDiscoverAndPlanAzure(t *testing.T) {
	sc := parseAzure(t, strings.Replace(batchAzure, "scaleSets: [batch-spot, batch-ondemand]",
		`nodeProviderIDs:
      - azure:///subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-batch/providers/Microsoft.Compute/virtualMachineScaleSets/batch-spot/virtualMachines/4
      - azure:///subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-batch/providers/Microsoft.Compute/virtualMachineScaleSets/batch-spot/virtualMachines/77
      - azure:///subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-batch/providers/Microsoft.Compute/virtualMachines/jumpbox`, 1))
	clock := azurefake.NewClock(azureT0, true)
	f := azurefake.New(clock.Now, 5)
	batchFleet(f)
	opts := AzureOptions{Client: azure.Options{Transport: f.Transport(), Credential: &azfake.TokenCredential{}, Clock: clock}}
	inv, err := DiscoverAzure(context.Background(), sc, opts)
	require.NoError(t, err)
	require.Len(t, inv.VMs, 24+1, "rg-other is not listed, nor the instances of a scale set no node is in")
	var selected []string
	for _, v := range inv.VMs {
		if v.Selected {
			selected = append(selected, v.Name)
		} else {
			require.Equal(t, "not selected by target.azure nodeProviderIDs", v.Reason)
		}
	}
	require.ElementsMatch(t, []string{"batch-spot_4", "jumpbox"}, selected)
	require.Equal(t, []string{azurefake.InstanceID("rg-batch", "batch-spot", "77")}, inv.Missing)

	p, err := PlanAzure(context.Background(), sc, opts)
	require.NoError(t, err)
	require.Len(t, p.Targets, 1)
	require.Equal(t, "batch-spot_4", p.Targets[0].Name)
	require.Len(t, p.Excluded, 2)
	require.Equal(t, "not Spot (priority Regular)", p.Excluded[0].Reason)
	require.Contains(t, p.Excluded[1].Reason, "node not found")
	require.Equal(t, scenarios.ProviderAzure, p.Provider)

	_, err = DiscoverAzure(context.Background(), parseAzure(t, strings.Replace(batchAzure, "resourceGroups: [rg-batch]",
		"nodeProviderIDs: [azure:///subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/x]", 1)), opts)
	require.ErrorContains(t, err, "target.azure.nodeProviderIDs[0]")
}

func TestAzureWavesSurviveAFailedDiscovery(t *testing.T) {
	sc := parseAzure(t, batchAzure)
	var notes []string
	sink := journal.SinkFunc(func(e *journal.Event) {
		if e.Type == journal.Note {
			notes = append(notes, e.Reason)
		}
	})
	w, fleet, _, _ := fakeAzure(t, sc, sink, true, batchFleet)
	w.opts.MaxPollFailures = 100
	ctx := context.Background()
	require.NoError(t, w.Start(ctx))
	require.NoError(t, w.AdvanceTo(ctx, 20*time.Second))
	fleet.FailListings(1)
	targets, err := w.Discover(ctx)
	require.NoError(t, err, "the poll at 15 s is recent enough")
	require.Len(t, targets, 26)
	require.Equal(t, []string{"discovery failed (list power states of subscription 00000000-0000-0000-0000-000000000000: " +
		"500 InternalServerError: injected failure); using the fleet as polled at 15s"}, notes)

	fleet.FailListings(1000)
	require.NoError(t, w.AdvanceTo(ctx, 2*time.Minute))
	_, err = w.Discover(ctx)
	require.ErrorContains(t, err, "discover the fleet")
}
