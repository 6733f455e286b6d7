package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/spotdrill/spotdrill/scenarios"
)

// The HTML report's charts, drawn with gonum.org/v1/plot to SVG and
// inlined: no script, no network at view time. Text uses the metrics of
// Liberation Sans (metric-compatible with Arial), so the page's CSS may
// render it with any of those fonts and the labels still fit.

// chart is one rendered chart.
type chart struct {
	ID      string
	Title   string
	Caption string
	SVG     string
}

// Chart colours: Okabe-Ito, readable by colour-blind readers, and the
// same as the page's CSS uses.
const (
	colSpot     = 0x0072b2 // blue
	colRegular  = 0x009e73 // green
	colFallback = 0xe69f00 // orange
	colBacklog  = 0xcc79a7 // purple
	colEvict    = 0xd55e00 // vermilion
	colSLO      = 0xd55e00
	colGrey     = 0x787878
	colBar      = 0x56b4e9 // sky blue
)

func rgb(c uint32) color.Color { return color.RGBA{uint8(c >> 16), uint8(c >> 8), uint8(c), 255} }

const (
	chartWidth = 9 * vg.Inch
	// maxMarks bounds the eviction marks on the timeline: one per slot of
	// the width at most.
	maxMarks = 300
	// maxCDFPoints bounds the points of the TTR distribution.
	maxCDFPoints = 400
	// maxBars bounds the bars of the lost work chart; past it, evictions
	// are summed per slice of time.
	maxBars = 60
)

// ChartFont is the charts' type: Liberation Sans, whose metrics the pages'
// CSS fonts share.
func ChartFont(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}

// newPlot makes a plot whose every text is Liberation Sans.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = ChartFont(12)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = ChartFont(10)
		a.Tick.Label.Font = ChartFont(9)
	}
	p.Legend.TextStyle.Font = ChartFont(9)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), vg.Points(-2)
	p.Legend.Padding = vg.Points(3)
	p.Add(gridLines())
	return p
}

func gridLines() *plotter.Grid {
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{Y: 225}
	g.Horizontal.Color = color.Gray{Y: 225}
	g.Vertical.Width = vg.Points(0.5)
	g.Horizontal.Width = vg.Points(0.5)
	return g
}

// timeTicks marks the run clock at a round step: 10 ticks at most.
func timeTicks(lo, hi float64) []plot.Tick {
	steps := []float64{60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800}
	step := steps[len(steps)-1]
	for _, s := range steps {
		if (hi-lo)/s <= 10 {
			step = s
			break
		}
	}
	var ticks []plot.Tick
	for t := math.Ceil(lo/step) * step; t <= hi+1e-9; t += step {
		ticks = append(ticks, plot.Tick{Value: t, Label: clockLabel(t)})
	}
	return ticks
}

// clockLabel writes a round run-clock time: 0, 45m, 2h, 1h30m, 2d.
func clockLabel(t float64) string {
	s := int64(math.Round(t))
	switch {
	case s == 0:
		return "0"
	case s%86400 == 0:
		return fmt.Sprintf("%dd", s/86400)
	case s%3600 == 0:
		return fmt.Sprintf("%dh", s/3600)
	case s >= 3600:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dm", s/60)
}

// durationTicks marks seconds at a round step, labelled as durations.
func durationTicks(lo, hi float64) []plot.Tick {
	steps := []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400}
	step := steps[len(steps)-1]
	for _, s := range steps {
		if (hi-lo)/s <= 8 {
			step = s
			break
		}
	}
	var ticks []plot.Tick
	for t := math.Ceil(lo/step) * step; t <= hi+1e-9; t += step {
		ticks = append(ticks, plot.Tick{Value: t, Label: fmtS(t)})
	}
	return ticks
}

// countTicks marks whole numbers at a round step: 1, 2, 5, 10, 20, 50...
func countTicks(lo, hi float64) []plot.Tick {
	step := 1.0
	for (hi-lo)/step > 6 {
		switch m := step / math.Pow(10, math.Floor(math.Log10(step))); m {
		case 1:
			step *= 2
		case 2:
			step *= 2.5
		default:
			step *= 2
		}
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi+1e-9; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ticks
}

// decimalTicks are gonum's default ticks, labelled without trailing zeros.
func decimalTicks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'g', 6, 64)
		}
	}
	return ticks
}

func line(xys plotter.XYs, c uint32, width vg.Length, dashed bool) (*plotter.Line, error) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.Color = rgb(c)
	l.Width = width
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	return l, nil
}

// timelineChart draws the fleet over the run (running Spot, Regular and
// fallback VMs, evictions as marks, waves as dashed lines) above the
// backlog, on one time axis.
func timelineChart(r *Report) (*chart, error) {
	tl := r.Timeline
	if len(tl) < 2 {
		return nil, nil
	}
	end := max(r.End, tl[len(tl)-1].T)
	fleet := newPlot("Fleet", "", "VMs running")
	backlog := newPlot("Backlog", "time since start", "jobs waiting")
	series := []struct {
		name  string
		col   uint32
		value func(TimelinePoint) int
	}{
		{"Spot", colSpot, func(p TimelinePoint) int { return p.Spot }},
		{"Regular", colRegular, func(p TimelinePoint) int { return p.Regular }},
		{"Fallback", colFallback, func(p TimelinePoint) int { return p.Fallback }},
	}
	top := 1.0
	for _, s := range series {
		xys := make(plotter.XYs, len(tl))
		any := false
		for i, p := range tl {
			xys[i] = plotter.XY{X: p.T, Y: float64(s.value(p))}
			top = max(top, xys[i].Y)
			any = any || xys[i].Y > 0
		}
		if !any && s.name != "Spot" {
			continue // a line along zero says nothing
		}
		l, err := line(xys, s.col, vg.Points(1.6), false)
		if err != nil {
			return nil, err
		}
		l.StepStyle = plotter.PostStep
		fleet.Add(l)
		fleet.Legend.Add(s.name, l)
	}
	fleet.Y.Min, fleet.Y.Max = 0, top*1.55+1 // room for the legend and marks
	if marks := evictionMarks(r, end, top*1.1+0.5); len(marks) > 0 {
		sc, err := plotter.NewScatter(marks)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: rgb(colEvict), Radius: vg.Points(3), Shape: draw.TriangleGlyph{}}
		fleet.Add(sc)
		fleet.Legend.Add("eviction", sc)
	}
	bxys := make(plotter.XYs, len(tl))
	peak := 1.0
	for i, p := range tl {
		bxys[i] = plotter.XY{X: p.T, Y: float64(p.BacklogMax)}
		peak = max(peak, bxys[i].Y)
	}
	bl, err := line(bxys, colBacklog, vg.Points(1.6), false)
	if err != nil {
		return nil, err
	}
	backlog.Add(bl)
	backlog.Y.Min, backlog.Y.Max = 0, peak*1.15+1
	for _, w := range r.Waves {
		for _, p := range []*plot.Plot{fleet, backlog} {
			wl, err := line(plotter.XYs{{X: w.T, Y: 0}, {X: w.T, Y: p.Y.Max}}, colGrey, vg.Points(0.8), true)
			if err != nil {
				return nil, err
			}
			p.Add(wl)
		}
	}
	for _, p := range []*plot.Plot{fleet, backlog} {
		p.X.Min, p.X.Max = 0, end
		p.X.Tick.Marker = plot.TickerFunc(timeTicks)
		p.Y.Tick.Marker = plot.TickerFunc(countTicks)
	}
	svg, err := renderStack([]*plot.Plot{fleet, backlog}, chartWidth, 5.5*vg.Inch)
	if err != nil {
		return nil, err
	}
	return &chart{
		ID: "chart-timeline", Title: "Timeline",
		Caption: "Running VMs by kind (steps), evictions (triangles), waves (dashed lines), and the backlog's peak between samples.",
		SVG:     svg,
	}, nil
}

// evictionMarks places a mark at each eviction, one per slot of the axis
// so that a long run does not draw thousands on top of each other.
func evictionMarks(r *Report, end, y float64) plotter.XYs {
	if end <= 0 {
		return nil
	}
	seen := map[int]bool{}
	var xys plotter.XYs
	for i := range r.Evictions {
		ev := &r.Evictions[i]
		if ev.Evicted == nil {
			continue
		}
		slot := int(*ev.Evicted / end * maxMarks)
		if seen[slot] {
			continue
		}
		seen[slot] = true
		xys = append(xys, plotter.XY{X: *ev.Evicted, Y: y})
	}
	return xys
}

// ttrChart draws the distribution of job TTR as a CDF, with each job TTR
// objective as a vertical line and its percentile as a horizontal one:
// the curve passes left of where they cross when the objective holds.
func ttrChart(r *Report, g Grading) (*chart, error) {
	v := r.TTRs
	if len(v) == 0 {
		return nil, nil
	}
	p := newPlot("Time to recover", "time to recover (eviction to job running again)", "share of interrupted jobs")
	xys := cdfPoints(v)
	l, err := line(xys, colSpot, vg.Points(1.8), false)
	if err != nil {
		return nil, err
	}
	l.StepStyle = plotter.PostStep
	p.Add(l)
	p.Legend.Add(fmt.Sprintf("TTR CDF (%s)", plural(len(v), "job")), l)
	hi := v[len(v)-1]
	for _, gr := range g.Grades {
		q, ok := ttrLevel(gr.Metric)
		if !ok {
			continue
		}
		c, err := objectiveValue(gr)
		if err != nil {
			continue
		}
		hi = max(hi, c)
		vl, err := line(plotter.XYs{{X: c, Y: 0}, {X: c, Y: 1.05}}, colSLO, vg.Points(1.4), true)
		if err != nil {
			return nil, err
		}
		p.Add(vl)
		p.Legend.Add("SLO "+gr.Objective, vl)
		if q < 1 {
			hl, err := line(plotter.XYs{{X: 0, Y: q}, {X: c, Y: q}}, colGrey, vg.Points(0.8), true)
			if err != nil {
				return nil, err
			}
			p.Add(hl)
		}
	}
	p.X.Min, p.X.Max = 0, max(hi*1.08, 1)
	p.Y.Min, p.Y.Max = 0, 1.3
	p.X.Tick.Marker = plot.TickerFunc(durationTicks)
	p.Y.Tick.Marker = plot.TickerFunc(func(_, _ float64) []plot.Tick {
		var ts []plot.Tick
		for _, q := range []float64{0, 0.25, 0.5, 0.75, 1} {
			ts = append(ts, plot.Tick{Value: q, Label: fmt.Sprintf("%.0f%%", q*100)})
		}
		return ts
	})
	svg, err := renderStack([]*plot.Plot{p}, chartWidth, 3.6*vg.Inch)
	if err != nil {
		return nil, err
	}
	caption := "Share of interrupted jobs running again within a time, with the TTR objectives (dashed, red) at their percentile (dashed, grey)."
	if n := len(r.Unrecovered); n > 0 {
		caption += fmt.Sprintf(" %s never recovered and are not on the curve.", plural(n, "job"))
	}
	return &chart{ID: "chart-ttr", Title: "Time to recover", Caption: caption, SVG: svg}, nil
}

// ttrLevel is the share of jobs a job TTR objective speaks of.
func ttrLevel(metric string) (float64, bool) {
	switch metric {
	case "ttr.p50":
		return 0.5, true
	case "ttr.p95":
		return 0.95, true
	case "ttr.p99":
		return 0.99, true
	case "ttr.max":
		return 1, true
	}
	return 0, false
}

// objectiveValue reads the number an objective compares with.
func objectiveValue(gr SLOGrade) (float64, error) {
	c, err := scenarios.ParseCondition(gr.Objective)
	return c.Value, err
}

// cdfPoints is the empirical CDF of sorted values, at most maxCDFPoints
// steps of it.
func cdfPoints(sorted []float64) plotter.XYs {
	n := len(sorted)
	step := max(1, n/maxCDFPoints)
	xys := plotter.XYs{{X: 0, Y: 0}}
	for i := 0; i < n; i += step {
		xys = append(xys, plotter.XY{X: sorted[i], Y: float64(i+1) / float64(n)})
	}
	xys = append(xys, plotter.XY{X: sorted[n-1], Y: 1})
	return xys
}

// lostWorkChart draws the compute each eviction threw away, at its time;
// past maxBars evictions, the lost work of each slice of the run.
func lostWorkChart(r *Report) (*chart, error) {
	type bar struct {
		t, lost float64
	}
	var bars []bar
	total := 0.0
	for i := range r.Evictions {
		ev := &r.Evictions[i]
		if ev.Evicted == nil || ev.Jobs == 0 {
			continue
		}
		bars = append(bars, bar{*ev.Evicted, ev.LostWork})
		total += ev.LostWork
	}
	if len(bars) == 0 || total == 0 {
		return nil, nil // nothing lost: the metrics say so
	}
	end := max(r.End, bars[len(bars)-1].t)
	caption := "Compute thrown away by each eviction that interrupted work, at the time it landed."
	if len(bars) > maxBars {
		slice := end / maxBars
		summed := make([]bar, maxBars)
		for i := range summed {
			summed[i].t = (float64(i) + 0.5) * slice
		}
		for _, b := range bars {
			summed[min(maxBars-1, int(b.t/slice))].lost += b.lost
		}
		caption = fmt.Sprintf("Compute thrown away by evictions, summed over each %s of the run (%s in all).", fmtS(slice), plural(len(bars), "eviction"))
		bars = summed
	}
	unit, scale := "minutes", 60.0
	if total/float64(len(bars)) >= 2*3600 {
		unit, scale = "hours", 3600
	}
	p := newPlot("Lost work", "time since start", "compute lost ("+unit+")")
	p.Legend.Top, p.Legend.Left = true, false
	peak := 0.0
	for _, b := range bars {
		y := b.lost / scale
		peak = max(peak, y)
		stem, err := line(plotter.XYs{{X: b.t, Y: 0}, {X: b.t, Y: y}}, colBar, vg.Points(5), false)
		if err != nil {
			return nil, err
		}
		p.Add(stem)
	}
	p.X.Min, p.X.Max = 0, end
	p.Y.Min, p.Y.Max = 0, max(peak*1.15, 1/scale*60)
	p.X.Tick.Marker = plot.TickerFunc(timeTicks)
	p.Y.Tick.Marker = plot.TickerFunc(decimalTicks)
	svg, err := renderStack([]*plot.Plot{p}, chartWidth, 3.2*vg.Inch)
	if err != nil {
		return nil, err
	}
	caption += fmt.Sprintf(" %s lost in all.", fmtS(total))
	return &chart{ID: "chart-lost-work", Title: "Lost work per eviction", Caption: caption, SVG: svg}, nil
}

// renderStack draws plots one above the other, their axes aligned, into
// one SVG sized to the page by the HTML.
func renderStack(plots []*plot.Plot, w, h vg.Length) (string, error) {
	c := vgsvg.New(w, h)
	dc := draw.New(c)
	rows := make([][]*plot.Plot, len(plots))
	for i, p := range plots {
		rows[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Points(8), PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(10)}
	canvases := plot.Align(rows, tiles, dc)
	for i, p := range plots {
		p.Draw(canvases[i][0])
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("render chart: %w", err)
	}
	return InlineSVG(buf.String()), nil
}

// InlineSVG makes a standalone SVG document fit for inlining in HTML: no
// XML prolog or generator comment, and sized by the page instead of in
// points.
func InlineSVG(s string) string {
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	// vgsvg opens with <svg width="..pt" height="..pt" viewBox=...: the
	// viewBox alone keeps the proportions.
	if i := strings.Index(s, " viewBox="); i >= 0 && strings.HasPrefix(s, "<svg ") {
		s = `<svg class="chart" preserveAspectRatio="xMidYMid meet"` + s[i:]
	}
	return s
}

// charts draws every chart the run has data for.
func charts(b *Bundle) ([]chart, error) {
	var out []chart
	for _, draw := range []func() (*chart, error){
		func() (*chart, error) { return timelineChart(b.Report) },
		func() (*chart, error) { return ttrChart(b.Report, b.Grading) },
		func() (*chart, error) { return lostWorkChart(b.Report) },
	} {
		c, err := draw()
		if err != nil {
			return nil, err
		}
		if c != nil {
			out = append(out, *c)
		}
	}
	return out, nil
}
