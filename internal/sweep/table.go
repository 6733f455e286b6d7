package sweep

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spotdrill/spotdrill/internal/textsafe"
	"github.com/spotdrill/spotdrill/scenarios"
)

// ShownMetrics is what a table shows beside the SLOs when not told: the
// goal's metric, then the metric of each SLO, each once.
func ShownMetrics(res *Result, extra []string) []string {
	var out []string
	add := func(name string) {
		if _, ok := scenarios.LookupMetric(name); ok && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	if res.Goal != nil {
		add(res.Goal.Metric)
	}
	for _, m := range extra {
		add(m)
	}
	if len(res.Points) > 0 {
		for _, s := range res.Points[0].SLOs {
			if c, err := scenarios.ParseCondition(s.Objective); err == nil {
				add(c.Metric)
			}
		}
	}
	return out
}

// WriteTable prints the sweep as a table: a row per grid point with the
// share of runs that met every SLO, each SLO's chance of breach, and the
// chosen metrics' means with their intervals; then the best point.
func WriteTable(w io.Writer, res *Result, metrics []string) error {
	fmt.Fprintf(w, "Sweep of %s: %d grid point%s × seeds %s = %d runs\n\n",
		textsafe.Clean(res.Scenario.Name), len(res.Points), plural(len(res.Points)), res.Seeds, res.Runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head, rows := tableCells(res, metrics)
	for p, row := range append([][]string{head}, rows...) {
		for i := range row {
			row[i] = textsafe.Clean(row[i])
		}
		if res.Best != nil && res.Best.Found && res.Best.Point == p-1 && len(res.Grid) > 0 {
			row[0] = "▸ " + row[0]
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if res.Best != nil {
		fmt.Fprintf(w, "\n%s\n", textsafe.Clean(res.Best.Summary))
	}
	return nil
}

func propCell(p float64, ci [2]float64) string {
	f := func(x float64) string { return scenarios.FormatValue(scenarios.UnitFraction, x) }
	return fmt.Sprintf("%s (%s to %s)", f(p), f(ci[0]), f(ci[1]))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// WriteCSV writes a row per grid point: the swept values, the runs, the
// share that met every SLO, each SLO's breach probability, then every
// metric's n, mean, interval and percentiles; each with its bounds.
// Numbers are plain (seconds, fractions, USD) for spreadsheets.
func WriteCSV(w io.Writer, res *Result) error {
	cw := csv.NewWriter(w)
	var head []string
	for _, g := range res.Grid {
		head = append(head, g.Path)
	}
	head = append(head, "runs", "allMet", "allMet.ci95.low", "allMet.ci95.high")
	if len(res.Points) > 0 {
		for _, s := range res.Points[0].SLOs {
			head = append(head, "breach:"+s.Name, "breach:"+s.Name+".ci95.low", "breach:"+s.Name+".ci95.high")
		}
	}
	for _, m := range scenarios.Metrics {
		for _, f := range []string{"n", "mean", "ci95.low", "ci95.high", "p50", "p95"} {
			head = append(head, m.Name+"."+f)
		}
	}
	if err := cw.Write(sanitizeCSV(head)); err != nil {
		return err
	}
	num := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	opt := func(x *float64) string {
		if x == nil {
			return ""
		}
		return num(*x)
	}
	for p := range res.Points {
		pr := &res.Points[p]
		row := append([]string(nil), pr.values...)
		row = append(row, strconv.Itoa(pr.Runs), num(pr.AllMet.Probability), num(pr.AllMet.CI95[0]), num(pr.AllMet.CI95[1]))
		for _, s := range pr.SLOs {
			row = append(row, num(s.BreachProbability), num(s.CI95[0]), num(s.CI95[1]))
		}
		for _, m := range scenarios.Metrics {
			st := pr.Metrics[m.Name]
			lo, hi := "", ""
			if st.CI95 != nil {
				lo, hi = num(st.CI95[0]), num(st.CI95[1])
			}
			row = append(row, strconv.Itoa(st.N), opt(st.Mean), lo, hi, opt(st.P50), opt(st.P95))
		}
		if err := cw.Write(sanitizeCSV(row)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// sanitizeCSV keeps a spreadsheet from reading a cell as a formula: a value
// from the scenario that starts with =, +, - or @ is quoted with a leading
// apostrophe, unless it is a number.
func sanitizeCSV(row []string) []string {
	for i, c := range row {
		if c == "" {
			continue
		}
		if _, err := strconv.ParseFloat(c, 64); err == nil {
			continue
		}
		if strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			row[i] = "'" + c
		}
	}
	return row
}
