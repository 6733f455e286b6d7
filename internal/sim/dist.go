package sim

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/spotdrill/spotdrill/scenarios"
)

// sampler draws durations from a scenario distribution. Parameters are
// worked out once so that drawing costs a random number and a little
// arithmetic.
type sampler struct {
	kind      string
	fixed     int64
	min, span int64
	mean      float64
	mu, sigma float64
}

func newSampler(d scenarios.Dist) sampler {
	s := sampler{kind: d.Dist}
	switch d.Dist {
	case scenarios.DistFixed, "":
		s.kind = scenarios.DistFixed
		s.fixed = int64(d.Value)
	case scenarios.DistUniform:
		s.min, s.span = int64(d.Min), int64(d.Max-d.Min)
	case scenarios.DistExponential:
		s.mean = float64(d.Mean)
	case scenarios.DistLogNormal:
		m, sd := float64(d.Mean), float64(d.StdDev)
		s.sigma = math.Sqrt(math.Log1p(sd * sd / (m * m)))
		s.mu = math.Log(m) - s.sigma*s.sigma/2
	}
	return s
}

// draw returns a duration in nanoseconds rounded to the millisecond, so
// that journal times print short and exact.
func (s *sampler) draw(r *rand.Rand) int64 {
	var v float64
	switch s.kind {
	case scenarios.DistFixed:
		return roundMS(s.fixed)
	case scenarios.DistUniform:
		if s.span <= 0 {
			return roundMS(s.min)
		}
		v = float64(s.min) + r.Float64()*float64(s.span)
	case scenarios.DistExponential:
		v = r.ExpFloat64() * s.mean
	case scenarios.DistLogNormal:
		v = math.Exp(s.mu + s.sigma*r.NormFloat64())
	}
	if v > float64(maxTime) {
		v = float64(maxTime)
	}
	return roundMS(int64(v))
}

// maxTime keeps sampled times far from overflow: no run lasts a century.
const maxTime = int64(100 * 365 * 24 * time.Hour)

func roundMS(ns int64) int64 {
	const ms = int64(time.Millisecond)
	return (ns + ms/2) / ms * ms
}

// expDraw samples an exponential waiting time for a rate in events per hour.
func expDraw(r *rand.Rand, perHour float64) int64 {
	if perHour <= 0 {
		return maxTime
	}
	v := r.ExpFloat64() / perHour * float64(time.Hour)
	if v > float64(maxTime) {
		return maxTime
	}
	return roundMS(int64(v))
}
