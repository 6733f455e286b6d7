package sweep

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

// The HTML page of a sweep: the table, each chosen metric against the
// first swept parameter with its 95 % band (a line for each combination
// of the others), and for a two-parameter grid each SLO's breach
// probability as a heat map. Charts are SVG drawn with gonum.org/v1/plot
// and inlined: no script, nothing fetched when the page is viewed.

// maxLines bounds the lines of one chart; past it, the chart shows the
// first combinations of the other parameters and says so.
const maxLines = 6

// Okabe-Ito colours, as the run report uses.
var lineColors = []uint32{0x0072b2, 0xe69f00, 0x009e73, 0xcc79a7, 0x56b4e9, 0xd55e00}

func rgb(c uint32, a uint8) color.Color {
	return color.NRGBA{uint8(c >> 16), uint8(c >> 8), uint8(c), a}
}

type htmlChart struct {
	Title, Caption string
	SVG            template.HTML
}

type htmlHeat struct {
	Title    string
	RowParam string
	ColParam string
	Cols     []string
	Rows     []htmlHeatRow
}

type htmlHeatRow struct {
	Label string
	Cells []htmlHeatCell
}

type htmlHeatCell struct {
	Text  string
	Style template.CSS
}

type htmlPage struct {
	Title   string
	Summary string
	Head    []string
	Rows    [][]string
	BestRow int
	Charts  []htmlChart
	Heats   []htmlHeat
	Note    string
}

// WriteHTML writes the sweep as one self-contained page.
func WriteHTML(w io.Writer, res *Result, metrics []string) error {
	page := htmlPage{
		Title:   fmt.Sprintf("Sweep of %s: %d grid points, seeds %s, %d runs", res.Scenario.Name, len(res.Points), res.Seeds, res.Runs),
		BestRow: -1,
	}
	if res.Best != nil {
		page.Summary = res.Best.Summary
		if res.Best.Found {
			page.BestRow = res.Best.Point
		}
	}
	page.Head, page.Rows = tableCells(res, metrics)
	if len(res.Grid) > 0 {
		for _, m := range metrics {
			c, err := metricChart(res, m)
			if err != nil {
				return err
			}
			page.Charts = append(page.Charts, c)
		}
		if n := lineCount(res); n > maxLines {
			page.Note = fmt.Sprintf("Charts show the first %d of %d combinations of the other parameters; the table and the JSON output hold them all.", maxLines, n)
		}
	}
	if len(res.Grid) == 2 {
		page.Heats = heatMaps(res)
	}
	return pageTemplate.Execute(w, page)
}

// tableCells is the sweep's table as cells: a row per grid point, raw
// (WriteTable escapes them for a terminal, the page's template for HTML).
func tableCells(res *Result, metrics []string) ([]string, [][]string) {
	var head []string
	for _, g := range res.Grid {
		head = append(head, g.Path)
	}
	head = append(head, "all SLOs met")
	if len(res.Points) > 0 {
		for _, s := range res.Points[0].SLOs {
			head = append(head, "breach: "+s.Name)
		}
	}
	for _, m := range metrics {
		head = append(head, m+" mean (95% CI)", "p95")
	}
	var rows [][]string
	for p := range res.Points {
		pr := &res.Points[p]
		row := append([]string(nil), pr.values...)
		row = append(row, propCell(pr.AllMet.Probability, pr.AllMet.CI95))
		for _, s := range pr.SLOs {
			row = append(row, propCell(s.BreachProbability, s.CI95))
		}
		for _, name := range metrics {
			m, _ := scenarios.LookupMetric(name)
			st := pr.Metrics[name]
			if st.Mean == nil {
				row = append(row, "not measured", "–")
				continue
			}
			cell := formatValue(m.Unit, *st.Mean)
			if st.CI95 != nil {
				cell += " (" + formatValue(m.Unit, st.CI95[0]) + " to " + formatValue(m.Unit, st.CI95[1]) + ")"
			}
			if st.N < pr.Runs {
				cell += fmt.Sprintf(" n=%d", st.N)
			}
			row = append(row, cell, formatValue(m.Unit, *st.P95))
		}
		rows = append(rows, row)
	}
	return head, rows
}

// lineCount is how many combinations of the parameters after the first
// the grid has: one line each.
func lineCount(res *Result) int {
	n := 1
	for _, g := range res.Grid[1:] {
		n *= len(g.Values)
	}
	return n
}

// metricChart draws a metric's mean against the first parameter, with its
// 95 % confidence band, a line per combination of the other parameters.
func metricChart(res *Result, metric string) (htmlChart, error) {
	m, _ := scenarios.LookupMetric(metric)
	first := res.Grid[0]
	p := plot.New()
	p.Title.Text = metric
	p.Title.TextStyle.Font = reports.ChartFont(12)
	p.X.Label.Text = first.Path
	p.Y.Label.Text = m.Unit.String()
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = reports.ChartFont(10)
		a.Tick.Label.Font = reports.ChartFont(9)
	}
	p.Legend.TextStyle.Font = reports.ChartFont(9)
	p.Legend.Top = true
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = color.Gray{Y: 225}, color.Gray{Y: 225}
	p.Add(grid)
	var ticks []plot.Tick
	for i, v := range first.Values {
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: v})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = -0.25, float64(len(first.Values)-1)+0.25

	lines := min(lineCount(res), maxLines)
	per := lineCount(res)
	for l := range lines {
		var mean, band plotter.XYs
		var upper plotter.XYs
		for i := range first.Values {
			pr := &res.Points[i*per+l]
			st := pr.Metrics[metric]
			if st.Mean == nil {
				continue
			}
			x := float64(i)
			mean = append(mean, plotter.XY{X: x, Y: *st.Mean})
			lo, hi := *st.Mean, *st.Mean
			if st.CI95 != nil {
				lo, hi = st.CI95[0], st.CI95[1]
			}
			band = append(band, plotter.XY{X: x, Y: lo})
			upper = append(upper, plotter.XY{X: x, Y: hi})
		}
		if len(mean) == 0 {
			continue
		}
		col := lineColors[l%len(lineColors)]
		for i := len(upper) - 1; i >= 0; i-- {
			band = append(band, upper[i])
		}
		if poly, err := plotter.NewPolygon(band); err == nil && len(band) >= 3 {
			poly.Color = rgb(col, 48)
			poly.LineStyle.Width = 0
			p.Add(poly)
		}
		ln, pts, err := plotter.NewLinePoints(mean)
		if err != nil {
			return htmlChart{}, fmt.Errorf("chart %s: %w", metric, err)
		}
		ln.Color, pts.Color = rgb(col, 255), rgb(col, 255)
		ln.Width = vg.Points(1.5)
		pts.Shape = draw.CircleGlyph{}
		p.Add(ln, pts)
		if per > 1 {
			p.Legend.Add(otherLabel(res, l), ln, pts)
		}
	}
	p.Y.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		ts := plot.DefaultTicks{}.Ticks(lo, hi)
		for i := range ts {
			if ts[i].Label != "" {
				ts[i].Label = formatValue(m.Unit, ts[i].Value)
			}
		}
		return ts
	})
	if per > 1 {
		// Room above the lines for the legend.
		p.Y.Max += 0.25 * (p.Y.Max - p.Y.Min)
	}
	c := vgsvg.New(7*vg.Inch, 3.2*vg.Inch)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return htmlChart{}, fmt.Errorf("chart %s: %w", metric, err)
	}
	caption := fmt.Sprintf("Mean of %s (%s) across seeds, with its 95%% confidence interval as a band.", metric, m.About)
	return htmlChart{Title: metric, Caption: caption, SVG: template.HTML(reports.InlineSVG(buf.String()))}, nil
}

// otherLabel names line l: the values of the parameters after the first.
func otherLabel(res *Result, l int) string {
	vals := pointValues(res.Grid, l)
	parts := make([]string, 0, len(res.Grid)-1)
	for j, g := range res.Grid[1:] {
		parts = append(parts, g.Path+"="+vals[j+1])
	}
	return strings.Join(parts, ", ")
}

// heatMaps draws, for a two-parameter grid, the chance that any SLO
// breaks and each SLO's breach probability, the first parameter down and
// the second across.
func heatMaps(res *Result) []htmlHeat {
	rowsP, colsP := res.Grid[0], res.Grid[1]
	mk := func(title string, prob func(pr *PointResult) (float64, [2]float64, bool)) htmlHeat {
		h := htmlHeat{Title: title, RowParam: rowsP.Path, ColParam: colsP.Path, Cols: colsP.Values}
		for i, rv := range rowsP.Values {
			row := htmlHeatRow{Label: rv}
			for j := range colsP.Values {
				pr := &res.Points[i*len(colsP.Values)+j]
				p, ci, ok := prob(pr)
				if !ok {
					row.Cells = append(row.Cells, htmlHeatCell{Text: "–"})
					continue
				}
				row.Cells = append(row.Cells, htmlHeatCell{
					Text:  propCell(p, ci),
					Style: template.CSS(heatStyle(p)),
				})
			}
			h.Rows = append(h.Rows, row)
		}
		return h
	}
	out := []htmlHeat{mk("Probability that any SLO breaks", func(pr *PointResult) (float64, [2]float64, bool) {
		k := pr.Runs - pr.AllMet.Count
		return 1 - pr.AllMet.Probability, wilson(k, pr.Runs), true
	})}
	if len(res.Points) == 0 {
		return out
	}
	for k, s := range res.Points[0].SLOs {
		title := "Breach probability: " + s.Name
		if s.Name != s.Objective {
			title += " (" + s.Objective + ")"
		}
		out = append(out, mk(title, func(pr *PointResult) (float64, [2]float64, bool) {
			if k >= len(pr.SLOs) {
				return 0, [2]float64{}, false
			}
			return pr.SLOs[k].BreachProbability, pr.SLOs[k].CI95, true
		}))
	}
	return out
}

// heatStyle shades a cell from white (never) to vermilion (always).
func heatStyle(p float64) string {
	p = math.Max(0, math.Min(1, p))
	mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + (float64(b)-float64(a))*p)) }
	r, g, b := mix(255, 0xd5), mix(255, 0x5e), mix(255, 0x00)
	text := "#111"
	if p > 0.6 {
		text = "#fff"
	}
	return fmt.Sprintf("background:#%02x%02x%02x;color:%s", r, g, b, text)
}

var pageTemplate = template.Must(template.New("sweep").Funcs(template.FuncMap{
	"eq": func(a, b int) bool { return a == b },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:"Liberation Sans",Arial,Helvetica,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}
tr.best td{font-weight:bold;background:#eef6fb}
.summary{background:#f6f6f6;border-left:4px solid #0072b2;padding:.6rem 1rem}
svg.chart{width:100%;height:auto;max-width:56rem;display:block}
figure{margin:1rem 0}figcaption{font-size:.85rem;color:#555}
.note{font-size:.85rem;color:#555}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{if .Summary}}<p class="summary">{{.Summary}}</p>{{end}}
<h2>Grid points</h2>
<table>
<thead><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range $i, $row := .Rows}}<tr{{if eq $i $.BestRow}} class="best"{{end}}>{{range $row}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
<p class="note">Means with their 95% confidence intervals (Student's t) and nearest-rank p95 across seeds; probabilities with their 95% Wilson intervals.</p>
{{if .Charts}}<h2>Metrics against the grid</h2>
{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
{{range .Charts}}<figure>{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>
{{end}}{{end}}
{{range .Heats}}<h2>{{.Title}}</h2>
<table class="heat">
<thead><tr><th>{{.RowParam}} \ {{.ColParam}}</th>{{range .Cols}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr><th>{{.Label}}</th>{{range .Cells}}<td style="{{.Style}}">{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{end}}
</body>
</html>
`))
