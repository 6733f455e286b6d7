package reports

import (
	"cmp"
	"math"
	"slices"
)

// values is a growing multiset of numbers that answers exact percentiles.
//
// It serves two patterns. Loading a whole journal appends every value and
// asks once: the values are sorted once. A live run asks every few seconds
// while values keep coming: the few new ones are inserted into short sorted
// runs (a sorted list of sorted chunks), so a query costs a binary search
// and a short copy per new value plus a walk over the chunk lengths, never a
// pass over every value.
type values struct {
	runs    [][]float64 // each sorted; every value of runs[i] <= those of runs[i+1]
	n       int         // values in runs
	pending []float64   // added since the last query, unsorted
	sum     float64
}

// Run lengths: runs are built at runLen and split when they reach twice it.
const runLen = 512

// valuesOf copies src.
func valuesOf(src []float64) values { return valuesOwning(slices.Clone(src)) }

// valuesOwning is valuesOf for a list the caller hands over.
func valuesOwning(src []float64) values {
	s := values{pending: src}
	for _, x := range src {
		s.sum += x
	}
	return s
}

func (s *values) add(x float64) {
	s.pending = append(s.pending, x)
	s.sum += x
}

func (s *values) len() int { return s.n + len(s.pending) }

func (s *values) mean() float64 { return s.sum / float64(s.len()) }

// settle brings every pending value into the sorted runs: by inserting
// them one by one when they are few, by sorting everything again when they
// are many.
func (s *values) settle() {
	switch {
	case len(s.pending) == 0:
		return
	case len(s.pending)*8 > s.n:
		s.rebuild()
	default:
		for _, x := range s.pending {
			s.insert(x)
		}
	}
	s.pending = s.pending[:0]
}

func (s *values) rebuild() {
	all := s.sorted()
	s.runs = s.runs[:0]
	for i := 0; i < len(all); i += runLen {
		j := min(i+runLen, len(all))
		// Capped so that growing one run never writes over the next.
		s.runs = append(s.runs, all[i:j:j])
	}
	s.n = len(all)
	s.pending = nil
}

func (s *values) insert(x float64) {
	// The first run whose last value is >= x takes it, else the last run.
	r, _ := slices.BinarySearchFunc(s.runs, x, func(run []float64, x float64) int {
		return cmp.Compare(run[len(run)-1], x)
	})
	r = min(r, len(s.runs)-1)
	run := s.runs[r]
	i, _ := slices.BinarySearch(run, x)
	run = slices.Insert(run, i, x)
	if len(run) >= 2*runLen {
		half := len(run) / 2
		lo, hi := run[:half:half], slices.Clone(run[half:])
		s.runs[r] = lo
		s.runs = slices.Insert(s.runs, r+1, hi)
	} else {
		s.runs[r] = run
	}
	s.n++
}

// sorted returns every value in order, in a new slice.
func (s *values) sorted() []float64 {
	all := make([]float64, 0, s.len())
	for _, run := range s.runs {
		all = append(all, run...)
	}
	all = append(all, s.pending...)
	if len(s.pending) > 0 {
		slices.Sort(all)
	}
	return all
}

// at returns the i-th smallest value of the settled runs.
func (s *values) at(i int) float64 {
	for _, run := range s.runs {
		if i < len(run) {
			return run[i]
		}
		i -= len(run)
	}
	panic("values: index out of range")
}

// quantile is the nearest-rank percentile (0 < p <= 1): always a value that
// was observed, so "ttr.p95 <= 5m" means 95% of the recoveries took at most
// 5m, not an interpolation between two of them. The set must not be empty.
func (s *values) quantile(p float64) float64 {
	s.settle()
	return s.at(rank(s.n, p))
}

func (s *values) max() float64 {
	s.settle()
	last := s.runs[len(s.runs)-1]
	return last[len(last)-1]
}

// clone returns an independent copy.
func (s *values) clone() values {
	c := values{pending: s.sorted(), sum: s.sum}
	c.rebuild()
	return c
}

// rank is the index of the nearest-rank p-quantile among n sorted values.
func rank(n int, p float64) int {
	// The epsilon keeps 0.95*100 from rounding up to rank 96.
	i := int(math.Ceil(p*float64(n)-1e-9)) - 1
	return max(0, min(i, n-1))
}

// chunkSize bounds how many records one chunk of a chunks holds.
const chunkSize = 1024

// chunks is an append-only list whose elements never move. Eviction records
// are large and addressed while they grow; a plain slice would copy them all
// on every doubling (under the garbage collector's write barriers, since
// they hold strings), which dominated loading a large journal.
type chunks[T any] struct {
	c [][]T
	n int
}

func (c *chunks[T]) push(v T) int32 {
	if c.n%chunkSize == 0 {
		c.c = append(c.c, make([]T, 0, chunkSize))
	}
	last := len(c.c) - 1
	c.c[last] = append(c.c[last], v)
	c.n++
	return int32(c.n - 1)
}

func (c *chunks[T]) at(i int32) *T { return &c.c[i/chunkSize][i%chunkSize] }

func (c *chunks[T]) len() int { return c.n }
