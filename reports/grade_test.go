package reports

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// baseReport is a finished run that measured nothing; tests set what they
// grade.
func baseReport(t *testing.T) *Report {
	t.Helper()
	return fold(started(), ended(100)).Report()
}

func set(r *Report, name string, v MetricValue) {
	for i := range r.Metrics {
		if r.Metrics[i].Name == name {
			v.Name, v.Unit = name, r.Metrics[i].Unit
			r.Metrics[i] = v
			return
		}
	}
	panic("no metric " + name)
}

func slo(name, objective string) scenarios.SLO {
	return scenarios.SLO{Name: name, Objective: scenarios.Condition{Raw: objective}}
}

func TestGradeOne(t *testing.T) {
	tests := []struct {
		name      string
		objective string
		setup     func(r *Report)
		want      SLOGrade
	}{
		{
			name: "at most, inside", objective: "ttr.p95 <= 2m",
			setup: func(r *Report) { set(r, "ttr.p95", measured(100)) },
			want:  SLOGrade{Metric: "ttr.p95", Unit: scenarios.UnitSeconds, Value: 100, Measured: true, Pass: true, Margin: 20},
		},
		{
			name: "strictly below, on the line", objective: "cost.total < 10",
			setup: func(r *Report) { set(r, "cost.total", measured(10)) },
			want:  SLOGrade{Metric: "cost.total", Unit: scenarios.UnitUSD, Value: 10, Measured: true, Pass: false, Margin: 0},
		},
		{
			name: "at least, inside", objective: "jobs.successRate >= 75%",
			setup: func(r *Report) { set(r, "jobs.successRate", measured(0.8)) },
			want:  SLOGrade{Metric: "jobs.successRate", Unit: scenarios.UnitFraction, Value: 0.8, Measured: true, Pass: true, Margin: 0.8 - 0.75},
		},
		{
			name: "above, outside", objective: "cost.savings > 0.5",
			setup: func(r *Report) { set(r, "cost.savings", measured(0.25)) },
			want:  SLOGrade{Metric: "cost.savings", Unit: scenarios.UnitFraction, Value: 0.25, Measured: true, Pass: false, Margin: -0.25},
		},
		{
			name: "vacuous: no evictions, so no TTR to miss", objective: "ttr.max <= 10m",
			want: SLOGrade{Metric: "ttr.max", Unit: scenarios.UnitSeconds, Pass: true, Note: noteNoInterruptions},
		},
		{
			name: "not measured fails", objective: "jobs.successRate >= 99%",
			want: SLOGrade{Metric: "jobs.successRate", Unit: scenarios.UnitFraction, Note: "not measured: " + noteNoCounts},
		},
		{
			name: "invalid objective fails", objective: "ttr.p95 ~ 2m",
			want: SLOGrade{Note: `invalid objective: condition "ttr.p95 ~ 2m" has no comparison (expected "metric <= value" with one of <, <=, >, >=)`},
		},
		{
			name: "unrecovered work fails a TTR objective the percentiles meet", objective: "ttr.p50 <= 1h",
			setup: func(r *Report) {
				set(r, "ttr.p50", measured(60))
				r.Unrecovered = []UnrecoveredJob{{Job: "a"}, {Job: "b"}}
			},
			want: SLOGrade{
				Metric: "ttr.p50", Unit: scenarios.UnitSeconds, Value: 60, Measured: true, Margin: 3540,
				Note: "2 interrupted jobs never recovered",
			},
		},
		{
			name: "unrecovered work with nothing recovered", objective: "ttr.max <= 1h",
			setup: func(r *Report) {
				set(r, "ttr.max", unmeasured(noteNoneRecovered))
				r.Unrecovered = []UnrecoveredJob{{Job: "a"}}
			},
			want: SLOGrade{Metric: "ttr.max", Unit: scenarios.UnitSeconds, Note: "1 interrupted job never recovered"},
		},
		{
			name: "the unrecovered count itself grades as a number", objective: "ttr.unrecovered <= 2",
			setup: func(r *Report) {
				set(r, "ttr.unrecovered", measured(1))
				r.Unrecovered = []UnrecoveredJob{{Job: "a"}}
			},
			want: SLOGrade{Metric: "ttr.unrecovered", Unit: scenarios.UnitCount, Value: 1, Measured: true, Pass: true, Margin: 1},
		},
		{
			name: "an evicted VM never replaced fails a capacity TTR objective", objective: "ttr.capacity.p95 <= 10m",
			setup: func(r *Report) {
				set(r, "ttr.capacity.p95", measured(30))
				r.Evictions = []Eviction{
					{VM: "a", Evicted: journal.Ptr(1), Replaced: journal.Ptr(31)},
					{VM: "b", Evicted: journal.Ptr(5)},
					{VM: "c", Noticed: journal.Ptr(5)},
				}
			},
			want: SLOGrade{
				Metric: "ttr.capacity.p95", Unit: scenarios.UnitSeconds, Value: 30, Measured: true, Margin: 570,
				Note: "1 evicted VM never replaced",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := baseReport(t)
			if tt.setup != nil {
				tt.setup(r)
			}
			g := Grade(r, []scenarios.SLO{slo("x", tt.objective)})
			require.Len(t, g.Grades, 1)
			tt.want.Name, tt.want.Objective = "x", tt.objective
			got := g.Grades[0]
			assert.InDelta(t, tt.want.Margin, got.Margin, 1e-12)
			got.Margin = tt.want.Margin
			assert.Equal(t, tt.want, got)
		})
	}
}

// A condition already parsed by the scenario is graded as it is.
func TestGradeParsedCondition(t *testing.T) {
	r := baseReport(t)
	set(r, "lostWork.seconds", measured(30))
	c, err := scenarios.ParseCondition("lostWork.seconds <= 1m")
	require.NoError(t, err)
	g := Grade(r, []scenarios.SLO{{Objective: c}})
	assert.Equal(t, SLOGrade{
		Objective: "lostWork.seconds <= 1m", Metric: "lostWork.seconds", Unit: scenarios.UnitSeconds,
		Value: 30, Measured: true, Pass: true, Margin: 30,
	}, g.Grades[0])
}

func TestGradeScoreAndVerdict(t *testing.T) {
	tests := []struct {
		name        string
		slos        []scenarios.SLO
		setup       func(r *Report)
		wantScore   int
		wantVerdict Verdict
		wantMet     int
	}{
		{
			name: "no SLOs", wantScore: 100, wantVerdict: VerdictPass,
		},
		{
			name: "no SLOs but unrecovered work: 100 - (10 + 30×1/2)",
			setup: func(r *Report) {
				r.Interruptions.Count = 2
				r.Unrecovered = []UnrecoveredJob{{Job: "a"}}
			},
			wantScore: 75, wantVerdict: VerdictPass,
		},
		{
			name: "recovery weighs double: 2 of 3",
			slos: []scenarios.SLO{slo("", "ttr.p95 <= 1m"), slo("", "cost.total <= 1")},
			setup: func(r *Report) {
				set(r, "ttr.p95", measured(30))
				set(r, "cost.total", measured(2))
			},
			wantScore: 67, wantVerdict: VerdictFail, wantMet: 1,
		},
		{
			name: "all met",
			slos: []scenarios.SLO{slo("", "ttr.p95 <= 1m"), slo("", "cost.total <= 1")},
			setup: func(r *Report) {
				set(r, "ttr.p95", measured(30))
				set(r, "cost.total", measured(0.5))
			},
			wantScore: 100, wantVerdict: VerdictPass, wantMet: 2,
		},
		{
			name: "never below zero",
			slos: []scenarios.SLO{slo("", "ttr.p95 <= 1m")},
			setup: func(r *Report) {
				set(r, "ttr.p95", measured(300))
				r.Interruptions.Count = 1
				r.Unrecovered = []UnrecoveredJob{{Job: "a"}}
			},
			wantScore: 0, wantVerdict: VerdictFail,
		},
		{
			name:        "aborted by run.ended",
			setup:       func(r *Report) { r.Status = journal.StatusAborted },
			wantScore:   100,
			wantVerdict: VerdictAborted,
		},
		{
			name: "aborted, then cut short before run.ended",
			setup: func(r *Report) {
				r.Status, r.Tail.Ended = "", false
				r.Aborts = []Abort{{T: 5, Code: "signal"}}
			},
			wantScore: 100, wantVerdict: VerdictAborted,
		},
		{
			name:        "cut short",
			setup:       func(r *Report) { r.Status, r.Tail.Ended = "", false },
			wantScore:   100,
			wantVerdict: VerdictIncomplete,
		},
		{
			name:        "failed run",
			setup:       func(r *Report) { r.Status = journal.StatusFailed },
			wantScore:   100,
			wantVerdict: VerdictIncomplete,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := baseReport(t)
			if tt.setup != nil {
				tt.setup(r)
			}
			g := Grade(r, tt.slos)
			assert.Equal(t, tt.wantScore, g.Score)
			assert.Equal(t, tt.wantVerdict, g.Verdict)
			assert.Equal(t, tt.wantMet, g.Met)
			assert.Equal(t, len(tt.slos)-tt.wantMet, g.Failed)
			assert.Equal(t, g.Failed == 0, g.Pass())
		})
	}
}

func TestRunSLOs(t *testing.T) {
	got := RunSLOs(journal.Run{SLOs: []journal.SLO{
		{Name: "fast", Objective: "ttr.p95 <= 2m"},
		{Objective: "nonsense"},
	}})
	require.Len(t, got, 2)
	assert.Equal(t, scenarios.SLO{Name: "fast", Objective: scenarios.Condition{Raw: "ttr.p95 <= 2m", Metric: "ttr.p95", Op: "<=", Value: 120}}, got[0])
	assert.Equal(t, scenarios.SLO{Objective: scenarios.Condition{Raw: "nonsense"}}, got[1])
}

// Re-grading a saved journal against new SLOs gives the same metrics and a
// new verdict.
func TestRegradeLoadedJournal(t *testing.T) {
	r, err := Load("testdata/gameday.journal")
	require.NoError(t, err)
	g := Grade(r, []scenarios.SLO{slo("cheap", "cost.savings >= 50%"), slo("lost", "lostWork.seconds <= 1h")})
	assert.Equal(t, 2, g.Met)
	assert.Equal(t, VerdictPass, g.Verdict)
	assert.Equal(t, 83, g.Score, "100 minus 10 + 30×1/4 for j3, rounded")
}
