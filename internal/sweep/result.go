package sweep

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/spotdrill/spotdrill/scenarios"
)

// Schemas of the documents a sweep writes.
const (
	ResultSchema = "spotdrill.sweep/v1"
	ShardSchema  = "spotdrill.sweep-shard/v1"
)

// Header is what identifies a sweep: the scenario by name and digest, the
// seeds, the grid and each point's SLOs. Shards of one sweep carry equal
// headers; merge refuses any other.
type Header struct {
	Scenario ScenarioRef `json:"scenario"`
	Seeds    string      `json:"seeds"`
	Grid     []Param     `json:"grid"`
	// Metrics names the vocabulary in the order a shard's runs list them.
	Metrics []string `json:"metrics"`
	// SLOs lists each grid point's SLOs, in point order.
	SLOs [][]SLODef `json:"slos"`
	Runs int        `json:"runs"`
	Goal Goal       `json:"goal"`
}

// ScenarioRef names the scenario a sweep played.
type ScenarioRef struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// Header returns the sweep's identity.
func (s *Sweep) Header() Header {
	h := Header{
		Scenario: ScenarioRef{Name: s.Name, SHA256: s.Digest},
		Seeds:    s.Seeds.String(),
		Grid:     s.Grid,
		Runs:     s.Runs(),
		Goal:     s.Goal,
	}
	if h.Grid == nil {
		h.Grid = []Param{}
	}
	for _, m := range scenarios.Metrics {
		h.Metrics = append(h.Metrics, m.Name)
	}
	for _, pt := range s.Points {
		slos := pt.SLOs
		if slos == nil {
			slos = []SLODef{}
		}
		h.SLOs = append(h.SLOs, slos)
	}
	return h
}

// seedsPerPoint is how many runs each grid point holds.
func (h *Header) seedsPerPoint() int { return h.Runs / max(len(h.SLOs), 1) }

// Result is a sweep read as distributions: the document of --output json.
type Result struct {
	Schema   string        `json:"schema"`
	Scenario ScenarioRef   `json:"scenario"`
	Seeds    string        `json:"seeds"`
	Grid     []Param       `json:"grid"`
	Runs     int           `json:"runs"`
	Points   []PointResult `json:"points"`
	Goal     *Goal         `json:"goal,omitempty"`
	Best     *Best         `json:"best,omitempty"`
}

// PointResult is one grid point across its seeds.
type PointResult struct {
	// Params holds the point's value of each swept path.
	Params map[string]string `json:"params"`
	Runs   int               `json:"runs"`
	// Metrics holds every metric of the vocabulary.
	Metrics map[string]Stat `json:"metrics"`
	SLOs    []SLOResult     `json:"slos"`
	// AllMet is the share of runs that met every SLO (verdict pass).
	AllMet Proportion `json:"allMet"`
	// Verdicts counts the runs by verdict: pass, fail, aborted.
	Verdicts map[string]int `json:"verdicts"`

	values []string
	// goalMet counts the runs that met every SLO of the goal.
	goalMet int
}

// SLOResult is one SLO's chance of breach at a grid point.
type SLOResult struct {
	Name              string     `json:"name"`
	Objective         string     `json:"objective"`
	Breaches          int        `json:"breaches"`
	BreachProbability float64    `json:"breachProbability"`
	CI95              [2]float64 `json:"ci95"`
}

// Proportion is a share of runs with its 95 % Wilson interval.
type Proportion struct {
	Count       int        `json:"count"`
	Probability float64    `json:"probability"`
	CI95        [2]float64 `json:"ci95"`
}

func proportion(k, n int) Proportion {
	p := 0.0
	if n > 0 {
		p = float64(k) / float64(n)
	}
	return Proportion{Count: k, Probability: p, CI95: wilson(k, n)}
}

// Best is the grid point that meets the goal best, and how sure that is.
type Best struct {
	// Found is false when no grid point met the SLOs often enough.
	Found  bool              `json:"found"`
	Point  int               `json:"point"`
	Params map[string]string `json:"params,omitempty"`
	Metric string            `json:"metric"`
	Mean   float64           `json:"mean"`
	CI95   *[2]float64       `json:"ci95,omitempty"`
	// GoalMet is the share of the point's runs that met the goal's SLOs.
	GoalMet  Proportion `json:"goalMet"`
	RunnerUp *RunnerUp  `json:"runnerUp,omitempty"`
	// Distinct is true when the best point's interval and the runner-up's
	// do not overlap: the choice holds at 95 % confidence.
	Distinct bool `json:"distinct"`
	// Eligible counts the grid points that met the goal's SLOs often
	// enough to be chosen.
	Eligible int    `json:"eligible"`
	Summary  string `json:"summary"`
}

// RunnerUp is the second best grid point.
type RunnerUp struct {
	Point  int               `json:"point"`
	Params map[string]string `json:"params"`
	Mean   float64           `json:"mean"`
	CI95   *[2]float64       `json:"ci95,omitempty"`
}

// Aggregate reads every run of a sweep, in run order, as distributions.
// It is the one computation behind a sweep and a merge of its shards: the
// same runs give the same bytes.
func Aggregate(h Header, runs []RunResult) (*Result, error) {
	if len(runs) != h.Runs {
		return nil, fmt.Errorf("%d runs, expected %d", len(runs), h.Runs)
	}
	per := h.seedsPerPoint()
	res := &Result{
		Schema: ResultSchema, Scenario: h.Scenario, Seeds: h.Seeds, Grid: h.Grid, Runs: h.Runs,
	}
	column := make([]float64, per)
	for p := range h.SLOs {
		block := runs[p*per : (p+1)*per]
		pr := PointResult{
			Params: map[string]string{}, Runs: per, Metrics: map[string]Stat{},
			Verdicts: map[string]int{}, values: pointValues(h.Grid, p),
		}
		for j, g := range h.Grid {
			pr.Params[g.Path] = pr.values[j]
		}
		for k, name := range h.Metrics {
			for r := range block {
				column[r] = block[r].Metrics[k]
			}
			st := statOf(column)
			st.clamp(domain(name))
			pr.Metrics[name] = st
		}
		subject := goalSLOs(h.Goal, h.SLOs[p])
		allMet := 0
		breaches := make([]int, len(h.SLOs[p]))
		for _, r := range block {
			pr.Verdicts[r.Verdict]++
			if r.Verdict == "pass" {
				allMet++
			}
			met := true
			for k := range h.SLOs[p] {
				ok := k < len(r.Met) && r.Met[k]
				if !ok {
					breaches[k]++
				}
				if subject[k] && !ok {
					met = false
				}
			}
			if met {
				pr.goalMet++
			}
		}
		for k, def := range h.SLOs[p] {
			pr.SLOs = append(pr.SLOs, SLOResult{
				Name: def.Name, Objective: def.Objective, Breaches: breaches[k],
				BreachProbability: float64(breaches[k]) / float64(per), CI95: wilson(breaches[k], per),
			})
		}
		if pr.SLOs == nil {
			pr.SLOs = []SLOResult{}
		}
		pr.AllMet = proportion(allMet, per)
		res.Points = append(res.Points, pr)
	}
	if h.Goal.Metric != "" {
		g := h.Goal
		res.Goal = &g
		res.Best = best(res, g)
	}
	return res, nil
}

// pointValues returns the grid values of point p (the last parameter
// varies fastest).
func pointValues(grid []Param, p int) []string {
	out := make([]string, len(grid))
	for j := len(grid) - 1; j >= 0; j-- {
		n := len(grid[j].Values)
		out[j] = grid[j].Values[p%n]
		p /= n
	}
	return out
}

// goalSLOs marks the SLOs a goal is subject to: all when it names none.
func goalSLOs(g Goal, slos []SLODef) []bool {
	out := make([]bool, len(slos))
	for k, s := range slos {
		out[k] = len(g.SubjectTo) == 0 || slices.Contains(g.SubjectTo, s.Name)
	}
	return out
}

// best names the eligible grid point with the best mean of the goal's
// metric, ties going to the earlier point.
func best(res *Result, g Goal) *Best {
	type cand struct {
		point int
		stat  Stat
	}
	var cands []cand
	for p := range res.Points {
		pr := &res.Points[p]
		st := pr.Metrics[g.Metric]
		if st.Mean == nil || float64(pr.goalMet) < g.Probability*float64(pr.Runs)-1e-9 {
			continue
		}
		cands = append(cands, cand{p, st})
	}
	b := &Best{Metric: g.Metric, Eligible: len(cands), Point: -1}
	if len(cands) == 0 {
		b.Summary = fmt.Sprintf("No grid point met %s in at least %s of its runs with %s measured.",
			sloPhrase(g), scenarios.FormatValue(scenarios.UnitFraction, g.Probability), g.Metric)
		return b
	}
	slices.SortStableFunc(cands, func(x, y cand) int {
		if g.Maximize {
			return cmp.Compare(*y.stat.Mean, *x.stat.Mean)
		}
		return cmp.Compare(*x.stat.Mean, *y.stat.Mean)
	})
	top := cands[0]
	pr := &res.Points[top.point]
	b.Found, b.Point, b.Params, b.Mean, b.CI95 = true, top.point, pr.Params, *top.stat.Mean, top.stat.CI95
	b.GoalMet = proportion(pr.goalMet, pr.Runs)
	m, _ := scenarios.LookupMetric(g.Metric)
	verb := "lowest"
	if g.Maximize {
		verb = "highest"
	}
	among, whose := fmt.Sprintf("among %d grid points that met", len(cands)), "their"
	if len(cands) == 1 {
		among, whose = "the only grid point that met", "its"
	}
	b.Summary = fmt.Sprintf("%s has the %s mean %s, %s%s, %s %s in at least %s of %s runs.",
		pointLabel(res.Grid, pr.values), verb, g.Metric, scenarios.FormatValue(m.Unit, b.Mean), ciPhrase(m.Unit, b.CI95),
		among, sloPhrase(g), scenarios.FormatValue(scenarios.UnitFraction, g.Probability), whose)
	if len(cands) == 1 {
		b.Distinct = true
		return b
	}
	second := cands[1]
	b.RunnerUp = &RunnerUp{Point: second.point, Params: res.Points[second.point].Params, Mean: *second.stat.Mean, CI95: second.stat.CI95}
	b.Distinct = !overlap(b.CI95, second.stat.CI95) && b.Mean != *second.stat.Mean
	other := pointLabel(res.Grid, res.Points[second.point].values)
	if b.Distinct {
		b.Summary += fmt.Sprintf(" Its interval does not overlap the runner-up's (%s, %s%s): the choice holds at 95%% confidence.",
			other, scenarios.FormatValue(m.Unit, *second.stat.Mean), ciPhrase(m.Unit, second.stat.CI95))
	} else {
		b.Summary += fmt.Sprintf(" Its interval overlaps the runner-up's (%s, %s%s): the two are not told apart at 95%% confidence; more seeds would narrow them.",
			other, scenarios.FormatValue(m.Unit, *second.stat.Mean), ciPhrase(m.Unit, second.stat.CI95))
	}
	return b
}

func overlap(a, b *[2]float64) bool {
	if a == nil || b == nil {
		return true // a single run gives no interval: nothing is shown apart
	}
	return a[0] <= b[1] && b[0] <= a[1]
}

func ciPhrase(u scenarios.Unit, ci *[2]float64) string {
	if ci == nil {
		return " (one run: no interval)"
	}
	return fmt.Sprintf(" (95%% CI %s to %s)", formatValue(u, ci[0]), formatValue(u, ci[1]))
}

// formatValue writes a metric value; a confidence bound may be negative
// where the metric cannot be.
func formatValue(u scenarios.Unit, v float64) string {
	if v < 0 && u == scenarios.UnitSeconds {
		return "-" + scenarios.FormatValue(u, -v)
	}
	if math.IsNaN(v) {
		return "–"
	}
	return scenarios.FormatValue(u, v)
}

func sloPhrase(g Goal) string {
	if len(g.SubjectTo) == 0 {
		return "all SLOs"
	}
	s := "SLO"
	if len(g.SubjectTo) > 1 {
		s = "SLOs"
	}
	q := make([]string, len(g.SubjectTo))
	for i, n := range g.SubjectTo {
		q[i] = fmt.Sprintf("%q", n)
	}
	return s + " " + joinAnd(q)
}

func joinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	out := ""
	for i, x := range xs {
		switch {
		case i == 0:
			out = x
		case i == len(xs)-1:
			out += " and " + x
		default:
			out += ", " + x
		}
	}
	return out
}
