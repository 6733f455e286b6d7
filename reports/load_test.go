package reports

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/journal"
)

// want is a metric's expected value; a note means "not measured" with that
// note.
type want struct {
	v       float64
	note    string
	vacuous bool
}

func val(v float64) want { return want{v: v} }

func none(note string) want { return want{note: note} }

func assertMetrics(t *testing.T, r *Report, wants map[string]want) {
	t.Helper()
	for name, w := range wants {
		m, ok := r.Metric(name)
		require.True(t, ok, name)
		if w.note != "" {
			assert.False(t, m.Measured, "%s should not be measured, got %v", name, m.Value)
			assert.Equal(t, w.note, m.Note, name)
			assert.Equal(t, w.vacuous, m.Vacuous, "%s vacuous", name)
			continue
		}
		if assert.True(t, m.Measured, "%s not measured: %s", name, m.Note) {
			assert.InDelta(t, w.v, m.Value, 1e-9, name)
		}
	}
}

// The game day of testdata/gameday.journal, worked out by hand:
//
//	vm-1 (Spot, zone 1) runs 0-660 at $0.10; evicted by wave w1 at 660,
//	     replaced by vm-3 at 780 (requested 700).
//	vm-2 (Spot, zone 2) runs 0-1530, $0.10 then $0.20 from 1200; evicted
//	     naturally at 1530, replaced by fallback vm-4 at 1690 (requested
//	     1570, after one capacity failure).
//	vm-3 (Spot, zone 1) runs 780-2630, $0.10 then $0.20; evicted at 2630,
//	     replaced by vm-5 at 2700 (requested 2640).
//	vm-4 (Regular fallback) runs 1690-3600 at $1.00.
//	vm-5 (Spot, zone 1) runs 2700-3600 at $0.20.
//	j1 handed back at 640, resumed 650 before vm-1 went at 660: TTR 0.
//	j2 killed at 660, resumed 840: TTR 180.
//	j1 killed with vm-2 at 1530, resumed 1750: TTR 220.
//	j3 killed with vm-3 at 2630, never resumed: unrecovered.
func TestLoadGameDay(t *testing.T) {
	r, err := Load(filepath.Join("testdata", "gameday.journal"))
	require.NoError(t, err)

	// Spend in $/3600 (USD-seconds per hour): vm-1 66, vm-2 120+66,
	// vm-3 42+286, vm-4 1910, vm-5 180.
	const spend = (66 + 186 + 328 + 1910 + 180) / 3600.0
	const spotSeconds = 660 + 1530 + 1850 + 900
	const allSeconds = spotSeconds + 1910
	assertMetrics(t, r, map[string]want{
		"evictions.count":         val(3),
		"evictions.ratePerHour":   val(3 / (spotSeconds / 3600.0)),
		"evictions.uncorrelated":  val(0),
		"jobs.successRate":        val(0.8),
		"jobs.spotSuccessRate":    val(0.6),
		"jobs.duplicates":         val(0),
		"jobs.turnaround.mean":    val(13000.0 / 8),
		"jobs.turnaround.p50":     val(1500),
		"jobs.turnaround.p95":     val(2500),
		"ttr.p50":                 val(180),
		"ttr.p95":                 val(220),
		"ttr.p99":                 val(220),
		"ttr.max":                 val(220),
		"ttr.unrecovered":         val(1),
		"ttr.capacity.p50":        val(120),
		"ttr.capacity.p95":        val(160),
		"cost.total":              val(spend),
		"cost.perJob":             val(spend / 8),
		"cost.savings":            val(1 - spend/(allSeconds/3600.0)),
		"cost.variance":           val((spend - 0.25) / 0.25),
		"queue.backlog.max":       val(6),
		"queue.backlog.mean":      val(6900.0 / 3600),
		"queue.wait.p95":          val(120),
		"fallback.rate":           val(1910.0 / allSeconds),
		"fallback.cost":           val(1910.0 / 3600),
		"lostWork.seconds":        val(1910),
		"lostWork.fraction":       val(1910.0 / 6000),
		"provision.latency.p50":   val(80),
		"provision.latency.p95":   val(120),
		"provision.rejectionRate": val(0.25),
	})
	assert.Len(t, r.Metrics, 30, "every metric of the vocabulary, once")
	assert.Equal(t, "evictions.count", r.Metrics[0].Name)

	assert.Equal(t, journal.Tail{Events: 42, Ended: true}, r.Tail)
	assert.False(t, r.CutShort())
	assert.Equal(t, "completed", r.Status)
	assert.Equal(t, 3600.0, r.End)
	assert.Equal(t, "nightly-batch", r.Run.Scenario)
	require.NotNil(t, r.Plan)
	assert.Equal(t, 0.25, r.Plan.PlannedCost)

	assert.Equal(t, Interruptions{Count: 4, Released: 1, DrainLate: 1, LostWork: 1910}, r.Interruptions)
	assert.Equal(t, []UnrecoveredJob{{Job: "j3", VM: "vm-3", Since: 2630}}, r.Unrecovered)

	p := journal.Ptr
	assert.Equal(t, []Eviction{
		{
			VM: "vm-1", Pool: "spot-a", Zone: "1", Cause: "injected", Wave: "w1", Policy: "Delete",
			Requested: p(600), Noticed: p(630), NotBefore: p(660), Drained: p(655), Evicted: p(660),
			Replaced: p(780), Recovered: p(840), ReplacedBy: "vm-3",
			Running: 1, Jobs: 2, Released: 1, DrainLate: 1, LostWork: 400, TTR: p(180), CapacityTTR: p(120),
		},
		{
			VM: "vm-2", Pool: "spot-a", Zone: "2", Cause: "natural", Policy: "Delete",
			Noticed: p(1500), NotBefore: p(1530), Evicted: p(1530), Replaced: p(1690), Recovered: p(1750),
			ReplacedBy: "vm-4", Running: 1, Jobs: 1, LostWork: 880, TTR: p(220), CapacityTTR: p(160),
		},
		{
			VM: "vm-3", Pool: "spot-a", Zone: "1", Cause: "natural", Policy: "Delete",
			Noticed: p(2600), NotBefore: p(2630), Evicted: p(2630), Replaced: p(2700), ReplacedBy: "vm-5",
			Running: 1, Jobs: 1, Unrecovered: 1, LostWork: 630, CapacityTTR: p(70),
		},
	}, r.Evictions)

	assert.Equal(t, []Blocked{{T: 600, Wave: "w1", VM: "vm-2", Code: "maxEvictions", Reason: "1 eviction requested of at most 1"}}, r.Blocked)
	assert.Equal(t, []CodeCount{{Code: "maxEvictions", Count: 1, Example: "1 eviction requested of at most 1"}}, r.BlockedByCode)
	assert.Equal(t, []Wave{
		{Name: "w1", T: 600, Code: "evict", Count: 2, Reason: "evict 2 VMs of spot-a", Requested: 1, Blocked: 1},
		{Name: "w2", T: 1200, Code: "priceSpike", Reason: "Spot price of spot-a to $0.20/h"},
	}, r.Waves)
	require.Len(t, r.Faults, 1)
	assert.Equal(t, "priceSpike", r.Faults[0].Fault.Type)
	assert.Equal(t, 1200.0, r.Faults[0].Start)
	assert.Equal(t, p(3000), r.Faults[0].End)
	assert.Equal(t, []Note{{T: 1900, Text: "facilitator: fallback pool took over"}}, r.Notes)
	assert.Empty(t, r.Aborts)
	assert.Equal(t, []CodeCount{{Code: "capacity", Count: 1}}, r.AllocationFailures)
	require.NotNil(t, r.Workload)
	assert.Equal(t, 6, r.Workload.CompletedOnSpot)
	assert.Nil(t, r.Workload.Turnaround, "the report keeps counts, not the lists")

	// Graded against run.started's SLOs: ttr.p95 is within 5m but j3 never
	// came back; the others hold. Score: weights 2 each, 6/8 met = 75,
	// minus 10 + 30×1/4 for unrecovered work = 57.5, rounded to 58.
	g := r.Grading
	assert.Equal(t, VerdictFail, g.Verdict)
	assert.Equal(t, 3, g.Met)
	assert.Equal(t, 1, g.Failed)
	assert.Equal(t, 58, g.Score)
	require.Len(t, g.Grades, 4)
	assert.Equal(t, SLOGrade{
		Name: "recover-fast", Objective: "ttr.p95 <= 5m", Metric: "ttr.p95", Value: 220, Measured: true,
		Margin: 80, Note: "1 interrupted job never recovered",
	}, g.Grades[0])
	assert.True(t, g.Grades[1].Pass)
	assert.InDelta(t, 0.4-1910.0/6000, g.Grades[1].Margin, 1e-9)
	assert.InDelta(t, 0.05, g.Grades[2].Margin, 1e-9)
	assert.InDelta(t, 600-120, g.Grades[3].Margin, 1e-9)
}

// A crash leaves no run.ended and half a line: the report still covers what
// is there, from the latest sample's running totals.
func TestLoadCutShort(t *testing.T) {
	r, err := Load(filepath.Join("testdata", "cutshort.journal"))
	require.NoError(t, err)
	assert.Equal(t, journal.Tail{Events: 29, Truncated: true}, r.Tail)
	assert.True(t, r.CutShort())
	assert.Empty(t, r.Status)
	assert.Equal(t, 1750.0, r.End)

	// Spend up to 1750: vm-1 66, vm-2 186, vm-3 42+110, vm-4 60 ($/3600).
	const spend = 464 / 3600.0
	planned := 0.25 * 1750 / 3600
	assertMetrics(t, r, map[string]want{
		"evictions.count":      val(2),
		"jobs.successRate":     val(0.5),
		"jobs.spotSuccessRate": none(noteNoSummary),
		"jobs.turnaround.p50":  none(noteNoSummary),
		"queue.wait.p95":       none(noteNoSummary),
		"ttr.p50":              val(180),
		"ttr.max":              val(220),
		"ttr.unrecovered":      val(0),
		"queue.backlog.max":    val(6),
		"queue.backlog.mean":   val(4800.0 / 1200),
		"lostWork.fraction":    val(1280.0 / 3000),
		"cost.total":           val(spend),
		"cost.perJob":          val(spend / 5),
		"cost.variance":        val((spend - planned) / planned),
	})
	assert.Equal(t, VerdictIncomplete, r.Grading.Verdict)
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	tests := []struct {
		name, path, err string
	}{
		{"missing file", filepath.Join(dir, "nope.journal"), "no such file"},
		{"empty", write("empty.journal", ""), "journal is empty"},
		{"not a journal", write("other.journal", `{"seq":1,"t":0,"type":"note"}`+"\n"), "not a spotdrill journal"},
		{"bad middle line", write("bad.journal", `{"seq":1,"t":0,"type":"run.started","run":{}}`+"\nnot json\n"), "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Load(tt.path)
			assert.Nil(t, r)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "load report")
			assert.Contains(t, err.Error(), tt.err)
		})
	}
}

// TestDamagedJournalIsNotGraded: a journal with a line missing, repeated
// or moved says so, line by line, and grades nothing.
func TestDamagedJournalIsNotGraded(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "gameday.journal"))
	require.NoError(t, err)
	lines := strings.SplitAfter(strings.TrimSuffix(string(raw), "\n"), "\n")
	tests := []struct {
		name   string
		edit   func([]string) []string
		damage string
	}{
		{"a line missing", func(l []string) []string { return append(slices.Clone(l[:10]), l[11:]...) },
			"line 11: seq 12 after 10: 1 event missing (expected seq 11)"},
		{"a line repeated", func(l []string) []string { return slices.Insert(slices.Clone(l), 10, l[9]) },
			"line 11: seq 10 repeats the line before (expected seq 11)"},
		{"two lines swapped", func(l []string) []string {
			c := slices.Clone(l)
			c[10], c[11] = c[11], c[10]
			return c
		}, "line 11: seq 12 after 10: 1 event missing (expected seq 11)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "spliced.journal")
			require.NoError(t, os.WriteFile(path, []byte(strings.Join(tc.edit(lines), "")), 0o644))
			r, err := Load(path)
			require.NoError(t, err)
			require.True(t, r.Damaged())
			require.Equal(t, tc.damage, r.Tail.Damage[0])
			require.Equal(t, VerdictDamaged, r.Grading.Verdict)
			require.Empty(t, r.Grading.Grades)
			var b strings.Builder
			require.NoError(t, WriteText(&b, r, r.Grading, TextOptions{}))
			require.Contains(t, b.String(), "DAMAGED: the journal is damaged: "+tc.damage)
			require.Contains(t, b.String(), "not graded: the journal is damaged")
			require.NotContains(t, b.String(), "resilience score")
		})
	}
	whole, err := Load(filepath.Join("testdata", "gameday.journal"))
	require.NoError(t, err)
	require.False(t, whole.Damaged())
}
