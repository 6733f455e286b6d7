package reports

import (
	"fmt"
	"math"
	"strings"

	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// Verdict is the one-word outcome of a run.
type Verdict string

// Verdicts, from the worst news down: an aborted run says so before its
// SLOs, and a run cut short cannot claim to have met them.
const (
	VerdictAborted Verdict = "aborted"
	// VerdictDamaged is a journal whose seq does not rise by one (a
	// spliced, reordered or edited file): nothing is graded from it.
	VerdictDamaged    Verdict = "damaged"
	VerdictIncomplete Verdict = "incomplete"
	VerdictFail       Verdict = "fail"
	VerdictPass       Verdict = "pass"
)

// SLOGrade is one SLO graded against a report.
type SLOGrade struct {
	Name      string         `json:"name,omitempty"`
	Objective string         `json:"objective"`
	Metric    string         `json:"metric,omitempty"`
	Unit      scenarios.Unit `json:"-"`
	// Value is what the run measured; it means nothing unless Measured.
	Value    float64 `json:"value"`
	Measured bool    `json:"measured"`
	Pass     bool    `json:"pass"`
	// Margin is how far Value lies inside the objective (positive) or
	// outside it (negative), in the metric's unit; zero unless Measured.
	Margin float64 `json:"margin"`
	// Note explains a grade that is not a plain comparison: a vacuous pass,
	// unrecovered work, an unmeasured metric, an invalid objective.
	Note string `json:"note,omitempty"`
}

// Grading is a run graded against its SLOs.
type Grading struct {
	Grades  []SLOGrade `json:"grades"`
	Met     int        `json:"met"`
	Failed  int        `json:"failed"`
	Score   int        `json:"score"`
	Verdict Verdict    `json:"verdict"`
}

// Pass reports whether every SLO was met.
func (g Grading) Pass() bool { return g.Failed == 0 }

// RunSLOs reads the SLOs that run.started carries, for grading a saved
// journal. An objective that does not parse keeps its text, and Grade fails
// it with the parse error.
func RunSLOs(run journal.Run) []scenarios.SLO {
	out := make([]scenarios.SLO, 0, len(run.SLOs))
	for _, s := range run.SLOs {
		c, err := scenarios.ParseCondition(s.Objective)
		if err != nil {
			c = scenarios.Condition{Raw: s.Objective}
		}
		out = append(out, scenarios.SLO{Name: s.Name, Objective: c})
	}
	return out
}

// Grade grades a report against SLOs: those of the scenario, of run.started
// (RunSLOs), or new ones for a postmortem. Objectives not yet parsed are
// parsed here.
//
// A metric with no data passes only when that is vacuous (no evictions, so
// no TTR to miss); otherwise it fails as unmeasured. Interrupted work still
// down at the end fails every job TTR objective, and an evicted VM never
// replaced fails every capacity TTR objective, whatever the percentiles of
// the rest say.
func Grade(r *Report, slos []scenarios.SLO) Grading {
	g := Grading{Grades: make([]SLOGrade, 0, len(slos))}
	if r.Damaged() {
		// A damaged journal is not the record of one whole run: grading it
		// as if it were would vouch for numbers nobody can trust.
		g.Verdict = VerdictDamaged
		return g
	}
	for _, s := range slos {
		gr := gradeOne(r, s)
		if gr.Pass {
			g.Met++
		} else {
			g.Failed++
		}
		g.Grades = append(g.Grades, gr)
	}
	g.Score = score(r, g.Grades)
	g.Verdict = verdict(r, g)
	return g
}

func gradeOne(r *Report, s scenarios.SLO) SLOGrade {
	c := s.Objective
	gr := SLOGrade{Name: s.Name, Objective: strings.TrimSpace(c.Raw)}
	if c.Metric == "" {
		parsed, err := scenarios.ParseCondition(c.Raw)
		if err != nil {
			gr.Note = "invalid objective: " + err.Error()
			return gr
		}
		c = parsed
	}
	gr.Metric = c.Metric
	m, ok := r.Metric(c.Metric)
	if !ok {
		gr.Note = "not measured: " + noteUnknown
		return gr
	}
	gr.Unit = m.Unit
	if gr.Objective == "" {
		gr.Objective = fmt.Sprintf("%s %s %s", c.Metric, c.Op, scenarios.FormatValue(gr.Unit, c.Value))
	}
	switch {
	case m.Measured:
		gr.Value, gr.Measured = m.Value, true
		gr.Pass = c.Holds(m.Value)
		gr.Margin = margin(c, m.Value)
	case m.Vacuous:
		gr.Pass, gr.Note = true, m.Note
	default:
		gr.Note = "not measured: " + m.Note
	}
	if n := len(r.Unrecovered); n > 0 && isJobTTR(c.Metric) {
		gr.Pass = false
		gr.Note = plural(n, "interrupted job") + " never recovered"
	}
	if n := unreplaced(r); n > 0 && isCapacityTTR(c.Metric) {
		gr.Pass = false
		gr.Note = plural(n, "evicted VM") + " never replaced"
	}
	return gr
}

// margin is signed so that positive means inside the objective.
func margin(c scenarios.Condition, v float64) float64 {
	switch c.Op {
	case "<", "<=":
		return c.Value - v
	}
	return v - c.Value
}

func isJobTTR(metric string) bool {
	switch metric {
	case "ttr.p50", "ttr.p95", "ttr.p99", "ttr.max":
		return true
	}
	return false
}

func isCapacityTTR(metric string) bool { return strings.HasPrefix(metric, "ttr.capacity.") }

func unreplaced(r *Report) int {
	n := 0
	for _, ev := range r.Evictions {
		if ev.Evicted != nil && ev.Replaced == nil {
			n++
		}
	}
	return n
}

// weight doubles the objectives on recovery itself (time to recover, lost
// work, jobs that made it): that is what a Spot game day is for.
func weight(metric string) float64 {
	switch {
	case strings.HasPrefix(metric, "ttr."), strings.HasPrefix(metric, "lostWork."),
		metric == "jobs.successRate", metric == "jobs.spotSuccessRate":
		return 2
	}
	return 1
}

// score is the resilience score, 0-100:
//
//	base    = 100 × Σ weight(met SLOs) / Σ weight(all SLOs)   (100 with no SLOs)
//	penalty = 10 + 30 × unrecovered / interrupted             (0 with no unrecovered job)
//	score   = round(clamp(base − penalty, 0, 100))
func score(r *Report, grades []SLOGrade) int {
	base := 100.0
	if len(grades) > 0 {
		var met, all float64
		for _, g := range grades {
			w := weight(g.Metric)
			all += w
			if g.Pass {
				met += w
			}
		}
		base = 100 * met / all
	}
	penalty := 0.0
	if n, total := len(r.Unrecovered), r.Interruptions.Count; n > 0 && total > 0 {
		penalty = 10 + 30*float64(n)/float64(total)
	}
	return int(math.Round(min(100, max(0, base-penalty))))
}

func verdict(r *Report, g Grading) Verdict {
	switch {
	case r.Aborted():
		return VerdictAborted
	case r.CutShort() || r.Status == journal.StatusFailed:
		return VerdictIncomplete
	case g.Failed > 0:
		return VerdictFail
	}
	return VerdictPass
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
