package tui

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spotdrill/spotdrill/journal"
)

type waveStatus uint8

const (
	wavePending waveStatus = iota
	waveFired
	waveSkipped // the run stopped before its time
)

// wave is one planned wave and what became of it.
type wave struct {
	name, what string
	at         float64
	status     waveStatus
	firedAt    float64
	code       string
	selected   int // VMs the wave picked
	requested  int
	blocked    int
	failed     int
}

// waves is the sub-model of the planned waves: fired, due, next, pending.
type waves struct {
	list   []wave
	byName map[string]int
	next   int // the first wave not fired yet
	top    int // first row shown, when the user scrolled
	follow bool
}

func newWaves() waves { return waves{byName: map[string]int{}, follow: true} }

func (w *waves) apply(e *journal.Event) {
	switch e.Type {
	case journal.Planned:
		if e.Plan != nil {
			w.plan(e.Plan.Waves)
		}
	case journal.WaveStarted:
		if i, ok := w.byName[e.Wave]; ok {
			wv := &w.list[i]
			wv.status, wv.firedAt, wv.code, wv.selected = waveFired, e.T, e.Code, e.Count
			w.advance()
		}
	case journal.EvictionRequested, journal.EvictionBlocked, journal.EvictionFailed:
		w.count(e)
	case journal.Aborted, journal.RunEnded:
		// Nothing fires after an abort or the end of the run.
		for i := w.next; i < len(w.list); i++ {
			w.list[i].status = waveSkipped
		}
	}
}

// plan takes the waves in the order the runner fires them: by time.
func (w *waves) plan(pw []journal.PlanWave) {
	w.list = w.list[:0]
	for _, p := range pw {
		w.list = append(w.list, wave{name: p.Name, what: p.What, at: p.At})
	}
	sort.SliceStable(w.list, func(i, j int) bool { return w.list[i].at < w.list[j].at })
	for i, wv := range w.list {
		w.byName[wv.name] = i
	}
	w.next = 0
}

func (w *waves) advance() {
	for w.next < len(w.list) && w.list[w.next].status != wavePending {
		w.next++
	}
}

func (w *waves) count(e *journal.Event) {
	i, ok := w.byName[e.Wave]
	if !ok {
		return
	}
	wv := &w.list[i]
	switch e.Type {
	case journal.EvictionRequested:
		wv.requested++
	case journal.EvictionBlocked:
		wv.blocked++
	case journal.EvictionFailed:
		wv.failed++
	}
}

// nextWave is the next wave to fire, if any.
func (w *waves) nextWave() (wave, bool) {
	if w.next < len(w.list) && w.list[w.next].status == wavePending {
		return w.list[w.next], true
	}
	return wave{}, false
}

func (w *waves) scroll(delta, rows int) {
	w.follow = false
	w.top = max(0, min(w.top+delta, len(w.list)-rows))
}

// clock is what the waves view needs to know of the run.
type clock struct {
	now     float64 // run clock, seconds
	speed   float64 // virtual seconds per wall second; 0 = as fast as possible
	paused  bool
	waiting string // the wave waiting for the facilitator
}

func (w *waves) view(t *theme, width, rows int, c clock) []string {
	lines := make([]string, 0, rows)
	if len(w.list) == 0 {
		lines = append(lines, fitLine(t.dim.Render("no waves planned yet"), width))
	}
	top := w.top
	if w.follow {
		top = max(0, min(w.next-1, len(w.list)-rows))
	}
	nameW := 0
	for _, wv := range w.list {
		nameW = max(nameW, len(wv.name))
	}
	nameW = min(nameW, max(8, width/3))
	for i := top; i < len(w.list) && len(lines) < rows; i++ {
		lines = append(lines, fitLine(w.row(t, i, nameW, c), width))
	}
	return padLines(lines, rows, width)
}

func (w *waves) row(t *theme, i, nameW int, c clock) string {
	wv := &w.list[i]
	head := fmt.Sprintf("%s %s", padRight(truncate(wv.name, nameW), nameW), hms(wv.at))
	switch {
	case wv.status == waveFired:
		return t.ok.Render("✓") + " " + head + " " + w.firedText(t, wv)
	case wv.status == waveSkipped:
		return t.dim.Render("– " + head + " skipped")
	case wv.name == c.waiting:
		return t.bannerAsk.Render("⏸") + " " + t.bold.Render(head) + " " + t.warn.Render("DUE: press n")
	case i == w.next:
		return t.bold.Render("▶ "+head) + " " + countdown(wv.at-c.now, c) + t.dim.Render(" · "+wv.what)
	}
	return t.dim.Render("· "+head) + " " + wv.what
}

func (w *waves) firedText(t *theme, wv *wave) string {
	when := ""
	if int64(wv.firedAt) != int64(wv.at) {
		when = "fired at " + hms(wv.firedAt) + ": "
	}
	if wv.code != "" && wv.code != "evict" {
		return when + wv.code
	}
	if wv.selected == 0 {
		return when + t.warn.Render("no VM eligible")
	}
	// Refusals and failures first: a narrow column cuts the end.
	var parts []string
	if wv.blocked > 0 {
		parts = append(parts, t.alert.Render(fmt.Sprintf("%d BLOCKED", wv.blocked)))
	}
	if wv.failed > 0 {
		parts = append(parts, t.warn.Render(fmt.Sprintf("%d failed", wv.failed)))
	}
	parts = append(parts, fmt.Sprintf("%d/%d requested", wv.requested, wv.selected))
	parts[0] = when + parts[0]
	return strings.Join(parts, ", ")
}

// countdown says when a wave is due on the run clock, and in wall time at
// the current speed.
func countdown(left float64, c clock) string {
	if left <= 0 {
		return "due now"
	}
	s := "in " + shortDur(left)
	switch {
	case c.paused:
		s += " (paused)"
	case c.speed > 0:
		s += fmt.Sprintf(" (%s wall)", shortDur(left/c.speed))
	}
	return s
}
