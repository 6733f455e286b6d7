package reports

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/journal"
)

// fold feeds events to a new Accumulator, numbering them as the bus would.
func fold(events ...journal.Event) *Accumulator {
	a := NewAccumulator()
	for i := range events {
		e := events[i]
		e.Seq = int64(i + 1)
		a.Emit(&e)
	}
	return a
}

var (
	spotPool     = journal.Pool{Name: "spot", Priority: "Spot", Zones: []string{"1", "2"}, Capacity: 4, SpotPrice: 0.1, OnDemandPrice: 0.5}
	fallbackPool = journal.Pool{Name: "fb", Priority: "Regular", Capacity: 2, OnDemandPrice: 0.4, FallbackFor: "spot"}
)

func started(pools ...journal.Pool) journal.Event {
	return journal.Event{T: 0, Type: journal.RunStarted, Run: &journal.Run{
		SchemaVersion: journal.SchemaVersion, Scenario: "test", Provider: "sim", Seed: 1, Duration: 3600, Pools: pools,
	}}
}

func ended(t float64) journal.Event {
	return journal.Event{T: t, Type: journal.RunEnded, Status: journal.StatusCompleted}
}

func running(t float64, vm, pool, zone, prio string, price float64) journal.Event {
	return journal.Event{T: t, Type: journal.VMRunning, VM: vm, Pool: pool, Zone: zone, Priority: prio, Price: price}
}

func noticed(t float64, vm string) journal.Event {
	return journal.Event{T: t, Type: journal.EvictionNoticed, VM: vm, Cause: journal.CauseInjected, At: journal.Ptr(t + 30)}
}

func evicted(t float64, vm string, jobs int) journal.Event {
	return journal.Event{T: t, Type: journal.EvictionEvicted, VM: vm, Cause: journal.CauseInjected, Policy: "Delete", Count: jobs}
}

func interrupted(t float64, job, vm string, lost float64) journal.Event {
	return journal.Event{T: t, Type: journal.JobInterrupted, Job: job, VM: vm, Lost: lost}
}

func resumed(t float64, job string) journal.Event {
	return journal.Event{T: t, Type: journal.JobResumed, Job: job, VM: "vm-new"}
}

func completed(t float64, job string, submitted float64, dup bool) journal.Event {
	return journal.Event{T: t, Type: journal.JobCompleted, Job: job, Submitted: journal.Ptr(submitted), Duplicate: dup}
}

func sample(t float64, s journal.Sample) journal.Event {
	return journal.Event{T: t, Type: journal.Sampled, Sample: &s}
}

func summary(t float64, s journal.Summary) journal.Event {
	return journal.Event{T: t, Type: journal.WorkloadSummarized, Summary: &s}
}

func TestAccumulatorMetrics(t *testing.T) {
	tests := []struct {
		name   string
		events []journal.Event
		want   map[string]want
		check  func(t *testing.T, r *Report)
	}{
		{
			name: "TTR clamped at zero for work handed back and resumed before the eviction landed",
			events: []journal.Event{
				started(), noticed(0, "vm-1"),
				{T: 10, Type: journal.JobInterrupted, Job: "j1", VM: "vm-1", Released: true, Lost: 5},
				resumed(20, "j1"),
				evicted(30, "vm-1", 0),
			},
			want: map[string]want{"ttr.p50": val(0), "ttr.max": val(0), "ttr.unrecovered": val(0), "evictions.count": val(1)},
			check: func(t *testing.T, r *Report) {
				require.Len(t, r.Evictions, 1)
				assert.Equal(t, journal.Ptr(0), r.Evictions[0].TTR)
				assert.Equal(t, journal.Ptr(30), r.Evictions[0].Recovered)
			},
		},
		{
			name: "TTR runs from the eviction even when the lease expires later",
			events: []journal.Event{
				started(), evicted(30, "vm-1", 1), interrupted(90, "j1", "vm-1", 0), resumed(100, "j1"),
			},
			want: map[string]want{"ttr.max": val(70)},
		},
		{
			name:   "an interruption no eviction explains counts from itself",
			events: []journal.Event{started(), interrupted(50, "j1", "vm-x", 0), resumed(80, "j1")},
			want:   map[string]want{"ttr.max": val(30), "evictions.count": val(0)},
			check: func(t *testing.T, r *Report) {
				assert.Empty(t, r.Evictions)
			},
		},
		{
			name: "recovered before an eviction that never landed counts from the interruption",
			events: []journal.Event{
				started(), noticed(10, "vm-1"),
				{T: 15, Type: journal.JobInterrupted, Job: "j1", VM: "vm-1", Released: true},
				resumed(25, "j1"), ended(100),
			},
			want: map[string]want{"ttr.max": val(10), "evictions.count": val(0), "ttr.capacity.p50": {note: noteNoEvictions, vacuous: true}},
			check: func(t *testing.T, r *Report) {
				require.Len(t, r.Evictions, 1)
				assert.Nil(t, r.Evictions[0].Evicted)
				assert.Equal(t, journal.Ptr(10), r.Evictions[0].TTR)
				assert.Equal(t, journal.Ptr(25), r.Evictions[0].Recovered)
			},
		},
		{
			name: "unrecovered jobs, one of which gave up",
			events: []journal.Event{
				started(), evicted(10, "vm-1", 2),
				interrupted(10, "j1", "vm-1", 10), interrupted(10, "j2", "vm-1", 20),
				{T: 40, Type: journal.JobFailed, Job: "j2", Reason: "out of attempts"},
				interrupted(50, "j3", "vm-9", 0), ended(100),
			},
			want: map[string]want{
				"ttr.unrecovered": val(3),
				"ttr.p95":         none(noteNoneRecovered),
				"ttr.max":         none(noteNoneRecovered),
			},
			check: func(t *testing.T, r *Report) {
				assert.Equal(t, []UnrecoveredJob{
					{Job: "j1", VM: "vm-1", Since: 10},
					{Job: "j2", VM: "vm-1", Since: 10, GaveUp: true},
					{Job: "j3", VM: "vm-9", Since: 50},
				}, r.Unrecovered)
				assert.Equal(t, 2, r.Evictions[0].Unrecovered)
				assert.Nil(t, r.Evictions[0].Recovered)
			},
		},
		{
			name: "a completion recovers a job that was never resumed",
			events: []journal.Event{
				started(), evicted(10, "vm-1", 1), interrupted(10, "j1", "vm-1", 0), completed(50, "j1", 0, false),
			},
			want: map[string]want{"ttr.max": val(40), "ttr.unrecovered": val(0), "jobs.turnaround.mean": none(noteNoSummary)},
		},
		{
			name: "interrupted again without a resume: the new attempt's start recovered the first",
			events: []journal.Event{
				started(), interrupted(10, "j1", "vm-a", 0),
				{T: 100, Type: journal.JobInterrupted, Job: "j1", VM: "vm-b", At: journal.Ptr(40)},
			},
			want: map[string]want{"ttr.max": val(30), "ttr.unrecovered": val(1)},
		},
		{
			name: "capacity TTR: replaced before the eviction landed, and a deallocated VM started again",
			events: []journal.Event{
				started(spotPool), noticed(0, "vm-1"),
				{T: 20, Type: journal.VMRunning, VM: "vm-2", Pool: "spot", Priority: "Spot", Replaces: "vm-1", At: journal.Ptr(5)},
				evicted(30, "vm-1", 0),
				evicted(100, "vm-3", 0),
				{T: 250, Type: journal.VMRunning, VM: "vm-3", Pool: "spot", Priority: "Spot", At: journal.Ptr(200)},
			},
			want: map[string]want{
				"ttr.capacity.p50":      val(0),
				"ttr.capacity.p95":      val(150),
				"provision.latency.p50": val(15),
				"provision.latency.p95": val(50),
				"ttr.p50":               {note: noteNoInterruptions, vacuous: true},
			},
			check: func(t *testing.T, r *Report) {
				require.Len(t, r.Evictions, 2)
				assert.Equal(t, "vm-2", r.Evictions[0].ReplacedBy)
				assert.Equal(t, "vm-3", r.Evictions[1].ReplacedBy)
			},
		},
		{
			name:   "evicted and never replaced",
			events: []journal.Event{started(), evicted(10, "vm-1", 0), ended(100)},
			want:   map[string]want{"ttr.capacity.p50": none(noteNoneReplaced), "evictions.count": val(1)},
		},
		{
			name:   "nothing happened: harm metrics are vacuous, the rest unmeasured",
			events: []journal.Event{started()},
			want: map[string]want{
				"evictions.count":         val(0),
				"evictions.ratePerHour":   {note: noteNoSpotVM, vacuous: true},
				"ttr.p99":                 {note: noteNoInterruptions, vacuous: true},
				"ttr.capacity.p95":        {note: noteNoEvictions, vacuous: true},
				"provision.latency.p95":   {note: noteNoProvisioned, vacuous: true},
				"provision.rejectionRate": {note: noteNoRequests, vacuous: true},
				"lostWork.seconds":        val(0),
				"lostWork.fraction":       none(noteNoCounts),
				"jobs.successRate":        none(noteNoCounts),
				"jobs.duplicates":         val(0),
				"cost.total":              val(0),
				"cost.savings":            none(noteNoVM),
				"cost.variance":           none(noteNoPlan),
				"queue.backlog.max":       none(noteNoSamples),
				"queue.backlog.mean":      none(noteNoSamples),
				"fallback.rate":           none(noteNoVM),
				"fallback.cost":           val(0),
			},
		},
		{
			name: "cost with a price change in one zone, a VM that takes the new price, and fallback",
			events: []journal.Event{
				started(spotPool, fallbackPool),
				running(0, "vm-1", "spot", "1", "Spot", 0.1),
				running(0, "vm-2", "spot", "2", "Spot", 0.1),
				{T: 1800, Type: journal.PriceChanged, Pool: "spot", Zone: "1", Price: 0.3},
				{T: 1800, Type: journal.VMDeleted, VM: "vm-2", Reason: "scale in"},
				{T: 1800, Type: journal.VMRunning, VM: "vm-f", Pool: "fb", Priority: "Regular", Price: 0.4, Fallback: true},
				running(2700, "vm-3", "spot", "1", "Spot", 0),
				ended(3600),
			},
			// $/3600: vm-1 180+540, vm-2 180, vm-3 900×0.3, vm-f 1800×0.4.
			want: map[string]want{
				"cost.total":            val(1890.0 / 3600),
				"fallback.cost":         val(720.0 / 3600),
				"fallback.rate":         val(1800.0 / 8100),
				"cost.savings":          val(1 - 1890.0/(6300*0.5+720)),
				"evictions.ratePerHour": val(0),
			},
		},
		{
			name: "a pool-wide price change before a VM starts without a price",
			events: []journal.Event{
				started(spotPool),
				{T: 0, Type: journal.PriceChanged, Pool: "spot", Price: 0.2},
				running(0, "vm-1", "spot", "2", "Spot", 0),
				ended(3600),
			},
			want: map[string]want{"cost.total": val(0.2)},
		},
		{
			name: "no on-demand price for a Spot pool",
			events: []journal.Event{
				started(journal.Pool{Name: "p", Priority: "Spot"}), running(0, "vm-1", "p", "", "Spot", 0.1), ended(3600),
			},
			want: map[string]want{"cost.total": val(0.1), "cost.savings": none("no on-demand price for pool p")},
		},
		{
			name: "backlog: peak of maxima and gauges, mean from areas over the sampled time",
			events: []journal.Event{
				started(),
				sample(100, journal.Sample{Backlog: 2, BacklogMax: 5, BacklogArea: 200}),
				sample(300, journal.Sample{Backlog: 7, BacklogMax: 3, BacklogArea: 600}),
			},
			want: map[string]want{"queue.backlog.max": val(7), "queue.backlog.mean": val(800.0 / 300)},
		},
		{
			name: "provisioning latency and rejection rate",
			events: []journal.Event{
				started(spotPool),
				{T: 0, Type: journal.VMRequested, Pool: "spot"},
				{T: 0, Type: journal.VMRequested, Pool: "spot"},
				{T: 5, Type: journal.VMAllocationFailed, Pool: "spot", Code: "capacity"},
				{T: 10, Type: journal.VMRequested, Pool: "spot"},
				{T: 15, Type: journal.VMAllocationFailed, Pool: "spot", Code: "price"},
				{T: 20, Type: journal.VMRequested, Pool: "spot"},
				{T: 25, Type: journal.VMAllocationFailed, Pool: "spot", Code: "capacity"},
				{T: 60, Type: journal.VMRunning, VM: "a", Pool: "spot", Priority: "Spot", At: journal.Ptr(0)},
				{T: 100, Type: journal.VMRunning, VM: "b", Pool: "spot", Priority: "Spot", At: journal.Ptr(20)},
				{T: 100, Type: journal.VMBootstrapFailed, VM: "b", Pool: "spot"},
			},
			want: map[string]want{
				"provision.latency.p50":   val(60),
				"provision.latency.p95":   val(80),
				"provision.rejectionRate": val(0.75),
			},
			check: func(t *testing.T, r *Report) {
				assert.Equal(t, []CodeCount{{Code: "capacity", Count: 2}, {Code: "price", Count: 1}}, r.AllocationFailures)
				assert.Equal(t, 1, r.BootstrapFailures)
			},
		},
		{
			name: "requested VMs that never came up are not vacuous",
			events: []journal.Event{
				started(), {T: 0, Type: journal.VMRequested}, {T: 5, Type: journal.VMAllocationFailed, Code: "capacity"},
			},
			want: map[string]want{"provision.latency.p50": none(noteNoneCameUp), "provision.rejectionRate": val(1)},
		},
		{
			name: "success rate and duplicates from samples before the summary",
			events: []journal.Event{
				started(),
				sample(60, journal.Sample{Submitted: 20, Completed: 5, Compute: 1000}),
				completed(70, "j1", 0, false), completed(80, "j1", 0, true), completed(90, "j2", 0, true),
				interrupted(95, "j9", "vm", 250),
			},
			want: map[string]want{
				"jobs.successRate":     val(0.25),
				"jobs.spotSuccessRate": none(noteNoSummary),
				"jobs.duplicates":      val(2),
				"lostWork.fraction":    val(0.25),
			},
		},
		{
			name: "success rates, duplicates and compute from the summary",
			events: []journal.Event{
				started(),
				sample(60, journal.Sample{Submitted: 20, Completed: 5, Compute: 1000}),
				completed(80, "j1", 0, true),
				interrupted(95, "j9", "vm", 100),
				summary(100, journal.Summary{Submitted: 40, Completed: 30, CompletedOnSpot: 20, Duplicates: 3, Compute: 4000}),
			},
			want: map[string]want{
				"jobs.successRate":     val(0.75),
				"jobs.spotSuccessRate": val(0.5),
				"jobs.duplicates":      val(3),
				"lostWork.seconds":     val(100),
				"lostWork.fraction":    val(0.025),
				"jobs.turnaround.mean": none(noteNoCompleted),
			},
		},
		{
			name: "turnaround merges the summary with completed interrupted jobs, without duplicates",
			events: []journal.Event{
				started(),
				completed(100, "j1", 0, false),
				completed(150, "j1", 0, true),
				{T: 160, Type: journal.JobCompleted, Job: "j2", At: journal.Ptr(100)},
				summary(200, journal.Summary{Submitted: 5, Completed: 5, Turnaround: []float64{10, 20, 30}, Wait: []float64{1, 2, 3, 4}}),
			},
			want: map[string]want{
				"jobs.turnaround.mean": val(220.0 / 5),
				"jobs.turnaround.p50":  val(30),
				"jobs.turnaround.p95":  val(100),
				"queue.wait.p95":       val(4),
				"jobs.successRate":     val(1),
			},
		},
		{
			name: "uncorrelated: VMs said to run work that no job.interrupted names",
			events: []journal.Event{
				started(),
				evicted(10, "vm-1", 2),
				evicted(10, "vm-2", 0),
				evicted(10, "vm-3", 1),
				interrupted(40, "j1", "vm-3", 0),
			},
			want: map[string]want{"evictions.uncorrelated": val(1), "evictions.count": val(3)},
			check: func(t *testing.T, r *Report) {
				assert.True(t, r.Evictions[0].Uncorrelated)
				assert.False(t, r.Evictions[1].Uncorrelated)
				assert.False(t, r.Evictions[2].Uncorrelated)
			},
		},
		{
			name: "a VM evicted twice has two records",
			events: []journal.Event{
				started(),
				evicted(10, "vm-1", 0),
				{T: 50, Type: journal.VMRunning, VM: "vm-1", Priority: "Spot"},
				noticed(60, "vm-1"), evicted(90, "vm-1", 1), interrupted(90, "j1", "vm-1", 0), resumed(95, "j1"),
			},
			want: map[string]want{"evictions.count": val(2), "ttr.capacity.p50": val(40), "ttr.max": val(5)},
			check: func(t *testing.T, r *Report) {
				require.Len(t, r.Evictions, 2)
				assert.Equal(t, 0, r.Evictions[0].Jobs)
				assert.Equal(t, 1, r.Evictions[1].Jobs)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fold(tt.events...).Report()
			assertMetrics(t, r, tt.want)
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

// Value answers abort conditions mid-run from what is known so far.
func TestAccumulatorValueLive(t *testing.T) {
	a := NewAccumulator()
	emit := func(e journal.Event) { a.Emit(&e) }
	value := func(m string) any {
		v, ok := a.Value(m)
		if !ok {
			return "unmeasured"
		}
		return v
	}

	emit(started(spotPool))
	emit(journal.Event{Type: journal.Planned, Plan: &journal.Plan{PlannedCost: 1}})
	emit(running(0, "vm-1", "spot", "1", "Spot", 0.5))
	emit(running(0, "vm-2", "spot", "1", "Spot", 0.5))
	assert.Equal(t, "unmeasured", value("ttr.max"))
	assert.Equal(t, "unmeasured", value("no.such.metric"))

	emit(evicted(100, "vm-1", 1))
	emit(interrupted(100, "j1", "vm-1", 40))
	emit(sample(400, journal.Sample{Submitted: 10, Completed: 2, Compute: 400}))
	assert.Equal(t, 300.0, value("ttr.max"), "a job still down counts as long as it has been down")
	assert.Equal(t, "unmeasured", value("ttr.p50"))
	assert.Equal(t, 1.0, value("ttr.unrecovered"))
	assert.Equal(t, 0.2, value("jobs.successRate"))
	assert.Equal(t, 0.1, value("lostWork.fraction"))
	assert.Equal(t, "unmeasured", value("jobs.turnaround.p50"), "needs the summary")
	// Spend at 400: vm-1 100 s and vm-2 400 s at $0.50 = $1/3600×250;
	// planned $1 prorated to 400 s of 3600.
	assert.InDelta(t, (250.0/3600-400.0/3600)/(400.0/3600), value("cost.variance"), 1e-9)

	emit(resumed(500, "j1"))
	emit(sample(600, journal.Sample{Submitted: 10, Completed: 4, Compute: 800}))
	assert.Equal(t, 400.0, value("ttr.max"))
	assert.Equal(t, 400.0, value("ttr.p50"))
	assert.Equal(t, 0.4, value("jobs.successRate"))

	emit(summary(700, journal.Summary{Submitted: 10, Completed: 9, CompletedOnSpot: 9, Compute: 1000, Turnaround: []float64{50}}))
	assert.Equal(t, 0.9, value("jobs.successRate"))
	assert.Equal(t, 0.9, value("jobs.spotSuccessRate"))
	assert.Equal(t, 50.0, value("jobs.turnaround.p50"))
}

// A live console may ask for a report mid-run without disturbing what
// follows.
func TestReportMidRunLeavesAccumulatorIntact(t *testing.T) {
	events := []journal.Event{
		started(spotPool), running(0, "vm-1", "spot", "1", "Spot", 0.1),
		noticed(5, "vm-1"),
		{T: 8, Type: journal.JobInterrupted, Job: "j1", VM: "vm-1", Released: true},
		resumed(9, "j1"),
		evicted(35, "vm-1", 0),
		evicted(40, "vm-2", 1), interrupted(40, "j2", "vm-2", 3), resumed(70, "j2"),
		ended(100),
	}
	whole := fold(events...).Report()

	a := NewAccumulator()
	for i := range events {
		e := events[i]
		e.Seq = int64(i + 1)
		a.Emit(&e)
		_ = a.Report()
		_, _ = a.Value("ttr.p95")
	}
	assert.Equal(t, whole, a.Report())
	assert.Equal(t, []float64{0, 30}, ttrOf(whole))
}

func ttrOf(r *Report) []float64 {
	var out []float64
	for _, ev := range r.Evictions {
		if ev.TTR != nil {
			out = append(out, *ev.TTR)
		}
	}
	return out
}

func TestAccumulatorConcurrentUse(t *testing.T) {
	a := NewAccumulator()
	var wg sync.WaitGroup
	wg.Go(func() {
		e := started()
		a.Emit(&e)
		for i := range 2000 {
			ts := float64(i)
			e := interrupted(ts, "j", "vm", 1)
			a.Emit(&e)
			r := resumed(ts+1, "j")
			a.Emit(&r)
		}
	})
	wg.Go(func() {
		for range 200 {
			_, _ = a.Value("ttr.p95")
			_ = a.Report()
		}
	})
	wg.Wait()
	v, ok := a.Value("ttr.max")
	require.True(t, ok)
	assert.Equal(t, 1.0, v)
}

func TestValuesQuantile(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		p    float64
		want float64
	}{
		{"single", []float64{7}, 0.5, 7},
		{"median of four is the second", []float64{4, 1, 3, 2}, 0.5, 2},
		{"p95 of twenty is the nineteenth", seq(20), 0.95, 19},
		{"p95 of a hundred is the ninety-fifth", seq(100), 0.95, 95},
		{"p99 of ten is the max", seq(10), 0.99, 10},
		{"p100", seq(3), 1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v values
			for _, x := range tt.in {
				v.add(x)
			}
			assert.Equal(t, tt.want, v.quantile(tt.p))
		})
	}
}

func seq(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(i + 1)
	}
	return out
}

// Values added between queries land where a full sort would put them,
// whether they are inserted into the sorted runs or force a rebuild, and
// runs split as they grow.
func TestValuesInsertAndRebuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var v values
	var want []float64 // kept sorted
	for round := range 3000 {
		for range rng.IntN(20) + 1 {
			x := float64(rng.IntN(100000))
			v.add(x)
			at, _ := slices.BinarySearch(want, x)
			want = slices.Insert(want, at, x)
		}
		if round%3 == 0 {
			continue // let several batches pile up
		}
		for _, p := range []float64{0.5, 0.95, 0.99, 1} {
			require.Equal(t, want[rank(len(want), p)], v.quantile(p), "round %d p%v", round, p)
		}
		require.Equal(t, want[len(want)-1], v.max())
	}
	assert.Equal(t, want, v.sorted())
	assert.Greater(t, len(v.runs), len(want)/(2*runLen), "runs split as they grow")
	for _, run := range v.runs {
		assert.Less(t, len(run), 2*runLen)
	}
	c := v.clone()
	c.add(-1)
	assert.Equal(t, -1.0, c.quantile(0.00001))
	assert.Equal(t, want[0], v.quantile(0.00001), "a clone is independent")
}

// A refused request closes its record: the VM's later eviction gets a
// record of its own, without the refused request's time.
func TestFailedRequestDoesNotLeakIntoALaterEviction(t *testing.T) {
	r := fold(
		started(),
		journal.Event{T: 100, Type: journal.EvictionRequested, Wave: "w1", VM: "vm-1"},
		journal.Event{T: 101, Type: journal.EvictionFailed, Wave: "w1", VM: "vm-1", Code: "OperationNotAllowed"},
		journal.Event{T: 500, Type: journal.EvictionNoticed, VM: "vm-1", Cause: journal.CauseNatural, At: journal.Ptr(530)},
		journal.Event{T: 530, Type: journal.EvictionEvicted, VM: "vm-1", Cause: journal.CauseNatural, Policy: "Delete"},
		ended(600),
	).Report()
	require.Len(t, r.Evictions, 2)
	assert.True(t, r.Evictions[0].Failed)
	assert.Equal(t, journal.Ptr(100), r.Evictions[0].Requested)
	assert.Nil(t, r.Evictions[0].Evicted)
	assert.False(t, r.Evictions[1].Failed)
	assert.Nil(t, r.Evictions[1].Requested)
	assert.Equal(t, journal.Ptr(500), r.Evictions[1].Noticed)
	assert.Equal(t, "natural", r.Evictions[1].Cause)
	assert.Equal(t, 0, r.Phases[0].Count, "no requested → noticed step")
}

// TestSummaryInPartsReadsAsOne: a workload summary split into parts (a
// large run's) gives the report a single summary would.
func TestSummaryInPartsReadsAsOne(t *testing.T) {
	turn := make(journal.Values, journal.SummaryChunk+10)
	wait := make(journal.Values, 2*journal.SummaryChunk+3)
	for i := range turn {
		turn[i] = float64(i%977) + 0.5
	}
	for i := range wait {
		wait[i] = float64(i % 131)
	}
	sum := &journal.Summary{Submitted: 10, Completed: 8, CompletedOnSpot: 8, Compute: 1000, Turnaround: turn, Wait: wait}
	report := func(parts []*journal.Summary) *Report {
		a := NewAccumulator()
		a.Emit(&journal.Event{Seq: 1, Type: journal.RunStarted, Run: &journal.Run{SchemaVersion: journal.SchemaVersion, Provider: "sim", Duration: 3600}})
		for i, p := range parts {
			a.Emit(&journal.Event{Seq: int64(i + 2), T: 3600, Type: journal.WorkloadSummarized, Summary: p})
		}
		return a.Report()
	}
	one, split := report([]*journal.Summary{sum}), report(journal.SummaryParts(sum))
	require.Len(t, journal.SummaryParts(sum), 3)
	for _, name := range []string{"jobs.turnaround.mean", "jobs.turnaround.p50", "jobs.turnaround.p95", "queue.wait.p95", "jobs.successRate"} {
		a, ok := one.Metric(name)
		require.True(t, ok, name)
		b, _ := split.Metric(name)
		require.Equal(t, a, b, name)
	}
}

// TestSuccessRateWaitsForAFinishedJob: before any job completes or fails,
// the success rate is n/a, as the TTR figures are; a failed job makes it
// measurable (0%), and so does the workload's summary.
func TestSuccessRateWaitsForAFinishedJob(t *testing.T) {
	a := NewAccumulator()
	for _, e := range []journal.Event{started(), sample(60, journal.Sample{Submitted: 5, Running: 5})} {
		a.Emit(&e)
	}
	_, ok := a.Value("jobs.successRate")
	assert.False(t, ok, "no job has finished yet")
	m, _ := a.Report().Metric("jobs.successRate")
	assert.Equal(t, "no job has finished yet", m.Note)

	e := sample(120, journal.Sample{Submitted: 5, Running: 4, Failed: 1})
	a.Emit(&e)
	v, ok := a.Value("jobs.successRate")
	require.True(t, ok)
	assert.Equal(t, 0.0, v)
}
