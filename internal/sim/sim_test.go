package sim

import (
	"context"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/injector"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

type recorder struct{ events []journal.Event }

func (r *recorder) Emit(e *journal.Event) { r.events = append(r.events, *e) }

func (r *recorder) of(t journal.Type) []journal.Event {
	var out []journal.Event
	for _, e := range r.events {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

func dur(s string) scenarios.Duration {
	v, err := scenarios.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return scenarios.Duration(v)
}

func fixed(s string) *scenarios.Dist {
	return &scenarios.Dist{Dist: scenarios.DistFixed, Value: dur(s)}
}

// handScenario is small enough to work out by hand: VMs that provision in
// exactly 60 s after a 30 s autoscaler delay, a notice 5 s after the call
// and 30 s long, one 10-minute job checkpointing every 3 minutes at 10 s.
func handScenario(vms int, onNotice string) *scenarios.Scenario {
	mp := -1.0
	return &scenarios.Scenario{
		Metadata: scenarios.Metadata{Name: "hand"}, Seed: 1, Duration: dur("2h"),
		Target: scenarios.Target{Provider: scenarios.ProviderSim},
		Fleet: &scenarios.Fleet{Notice: dur("30s"), NoticeDelay: fixed("5s"), Pools: []scenarios.Pool{{
			Name: "spot", Priority: scenarios.PrioritySpot, Zones: []string{"1"}, Capacity: vms, MaxPrice: &mp,
			EvictionPolicy: scenarios.EvictionDeallocate, SpotPrice: 0.05, OnDemandPrice: 0.2, Slots: 1,
			Provisioning: scenarios.Provisioning{Latency: fixed("60s")},
			Autoscale:    scenarios.Autoscale{Delay: dur("30s"), RetryInterval: dur("1m")},
		}}},
		Workload: &scenarios.Workload{
			Jobs:        scenarios.Jobs{Count: 1, Duration: *fixed("10m")},
			Queue:       scenarios.Queue{VisibilityTimeout: dur("5m")},
			Checkpoint:  scenarios.Checkpoint{Interval: dur("3m"), Cost: dur("10s"), Storage: scenarios.StorageDurable},
			RestartCost: dur("20s"), OnNotice: onNotice, DrainTime: dur("10s"),
		},
	}
}

func startWorld(t *testing.T, sc *scenarios.Scenario) (*World, *recorder) {
	t.Helper()
	rec := &recorder{}
	w, err := New(sc, sc.Seed, rec, Options{})
	require.NoError(t, err)
	w.Start()
	return w, rec
}

func evictAt(t *testing.T, w *World, at time.Duration, vm string) {
	t.Helper()
	w.AdvanceTo(at)
	require.NoError(t, w.SimulateEviction(context.Background(), injector.Target{ID: vm}))
}

func TestJobWithoutEvictionTakesDurationPlusCheckpoints(t *testing.T) {
	w, rec := startWorld(t, handScenario(1, scenarios.OnNoticeIgnore))
	w.AdvanceTo(2 * time.Hour)
	w.Finish()
	sum := rec.of(journal.WorkloadSummarized)[0].Summary
	// 600 s of work, checkpoints after 180, 360 and 540 s: 3 x 10 s.
	require.Equal(t, journal.Values{630}, sum.Turnaround)
	require.Equal(t, 1, sum.Completed)
	require.InDelta(t, 630, sum.Compute, 1e-9)
}

func TestEvictionLostWorkAndLeaseExpiry(t *testing.T) {
	w, rec := startWorld(t, handScenario(1, scenarios.OnNoticeIgnore))
	evictAt(t, w, 400*time.Second, "spot-00001")
	w.AdvanceTo(2 * time.Hour)
	w.Finish()

	noticed := rec.of(journal.EvictionNoticed)
	require.Len(t, noticed, 1)
	require.Equal(t, 405.0, noticed[0].T)
	require.Equal(t, 435.0, *noticed[0].At)
	evicted := rec.of(journal.EvictionEvicted)[0]
	require.Equal(t, 435.0, evicted.T)

	// Cycles of 180 s work + 10 s checkpoint: two done by 380 s, so the
	// eviction at 435 s throws away 55 s.
	in := rec.of(journal.JobInterrupted)
	require.Len(t, in, 1)
	require.Equal(t, 55.0, in[0].Lost)
	require.False(t, in[0].Released)

	// The worker died holding the lease: the job is invisible for exactly
	// the visibility timeout, then resumes on the replacement (up at 525 s).
	res := rec.of(journal.JobResumed)
	require.Len(t, res, 1)
	require.Equal(t, 735.0, res[0].T)
	require.Equal(t, 300.0, res[0].T-evicted.T)

	run := rec.of(journal.VMRunning)
	require.Equal(t, 525.0, run[1].T)
	require.Equal(t, "spot-00001", run[1].Replaces)

	// 240 s of work left, a 20 s restart and one checkpoint.
	done := rec.of(journal.JobCompleted)
	require.Len(t, done, 1)
	require.Equal(t, 735.0+20+240+10, done[0].T)
}

func TestDrainRequeuesAtOnce(t *testing.T) {
	w, rec := startWorld(t, handScenario(1, scenarios.OnNoticeDrain))
	evictAt(t, w, 400*time.Second, "spot-00001")
	w.AdvanceTo(2 * time.Hour)

	in := rec.of(journal.JobInterrupted)[0]
	require.True(t, in.Released)
	require.Equal(t, 415.0, in.T)
	// Work stopped at the notice (405 s), 25 s after the last checkpoint.
	require.Equal(t, 25.0, in.Lost)
	require.Len(t, rec.of(journal.EvictionDrained), 1)
	// Nothing else runs: it waits for the replacement, 30 s + 60 s after
	// the eviction.
	require.Equal(t, 525.0, rec.of(journal.JobResumed)[0].T)
}

func TestCheckpointOnNoticeLosesNothing(t *testing.T) {
	w, rec := startWorld(t, handScenario(2, scenarios.OnNoticeCheckpoint))
	// Idle workers are taken last-in first-out: the job runs on the second.
	evictAt(t, w, 400*time.Second, "spot-00002")
	w.AdvanceTo(2 * time.Hour)
	w.Finish()

	in := rec.of(journal.JobInterrupted)[0]
	require.True(t, in.Released)
	require.Equal(t, 0.0, in.Lost)
	// The checkpoint takes 10 s from the notice; the idle second VM takes
	// the job at once, before the eviction lands: recovery in zero.
	res := rec.of(journal.JobResumed)[0]
	require.Equal(t, 415.0, res.T)
	require.Equal(t, "spot-00001", res.VM)
	// Work done by the notice: 2 x 180 + 25 = 385 s saved; 215 s left.
	done := rec.of(journal.JobCompleted)[0]
	require.Equal(t, 415.0+20+215+10, done.T)
}

func TestSlowDrainIsLate(t *testing.T) {
	sc := handScenario(1, scenarios.OnNoticeDrain)
	sc.Workload.DrainTime = dur("45s")
	w, rec := startWorld(t, sc)
	evictAt(t, w, 400*time.Second, "spot-00001")
	w.AdvanceTo(2 * time.Hour)
	in := rec.of(journal.JobInterrupted)[0]
	require.True(t, in.DrainLate)
	require.False(t, in.Released)
	require.Empty(t, rec.of(journal.EvictionDrained))
	// Work stopped at the notice, but the lease was never handed back.
	require.Equal(t, 435.0-380, in.Lost)
	require.Equal(t, 735.0, rec.of(journal.JobResumed)[0].T)
}

func TestLocalCheckpointDiesWithDeletedVM(t *testing.T) {
	sc := handScenario(1, scenarios.OnNoticeIgnore)
	sc.Fleet.Pools[0].EvictionPolicy = scenarios.EvictionDelete
	sc.Workload.Checkpoint.Storage = scenarios.StorageLocal
	w, rec := startWorld(t, sc)
	evictAt(t, w, 400*time.Second, "spot-00001")
	w.AdvanceTo(2 * time.Hour)
	in := rec.of(journal.JobInterrupted)[0]
	require.True(t, in.CheckpointLost)
	require.Equal(t, 55.0+360, in.Lost)
	// Starts over: 600 s of work, a restart, three checkpoints.
	require.Equal(t, 735.0+20+600+30, rec.of(journal.JobCompleted)[0].T)
}

func TestMaxAttemptsFailsTheJob(t *testing.T) {
	sc := handScenario(1, scenarios.OnNoticeIgnore)
	sc.Workload.MaxAttempts = 1
	w, rec := startWorld(t, sc)
	evictAt(t, w, 400*time.Second, "spot-00001")
	w.AdvanceTo(2 * time.Hour)
	w.Finish()
	require.Len(t, rec.of(journal.JobFailed), 1)
	sum := rec.of(journal.WorkloadSummarized)[0].Summary
	require.Equal(t, 1, sum.Failed)
	require.Equal(t, 0, sum.Completed)
}

func TestRegularVMIsRefused(t *testing.T) {
	sc := handScenario(1, scenarios.OnNoticeIgnore)
	sc.Fleet.Pools = append(sc.Fleet.Pools, scenarios.Pool{Name: "od", Priority: scenarios.PriorityRegular, Zones: []string{"1"}, Capacity: 1, OnDemandPrice: 0.2, Slots: 1})
	w, rec := startWorld(t, sc)
	err := w.SimulateEviction(context.Background(), injector.Target{ID: "od-00001"})
	require.ErrorIs(t, err, injector.ErrNotSpot)
	w.AdvanceTo(time.Hour)
	require.Empty(t, rec.of(journal.EvictionNoticed))
	require.ErrorIs(t, w.SimulateEviction(context.Background(), injector.Target{ID: "nope"}), injector.ErrGone)
}

func TestCapacityShortageFallsBack(t *testing.T) {
	sc := handScenario(2, scenarios.OnNoticeIgnore)
	sc.Fleet.Pools[0].Fallback = &scenarios.Fallback{Pool: "od", AfterFailures: 2}
	sc.Fleet.Pools = append(sc.Fleet.Pools, scenarios.Pool{Name: "od", Priority: scenarios.PriorityRegular, Zones: []string{"1"}, OnDemandPrice: 0.2, Slots: 1,
		Provisioning: scenarios.Provisioning{Latency: fixed("60s")}})
	w, rec := startWorld(t, sc)
	w.AdvanceTo(10 * time.Minute)
	require.NoError(t, w.ApplyFault("crunch", scenarios.Fault{Type: scenarios.FaultCapacityShortage, Capacity: new(int), For: dur("30m")}))
	w.AdvanceTo(time.Hour)
	require.Len(t, rec.of(journal.EvictionEvicted), 2)
	fails := rec.of(journal.VMAllocationFailed)
	require.Len(t, fails, 4, "two tries each before falling back")
	var fallback []journal.Event
	for _, e := range rec.of(journal.VMRunning) {
		if e.Fallback {
			fallback = append(fallback, e)
		}
	}
	require.Len(t, fallback, 2)
	// Evicted at 630 s, asked at 660 s, retried at 720 s, then at once on
	// the fallback pool, running 60 s later.
	require.Equal(t, 780.0, fallback[0].T)
}

type attempts []Attempt

func (a *attempts) AttemptEnded(x *Attempt) { *a = append(*a, *x) }

func TestObserverSeesAttemptsAsWorkersWould(t *testing.T) {
	sc := handScenario(1, scenarios.OnNoticeIgnore)
	var seen attempts
	w, err := New(sc, sc.Seed, &recorder{}, Options{Observer: &seen})
	require.NoError(t, err)
	w.Start()
	evictAt(t, w, 400*time.Second, "spot-00001")
	w.AdvanceTo(2 * time.Hour)
	require.Len(t, seen, 2)
	s := time.Second
	first := seen[0]
	require.Equal(t, OutcomeKilled, first.Outcome)
	require.Equal(t, 1, first.Attempt)
	require.Equal(t, []time.Duration{190 * s, 380 * s}, first.Checkpoints)
	require.Equal(t, 405*s, first.Notice)
	require.Equal(t, 435*s, first.End)
	second := seen[1]
	require.Equal(t, OutcomeCompleted, second.Outcome)
	require.Equal(t, 2, second.Attempt)
	require.Equal(t, 735*s, second.Start)
	require.Equal(t, []time.Duration{(735 + 20 + 190) * s}, second.Checkpoints)
	require.Equal(t, (735+20+240+10)*s, second.End)
	require.Equal(t, time.Duration(-1), second.Notice)
}

func TestAcknowledgedPreemptLandsEarly(t *testing.T) {
	tests := []struct {
		name      string
		ackAt     time.Duration
		lands     float64
		late      bool
		drained   int
		releasedT float64
	}{
		// The drain (10 s from the notice at 405 s) is still under way at
		// 410 s: cut short, the lease must expire.
		{"before the drain ends", 410 * time.Second, 410, true, 0, 0},
		// The drain finished at 415 s: the job was handed back in time.
		{"after the drain ended", 420 * time.Second, 420, false, 1, 415},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, rec := startWorld(t, handScenario(1, scenarios.OnNoticeDrain))
			evictAt(t, w, 400*time.Second, "spot-00001")
			w.AdvanceTo(tc.ackAt - 3*time.Second)
			require.NoError(t, w.ExpediteEviction("spot-00001", tc.ackAt))
			w.AdvanceTo(2 * time.Hour)
			require.Equal(t, tc.lands, rec.of(journal.EvictionEvicted)[0].T)
			in := rec.of(journal.JobInterrupted)[0]
			require.Equal(t, tc.late, in.DrainLate)
			require.Equal(t, !tc.late, in.Released)
			require.Len(t, rec.of(journal.EvictionDrained), tc.drained)
			if !tc.late {
				require.Equal(t, tc.releasedT, in.T)
			}
		})
	}
	w, _ := startWorld(t, handScenario(1, scenarios.OnNoticeDrain))
	require.Error(t, w.ExpediteEviction("spot-00001", time.Minute), "no notice yet")
	require.ErrorIs(t, w.ExpediteEviction("nope", time.Minute), injector.ErrGone)
}

// TestMemoryEstimate: the largest fleet and workload that validation
// allows is estimated, before anything is allocated, at a size a laptop
// holds; a smaller machine gets a clear refusal.
func TestMemoryEstimate(t *testing.T) {
	sc := &scenarios.Scenario{Fleet: &scenarios.Fleet{Pools: []scenarios.Pool{{Capacity: 100, Slots: 2}}},
		Workload: &scenarios.Workload{Jobs: scenarios.Jobs{Count: 1000}}}
	small := EstimateMemory(sc)
	require.Greater(t, small, uint64(1000*int(unsafe.Sizeof(job{}))))
	sc.Fleet.Pools[0].Capacity, sc.Fleet.Pools[0].Slots = scenarios.MaxPoolCapacity, 100
	sc.Fleet.Pools = append(sc.Fleet.Pools, scenarios.Pool{Capacity: scenarios.MaxPoolCapacity, Slots: 1})
	sc.Workload.Jobs.Count = scenarios.MaxJobs
	big := EstimateMemory(sc)
	require.Greater(t, big, uint64(1<<30), "ten million jobs and slots take gigabytes")
	require.Less(t, big, uint64(16<<30), "the validation caps keep the largest scenario on a laptop")
	err := (&ErrTooLarge{Need: big, Have: 1 << 30}).Error()
	require.Contains(t, err, "more than the 1.0 GiB this machine has available")
}
