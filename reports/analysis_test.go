package reports

import (
	"math"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/journal"
)

// testdata/failuremodes.journal shows every failure mode once, worked out
// by hand:
//
//	s1 (zone 1) evicted at 600 by a zone outage, no notice (F1); j1 lost
//	   300 of the 600 it ran (it had checkpointed); resumed at 700: TTR 100.
//	s2 (zone 1) evicted at 930 by wave w1 after 30s notice; j2's drain was
//	   cut short (F2), lost 120; resumed 1000: TTR 70. Spot allocations for
//	   its replacement failed twice for capacity at 960 and 1020 (F3), and
//	   fallback f1 ($0.50/h) took over at 1100 until the end (F7).
//	s3 (zone 1) evicted at 1230 for price (F4, the price rose to $0.30 at
//	   1200; one allocation refused on price at 1300); j3's local
//	   checkpoint died with it (F5), lost 600; resumed 1500: TTR 270.
//	s4 (zone 2) evicted at 1530 running 2 jobs nobody reported (F9).
//	r1 ran at 1700 and never took work (F10).
//	3 of 4 evictions in zone 1 (F8); the backlog grew 4 → 20 while the fleet
//	   ran below its 4 VMs, and shrank once it was whole (F6).
//
// Spend ($/3600): s1 60, s2 93, s3 120+9, s4 120+99+360, r1 30, r2 360,
// r3 360, f1 1250: 2861. Spot VM-seconds: 600+930+1230+1530+1200+100+1200+
// 1200 = 7990, so MTBF = 7990/4 = 1997.5s.
func TestAnalyzeFailureModes(t *testing.T) {
	r, err := Load(filepath.Join("testdata", "failuremodes.journal"))
	require.NoError(t, err)
	an := Analyze(r, r.Grading, AnalysisOptions{CheckpointCost: 20})

	require.Len(t, an.FailureModes, 10)
	byID := map[string]FailureMode{}
	for i, f := range an.FailureModes {
		assert.Equal(t, "F"+strconv.Itoa(i+1), f.ID, "in order")
		assert.True(t, f.Detected, "%s %s not detected", f.ID, f.Name)
		byID[f.ID] = f
	}
	assert.Equal(t, []string{"s1"}, byID["F1"].VMs)
	assert.InDelta(t, 300, byID["F1"].LostWork, 1e-9)
	assert.Equal(t, []string{"j2"}, byID["F2"].Jobs)
	assert.InDelta(t, 120, byID["F2"].LostWork, 1e-9)
	assert.Equal(t, "2 allocations failed for lack of Spot capacity between 0:16:00 and 0:17:00.", byID["F3"].Summary)
	assert.Contains(t, byID["F4"].Evidence, "peak Spot price of batch: $0.3000/h")
	assert.Equal(t, []string{"j3"}, byID["F5"].Jobs)
	assert.InDelta(t, 600, byID["F5"].LostWork, 1e-9)
	// Degraded intervals: 900-1200 +4, 1200-1500 +6, 1500-1800 +6,
	// 1800-2100 0, 2100-2400 -2: 14 jobs over 1500s, lowest 1 VM at 2100.
	assert.Equal(t, "While the fleet ran below its 4 VMs (25m00s in all, down to 1 at 0:35:00), the backlog grew by 14 jobs; it peaked at 21 at 0:35:00.", byID["F6"].Summary)
	assert.InDelta(t, 1250.0/3600, byID["F7"].Cost, 1e-9)
	assert.Equal(t, "1 fallback Regular VM ran up $0.3472, 43.69% of the spend.", byID["F7"].Summary)
	assert.Equal(t, []string{"s1", "s2", "s3"}, byID["F8"].VMs)
	assert.Equal(t, []string{"s4"}, byID["F9"].VMs)
	assert.Equal(t, []string{"r1"}, byID["F10"].VMs)

	recs := map[string]Recommendation{}
	for _, rec := range an.Recommendations {
		recs[rec.ID] = rec
		assert.NotEmpty(t, rec.Action, rec.ID)
	}
	// τ = √(2 × 20 × 1997.5) = 282.66s; waste = 20/282.66 + 282.66/3995.
	ck := recs["checkpoint-interval"]
	assert.Equal(t, "Checkpoint every 4m43s of compute: τ = √(2·δ·MTBF) = √(2 × 20.0s × 33m18s); jobs now checkpoint about every 7m00s (twice the mean work lost by the 2 killed attempts that had checkpointed).", ck.Text)
	assert.Contains(t, ck.Details, "expected waste at τ: δ/τ + τ/(2·MTBF) = 14.15% of compute")
	assert.InDelta(t, 282.6658, youngDaly(20, 1997.5), 1e-3)
	assert.InDelta(t, 20/282.6658+282.6658/3995, wasteAt(youngDaly(20, 1997.5), 20, 1997.5), 1e-6)
	// Crunch from the first capacity failure (960) until the fleet was
	// whole again at 2400: gap 1×240 + 1×300 + 2×300 + 2×300 + 3×300 = 2640
	// VM-seconds, fallback 1×1200; (2640+1200)/3600 h × $0.50 = $0.5333.
	require.NotNil(t, r.Evidence.Crunch)
	assert.Equal(t, Crunch{Start: 960, End: 2400, Target: 4, WorstGap: 3, WorstAt: 2100, GapSeconds: 2640, FallbackSeconds: 1200}, *r.Evidence.Crunch)
	assert.Equal(t, "A fallback budget of $0.5333 would have kept the Spot pools whole through the crunch: 1.1 VM-hours at $0.5000/h.", recs["fallback-budget"].Text)
	for _, id := range []string{"F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10"} {
		assert.Contains(t, recs, id)
	}
	assert.Equal(t, "Meet ttr.capacity.p95 <= 10m (measured 30m00s)", an.ActionItems[0])
	assert.Contains(t, an.ActionItems, "Set the checkpoint interval to 4m43s (Young/Daly for a 20.0s checkpoint and 33m18s between evictions)")
	assert.Equal(t, []string{
		"fallback budget and instance cap: run.started pools would need fallback.budget and fallback.maxInstances to compare the spend with them",
		"max price: run.started pools would need maxPrice to say how far the price rose above it",
	}, an.JournalGaps, "the checkpoint cost was given")
}

func TestAnalyzeHealthyRun(t *testing.T) {
	r := fold(started(spotPool), running(0, "vm-1", "spot", "1", "Spot", 0.1), ended(3600)).Report()
	an := Analyze(r, r.Grading, AnalysisOptions{})
	assert.Empty(t, an.Detected())
	assert.Empty(t, an.Recommendations, "no evictions: no rate to recommend a checkpoint interval from")
	assert.Empty(t, an.ActionItems)
	assert.Contains(t, an.Summary, "No failure mode of the catalogue was seen.")
}

// Without a checkpoint cost the analysis measures it from checkpoints taken
// on notice: the time from the Preempt notice to the job handed back with
// nothing lost.
func TestCheckpointCostMeasuredOnNotice(t *testing.T) {
	a := fold(
		started(spotPool), running(0, "vm-1", "spot", "1", "Spot", 0.1), running(0, "vm-2", "spot", "2", "Spot", 0.1),
		noticed(1000, "vm-1"),
		journal.Event{T: 1012, Type: journal.JobInterrupted, Job: "j1", VM: "vm-1", Released: true, At: journal.Ptr(0)},
		journal.Event{T: 1008, Type: journal.JobInterrupted, Job: "j2", VM: "vm-1", Released: true, At: journal.Ptr(0)},
		evicted(1030, "vm-1", 0),
		ended(3600),
	)
	r := a.Report()
	assert.Equal(t, Stat{Count: 2, P50: 8, P95: 12, Max: 12}, r.Evidence.CheckpointOnNotice)
	// One eviction over 1.03 + 3600... Spot VM-hours: vm-1 1030s, vm-2 3600s.
	mtbf := (1030.0 + 3600) / 1
	rec, ok := checkpointInterval(r, AnalysisOptions{})
	require.True(t, ok)
	assert.Contains(t, rec.Text, "Checkpoint every "+fmtS(math.Sqrt(2*8*mtbf)))
	assert.Contains(t, rec.Details[1], "measured: median time from Preempt notice to job handed back with nothing lost, over 2 checkpoints on notice")

	// Given, it wins; unknown, the recommendation says what it needs.
	rec, _ = checkpointInterval(r, AnalysisOptions{CheckpointCost: 30})
	assert.Contains(t, rec.Text, "Checkpoint every "+fmtS(math.Sqrt(2*30*mtbf)))
	r.Evidence.CheckpointOnNotice = Stat{}
	rec, _ = checkpointInterval(r, AnalysisOptions{})
	assert.Contains(t, rec.Text, "give it with --checkpoint-cost")
	assert.Len(t, rec.Details, 4)
	assert.Contains(t, journalGaps(r, AnalysisOptions{})[0], "workload.checkpoint")
}

func TestPhaseStats(t *testing.T) {
	r, err := Load(filepath.Join("testdata", "gameday.journal"))
	require.NoError(t, err)
	// vm-1: requested 600, noticed 630, drained 655, evicted 660, replaced
	// 780, recovered 840; vm-2: noticed 1500, evicted 1530, replaced 1690,
	// recovered 1750; vm-3: noticed 2600, evicted 2630, replaced 2700, j3
	// never recovered.
	assert.Equal(t, []PhaseStat{
		{From: "requested", To: "noticed", Stat: Stat{Count: 1, P50: 30, P95: 30, Max: 30}},
		{From: "noticed", To: "drained", Stat: Stat{Count: 1, P50: 25, P95: 25, Max: 25}},
		{From: "noticed", To: "evicted", Stat: Stat{Count: 3, P50: 30, P95: 30, Max: 30}},
		{From: "evicted", To: "replaced", Stat: Stat{Count: 3, P50: 120, P95: 160, Max: 160}},
		{From: "evicted", To: "recovered", Stat: Stat{Count: 2, P50: 180, P95: 220, Max: 220}},
	}, r.Phases)
	assert.Equal(t, Stat{Count: 1, P50: 10, P95: 10, Max: 10}, r.Evidence.DrainOnNotice, "j1 handed back 10s after the notice, 40s lost")
	assert.Equal(t, []JobLoss{{Job: "j2", VM: "vm-1", T: 660, Lost: 360}}, r.Evidence.DrainLate)
	assert.Equal(t, []CodeCount{{Code: "1", Count: 2}, {Code: "2", Count: 1}}, r.Evidence.ReplacementsByZone)
	assert.Equal(t, FallbackUse{VMs: 1, StillRunning: 1, First: journal.Ptr(1690), Price: 1.0}, r.Evidence.Fallback)
	assert.Equal(t, []PoolPrice{{Pool: "spot-a", Price: 0.2}}, r.Evidence.PeakSpotPrice)
	assert.Len(t, r.Timeline, 4)
	assert.Equal(t, TimelinePoint{T: 1800, Spot: 1, Regular: 1, Fallback: 1, Running: 2, Backlog: 0, BacklogMax: 3}, r.Timeline[2])
	assert.Equal(t, []float64{0, 180, 220}, r.TTRs)
	assert.Equal(t, []float64{70, 120, 160}, r.CapacityTTRs)
}

func TestTimelineIsBucketed(t *testing.T) {
	events := []journal.Event{started()}
	for i := range 2500 {
		events = append(events, sample(float64(10*(i+1)), journal.Sample{Spot: i % 7, Backlog: i % 5, BacklogMax: i % 11}))
	}
	r := fold(events...).Report()
	require.Len(t, r.Timeline, maxTimeline)
	// 2500 samples in 1000 buckets of 2 or 3: the last of each, with the
	// bucket's backlog peak.
	assert.Equal(t, TimelinePoint{T: 20, Spot: 1, Backlog: 1, BacklogMax: 1}, r.Timeline[0])
	assert.Equal(t, 25000.0, r.Timeline[maxTimeline-1].T)
}
