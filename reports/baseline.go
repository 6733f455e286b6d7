package reports

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/spotdrill/spotdrill/scenarios"
)

// Comparison is a run set against a baseline run (last week's game day,
// last night's CI run): each metric's change, and the SLOs that passed
// then and fail now. Both runs are graded against the same SLOs.
type Comparison struct {
	// Baseline names the baseline journal.
	Baseline         string  `json:"baseline"`
	BaselineScenario string  `json:"baselineScenario"`
	BaselineSeed     int64   `json:"baselineSeed"`
	BaselineVerdict  Verdict `json:"baselineVerdict"`
	BaselineScore    int     `json:"baselineScore"`
	// Tolerance is the relative worsening (0.1 is 10%) a metric may show
	// before it is flagged as a regression.
	Tolerance float64        `json:"tolerance"`
	Metrics   []MetricChange `json:"metrics"`
	SLOs      []SLOChange    `json:"slos"`
	// Regressions counts the metrics flagged; SLORegressions the SLOs met
	// by the baseline and failed now.
	Regressions    int `json:"regressions"`
	SLORegressions int `json:"sloRegressions"`
}

// Regressed reports whether anything got worse beyond the tolerance.
func (c *Comparison) Regressed() bool { return c.Regressions > 0 || c.SLORegressions > 0 }

// Change kinds of a metric.
const (
	ChangeSame      = "same"
	ChangeBetter    = "better"
	ChangeWorse     = "worse"     // worse, within the tolerance
	ChangeRegressed = "regressed" // worse beyond the tolerance
	ChangeInfo      = "info"      // the game day's stimulus, not an outcome
	ChangeUnknown   = "n/a"       // not measured in one of the runs
)

// MetricChange is one metric in both runs. Baseline, Now and Delta are in
// the metric's unit; Relative is Delta over the baseline's magnitude.
type MetricChange struct {
	Name           string         `json:"name"`
	Unit           scenarios.Unit `json:"-"`
	HigherIsBetter bool           `json:"higherIsBetter"`
	Baseline       *float64       `json:"baseline"`
	Now            *float64       `json:"now"`
	Delta          *float64       `json:"delta"`
	Relative       *float64       `json:"relative"`
	Change         string         `json:"change"`
}

// SLOChange is one objective graded against both runs.
type SLOChange struct {
	Objective    string `json:"objective"`
	Metric       string `json:"metric,omitempty"`
	BaselinePass bool   `json:"baselinePass"`
	Pass         bool   `json:"pass"`
	Regressed    bool   `json:"regressed"`
}

// stimulus lists the metrics that measure what the game day did to the
// fleet rather than how the fleet coped: their change is shown, never
// flagged.
func stimulus(name string) bool {
	return name == "evictions.count" || name == "evictions.ratePerHour"
}

// Compare sets a graded run against a baseline run, grading the baseline
// against the same SLOs (slos, the ones g was graded against). tolerance is
// the relative worsening allowed before a metric is flagged; the direction
// of "worse" is scenarios.Metric.HigherIsBetter. A metric whose baseline is
// zero is flagged on any worsening.
func Compare(now *Report, g Grading, slos []scenarios.SLO, base *Report, baseName string, tolerance float64) *Comparison {
	bg := Grade(base, slos)
	c := &Comparison{
		Baseline: baseName, BaselineScenario: base.Run.Scenario, BaselineSeed: base.Run.Seed,
		BaselineVerdict: bg.Verdict, BaselineScore: bg.Score, Tolerance: tolerance,
	}
	for _, m := range now.Metrics {
		b, _ := base.Metric(m.Name)
		ch := compareMetric(m, b, tolerance)
		if ch.Change == ChangeRegressed {
			c.Regressions++
		}
		c.Metrics = append(c.Metrics, ch)
	}
	for i, gr := range g.Grades {
		if i >= len(bg.Grades) {
			break
		}
		s := SLOChange{Objective: gr.Objective, Metric: gr.Metric, BaselinePass: bg.Grades[i].Pass, Pass: gr.Pass}
		s.Regressed = s.BaselinePass && !s.Pass
		if s.Regressed {
			c.SLORegressions++
		}
		c.SLOs = append(c.SLOs, s)
	}
	return c
}

func compareMetric(now, base MetricValue, tolerance float64) MetricChange {
	info, _ := scenarios.LookupMetric(now.Name)
	ch := MetricChange{Name: now.Name, Unit: now.Unit, HigherIsBetter: info.HigherIsBetter, Change: ChangeUnknown}
	if base.Measured {
		v := base.Value
		ch.Baseline = &v
	}
	if now.Measured {
		v := now.Value
		ch.Now = &v
	}
	if !now.Measured || !base.Measured {
		return ch
	}
	delta := now.Value - base.Value
	ch.Delta = &delta
	if base.Value != 0 {
		rel := delta / math.Abs(base.Value)
		ch.Relative = &rel
	}
	worse := delta > 0
	if info.HigherIsBetter {
		worse = delta < 0
	}
	switch {
	case delta == 0:
		ch.Change = ChangeSame
	case stimulus(now.Name):
		ch.Change = ChangeInfo
	case !worse:
		ch.Change = ChangeBetter
	case base.Value == 0 || math.Abs(delta)/math.Abs(base.Value) > tolerance:
		ch.Change = ChangeRegressed
	default:
		ch.Change = ChangeWorse
	}
	return ch
}

func (d MetricChange) markText() string {
	switch d.Change {
	case ChangeRegressed:
		return "▼"
	case ChangeBetter:
		return "▲"
	}
	return " "
}

func (d MetricChange) baseText() string { return optValue(d.Unit, d.Baseline) }

func (d MetricChange) nowText() string { return optValue(d.Unit, d.Now) }

func optValue(u scenarios.Unit, v *float64) string {
	if v == nil {
		return "n/a"
	}
	return scenarios.FormatValue(u, *v)
}

func (d MetricChange) changeText() string {
	if d.Delta == nil {
		return ""
	}
	if *d.Delta == 0 {
		return "="
	}
	s := signed(d.Unit, *d.Delta)
	if d.Relative != nil && d.Unit != scenarios.UnitFraction {
		s += fmt.Sprintf(" (%+.1f%%)", *d.Relative*100)
	}
	return s
}

func (d MetricChange) verdictText() string {
	switch d.Change {
	case ChangeRegressed:
		return "regression"
	case ChangeWorse:
		return "worse, within tolerance"
	case ChangeBetter:
		return "better"
	case ChangeInfo:
		return "stimulus"
	}
	return ""
}

// FormatTolerance writes a tolerance as a percentage.
func FormatTolerance(t float64) string {
	return strconv.FormatFloat(t*100, 'f', -1, 64) + "%"
}

// writeComparisonText appends the baseline section to the terminal summary.
func writeComparisonText(w io.Writer, c *Comparison, color bool) error {
	t := textWriter{color: color}
	title := fmt.Sprintf("Baseline · %s (%s, seed %d: %s, score %d)", c.Baseline, withDefault(c.BaselineScenario, "?"), c.BaselineSeed,
		strings.ToUpper(string(c.BaselineVerdict)), c.BaselineScore)
	t.printf("\n%s\n", t.paint(ansiBold, title))
	rows := [][]string{}
	marks := []string{}
	for _, d := range c.Metrics {
		if d.Change == ChangeSame || d.Change == ChangeUnknown && d.Baseline == nil && d.Now == nil {
			continue
		}
		rows = append(rows, []string{d.Name, d.baseText(), "→ " + d.nowText(), d.changeText(), d.verdictText()})
		marks = append(marks, d.Change)
	}
	if len(rows) == 0 {
		t.printf("  every metric is the same\n")
	}
	widths := columnWidths(rows)
	for i, row := range rows {
		line := ""
		for c, cell := range row {
			line += "  " + padRight(cell, widths[c])
		}
		line = strings.TrimRight(line, " ")
		if marks[i] == ChangeRegressed {
			line = t.paint(ansiRed, line)
		}
		t.printf("  %s\n", strings.TrimPrefix(line, "  "))
	}
	for _, s := range c.SLOs {
		if s.Regressed {
			t.printf("  %s\n", t.paint(ansiRed, "✗ "+s.Objective+": met by the baseline, failed now"))
		}
	}
	verdict := fmt.Sprintf("%s beyond %s, %s newly failed", plural(c.Regressions, "metric regression"), FormatTolerance(c.Tolerance), plural(c.SLORegressions, "SLO"))
	code := ansiGreen
	if c.Regressed() {
		code = ansiRed
	}
	t.printf("  %s\n", t.paint(code, verdict))
	if _, err := w.Write(t.buf.Bytes()); err != nil {
		return fmt.Errorf("write baseline comparison: %w", err)
	}
	return nil
}
