package reports

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/scenarios"
)

func TestCompareMetric(t *testing.T) {
	m := func(name string, v float64) MetricValue {
		info, _ := scenarios.LookupMetric(name)
		return MetricValue{Name: name, Unit: info.Unit, Value: v, Measured: true}
	}
	tests := []struct {
		name      string
		now, base MetricValue
		want      string
		relative  *float64
	}{
		{"lower is better, up 20%", m("ttr.p95", 120), m("ttr.p95", 100), ChangeRegressed, ptr(0.2)},
		{"lower is better, up 5%: within 10%", m("ttr.p95", 105), m("ttr.p95", 100), ChangeWorse, ptr(0.05)},
		{"lower is better, down", m("ttr.p95", 80), m("ttr.p95", 100), ChangeBetter, ptr(-0.2)},
		{"higher is better, down 20%", m("jobs.successRate", 0.8), m("jobs.successRate", 1), ChangeRegressed, ptr(-0.2)},
		{"higher is better, up", m("cost.savings", 0.7), m("cost.savings", 0.5), ChangeBetter, ptr(0.4)},
		{"from zero any worsening counts", m("ttr.unrecovered", 1), m("ttr.unrecovered", 0), ChangeRegressed, nil},
		{"the same", m("ttr.max", 10), m("ttr.max", 10), ChangeSame, ptr(0)},
		{"the stimulus is shown, never flagged", m("evictions.count", 30), m("evictions.count", 3), ChangeInfo, ptr(9)},
		{"not measured in one run", MetricValue{Name: "ttr.p50"}, m("ttr.p50", 10), ChangeUnknown, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := compareMetric(tt.now, tt.base, 0.1)
			assert.Equal(t, tt.want, got.Change)
			if tt.relative == nil {
				assert.Nil(t, got.Relative)
			} else if assert.NotNil(t, got.Relative) {
				assert.InDelta(t, *tt.relative, *got.Relative, 1e-9)
			}
		})
	}
}

func ptr(v float64) *float64 { return &v }

// gameday-baseline.journal is gameday.journal a week earlier: j2 lost 100
// instead of 360, j1 200 instead of 880 on vm-2, and j3 resumed at 2760.
func TestCompareGameDayWithLastWeek(t *testing.T) {
	now, err := Load(filepath.Join("testdata", "gameday.journal"))
	require.NoError(t, err)
	base, err := Load(filepath.Join("testdata", "gameday-baseline.journal"))
	require.NoError(t, err)
	slos := RunSLOs(now.Run)
	c := Compare(now, now.Grading, slos, base, "last-week.jsonl", 0.1)
	assert.Equal(t, VerdictPass, c.BaselineVerdict)
	assert.Equal(t, 100, c.BaselineScore)
	changes := map[string]MetricChange{}
	for _, m := range c.Metrics {
		changes[m.Name] = m
	}
	// The baseline's TTRs are today's (0, 180, 220) and j3's 2760 - 2630 =
	// 130: its p50 is 130; today's is 180.
	assert.Equal(t, ChangeRegressed, changes["ttr.p50"].Change)
	assert.InDelta(t, 130, *changes["ttr.p50"].Baseline, 1e-9)
	assert.InDelta(t, 50, *changes["ttr.p50"].Delta, 1e-9)
	// Lost work: 40+100+200+630 = 970 then, 1910 now.
	assert.InDelta(t, 970, *changes["lostWork.seconds"].Baseline, 1e-9)
	assert.Equal(t, ChangeRegressed, changes["lostWork.seconds"].Change)
	assert.Equal(t, ChangeSame, changes["cost.total"].Change)
	assert.Equal(t, 4, c.Regressions)
	assert.Equal(t, []SLOChange{
		{Objective: "ttr.p95 <= 5m", Metric: "ttr.p95", BaselinePass: true, Pass: false, Regressed: true},
		{Objective: "lostWork.fraction <= 40%", Metric: "lostWork.fraction", BaselinePass: true, Pass: true},
		{Objective: "jobs.successRate >= 75%", Metric: "jobs.successRate", BaselinePass: true, Pass: true},
		{Objective: "ttr.capacity.p50 <= 10m", Metric: "ttr.capacity.p50", BaselinePass: true, Pass: true},
	}, c.SLOs)
	assert.True(t, c.Regressed())

	// Against itself nothing regressed; a loose tolerance flags fewer.
	same := Compare(now, now.Grading, slos, now, "same", 0.1)
	assert.False(t, same.Regressed())
	loose := Compare(now, now.Grading, slos, base, "last-week.jsonl", 1.0)
	assert.Equal(t, 1, loose.Regressions, "only ttr.unrecovered, from zero")
}

func TestParseSLOs(t *testing.T) {
	slos, err := ParseSLOs([]string{"ttr.p95<=90s", "lose little: lostWork.fraction < 1%", " jobs.successRate >= 0.95 "})
	require.NoError(t, err)
	require.Len(t, slos, 3)
	assert.Equal(t, "ttr.p95 <= 90s", slos[0].Objective.Raw)
	assert.Equal(t, 90.0, slos[0].Objective.Value)
	assert.Equal(t, "lose little", slos[1].Name)
	assert.Equal(t, "lostWork.fraction < 1%", slos[1].Objective.Raw)
	assert.InDelta(t, 0.95, slos[2].Objective.Value, 1e-12)

	_, err = ParseSLOs([]string{"ttr.p95<=fast", "nope > 1", "ttr.p50 <= 1m"})
	require.Error(t, err)
	assert.ErrorContains(t, err, `--slo "ttr.p95<=fast"`)
	assert.ErrorContains(t, err, `--slo "nope > 1": unknown metric "nope"`)
}

func TestRegradeWithParsedSLOs(t *testing.T) {
	r, err := Load(filepath.Join("testdata", "gameday.journal"))
	require.NoError(t, err)
	slos, err := ParseSLOs([]string{"ttr.capacity.p95<=2m", "cost.savings>=50%"})
	require.NoError(t, err)
	g := Grade(r, slos)
	assert.Equal(t, 1, g.Met)
	assert.Equal(t, "ttr.capacity.p95 <= 2m", g.Grades[0].Objective)
	assert.False(t, g.Grades[0].Pass)
	assert.InDelta(t, -40, g.Grades[0].Margin, 1e-9)
	assert.Equal(t, VerdictFail, g.Verdict)
}

func TestParseTolerance(t *testing.T) {
	for in, want := range map[string]float64{"10%": 0.1, "0.05": 0.05, "0": 0, "150%": 1.5} {
		got, err := ParseTolerance(in)
		require.NoError(t, err, in)
		assert.InDelta(t, want, got, 1e-12, in)
	}
	for _, bad := range []string{"", "ten", "-5%", "5", "-0.1"} {
		_, err := ParseTolerance(bad)
		assert.Error(t, err, bad)
	}
}
