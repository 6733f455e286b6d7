package reports

import (
	"fmt"
	"io"
	"strings"
)

// stickyWriter keeps the first write error, so that a renderer can write
// line after line and check once.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.err = err
	return n, err
}

func (s *stickyWriter) printf(format string, args ...any) { fmt.Fprintf(s, format, args...) }

// WriteMarkdown writes the postmortem in GitHub-flavoured Markdown: the
// verdict and summary, the SLOs, the timeline of waves and eviction phases,
// the failure modes seen with their evidence, recommendations with numbers,
// the action items, every metric, and the comparison with a baseline.
func WriteMarkdown(w io.Writer, b *Bundle) error {
	m := &stickyWriter{w: w}
	r, g, an := b.Report, b.Grading, b.Analysis
	m.printf("# Game day postmortem: %s\n\n", mdText(withDefault(r.Run.Scenario, "(unnamed scenario)")))
	m.printf("**%s %s**\n\n", mark(g.Verdict == VerdictPass), headline(g))
	if loud := loudLine(r); loud != "" {
		m.printf("> [!WARNING]\n> **%s**\n\n", mdText(loud))
	}
	m.printf("| | |\n|---|---|\n")
	for _, f := range facts(b) {
		m.printf("| %s | %s |\n", f.Label, mdCell(f.Value))
	}
	m.printf("\n## Summary\n\n%s\n", mdText(an.Summary))

	m.printf("\n## SLOs\n\n")
	if len(g.Grades) == 0 {
		m.printf("No SLOs to grade.\n")
	} else {
		mdTable(m, sloTable(g))
	}

	m.printf("\n## Timeline\n\n")
	m.printf("Times are from the start of the run (h:mm:ss).\n\n")
	mdTable(m, timelineTable(r))
	if len(r.Evictions) > 0 {
		m.printf("\n### Eviction phases\n\n")
		mdTable(m, phaseTable(r))
		m.printf("\n### Evictions\n\n")
		mdTable(m, evictionTable(r))
	}

	if a := r.AKS; a != nil {
		writeAKSMD(m, a)
	}

	m.printf("\n## Failure modes\n\n")
	writeFailureModesMD(m, an)

	m.printf("\n## Recommendations\n\n")
	if len(an.Recommendations) == 0 {
		m.printf("None: nothing in this run calls for a change.\n")
	}
	for _, rec := range an.Recommendations {
		m.printf("### %s\n\n%s\n", mdText(rec.Title), mdText(rec.Text))
		if len(rec.Details) > 0 {
			m.printf("\n")
			for _, d := range rec.Details {
				m.printf("- %s\n", mdText(d))
			}
		}
		m.printf("\n")
	}

	m.printf("## Action items\n\n")
	if len(an.ActionItems) == 0 {
		m.printf("None.\n")
	}
	for _, item := range an.ActionItems {
		m.printf("- [ ] %s\n", mdText(item))
	}

	m.printf("\n## Metrics\n")
	for _, sec := range metricSections(r) {
		m.printf("\n### %s\n\n", sec.Title)
		mdTable(m, sec.Table)
		for _, n := range sec.Notes {
			m.printf("\n%s\n", mdText(n))
		}
	}

	if len(r.Blocked) > 0 || len(r.FailedEvictions) > 0 {
		m.printf("\n## Blast radius\n\n")
		if len(r.Blocked) > 0 {
			m.printf("%s refused by the blast-radius guard:\n\n", plural(len(r.Blocked), "eviction"))
			mdTable(m, blockedTable(r))
		}
		if len(r.FailedEvictions) > 0 {
			m.printf("\n%s failed on the platform:\n\n", plural(len(r.FailedEvictions), "eviction"))
			mdTable(m, failedEvictionTable(r))
		}
	}

	if c := b.Baseline; c != nil {
		writeBaselineMD(m, c)
	}

	m.printf("\n## About this report\n\n")
	m.printf("Computed from the journal alone by spotdrill: percentiles are exact nearest-rank values, TTR runs from the eviction to the job running again, and a run cut short is reported up to where its journal ends (see docs/reports.md).\n")
	if len(an.JournalGaps) > 0 {
		m.printf("\nWhat the journal does not record, and would sharpen this report:\n\n")
		for _, gap := range an.JournalGaps {
			m.printf("- %s\n", mdText(gap))
		}
	}
	return m.err
}

func writeFailureModesMD(m *stickyWriter, an Analysis) {
	var missing []string
	for _, f := range an.FailureModes {
		if !f.Detected {
			missing = append(missing, f.ID+" "+f.Name)
			continue
		}
		m.printf("### %s · %s\n\n%s\n\n", f.ID, mdText(f.Name), mdText(f.Summary))
		for _, e := range f.Evidence {
			m.printf("- %s\n", mdText(e))
		}
		if len(f.VMs) > 0 {
			m.printf("- VMs: %s\n", mdText(names(f.VMs, max(f.VMCount, len(f.VMs)))))
		}
		if len(f.Jobs) > 0 {
			m.printf("- jobs: %s\n", mdText(names(f.Jobs, max(f.JobCount, len(f.Jobs)))))
		}
		m.printf("\n")
	}
	if len(missing) == len(an.FailureModes) {
		m.printf("None of F1 to F10 was seen.\n")
		return
	}
	if len(missing) > 0 {
		m.printf("Not seen: %s.\n", strings.Join(missing, ", "))
	}
}

func writeBaselineMD(m *stickyWriter, c *Comparison) {
	m.printf("\n## Compared with the baseline\n\n")
	m.printf("Baseline `%s`: %s, seed %d, %s, score %d. Tolerance %s.\n\n",
		c.Baseline, mdText(withDefault(c.BaselineScenario, "?")), c.BaselineSeed, strings.ToUpper(string(c.BaselineVerdict)), c.BaselineScore, FormatTolerance(c.Tolerance))
	m.printf("**%s beyond the tolerance, %s newly failed.**\n\n", plural(c.Regressions, "metric regression"), plural(c.SLORegressions, "SLO"))
	if len(c.SLOs) > 0 {
		mdTable(m, sloChangeTable(c))
		m.printf("\n")
	}
	mdTable(m, comparisonTable(c))
}

func timelineTable(r *Report) table {
	t := table{Head: []string{"Time", "What"}, Right: []bool{true, false}}
	for _, e := range timelineEntries(r) {
		t.Rows = append(t.Rows, []string{Clock(e.T), e.What})
	}
	return t
}

func mdTable(m *stickyWriter, t table) {
	if len(t.Rows) == 0 {
		m.printf("(none)\n")
		return
	}
	m.printf("|")
	for _, h := range t.Head {
		m.printf(" %s |", mdCell(h))
	}
	m.printf("\n|")
	for i := range t.Head {
		if i < len(t.Right) && t.Right[i] {
			m.printf("---:|")
		} else {
			m.printf("---|")
		}
	}
	m.printf("\n")
	for _, row := range t.Rows {
		m.printf("|")
		for _, c := range row {
			m.printf(" %s |", mdCell(c))
		}
		m.printf("\n")
	}
	if t.Note != "" {
		m.printf("\n%s\n", mdText(t.Note))
	}
}

// mdText escapes what Markdown would take for markup in running text:
// names like spot_a or *.yaml must print as written.
func mdText(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '#':
			b.WriteByte('\\')
		case '\n', '\r':
			c = ' '
		}
		b.WriteRune(c)
	}
	return b.String()
}

// mdCell escapes a table cell.
func mdCell(s string) string { return mdText(s) }

// writeAKSMD writes the AKS section: the evicted nodes' timelines and the
// displaced pods, from the Kubernetes API.
func writeAKSMD(m *stickyWriter, a *AKS) {
	m.printf("\n## AKS\n\n")
	m.printf("From the Kubernetes API: each evicted node's timeline, and each pod the game day displaced (DaemonSet pods left out).\n\n")
	if len(a.Nodes) > 0 {
		mdTable(m, aksNodeTable(a))
	}
	if len(a.Pods) > 0 {
		m.printf("\n")
		mdTable(m, aksPodTable(a))
	}
	for _, b := range a.PDBBlocks {
		m.printf("\n- %s", mdText(b))
	}
	if len(a.PDBBlocks) > 0 {
		m.printf("\n")
	}
}
