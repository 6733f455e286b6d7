package tui

import (
	"fmt"
	"strings"

	"github.com/spotdrill/spotdrill/journal"
)

// historyLen bounds the buckets of a sparkline's history: more than the
// widest terminal shows.
const historyLen = 512

// history keeps a whole run's samples of one gauge in at most historyLen
// buckets: when it is full, neighbours merge and each bucket covers twice
// as many samples. A bucket keeps what matters most of its samples: the
// peak of the backlog, the trough of the capacity.
type history struct {
	vals [historyLen]int
	n    int  // buckets in use
	span int  // samples per bucket
	fill int  // samples in the last bucket
	last int  // the latest sample
	low  bool // keep the minimum rather than the maximum
}

func (h *history) keep(a, b int) int {
	if h.low {
		return min(a, b)
	}
	return max(a, b)
}

func (h *history) push(v int) {
	h.last = v
	h.span = max(h.span, 1)
	if h.n > 0 && h.fill < h.span {
		h.vals[h.n-1] = h.keep(h.vals[h.n-1], v)
		h.fill++
		return
	}
	if h.n == historyLen {
		for i := range historyLen / 2 {
			h.vals[i] = h.keep(h.vals[2*i], h.vals[2*i+1])
		}
		h.n, h.span = historyLen/2, h.span*2
	}
	h.vals[h.n] = v
	h.n++
	h.fill = 1
}

var sparkGlyphs = []rune("▁▂▃▄▅▆▇█")

// sparks is the sub-model of the two sparklines over the run so far: the
// queue backlog (peak over each sample interval) and the running capacity
// (VMs up: Spot, Regular and fallback).
type sparks struct {
	backlog, capacity history
}

func newSparks() sparks { return sparks{capacity: history{low: true}} }

func (s *sparks) apply(e *journal.Event) {
	if e.Type != journal.Sampled || e.Sample == nil {
		return
	}
	x := e.Sample
	s.backlog.push(x.BacklogMax)
	s.capacity.push(x.Spot + x.Regular + x.Fallback)
}

// view draws both lines. The backlog is scaled from zero to its peak; the
// capacity from its trough (or 90 % of its peak, whichever is lower) to its
// peak, so that losing a few VMs of thousands still shows.
func (s *sparks) view(t *theme, width int) []string {
	return []string{
		sparkLine("backlog", &s.backlog, false, t.warn, width),
		sparkLine("capacity", &s.capacity, true, t.ok, width),
	}
}

// sparkLine is "label value ▁▂▃": the whole history squeezed into the room
// left, each glyph the peak (or trough) of the buckets it covers. O(buckets).
func sparkLine(label string, h *history, fromTrough bool, st sgr, width int) string {
	head := fmt.Sprintf("%-8s %7s ", label, thousands(h.last))
	room := width - len(head)
	if room <= 0 || h.n == 0 {
		return fitLine(head, width)
	}
	per := ceilDiv(h.n, room)
	glyphs := make([]int, 0, room)
	for i := 0; i < h.n; i += per {
		v := h.vals[i]
		for j := i + 1; j < min(i+per, h.n); j++ {
			v = h.keep(v, h.vals[j])
		}
		glyphs = append(glyphs, v)
	}
	lo, hi := glyphs[0], glyphs[0]
	for _, v := range glyphs {
		lo, hi = min(lo, v), max(hi, v)
	}
	if fromTrough {
		// A tenth of the peak at least, so that one VM of forty does not
		// look like a collapse.
		lo = min(lo, hi-hi/10)
	} else {
		// From zero, and no lower than a job a level: a backlog of one is
		// not a full bar.
		lo, hi = 0, max(hi, len(sparkGlyphs)-1)
	}
	var sb strings.Builder
	sb.Grow(3 * len(glyphs))
	top := len(sparkGlyphs) - 1
	for _, v := range glyphs {
		i := 0
		switch {
		case hi > lo:
			i = (v - lo) * top / (hi - lo)
		case v > 0:
			i = top // flat and above zero: a full bar
		}
		sb.WriteRune(sparkGlyphs[i])
	}
	return fitLine(head+st.Render(sb.String()), width)
}
