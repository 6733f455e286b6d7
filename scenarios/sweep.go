package scenarios

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spotdrill/spotdrill/internal/textsafe"
)

// Bounds of a sweep. A grid point is one scenario to parse and keep; a run
// is one simulated game day whose figures are kept (a few hundred bytes).
const (
	MaxSweepValues = 1_000
	MaxSweepPoints = 10_000
	MaxSweepSeeds  = 1_000_000
	MaxSweepRuns   = 10_000_000
	// DefaultSweepSeeds is how many seeds a sweep plays unless told.
	DefaultSweepSeeds = 100
	// DefaultSweepProbability is how often a grid point must meet its SLOs
	// to be chosen, unless told.
	DefaultSweepProbability = 0.95
)

// SeedRange is the seeds a sweep plays, From to To inclusive.
type SeedRange struct{ From, To int64 }

// Len is how many seeds the range holds.
func (r SeedRange) Len() int64 { return r.To - r.From + 1 }

func (r SeedRange) String() string {
	if r.From == 1 {
		return strconv.FormatInt(r.To, 10)
	}
	return fmt.Sprintf("%d-%d", r.From, r.To)
}

// ParseSeeds reads "N" (seeds 1 to N) or "A-B".
func ParseSeeds(s string) (SeedRange, error) {
	s = strings.TrimSpace(s)
	const want = "expected a count such as 100 or a range such as 100-199"
	a, b, isRange := strings.Cut(s, "-")
	from, err := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	if err != nil {
		return SeedRange{}, fmt.Errorf("%s is not a seed count or range (%s)", textsafe.Quote(s), want)
	}
	r := SeedRange{From: 1, To: from}
	if isRange {
		to, err := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
		if err != nil {
			return SeedRange{}, fmt.Errorf("%s is not a seed range (%s)", textsafe.Quote(s), want)
		}
		r = SeedRange{From: from, To: to}
	}
	switch {
	case r.From < 1 || r.To < r.From:
		return SeedRange{}, fmt.Errorf("%s holds no seeds (%s, seeds from 1)", textsafe.Quote(s), want)
	case r.Len() > MaxSweepSeeds:
		return SeedRange{}, fmt.Errorf("%s is %d seeds, more than %d (%s)", textsafe.Quote(s), r.Len(), MaxSweepSeeds, want)
	}
	return r, nil
}

// CheckSweepPath says what is wrong with a --set path before any file is
// read: its syntax, and whether a scenario has such a single-valued field.
// List selectors are checked against the file when the value is set.
func CheckSweepPath(path string) error {
	segs, err := splitSetPath(path)
	if err != nil {
		return err
	}
	canonical := ""
	for _, seg := range segs {
		canonical = joinPath(canonical, seg.key)
		if seg.sel != "" {
			canonical += "[0]"
		}
	}
	if p := settable(canonical); p != nil {
		return fmt.Errorf("%s: %s", textsafe.Quote(path), p.Msg)
	}
	return nil
}

func (v *validator) sweep() {
	sw := v.s.Sweep
	if sw == nil {
		return
	}
	if sw.Seeds != "" {
		if _, err := ParseSeeds(sw.Seeds); err != nil {
			v.add("sweep.seeds", "%v", err)
		}
	}
	if len(sw.Set) > 8 {
		v.add("sweep.set", "%d fields, more than 8 (expected a grid of a few fields)", len(sw.Set))
	}
	points := 1
	seen := map[string]bool{}
	for i, set := range sw.Set {
		field := fmt.Sprintf("sweep.set[%d]", i)
		if err := CheckSweepPath(set.Path); err != nil {
			v.add(field+".path", "%v", err)
		} else if seen[set.Path] {
			v.add(field+".path", "%s is swept twice (expected each field once)", textsafe.Quote(set.Path))
		}
		seen[set.Path] = true
		switch n := len(set.Values); {
		case n == 0:
			v.add(field+".values", "missing (expected the values to try, such as [2m, 5m, 10m])")
		case n > MaxSweepValues:
			v.add(field+".values", "%d values, more than %d (expected a grid of at most %d points)", n, MaxSweepValues, MaxSweepPoints)
		default:
			points *= n
			if points > MaxSweepPoints {
				v.add(field+".values", "the grid reaches more than %d points (expected fewer values)", MaxSweepPoints)
				points = 1
			}
		}
	}
	if sw.Minimize != "" && sw.Maximize != "" {
		v.add("sweep.maximize", "both minimize and maximize are given (expected one of them)")
	}
	for field, name := range map[string]string{"sweep.minimize": sw.Minimize, "sweep.maximize": sw.Maximize} {
		if _, ok := LookupMetric(name); name != "" && !ok {
			v.add(field, "unknown metric %s (expected one of %s)", textsafe.Quote(name), strings.Join(MetricNames(), ", "))
		}
	}
	for i, name := range sw.SubjectTo {
		if !v.hasSLO(name) {
			v.add(fmt.Sprintf("sweep.subjectTo[%d]", i), "no SLO named %s (expected one of the scenario's SLOs: %s)", textsafe.Quote(name), strings.Join(v.sloNames(), ", "))
		}
	}
	if p := sw.Probability; p != nil && (*p <= 0 || *p > 1) {
		v.add("sweep.probability", "%s is outside (0%%, 100%%] (expected a share of runs such as 95%%)", FormatValue(UnitFraction, float64(*p)))
	}
}

// SLOName is the name an SLO goes by in reports: its own, or its objective.
func (s SLO) SLOName() string {
	if s.Name != "" {
		return s.Name
	}
	return s.Objective.String()
}

func (v *validator) hasSLO(name string) bool {
	for _, s := range v.s.SLOs {
		if s.SLOName() == name {
			return true
		}
	}
	return false
}

func (v *validator) sloNames() []string {
	var names []string
	for _, s := range v.s.SLOs {
		names = append(names, textsafe.Quote(s.SLOName()))
	}
	return names
}
