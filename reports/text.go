package reports

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spotdrill/spotdrill/scenarios"
)

// TextOptions shapes the terminal summary.
type TextOptions struct {
	// Color adds ANSI colours; without it the text has no escape codes.
	Color bool
}

// ANSI codes, kept to the few every terminal knows.
const (
	ansiGreen   = "\x1b[32m"
	ansiRed     = "\x1b[31m"
	ansiBoldRed = "\x1b[1;31m"
	ansiBold    = "\x1b[1m"
	ansiReset   = "\x1b[0m"
)

// metricGroup is a section of the summary: the metrics whose names start
// with one of its prefixes, in vocabulary order.
type metricGroup struct {
	title    string
	ids      string
	prefixes []string
}

func metricGroups() []metricGroup {
	return []metricGroup{
		{"Evictions", "M1", []string{"evictions."}},
		{"Jobs", "M2", []string{"jobs."}},
		{"Recovery", "M3", []string{"ttr."}},
		{"Lost work", "M7", []string{"lostWork."}},
		{"Queue", "M5", []string{"queue."}},
		{"Provisioning", "M8 M9", []string{"provision."}},
		{"Cost and fallback", "M4 M6 M10", []string{"cost.", "fallback."}},
	}
}

// WriteText writes the end-of-run summary for a terminal: the run, the SLOs,
// the metrics by group, what the guard blocked and the verdict.
func WriteText(w io.Writer, r *Report, g Grading, opts TextOptions) error {
	t := textWriter{color: opts.Color}
	t.header(r)
	t.slos(g)
	t.metrics(r)
	t.blocked(r)
	t.verdict(g)
	if _, err := w.Write(t.buf.Bytes()); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// textWriter builds the summary in memory, so that one Write either lands
// it whole or reports why not.
type textWriter struct {
	buf   bytes.Buffer
	color bool
}

func (t *textWriter) printf(format string, args ...any) { fmt.Fprintf(&t.buf, format, args...) }

func (t *textWriter) paint(code, s string) string {
	if !t.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (t *textWriter) mark(pass bool) string {
	if pass {
		return t.paint(ansiGreen, "✓")
	}
	return t.paint(ansiRed, "✗")
}

func (t *textWriter) header(r *Report) {
	name := r.Run.Scenario
	if name == "" {
		name = "(unnamed scenario)"
	}
	t.printf("%s\n", t.paint(ansiBold, "spotdrill · "+name))
	parts := []string{}
	if r.Run.Provider != "" {
		parts = append(parts, "provider "+r.Run.Provider)
	}
	parts = append(parts, "seed "+strconv.FormatInt(r.Run.Seed, 10))
	ran := "ran " + scenarios.FormatSeconds(r.End)
	if r.Run.Duration > 0 {
		ran += " of " + scenarios.FormatSeconds(r.Run.Duration)
	}
	clock := "wall clock"
	if r.Run.Provider == scenarios.ProviderSim {
		clock = "virtual clock"
	}
	parts = append(parts, ran+" ("+clock+")")
	status := r.Status
	if status == "" {
		status = "cut short"
	}
	parts = append(parts, status, plural(int(r.Tail.Events), "event"))
	t.printf("  %s\n", strings.Join(parts, " · "))
	if r.TraceID != "" {
		t.printf("  trace %s\n", r.TraceID)
	}
	if loud := loudLine(r); loud != "" {
		t.printf("\n  %s\n", t.paint(ansiBoldRed, "!! "+loud))
	}
}

// loudLine says why the numbers below may not cover the whole game day.
func loudLine(r *Report) string {
	at := " at " + scenarios.FormatSeconds(r.End)
	switch {
	case r.Damaged():
		return "DAMAGED: " + r.DamageLine()
	case r.Aborted():
		return "ABORTED" + at + ": " + abortReason(r)
	case r.CutShort():
		why := "the journal ends without run.ended"
		if r.Tail.Truncated {
			why += " and its last line was cut mid-write"
		}
		return "CUT SHORT" + at + ": " + why + "; the report covers the run up to there"
	case r.Status != "" && r.Status != "completed":
		return strings.ToUpper(r.Status) + at + ": " + withDefault(r.Reason, "no reason given")
	}
	return ""
}

func abortReason(r *Report) string {
	if r.Reason != "" {
		return r.Reason
	}
	if n := len(r.Aborts); n > 0 {
		a := r.Aborts[n-1]
		return withDefault(a.Reason, a.Code)
	}
	return "no reason given"
}

func (t *textWriter) slos(g Grading) {
	if g.Verdict == VerdictDamaged {
		t.printf("\n%s\n  not graded: the journal is damaged\n", t.paint(ansiBold, "SLOs"))
		return
	}
	t.printf("\n%s\n", t.paint(ansiBold, fmt.Sprintf("SLOs  %d/%d met", g.Met, len(g.Grades))))
	if len(g.Grades) == 0 {
		t.printf("  no SLOs to grade\n")
		return
	}
	rows := make([][]string, len(g.Grades))
	for i, gr := range g.Grades {
		rows[i] = []string{withDefault(sloLabel(gr), gr.Objective), gr.Objective, "n/a", ""}
		if gr.Measured {
			rows[i][2] = scenarios.FormatValue(gr.Unit, gr.Value)
			rows[i][3] = signed(gr.Unit, gr.Margin)
		}
	}
	widths := columnWidths(rows)
	for i, gr := range g.Grades {
		line := ""
		for c, cell := range rows[i] {
			line += "  " + padRight(cell, widths[c])
		}
		if gr.Note != "" {
			line += "  " + gr.Note
		}
		t.printf("  %s%s\n", t.mark(gr.Pass), strings.TrimRight(line, " "))
	}
}

func (t *textWriter) metrics(r *Report) {
	width := 0
	for _, m := range r.Metrics {
		width = max(width, len(m.Name))
	}
	width += 4 // room for the dot leader
	done := make([]bool, len(r.Metrics))
	for _, grp := range metricGroups() {
		t.printf("\n%s\n", t.paint(ansiBold, grp.title+" · "+grp.ids))
		for i, m := range r.Metrics {
			if !done[i] && hasAnyPrefix(m.Name, grp.prefixes) {
				done[i] = true
				t.metricLine(m, width)
			}
		}
		t.groupDetail(grp.title, r)
	}
	// Metrics the vocabulary gains later still show.
	first := true
	for i, m := range r.Metrics {
		if done[i] {
			continue
		}
		if first {
			t.printf("\n%s\n", t.paint(ansiBold, "Other"))
			first = false
		}
		t.metricLine(m, width)
	}
}

func (t *textWriter) metricLine(m MetricValue, width int) {
	v := "n/a (" + m.Note + ")"
	if m.Measured {
		v = scenarios.FormatValue(m.Unit, m.Value)
	}
	t.printf("  %s %s\n", leader(m.Name, width), v)
}

// groupDetail adds the counts behind a group's metrics, when there are any.
func (t *textWriter) groupDetail(title string, r *Report) {
	switch title {
	case "Evictions":
		if causes := evictionCauses(r.Evictions); causes != "" {
			t.printf("  by cause: %s\n", causes)
		}
	case "Recovery":
		t.unrecovered(r.Unrecovered)
	case "Lost work":
		if in := r.Interruptions; in.Count > 0 {
			t.printf("  %s\n", interruptionCounts(in))
		}
	case "Provisioning":
		if len(r.AllocationFailures) > 0 {
			t.printf("  allocation failures: %s\n", joinCounts(r.AllocationFailures))
		}
		if r.BootstrapFailures > 0 {
			t.printf("  bootstrap failures (F10): %d\n", r.BootstrapFailures)
		}
	}
}

// unrecoveredShown bounds the jobs listed by name; the count says the rest.
const unrecoveredShown = 5

func (t *textWriter) unrecovered(jobs []UnrecoveredJob) {
	if len(jobs) == 0 {
		return
	}
	names := make([]string, 0, unrecoveredShown)
	for _, j := range jobs[:min(len(jobs), unrecoveredShown)] {
		s := j.Job + " (down since " + scenarios.FormatSeconds(j.Since)
		if j.GaveUp {
			s += ", gave up"
		}
		names = append(names, s+")")
	}
	more := ""
	if n := len(jobs) - unrecoveredShown; n > 0 {
		more = fmt.Sprintf(" and %d more", n)
	}
	t.printf("  %s: %s%s\n", t.paint(ansiRed, "unrecovered"), strings.Join(names, ", "), more)
}

func (t *textWriter) blocked(r *Report) {
	if len(r.Blocked) == 0 && len(r.FailedEvictions) == 0 {
		return
	}
	t.printf("\n%s\n", t.paint(ansiBold, "Blocked"))
	if n := len(r.Blocked); n > 0 {
		t.printf("  %s refused by the blast-radius guard\n", plural(n, "eviction"))
		rows := make([][]string, len(r.BlockedByCode))
		for i, c := range r.BlockedByCode {
			rows[i] = []string{withDefault(c.Code, "(no code)"), "×" + strconv.Itoa(c.Count)}
		}
		widths := columnWidths(rows)
		for i, c := range r.BlockedByCode {
			t.printf("    %s  %s  %s\n", padRight(rows[i][0], widths[0]), padRight(rows[i][1], widths[1]), c.Example)
		}
	}
	if n := len(r.FailedEvictions); n > 0 {
		codes := map[string]int{}
		for _, f := range r.FailedEvictions {
			codes[withDefault(f.Code, "(no code)")]++
		}
		t.printf("  %s failed on the platform: %s\n", plural(n, "eviction"), joinCounts(sortedCounts(codes)))
	}
}

func (t *textWriter) verdict(g Grading) {
	if g.Verdict == VerdictDamaged {
		t.printf("\n%s %s\n", t.mark(false), t.paint(ansiRed, "DAMAGED · not graded: the journal is not the whole record of one run"))
		return
	}
	word := strings.ToUpper(string(g.Verdict))
	line := fmt.Sprintf("%s · %d/%d SLOs met · resilience score %d/100", word, g.Met, len(g.Grades), g.Score)
	pass := g.Verdict == VerdictPass
	code := ansiRed
	if pass {
		code = ansiGreen
	}
	t.printf("\n%s %s\n", t.mark(pass), t.paint(code, line))
}

func interruptionCounts(in Interruptions) string {
	s := plural(in.Count, "interruption")
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{
		{in.Released, "handed back on notice"},
		{in.DrainLate, "drain cut short (F2)"},
		{in.CheckpointLost, "checkpoint lost with the VM (F5)"},
	} {
		if p.n > 0 {
			parts = append(parts, strconv.Itoa(p.n)+" "+p.what)
		}
	}
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s
}

func evictionCauses(evs []Eviction) string {
	counts := map[string]int{}
	for _, ev := range evs {
		if ev.Evicted != nil {
			counts[withDefault(ev.Cause, "unknown")]++
		}
	}
	return joinCounts(sortedCounts(counts))
}

func joinCounts(cs []CodeCount) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Code + " ×" + strconv.Itoa(c.Count)
	}
	return strings.Join(parts, ", ")
}

// signed writes a margin with its sign in front of the unit ("-$0.50").
func signed(u scenarios.Unit, v float64) string {
	if v < 0 {
		return "-" + scenarios.FormatValue(u, -v)
	}
	return "+" + scenarios.FormatValue(u, v)
}

func columnWidths(rows [][]string) []int {
	var widths []int
	for _, row := range rows {
		for c, cell := range row {
			if c >= len(widths) {
				widths = append(widths, 0)
			}
			widths[c] = max(widths[c], utf8.RuneCountInString(cell))
		}
	}
	return widths
}

// padRight pads s with spaces to n runes.
func padRight(s string, n int) string { return padWith(s, n, " ") }

// leader pads s with dots to n runes, the way k6 lines up its metrics.
func leader(s string, n int) string { return padWith(s+" ", n, ".") }

func padWith(s string, n int, fill string) string {
	if k := n - utf8.RuneCountInString(s); k > 0 {
		return s + strings.Repeat(fill, k)
	}
	return s
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func withDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
