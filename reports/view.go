package reports

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/spotdrill/spotdrill/scenarios"
)

// The postmortem formats (Markdown and HTML) show the same content: the
// tables and lines below, built once from a Bundle and rendered by each.

// table is rows of text cells under a header; note says what was left out.
type table struct {
	Head []string
	// Right marks the columns of numbers, aligned right.
	Right []bool
	Rows  [][]string
	Note  string
}

// fact is one line of the header box.
type fact struct{ Label, Value string }

// maxEvictionRows bounds the eviction table of a postmortem; the JSON report
// holds every eviction.
const maxEvictionRows = 50

// maxTimelineEvictions is the most evictions the timeline lists one by
// one; past it, it names the first and the last.
const maxTimelineEvictions = 30

func facts(b *Bundle) []fact {
	r := b.Report
	var fs []fact
	sc := withDefault(r.Run.Scenario, "(unnamed scenario)")
	if r.Run.File != "" {
		sc += " · " + r.Run.File
	}
	if sha := r.Run.ScenarioSHA256; len(sha) >= 12 {
		sc += " · sha256 " + sha[:12]
	}
	fs = append(fs, fact{"Scenario", sc})
	clock := "wall clock"
	if r.Run.Provider == scenarios.ProviderSim {
		clock = "virtual clock"
	}
	prov := withDefault(r.Run.Provider, "unknown provider") + " · seed " + strconv.FormatInt(r.Run.Seed, 10) + " · " + clock
	if r.Run.Start != "" {
		prov += " from " + r.Run.Start
	}
	fs = append(fs, fact{"Provider", prov})
	ran := scenarios.FormatSeconds(r.End)
	if r.Run.Duration > 0 {
		ran += " of " + scenarios.FormatSeconds(r.Run.Duration)
	}
	status := withDefault(r.Status, "cut short")
	if r.Reason != "" {
		status += " (" + r.Reason + ")"
	}
	fs = append(fs, fact{"Ran", ran + " · " + status})
	journal := plural(int(r.Tail.Events), "event")
	if b.Source != "" {
		journal += " · " + b.Source
	}
	fs = append(fs, fact{"Journal", journal})
	if r.TraceID != "" {
		fs = append(fs, fact{"Trace", r.TraceID + " (OpenTelemetry: search it in Jaeger or Tempo)"})
	}
	if r.Run.Tool != "" {
		fs = append(fs, fact{"Recorded by", r.Run.Tool})
	}
	return fs
}

// headline is the verdict line: "FAIL · 3/4 SLOs met · resilience score 58/100".
func headline(g Grading) string {
	return fmt.Sprintf("%s · %d/%d SLOs met · resilience score %d/100", strings.ToUpper(string(g.Verdict)), g.Met, len(g.Grades), g.Score)
}

func mark(pass bool) string {
	if pass {
		return "✓"
	}
	return "✗"
}

// sloLabel names an SLO; a name that only repeats the objective is left out.
func sloLabel(gr SLOGrade) string {
	if gr.Name == "" || gr.Name == gr.Objective {
		return gr.Metric
	}
	return gr.Name
}

func sloTable(g Grading) table {
	t := table{Head: []string{"", "SLO", "Objective", "Measured", "Margin", "Note"}, Right: []bool{false, false, false, true, true, false}}
	for _, gr := range g.Grades {
		measured, margin := "n/a", ""
		if gr.Measured {
			measured = scenarios.FormatValue(gr.Unit, gr.Value)
			margin = signed(gr.Unit, gr.Margin)
		}
		t.Rows = append(t.Rows, []string{mark(gr.Pass), sloLabel(gr), gr.Objective, measured, margin, gr.Note})
	}
	return t
}

// metricSection is one group of metrics with the counts behind them.
type metricSection struct {
	Title string
	Table table
	Notes []string
}

func metricSections(r *Report) []metricSection {
	var out []metricSection
	done := make([]bool, len(r.Metrics))
	about := map[string]string{}
	for _, m := range scenarios.Metrics {
		about[m.Name] = m.About
	}
	add := func(title string, match func(string) bool, notes []string) {
		t := table{Head: []string{"Metric", "Value", "Meaning"}, Right: []bool{false, true, false}}
		for i, m := range r.Metrics {
			if done[i] || !match(m.Name) {
				continue
			}
			done[i] = true
			v := "n/a (" + m.Note + ")"
			if m.Measured {
				v = scenarios.FormatValue(m.Unit, m.Value)
			}
			t.Rows = append(t.Rows, []string{m.Name, v, about[m.Name]})
		}
		if len(t.Rows) > 0 {
			out = append(out, metricSection{Title: title, Table: t, Notes: notes})
		}
	}
	for _, grp := range metricGroups() {
		add(grp.title+" · "+grp.ids, func(n string) bool { return hasAnyPrefix(n, grp.prefixes) }, groupNotes(grp.title, r))
	}
	add("Other", func(string) bool { return true }, nil)
	return out
}

// groupNotes are the counts behind a group, as the terminal summary shows
// them.
func groupNotes(title string, r *Report) []string {
	var notes []string
	switch title {
	case "Evictions":
		if causes := evictionCauses(r.Evictions); causes != "" {
			notes = append(notes, "by cause: "+causes)
		}
	case "Recovery":
		if n := len(r.Unrecovered); n > 0 {
			var list []string
			for _, j := range r.Unrecovered[:min(n, evidenceCap)] {
				s := j.Job + " (down since " + Clock(j.Since)
				if j.GaveUp {
					s += ", gave up"
				}
				list = append(list, s+")")
			}
			notes = append(notes, "unrecovered: "+names(list, n))
		}
	case "Lost work":
		if in := r.Interruptions; in.Count > 0 {
			notes = append(notes, interruptionCounts(in))
		}
	case "Provisioning":
		if len(r.AllocationFailures) > 0 {
			notes = append(notes, "allocation failures: "+joinCounts(r.AllocationFailures))
		}
		if r.BootstrapFailures > 0 {
			notes = append(notes, fmt.Sprintf("bootstrap failures (F10): %d", r.BootstrapFailures))
		}
	}
	return notes
}

func statCells(s Stat) []string {
	if s.Count == 0 {
		return []string{"0", "", "", ""}
	}
	return []string{strconv.Itoa(s.Count), fmtS(s.P50), fmtS(s.P95), fmtS(s.Max)}
}

func phaseTable(r *Report) table {
	t := table{Head: []string{"From", "To", "Evictions", "p50", "p95", "Max"}, Right: []bool{false, false, true, true, true, true}}
	for _, p := range r.Phases {
		t.Rows = append(t.Rows, append([]string{p.From, p.To}, statCells(p.Stat)...))
	}
	return t
}

func clockOpt(t *float64) string {
	if t == nil {
		return ""
	}
	return Clock(*t)
}

func durOpt(t *float64) string {
	if t == nil {
		return ""
	}
	return fmtS(*t)
}

// shownEvictions picks the evictions a postmortem lists: all of them up to
// maxEvictionRows, else the worst (unrecovered work, then time to recover,
// then lost work), in the order they happened.
func shownEvictions(r *Report) ([]Eviction, string) {
	evs := r.Evictions
	if len(evs) <= maxEvictionRows {
		return evs, ""
	}
	idx := make([]int, len(evs))
	for i := range idx {
		idx[i] = i
	}
	worse := func(i, j int) int {
		a, b := &evs[i], &evs[j]
		ta, tb := -1.0, -1.0
		if a.TTR != nil {
			ta = *a.TTR
		}
		if b.TTR != nil {
			tb = *b.TTR
		}
		return cmp.Or(cmp.Compare(b.Unrecovered, a.Unrecovered), cmp.Compare(tb, ta), cmp.Compare(b.LostWork, a.LostWork), cmp.Compare(i, j))
	}
	slices.SortFunc(idx, worse)
	idx = idx[:maxEvictionRows]
	slices.Sort(idx)
	out := make([]Eviction, len(idx))
	for k, i := range idx {
		out[k] = evs[i]
	}
	return out, fmt.Sprintf("The %d worst of %d evictions (unrecovered work, then time to recover, then lost work), in order; the JSON report lists them all.", maxEvictionRows, len(evs))
}

func evictionTable(r *Report) table {
	t := table{
		Head:  []string{"VM", "Pool · zone", "Cause", "Wave", "Requested", "Noticed", "Notice", "Drained", "Evicted", "Replaced", "Recovered", "Jobs", "Lost", "TTR"},
		Right: []bool{false, false, false, false, true, true, true, true, true, true, true, true, true, true},
	}
	evs, note := shownEvictions(r)
	t.Note = note
	for i := range evs {
		ev := &evs[i]
		replaced := clockOpt(ev.Replaced)
		if ev.ReplacedBy != "" && ev.ReplacedBy != ev.VM {
			replaced += " by " + ev.ReplacedBy
		}
		recovered := clockOpt(ev.Recovered)
		if ev.Unrecovered > 0 {
			recovered = fmt.Sprintf("%d down", ev.Unrecovered)
		}
		jobs := strconv.Itoa(ev.Jobs)
		if ev.Uncorrelated {
			jobs = fmt.Sprintf("0 of %d (F9)", ev.Running)
		}
		cause := withDefault(ev.Cause, "")
		var flags []string
		if ev.DrainLate > 0 {
			flags = append(flags, "F2")
		}
		if ev.CheckpointLost > 0 {
			flags = append(flags, "F5")
		}
		if len(flags) > 0 {
			cause += " (" + strings.Join(flags, ", ") + ")"
		}
		if ev.Failed {
			cause = "refused by the platform"
		}
		t.Rows = append(t.Rows, []string{
			ev.VM, strings.Trim(ev.Pool+" · "+ev.Zone, " ·"), cause, ev.Wave,
			clockOpt(ev.Requested), clockOpt(ev.Noticed), durOpt(noticeOf(ev)), clockOpt(ev.Drained), clockOpt(ev.Evicted),
			replaced, recovered, jobs, fmtS(ev.LostWork), durOpt(ev.TTR),
		})
	}
	return dropEmptyColumns(t)
}

// dropEmptyColumns leaves out the columns no row fills: a run without
// injected evictions has no request times, one without waves no wave.
func dropEmptyColumns(t table) table {
	keep := make([]bool, len(t.Head))
	for _, row := range t.Rows {
		for i, c := range row {
			keep[i] = keep[i] || c != ""
		}
	}
	out := table{Note: t.Note}
	for i, h := range t.Head {
		if !keep[i] {
			continue
		}
		out.Head = append(out.Head, h)
		out.Right = append(out.Right, i < len(t.Right) && t.Right[i])
	}
	for _, row := range t.Rows {
		var r []string
		for i, c := range row {
			if keep[i] {
				r = append(r, c)
			}
		}
		out.Rows = append(out.Rows, r)
	}
	return out
}

// timelineEntry is one line of the run's story.
type timelineEntry struct {
	T    float64
	What string
}

func timelineEntries(r *Report) []timelineEntry {
	var out []timelineEntry
	add := func(t float64, format string, args ...any) {
		out = append(out, timelineEntry{t, fmt.Sprintf(format, args...)})
	}
	add(0, "run started: %s", poolsLine(r))
	if p := r.Plan; p != nil {
		line := "plan frozen: " + plural(p.Size(), "target")
		if n := len(p.Excluded); n > 0 {
			line += ", " + strconv.Itoa(n) + " excluded"
		}
		if p.PlannedCost > 0 {
			line += ", planned cost " + fmtUSD(p.PlannedCost)
		}
		if p.Digest != "" {
			line += ", digest " + strings.TrimPrefix(p.Digest, "sha256:")[:min(12, len(strings.TrimPrefix(p.Digest, "sha256:")))]
		}
		add(0, "%s", line)
	}
	for _, w := range r.Waves {
		line := fmt.Sprintf("wave %s (%s): %s", w.Name, withDefault(w.Code, "?"), withDefault(w.Reason, plural(w.Count, "VM")+" selected"))
		if w.Planned != nil {
			line += fmt.Sprintf(" (fired by hand; planned for %s)", Clock(*w.Planned))
		}
		var outcome []string
		if w.Requested > 0 {
			outcome = append(outcome, strconv.Itoa(w.Requested)+" requested")
		}
		if w.Blocked > 0 {
			outcome = append(outcome, strconv.Itoa(w.Blocked)+" blocked by the blast radius")
		}
		if w.Failed > 0 {
			outcome = append(outcome, strconv.Itoa(w.Failed)+" failed")
		}
		if len(outcome) > 0 {
			line += " — " + strings.Join(outcome, ", ")
		}
		add(w.T, "%s", line)
	}
	for _, f := range r.Faults {
		add(f.Start, "%s started%s", withDefault(f.Fault.Type, "fault"), faultWhere(f))
		if f.End != nil {
			add(*f.End, "%s ended", withDefault(f.Fault.Type, "fault"))
		}
	}
	for _, n := range r.Notes {
		add(n.T, "note: %s", n.Text)
	}
	for _, a := range r.Aborts {
		add(a.T, "ABORT (%s): %s", withDefault(a.Code, "?"), withDefault(a.Reason, "no reason given"))
	}
	out = append(out, evictionEntries(r)...)
	out = append(out, milestoneEntries(r)...)
	end := "run ended: " + withDefault(r.Status, "cut short")
	if r.Reason != "" {
		end += " (" + r.Reason + ")"
	}
	if r.CutShort() {
		end = "journal ends: the run was cut short here"
	}
	add(r.End, "%s", end)
	slices.SortStableFunc(out, func(a, b timelineEntry) int { return cmp.Compare(a.T, b.T) })
	return out
}

func poolsLine(r *Report) string {
	var parts []string
	for _, p := range r.Run.Pools {
		s := fmt.Sprintf("%s (%s, %d VMs", p.Name, withDefault(p.Priority, "?"), p.Capacity)
		if len(p.Zones) > 0 {
			s += ", zones " + strings.Join(p.Zones, "/")
		}
		if p.FallbackFor != "" {
			s += ", fallback for " + p.FallbackFor
		}
		parts = append(parts, s+")")
	}
	if len(parts) == 0 {
		return "no pools recorded"
	}
	return strings.Join(parts, ", ")
}

func faultWhere(f Fault) string {
	var parts []string
	if len(f.Fault.Pools) > 0 {
		parts = append(parts, "pools "+strings.Join(f.Fault.Pools, ", "))
	}
	if len(f.Fault.Zones) > 0 {
		parts = append(parts, "zones "+strings.Join(f.Fault.Zones, ", "))
	}
	if f.Fault.Capacity != nil {
		parts = append(parts, fmt.Sprintf("Spot capacity %d", *f.Fault.Capacity))
	}
	if f.Fault.Price > 0 {
		parts = append(parts, "price "+fmtUSD(f.Fault.Price)+"/h")
	}
	if f.Fault.Notice != nil {
		parts = append(parts, "notice "+fmtS(*f.Fault.Notice))
	}
	if f.Wave != "" {
		parts = append(parts, "wave "+f.Wave)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// evictionEntries tells the evictions' phases, a line for each eviction
// or for each group that landed together (same second, cause and wave);
// past maxTimelineEvictions lines, the first and the last.
func evictionEntries(r *Report) []timelineEntry {
	// Groups as index ranges of r.Evictions' landed evictions, cheap for a
	// run with tens of thousands of them.
	var landed []int
	var starts []int // index into landed where each group starts
	for i := range r.Evictions {
		ev := &r.Evictions[i]
		if ev.Evicted == nil {
			continue
		}
		if n := len(starts); n > 0 {
			first := &r.Evictions[landed[starts[n-1]]]
			if math.Abs(*ev.Evicted-*first.Evicted) < 1 && ev.Cause == first.Cause && ev.Wave == first.Wave {
				landed = append(landed, i)
				continue
			}
		}
		starts = append(starts, len(landed))
		landed = append(landed, i)
	}
	group := func(k int) []*Eviction {
		end := len(landed)
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		g := make([]*Eviction, 0, end-starts[k])
		for _, i := range landed[starts[k]:end] {
			g = append(g, &r.Evictions[i])
		}
		return g
	}
	line := func(g []*Eviction) string {
		if len(g) == 1 {
			return evictionLine(g[0])
		}
		return groupLine(g)
	}
	if len(starts) > maxTimelineEvictions {
		first, last := group(0), group(len(starts)-1)
		return []timelineEntry{
			{*first[0].Evicted, "first eviction: " + line(first)},
			{*last[0].Evicted, fmt.Sprintf("last of %d evictions: %s", len(landed), line(last))},
		}
	}
	out := make([]timelineEntry, 0, len(starts))
	for k := range starts {
		g := group(k)
		out = append(out, timelineEntry{*g[0].Evicted, line(g)})
	}
	return out
}

// groupLine tells the phases of evictions that landed together, as ranges.
func groupLine(g []*Eviction) string {
	zones := map[string]int{}
	var noticed, notices, replaced, recovered []float64
	jobs, lost, down, unnoticed := 0, 0.0, 0, 0
	for _, ev := range g {
		zones[withDefault(ev.Zone, "?")]++
		if ev.Noticed != nil {
			noticed = append(noticed, *ev.Noticed)
		} else {
			unnoticed++
		}
		if n := noticeOf(ev); n != nil {
			notices = append(notices, *n)
		}
		if ev.Replaced != nil {
			replaced = append(replaced, *ev.Replaced)
		}
		if ev.Recovered != nil {
			recovered = append(recovered, *ev.Recovered)
		}
		jobs += ev.Jobs
		lost += ev.LostWork
		down += ev.Unrecovered
	}
	first := g[0]
	var b strings.Builder
	fmt.Fprintf(&b, "%d VMs evicted (%s", len(g), withDefault(first.Cause, "unknown cause"))
	if first.Wave != "" {
		fmt.Fprintf(&b, ", wave %s", first.Wave)
	}
	fmt.Fprintf(&b, ", zones %s)", joinCounts(sortedCounts(zones)))
	var phases []string
	if len(noticed) > 0 {
		phases = append(phases, fmt.Sprintf("noticed %s (%s notice)", clockRange(noticed), durationRange(notices)))
	}
	if unnoticed > 0 {
		phases = append(phases, plural(unnoticed, "without notice"))
	}
	if len(replaced) > 0 {
		phases = append(phases, "replaced "+clockRange(replaced))
	}
	if len(replaced) < len(g) {
		phases = append(phases, fmt.Sprintf("%d not replaced", len(g)-len(replaced)))
	}
	switch {
	case down > 0:
		phases = append(phases, fmt.Sprintf("%d jobs never recovered", down))
	case len(recovered) > 0:
		phases = append(phases, "all work running again by "+Clock(slices.Max(recovered)))
	}
	b.WriteString(": " + strings.Join(phases, ", "))
	if jobs > 0 {
		fmt.Fprintf(&b, "; %s, %s lost", plural(jobs, "job"), fmtS(lost))
	}
	return b.String()
}

// durationRange writes the span of some durations: "30.0s" or "5.0s–5.2s".
func durationRange(ds []float64) string {
	if len(ds) == 0 {
		return "no"
	}
	lo, hi := fmtS(slices.Min(ds)), fmtS(slices.Max(ds))
	if lo == hi {
		return lo
	}
	return lo + "–" + hi
}

// clockRange writes the span of some times: "1:04:02" or "1:04:02–1:05:58".
func clockRange(ts []float64) string {
	lo, hi := slices.Min(ts), slices.Max(ts)
	if math.Round(lo) == math.Round(hi) {
		return Clock(lo)
	}
	return Clock(lo) + "–" + Clock(hi)
}

// evictionLine tells one eviction's phases.
func evictionLine(ev *Eviction) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s evicted (%s", ev.VM, withDefault(ev.Cause, "unknown cause"))
	if ev.Wave != "" {
		fmt.Fprintf(&b, ", wave %s", ev.Wave)
	}
	if ev.Zone != "" {
		fmt.Fprintf(&b, ", zone %s", ev.Zone)
	}
	b.WriteString(")")
	var phases []string
	if ev.Requested != nil {
		phases = append(phases, "requested "+Clock(*ev.Requested))
	}
	if ev.Noticed != nil {
		phases = append(phases, fmt.Sprintf("noticed %s (%s notice)", Clock(*ev.Noticed), durOpt(noticeOf(ev))))
	} else {
		phases = append(phases, "without notice")
	}
	if ev.Drained != nil {
		phases = append(phases, "drained "+Clock(*ev.Drained))
	}
	if ev.Replaced != nil {
		phases = append(phases, "replaced "+Clock(*ev.Replaced))
	}
	switch {
	case ev.Unrecovered > 0:
		phases = append(phases, fmt.Sprintf("%d jobs never recovered", ev.Unrecovered))
	case ev.Recovered != nil:
		phases = append(phases, "recovered "+Clock(*ev.Recovered))
	}
	b.WriteString(": " + strings.Join(phases, ", "))
	if ev.Jobs > 0 {
		fmt.Fprintf(&b, "; %s, %s lost", plural(ev.Jobs, "job"), fmtS(ev.LostWork))
	}
	return b.String()
}

// milestoneEntries marks the backlog peak and the last recovery.
func milestoneEntries(r *Report) []timelineEntry {
	var out []timelineEntry
	peak, at := 0, 0.0
	for _, p := range r.Timeline {
		if p.BacklogMax > peak {
			peak, at = p.BacklogMax, p.T
		}
	}
	if peak > 0 {
		out = append(out, timelineEntry{at, fmt.Sprintf("backlog peaked at %d jobs", peak)})
	}
	last := -1.0
	for i := range r.Evictions {
		if rec := r.Evictions[i].Recovered; rec != nil && *rec > last {
			last = *rec
		}
	}
	if last >= 0 && len(r.Unrecovered) == 0 {
		out = append(out, timelineEntry{last, "all interrupted work running again"})
	}
	return out
}

func blockedTable(r *Report) table {
	t := table{Head: []string{"Limit", "Evictions", "Example"}, Right: []bool{false, true, false}}
	for _, c := range r.BlockedByCode {
		t.Rows = append(t.Rows, []string{withDefault(c.Code, "(no code)"), strconv.Itoa(c.Count), c.Example})
	}
	return t
}

func failedEvictionTable(r *Report) table {
	t := table{Head: []string{"Time", "Wave", "VM", "Code", "Reason"}}
	for _, f := range r.FailedEvictions[:min(len(r.FailedEvictions), maxEvictionRows)] {
		t.Rows = append(t.Rows, []string{Clock(f.T), f.Wave, f.VM, f.Code, f.Reason})
	}
	if n := len(r.FailedEvictions); n > maxEvictionRows {
		t.Note = fmt.Sprintf("The first %d of %d; the JSON report lists them all.", maxEvictionRows, n)
	}
	return t
}

func comparisonTable(c *Comparison) table {
	t := table{Head: []string{"", "Metric", "Baseline", "Now", "Change", ""}, Right: []bool{false, false, true, true, true, false}}
	for _, d := range c.Metrics {
		t.Rows = append(t.Rows, []string{d.markText(), d.Name, d.baseText(), d.nowText(), d.changeText(), d.verdictText()})
	}
	return t
}

func sloChangeTable(c *Comparison) table {
	t := table{Head: []string{"", "Objective", "Baseline", "Now"}}
	for _, s := range c.SLOs {
		m := " "
		if s.Regressed {
			m = "▼"
		}
		t.Rows = append(t.Rows, []string{m, s.Objective, passWord(s.BaselinePass), passWord(s.Pass)})
	}
	return t
}

func passWord(p bool) string {
	if p {
		return "✓ met"
	}
	return "✗ failed"
}
