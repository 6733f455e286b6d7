package reports

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
)

//go:embed report.html.tmpl
var htmlTemplate string

// htmlCell is a table cell; Class styles it (pass, fail, num).
type htmlCell struct {
	Text  string
	Class string
}

type htmlRow struct {
	Cells     []htmlCell
	Failed    bool
	Regressed bool
}

type htmlTable struct {
	Head  []string
	Right []bool
	Rows  []htmlRow
	Note  string
}

type htmlMode struct {
	ID, Name, Summary string
	Evidence          []string
	VMs, Jobs         string
}

type htmlSection struct {
	Title string
	Table htmlTable
	Notes []string
}

type htmlBaseline struct {
	Intro, Verdict string
	SLOs, Metrics  htmlTable
}

type htmlChart struct {
	ID, Title, Caption string
	SVG                template.HTML
}

// htmlPage is everything the template shows, as text it escapes; only the
// charts' SVG, drawn by gonum/plot from escaped text, goes in as is.
type htmlPage struct {
	Title, Scenario, Mark, VerdictWord, VerdictClass, Headline, Loud, Summary string
	Facts                                                                     []fact
	Charts                                                                    []htmlChart
	SLOs, Timeline, Phases, Evictions, Blocked, Failed                        htmlTable
	HasEvictions                                                              bool
	AKSNodes, AKSPods                                                         htmlTable
	AKS                                                                       *AKS
	BlockedLine, FailedLine                                                   string
	Detected                                                                  []htmlMode
	Unseen                                                                    string
	Recommendations                                                           []Recommendation
	ActionItems                                                               []string
	Metrics                                                                   []htmlSection
	Baseline                                                                  *htmlBaseline
	Gaps                                                                      []string
}

// WriteHTML writes the postmortem as one self-contained HTML page: the
// Markdown report's content, styled, with charts (the fleet and backlog
// over time with the evictions, the TTR distribution against its SLOs, the
// lost work per eviction) drawn with gonum/plot and inlined as SVG. The
// page loads nothing: no script, no font, no image from anywhere.
func WriteHTML(w io.Writer, b *Bundle) error {
	page, err := buildPage(b)
	if err != nil {
		return err
	}
	t, err := template.New("report").Parse(htmlTemplate)
	if err != nil {
		return fmt.Errorf("HTML template: %w", err)
	}
	if err := t.Execute(w, page); err != nil {
		return fmt.Errorf("write HTML report: %w", err)
	}
	return nil
}

func buildPage(b *Bundle) (*htmlPage, error) {
	r, g, an := b.Report, b.Grading, b.Analysis
	scenario := withDefault(r.Run.Scenario, "(unnamed scenario)")
	p := &htmlPage{
		Title: "spotdrill · " + scenario + " · " + strings.ToUpper(string(g.Verdict)), Scenario: scenario,
		Mark: mark(g.Verdict == VerdictPass), VerdictWord: strings.ToUpper(string(g.Verdict)), VerdictClass: string(g.Verdict),
		Headline: fmt.Sprintf("%d/%d SLOs met · resilience score %d/100", g.Met, len(g.Grades), g.Score),
		Loud:     loudLine(r), Summary: an.Summary, Facts: facts(b),
		SLOs: htmlOf(sloTable(g)), Timeline: htmlOf(timelineTable(r)), Phases: htmlOf(phaseTable(r)),
		Evictions: htmlOf(evictionTable(r)), HasEvictions: len(r.Evictions) > 0,
		AKS:             r.AKS,
		Recommendations: an.Recommendations, ActionItems: an.ActionItems, Gaps: an.JournalGaps,
	}
	if r.AKS != nil {
		p.AKSNodes, p.AKSPods = htmlOf(aksNodeTable(r.AKS)), htmlOf(aksPodTable(r.AKS))
	}
	cs, err := charts(b)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		// The SVG comes from gonum/plot, which escapes the text it draws.
		p.Charts = append(p.Charts, htmlChart{ID: c.ID, Title: c.Title, Caption: c.Caption, SVG: template.HTML(c.SVG)})
	}
	var unseen []string
	for _, f := range an.FailureModes {
		if !f.Detected {
			unseen = append(unseen, f.ID+" "+f.Name)
			continue
		}
		m := htmlMode{ID: f.ID, Name: f.Name, Summary: f.Summary, Evidence: f.Evidence}
		if len(f.VMs) > 0 {
			m.VMs = names(f.VMs, max(f.VMCount, len(f.VMs)))
		}
		if len(f.Jobs) > 0 {
			m.Jobs = names(f.Jobs, max(f.JobCount, len(f.Jobs)))
		}
		p.Detected = append(p.Detected, m)
	}
	p.Unseen = strings.Join(unseen, ", ")
	for _, sec := range metricSections(r) {
		p.Metrics = append(p.Metrics, htmlSection{Title: sec.Title, Table: htmlOf(sec.Table), Notes: sec.Notes})
	}
	if n := len(r.Blocked); n > 0 {
		p.Blocked = htmlOf(blockedTable(r))
		p.BlockedLine = plural(n, "eviction") + " refused by the blast-radius guard:"
	}
	if n := len(r.FailedEvictions); n > 0 {
		p.Failed = htmlOf(failedEvictionTable(r))
		p.FailedLine = plural(n, "eviction") + " failed on the platform:"
	}
	if c := b.Baseline; c != nil {
		p.Baseline = &htmlBaseline{
			Intro: fmt.Sprintf("Baseline %s: %s, seed %d, %s, score %d. Tolerance %s.", c.Baseline, withDefault(c.BaselineScenario, "?"),
				c.BaselineSeed, strings.ToUpper(string(c.BaselineVerdict)), c.BaselineScore, FormatTolerance(c.Tolerance)),
			Verdict: fmt.Sprintf("%s beyond the tolerance, %s newly failed.", plural(c.Regressions, "metric regression"), plural(c.SLORegressions, "SLO")),
			Metrics: htmlOf(comparisonTable(c)),
		}
		if len(c.SLOs) > 0 {
			p.Baseline.SLOs = htmlOf(sloChangeTable(c))
		}
	}
	return p, nil
}

// htmlOf styles a table: numbers right, ✓ and ✗ coloured, failed SLOs and
// regressions highlighted.
func htmlOf(t table) htmlTable {
	h := htmlTable{Head: t.Head, Right: make([]bool, len(t.Head)), Note: t.Note}
	copy(h.Right, t.Right)
	for _, row := range t.Rows {
		hr := htmlRow{}
		for i, c := range row {
			cell := htmlCell{Text: c}
			switch {
			case c == "✓":
				cell.Class = "pass"
			case c == "✗":
				cell.Class = "fail"
				hr.Failed = true
			case c == "▼":
				cell.Class = "fail"
				hr.Regressed = true
			case i < len(h.Right) && h.Right[i]:
				cell.Class = "num"
			}
			hr.Cells = append(hr.Cells, cell)
		}
		h.Rows = append(h.Rows, hr)
	}
	return h
}
