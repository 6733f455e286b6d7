package sweep

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/spotdrill/spotdrill/scenarios"
)

// z95 is the standard normal quantile of a two-sided 95 % interval.
const z95 = 1.959963984540054

// Stat is one metric across the runs of a grid point that measured it.
type Stat struct {
	// N is how many runs measured the metric; the rest had nothing to
	// measure (no evictions, no interrupted work).
	N    int      `json:"n"`
	Mean *float64 `json:"mean,omitempty"`
	// CI95 is the 95 % confidence interval of the mean (Student's t); it
	// needs two runs or more.
	CI95 *[2]float64 `json:"ci95,omitempty"`
	// P50 and P95 are nearest-rank percentiles across runs: values some
	// run measured, as the reports' percentiles are.
	P50 *float64 `json:"p50,omitempty"`
	P95 *float64 `json:"p95,omitempty"`
}

// statOf summarises xs (NaN entries are runs that did not measure it).
// The sum runs in the order given, so the same runs in the same order give
// the same bits however they were computed.
func statOf(xs []float64) Stat {
	vals := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			vals = append(vals, x)
		}
	}
	s := Stat{N: len(vals)}
	if s.N == 0 {
		return s
	}
	lo, hi := slices.Min(vals), slices.Max(vals)
	var sum float64
	for _, x := range vals {
		sum += x
	}
	mean := sum / float64(s.N)
	if lo == hi {
		// A metric the seeds do not move: its mean is that value, exactly,
		// and its interval has no width (a rounded sum would give it one).
		mean = lo
	}
	s.Mean = &mean
	if lo == hi && s.N >= 2 {
		s.CI95 = &[2]float64{mean, mean}
	} else if s.N >= 2 {
		var ss float64
		for _, x := range vals {
			ss += (x - mean) * (x - mean)
		}
		sd := math.Sqrt(ss / float64(s.N-1))
		half := tQuantile(s.N-1) * sd / math.Sqrt(float64(s.N))
		s.CI95 = &[2]float64{mean - half, mean + half}
	}
	slices.Sort(vals)
	p50, p95 := vals[nearestRank(s.N, 0.50)], vals[nearestRank(s.N, 0.95)]
	s.P50, s.P95 = &p50, &p95
	return s
}

// clamp keeps an interval inside the values a metric can take: Student's
// t interval of a success rate near 100 % reaches past it.
func (s *Stat) clamp(lo, hi float64) {
	if s.CI95 != nil {
		s.CI95[0] = math.Max(lo, math.Min(hi, s.CI95[0]))
		s.CI95[1] = math.Max(lo, math.Min(hi, s.CI95[1]))
	}
}

// domain is the range of a metric's values.
func domain(name string) (lo, hi float64) {
	m, _ := scenarios.LookupMetric(name)
	switch {
	case name == "cost.variance":
		return math.Inf(-1), math.Inf(1)
	case name == "cost.savings":
		return math.Inf(-1), 1
	case m.Unit == scenarios.UnitFraction:
		return 0, 1
	}
	return 0, math.Inf(1)
}

// tQuantile is the 97.5th percentile of Student's t with df degrees of
// freedom.
func tQuantile(df int) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(0.975)
}

// nearestRank is the index of the nearest-rank p-quantile of n sorted
// values.
func nearestRank(n int, p float64) int {
	i := int(math.Ceil(p*float64(n)-1e-9)) - 1
	return max(0, min(i, n-1))
}

// wilson is the 95 % Wilson score interval of a proportion k/n: it stays
// inside [0, 1] and is not degenerate at 0 or n, where the normal
// approximation claims certainty from a handful of runs.
func wilson(k, n int) [2]float64 {
	if n == 0 {
		return [2]float64{0, 1}
	}
	p := float64(k) / float64(n)
	nf := float64(n)
	z2 := z95 * z95
	denom := 1 + z2/nf
	center := (p + z2/(2*nf)) / denom
	half := z95 * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / denom
	lo, hi := max(0, center-half), min(1, center+half)
	// At k = 0 or k = n one bound is exact; keep it so rather than a
	// rounding error away.
	if k == 0 {
		lo = 0
	}
	if k == n {
		hi = 1
	}
	return [2]float64{lo, hi}
}
