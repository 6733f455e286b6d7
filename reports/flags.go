package reports

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spotdrill/spotdrill/scenarios"
)

// ParseSLOs reads objectives given on a command line to re-grade a run:
// "ttr.p95<=90s", or with a name, "recover fast: ttr.p95 <= 90s". It
// reports every objective that does not parse, not just the first.
func ParseSLOs(objectives []string) ([]scenarios.SLO, error) {
	var (
		out  []scenarios.SLO
		errs []error
	)
	for _, s := range objectives {
		name, objective := "", s
		if i := strings.Index(s, ":"); i >= 0 {
			name, objective = strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
		}
		c, err := scenarios.ParseCondition(objective)
		if err != nil {
			errs = append(errs, fmt.Errorf("--slo %q: %w", s, err))
			continue
		}
		// Written back in one form, so that grades and baselines match
		// "ttr.p95<=90s" with "ttr.p95 <= 90s".
		c.Raw = fmt.Sprintf("%s %s %s", c.Metric, c.Op, strings.TrimSpace(objective[strings.Index(objective, c.Op)+len(c.Op):]))
		out = append(out, scenarios.SLO{Name: name, Objective: c})
	}
	return out, errors.Join(errs...)
}

// ParseTolerance reads a baseline tolerance: "10%" or "0.1".
func ParseTolerance(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "%") {
		v, err := scenarios.ParsePercent(s)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("tolerance %q: expected a percentage like 10%% or a fraction from 0 to 1", s)
		}
		return v, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 1 {
		return 0, fmt.Errorf("tolerance %q: expected a percentage like 10%% or a fraction from 0 to 1", s)
	}
	return v, nil
}
