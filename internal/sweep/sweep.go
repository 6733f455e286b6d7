// Package sweep plays one scenario many times on the simulated fleet, over
// a grid of parameters and seeds, and reads the runs as distributions: every
// metric's mean with its confidence interval and percentiles across seeds,
// every SLO's probability of breach, and the grid point that best meets a
// goal.
//
// A sweep is deterministic: each run is the simulator's, whose journal is
// fixed by the scenario and the seed, and the figures are computed from the
// runs in the order of their index, whatever the number of workers or
// shards that played them.
package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/internal/textsafe"
	"github.com/spotdrill/spotdrill/scenarios"
)

// Param is one field a sweep varies, with its values.
type Param struct {
	Path   string   `json:"path"`
	Values []string `json:"values"`
}

// Goal asks for the grid point with the lowest (or highest) mean of a
// metric among those that meet the SubjectTo SLOs in at least Probability
// of their runs.
type Goal struct {
	Metric   string `json:"metric"`
	Maximize bool   `json:"maximize,omitempty"`
	// SubjectTo names SLOs; empty means all of the scenario's.
	SubjectTo   []string `json:"subjectTo,omitempty"`
	Probability float64  `json:"probability"`
}

// Spec is what a sweep plays: a scenario's source, its seeds and grid.
type Spec struct {
	// File names the scenario in problems; Data is its text.
	File  string
	Data  []byte
	Seeds scenarios.SeedRange
	Grid  []Param
	// Goal is optional: without a metric, no best point is named.
	Goal Goal
}

// SLODef is one SLO of a grid point, as reports name it.
type SLODef struct {
	Name      string `json:"name"`
	Objective string `json:"objective"`
}

// Point is one combination of the grid's values, parsed and checked.
type Point struct {
	// Values holds one value per Param of the grid, in its order.
	Values   []string
	Scenario *scenarios.Scenario
	SLOs     []SLODef
}

// Sweep is a spec whose every grid point parsed: it is ready to play.
type Sweep struct {
	Spec
	Name   string
	Digest string // SHA-256 of the scenario's text
	Points []Point
}

// Runs is how many runs the whole sweep holds.
func (s *Sweep) Runs() int { return len(s.Points) * int(s.Seeds.Len()) }

// run returns the grid point and seed of run i.
func (s *Sweep) run(i int) (point int, seed int64) {
	n := int(s.Seeds.Len())
	return i / n, s.Seeds.From + int64(i%n)
}

// New parses the scenario at every grid point. A value that the scenario
// cannot hold is refused with its path, file, line and column.
func New(spec Spec) (*Sweep, error) {
	if spec.Seeds.Len() < 1 {
		spec.Seeds = scenarios.SeedRange{From: 1, To: scenarios.DefaultSweepSeeds}
	}
	points := 1
	for _, p := range spec.Grid {
		if err := scenarios.CheckSweepPath(p.Path); err != nil {
			return nil, fmt.Errorf("--set %s", err)
		}
		if len(p.Values) == 0 {
			return nil, fmt.Errorf("--set %s: no values (expected PATH=V1,V2,...)", textsafe.Quote(p.Path))
		}
		points *= len(p.Values)
		if points > scenarios.MaxSweepPoints {
			return nil, fmt.Errorf("the grid has more than %d points (expected fewer values)", scenarios.MaxSweepPoints)
		}
	}
	if runs := int64(points) * spec.Seeds.Len(); runs > scenarios.MaxSweepRuns {
		return nil, fmt.Errorf("%d grid points × %d seeds is %d runs, more than %d (expected fewer seeds or values, or shards)", points, spec.Seeds.Len(), runs, scenarios.MaxSweepRuns)
	}
	sum := sha256.Sum256(spec.Data)
	s := &Sweep{Spec: spec, Digest: hex.EncodeToString(sum[:])}
	idx := make([]int, len(spec.Grid))
	for range points {
		sets := make([]scenarios.Set, len(spec.Grid))
		values := make([]string, len(spec.Grid))
		for j, p := range spec.Grid {
			sets[j] = scenarios.Set{Path: p.Path, Value: p.Values[idx[j]]}
			values[j] = p.Values[idx[j]]
		}
		sc, err := scenarios.ParseWith(spec.Data, spec.File, sets)
		if err != nil {
			return nil, err
		}
		if sc.Target.Provider != scenarios.ProviderSim {
			return nil, fmt.Errorf("%s: target.provider is %s (expected sim: a sweep plays the simulated fleet only)", spec.File, textsafe.Quote(sc.Target.Provider))
		}
		if err := sim.CheckMemory(sc); err != nil {
			return nil, fmt.Errorf("%s at %s: %w", spec.File, pointLabel(spec.Grid, values), err)
		}
		pt := Point{Values: values, Scenario: sc}
		for _, slo := range sc.SLOs {
			pt.SLOs = append(pt.SLOs, SLODef{Name: slo.SLOName(), Objective: slo.Objective.String()})
		}
		s.Points = append(s.Points, pt)
		// The last parameter varies fastest.
		for j := len(idx) - 1; j >= 0; j-- {
			idx[j]++
			if idx[j] < len(spec.Grid[j].Values) {
				break
			}
			idx[j] = 0
		}
	}
	s.Name = s.Points[0].Scenario.Metadata.Name
	if err := s.checkGoal(); err != nil {
		return nil, err
	}
	return s, nil
}

// checkGoal refuses a goal on an unknown metric or SLO.
func (s *Sweep) checkGoal() error {
	g := &s.Goal
	if g.Probability == 0 {
		g.Probability = scenarios.DefaultSweepProbability
	}
	if g.Probability < 0 || g.Probability > 1 {
		return fmt.Errorf("--probability %g is outside (0, 1] (expected a share such as 95%%)", g.Probability)
	}
	if g.Metric != "" {
		if _, ok := scenarios.LookupMetric(g.Metric); !ok {
			return fmt.Errorf("unknown metric %s (expected one of %s)", textsafe.Quote(g.Metric), strings.Join(scenarios.MetricNames(), ", "))
		}
	}
	for _, name := range g.SubjectTo {
		for _, pt := range s.Points {
			if !hasSLO(pt.SLOs, name) {
				return fmt.Errorf("--subject-to: no SLO named %s at %s (expected one of the scenario's SLOs)", textsafe.Quote(name), pointLabel(s.Grid, pt.Values))
			}
		}
	}
	return nil
}

func hasSLO(slos []SLODef, name string) bool {
	for _, s := range slos {
		if s.Name == name {
			return true
		}
	}
	return false
}

// pointLabel writes a grid point as "path=value, path=value".
func pointLabel(grid []Param, values []string) string {
	if len(grid) == 0 {
		return "the scenario as written"
	}
	parts := make([]string, len(grid))
	for i, p := range grid {
		parts[i] = p.Path + "=" + values[i]
	}
	return strings.Join(parts, ", ")
}

// ParseSet reads a --set flag: PATH=V1,V2,...
func ParseSet(flag string) (Param, error) {
	path, list, ok := strings.Cut(flag, "=")
	path = strings.TrimSpace(path)
	if !ok || path == "" {
		return Param{}, fmt.Errorf("--set %s: expected PATH=V1,V2,... such as workload.checkpoint.interval=2m,5m,10m", textsafe.Quote(flag))
	}
	if err := scenarios.CheckSweepPath(path); err != nil {
		return Param{}, fmt.Errorf("--set %w", err)
	}
	p := Param{Path: path}
	for v := range strings.SplitSeq(list, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			return Param{}, fmt.Errorf("--set %s: an empty value (expected values separated by commas)", textsafe.Quote(flag))
		}
		p.Values = append(p.Values, v)
	}
	if len(p.Values) > scenarios.MaxSweepValues {
		return Param{}, fmt.Errorf("--set %s: %d values, more than %d", textsafe.Quote(path), len(p.Values), scenarios.MaxSweepValues)
	}
	return p, nil
}

// MergeGrid overrides the grid of a scenario's sweep section with the
// command line's: a path given on both takes the command line's values;
// new paths come after the file's.
func MergeGrid(file, flags []Param) []Param {
	out := append([]Param(nil), file...)
	for _, f := range flags {
		replaced := false
		for i := range out {
			if out[i].Path == f.Path {
				out[i], replaced = f, true
			}
		}
		if !replaced {
			out = append(out, f)
		}
	}
	return out
}
