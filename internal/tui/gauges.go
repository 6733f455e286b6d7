package tui

import (
	"slices"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// Live answers metric queries while the run plays: reports.Accumulator,
// subscribed to the same bus, is the implementation.
type Live interface {
	Value(metric string) (float64, bool)
}

type gaugeKind uint8

const (
	gaugeSLO   gaugeKind = iota // an objective of the scenario
	gaugeAbort                  // an abort condition
	gaugeInfo                   // a standard metric no SLO covers
)

type gauge struct {
	kind     gaugeKind
	label    string
	cond     scenarios.Condition
	unit     scenarios.Unit
	value    float64
	measured bool
}

// standardGauges are shown when no SLO covers them: the four numbers a
// facilitator watches on every game day.
var standardGauges = []struct{ metric, label string }{
	{"ttr.p95", "TTR p95"},
	{"lostWork.fraction", "lost work"},
	{"jobs.successRate", "success rate"},
	{"queue.backlog.max", "backlog peak"},
}

// completionMetrics count work still in flight as not done: mid-run they are
// low because the run is not over, not because anything failed.
var completionMetrics = []string{"jobs.successRate", "jobs.spotSuccessRate"}

// endMetrics need the workload's summary: they are measured when the run
// ends, not before.
var endMetrics = []string{"queue.wait.p95", "jobs.spotSuccessRate", "jobs.turnaround.mean", "jobs.turnaround.p50", "jobs.turnaround.p95"}

// gauges is the SLO sub-model: each objective measured so far.
type gauges struct {
	list              []gauge
	completed, failed int // jobs that ended so far, from the latest sample
	ended             bool
	final             bool // the readings are the run's last
}

func newGauges(sc *scenarios.Scenario) gauges {
	var g gauges
	covered := map[string]bool{}
	for _, s := range sc.SLOs {
		g.list = append(g.list, gauge{kind: gaugeSLO, label: s.Name, cond: s.Objective})
		covered[s.Objective.Metric] = true
	}
	for _, a := range sc.AbortWhen {
		g.list = append(g.list, gauge{kind: gaugeAbort, cond: a.When})
		covered[a.When.Metric] = true
	}
	for _, s := range standardGauges {
		if !covered[s.metric] {
			g.list = append(g.list, gauge{kind: gaugeInfo, label: s.label, cond: scenarios.Condition{Raw: s.metric, Metric: s.metric}})
		}
	}
	for i := range g.list {
		if m, ok := scenarios.LookupMetric(g.list[i].cond.Metric); ok {
			g.list[i].unit = m.Unit
		}
	}
	return g
}

func (g *gauges) apply(e *journal.Event) {
	switch e.Type {
	case journal.Sampled:
		if e.Sample != nil {
			g.completed, g.failed = e.Sample.Completed, e.Sample.Failed
		}
	case journal.RunEnded:
		g.ended = true
	}
}

// reading is one metric's value as the poll found it.
type reading struct {
	value    float64
	measured bool
}

// gaugesMsg carries fresh readings, in the order of gauges.list; final
// ones are read after the run ended and are not replaced by a reading that
// was on its way.
type gaugesMsg struct {
	readings []reading
	final    bool
}

// GaugeInterval is how often the console reads the live metrics.
const GaugeInterval = 500 * time.Millisecond

// poll reads every gauge's metric after a while, off the UI goroutine: the
// accumulator shares its lock with the runner.
func (g *gauges) poll(live Live, after time.Duration, final bool) tea.Cmd {
	if live == nil || len(g.list) == 0 {
		return nil
	}
	metrics := make([]string, len(g.list))
	for i, x := range g.list {
		metrics[i] = x.cond.Metric
	}
	read := func() tea.Msg {
		out := gaugesMsg{readings: make([]reading, len(metrics)), final: final}
		for i, m := range metrics {
			out.readings[i].value, out.readings[i].measured = live.Value(m)
		}
		return out
	}
	if after <= 0 {
		return read
	}
	return tea.Tick(after, func(time.Time) tea.Msg { return read() })
}

func (g *gauges) update(msg gaugesMsg) {
	if g.final && !msg.final {
		return
	}
	g.final = g.final || msg.final
	for i := range min(len(msg.readings), len(g.list)) {
		g.list[i].value, g.list[i].measured = msg.readings[i].value, msg.readings[i].measured
	}
}

// verdict is a gauge's mark and the style of its value.
type verdict uint8

const (
	verdictNone     verdict = iota // not measured yet, or nothing to judge
	verdictMet                     // the objective holds so far
	verdictInFlight                // below the objective only because work is still running
	verdictBreached                // the objective is breached so far
	verdictAbort                   // an abort condition holds: the run stops after its grace
)

func (g *gauges) verdict(x *gauge) verdict {
	switch {
	case !x.measured || x.kind == gaugeInfo:
		return verdictNone
	case x.kind == gaugeAbort:
		if x.cond.Holds(x.value) {
			return verdictAbort
		}
		return verdictNone
	case x.cond.Holds(x.value):
		return verdictMet
	case !g.ended && slices.Contains(completionMetrics, x.cond.Metric):
		// Judge by the jobs that ended: if those meet the objective the
		// rest may still get there.
		done := g.completed + g.failed
		if done == 0 || x.cond.Holds(float64(g.completed)/float64(done)) {
			return verdictInFlight
		}
	}
	return verdictBreached
}

// breached counts SLOs breached so far, and SLOs measured.
func (g *gauges) breached() (bad, judged int) {
	for i := range g.list {
		x := &g.list[i]
		if x.kind != gaugeSLO {
			continue
		}
		switch g.verdict(x) {
		case verdictBreached:
			bad++
			judged++
		case verdictMet:
			judged++
		}
	}
	return bad, judged
}

func (g *gauges) view(t *theme, width, rows int) []string {
	lines := make([]string, 0, rows)
	valueW := 0
	for i := range g.list {
		valueW = max(valueW, len(g.list[i].valueText()))
	}
	for i := range g.list {
		if len(lines) == rows {
			break
		}
		lines = append(lines, fitLine(g.row(t, &g.list[i], valueW), width))
	}
	if len(g.list) == 0 && rows > 0 {
		lines = append(lines, fitLine(t.dim.Render("no SLOs in this scenario"), width))
	}
	return padLines(lines, rows, width)
}

func (x *gauge) valueText() string {
	if !x.measured {
		return "—"
	}
	return scenarios.FormatValue(x.unit, x.value)
}

// text names the gauge: the SLO's name and objective, the abort condition,
// or the metric.
func (x *gauge) text() string {
	switch {
	case x.kind == gaugeAbort:
		return "abort if " + x.cond.Raw
	case x.label == "" || x.label == x.cond.Raw:
		return x.cond.Raw
	}
	return x.label + " · " + x.cond.Raw
}

// row is "mark value text": the value comes first so that a narrow screen
// cuts words, not numbers.
func (g *gauges) row(t *theme, x *gauge, valueW int) string {
	mark, note := " ", ""
	style := t.dim
	switch g.verdict(x) {
	case verdictMet:
		mark, style = t.ok.Render("✓"), t.ok
	case verdictInFlight:
		mark, style, note = t.warn.Render("…"), t.warn, t.dim.Render(" (work in flight)")
	case verdictBreached:
		mark, style, note = t.alert.Render("✗"), t.alert, t.alert.Render(" BREACHED")
	case verdictAbort:
		mark, style, note = t.alert.Render("⚠"), t.alert, t.alert.Render(" HOLDS: aborts after its grace")
	case verdictNone:
		if x.measured {
			style = t.bold
		} else if slices.Contains(endMetrics, x.cond.Metric) {
			note = t.dim.Render(" (measured at the end)")
		}
	}
	return mark + " " + style.Render(padLeft(x.valueText(), valueW)) + "  " + x.text() + note
}
