package tui

import (
	"fmt"
	"strings"

	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

type logLevel uint8

const (
	levelInfo  logLevel = iota
	levelNote           // a facilitator's note
	levelWarn           // something failed that the run survives
	levelAlert          // a blocked eviction, an abort: the facilitator must see it
)

// logCap is how many entries the log keeps; older ones scroll away for good
// (the journal has them all).
const logCap = 5000

type logEntry struct {
	t     float64
	level logLevel
	text  string
	lower string // for the filter
}

// eventLog is the scrolling log of what the facilitator needs to know:
// waves, evictions and their phases, replacements, failures, notes, aborts.
// Job-level events and samples stay in the journal; the gauges show them.
type eventLog struct {
	entries []logEntry
	base    int    // the number of the first entry kept
	filter  string // lower case; empty shows everything
	matches []int  // numbers of the entries the filter keeps
	offset  int    // lines scrolled back from the newest; 0 follows
}

func (l *eventLog) apply(e *journal.Event) {
	level, text, ok := describe(e)
	if !ok {
		return
	}
	n := l.base + len(l.entries)
	x := logEntry{t: e.T, level: level, text: text, lower: strings.ToLower(text)}
	l.entries = append(l.entries, x)
	if l.filter == "" || strings.Contains(x.lower, l.filter) {
		if l.filter != "" {
			l.matches = append(l.matches, n)
		}
		if l.offset > 0 {
			l.offset++ // keep still what the reader is looking at
		}
	}
	if len(l.entries) >= 2*logCap {
		l.trim()
	}
}

// trim forgets the oldest entries, in one copy every logCap entries.
func (l *eventLog) trim() {
	drop := len(l.entries) - logCap
	l.entries = append(l.entries[:0], l.entries[drop:]...)
	l.base += drop
	i := 0
	for i < len(l.matches) && l.matches[i] < l.base {
		i++
	}
	l.matches = append(l.matches[:0], l.matches[i:]...)
	l.offset = min(l.offset, l.len())
}

// setFilter keeps the entries whose text contains s, ignoring case.
func (l *eventLog) setFilter(s string) {
	l.filter = strings.ToLower(strings.TrimSpace(s))
	l.matches = l.matches[:0]
	l.offset = 0
	if l.filter == "" {
		return
	}
	for i := range l.entries {
		if strings.Contains(l.entries[i].lower, l.filter) {
			l.matches = append(l.matches, l.base+i)
		}
	}
}

// len is the number of entries shown (after the filter).
func (l *eventLog) len() int {
	if l.filter != "" {
		return len(l.matches)
	}
	return len(l.entries)
}

func (l *eventLog) entry(i int) *logEntry {
	if l.filter != "" {
		return &l.entries[l.matches[i]-l.base]
	}
	return &l.entries[i]
}

func (l *eventLog) scroll(delta, rows int) {
	l.offset = max(0, min(l.offset+delta, l.len()-rows))
}

func (l *eventLog) title() string {
	s := "Events"
	if l.filter != "" {
		s += fmt.Sprintf(" · filter %q: %s match", l.filter, thousands(len(l.matches)))
	}
	if l.offset > 0 {
		s += fmt.Sprintf(" · %s newer below (End follows)", thousands(l.offset))
	}
	return s
}

// view draws the rows newest-last: O(rows).
func (l *eventLog) view(t *theme, width, rows int) []string {
	lines := make([]string, 0, rows)
	end := l.len() - l.offset
	start := max(0, end-rows)
	if l.len() == 0 && rows > 0 {
		msg := "waiting for the run's first events"
		if l.filter != "" {
			msg = "nothing matches the filter (/ to change it, esc in the filter clears it)"
		}
		lines = append(lines, fitLine(t.dim.Render(msg), width))
	}
	for i := start; i < end; i++ {
		lines = append(lines, fitLine(l.line(t, l.entry(i)), width))
	}
	return padLines(lines, rows, width)
}

func (l *eventLog) line(t *theme, x *logEntry) string {
	ts := t.dim.Render(hms(x.t))
	switch x.level {
	case levelAlert:
		return ts + " " + t.alert.Render("!! "+x.text)
	case levelWarn:
		return ts + " " + t.warn.Render("!  "+x.text)
	case levelNote:
		return ts + " " + t.note.Render("✎  "+x.text)
	}
	return ts + "    " + x.text
}

// describe words an event for the log; ok is false for events the log
// leaves to the gauges (samples, job progress, allocation requests).
func describe(ev *journal.Event) (level logLevel, text string, ok bool) {
	// A real fleet names its VMs by resource ID: the log shows the part a
	// person reads (the scale set and instance, or the VM's name).
	c := *ev
	c.VM, c.Replaces = journal.ShortVM(c.VM), journal.ShortVM(c.Replaces)
	e := &c
	where := poolZone(e.VM, e.Pool, e.Zone)
	switch e.Type {
	case journal.RunStarted:
		if e.Run == nil {
			return 0, "", false
		}
		return levelInfo, fmt.Sprintf("run started: %s on %s, seed %d, %s", e.Run.Scenario, e.Run.Provider, e.Run.Seed,
			scenarios.FormatSeconds(e.Run.Duration)), true
	case journal.Planned:
		if e.Plan == nil {
			return 0, "", false
		}
		return levelInfo, fmt.Sprintf("plan frozen: %s, %d excluded, %s", plural(e.Plan.Size(), "target"), len(e.Plan.Excluded), plural(len(e.Plan.Waves), "wave")), true
	case journal.WaveStarted:
		if e.Code != "" && e.Code != "evict" {
			return levelInfo, fmt.Sprintf("wave %s fired: %s", e.Wave, e.Reason), true
		}
		return levelInfo, fmt.Sprintf("wave %s fired: %s: %s picked", e.Wave, e.Reason, plural(e.Count, "VM")), true
	case journal.PlanExtended:
		return levelWarn, fmt.Sprintf("outside the plan, admitted: %s%s joined after the plan (wave %s, newInstances: include)", e.VM, where, e.Wave), true
	case journal.EvictionRequested:
		return levelInfo, fmt.Sprintf("eviction requested: %s%s (wave %s)", e.VM, where, e.Wave), true
	case journal.EvictionBlocked:
		return levelAlert, fmt.Sprintf("BLOCKED %s by %s: %s", e.VM, e.Code, e.Reason), true
	case journal.EvictionFailed:
		return levelWarn, fmt.Sprintf("eviction failed: %s: %s %s", e.VM, e.Code, e.Reason), true
	case journal.EvictionNoticed:
		lands := ""
		if e.At != nil {
			lands = ", lands at " + hms(*e.At)
		}
		return levelInfo, fmt.Sprintf("notice: %s%s (%s)%s", e.VM, where, e.Cause, lands), true
	case journal.EvictionDrained:
		return levelInfo, fmt.Sprintf("drained: %s handed its work back", e.VM), true
	case journal.EvictionEvicted:
		// A real fleet does not say what ran on the VM: the workers' spans do.
		jobs := ""
		if e.Count > 0 {
			jobs = ", " + plural(e.Count, "job")
		}
		return levelInfo, fmt.Sprintf("evicted: %s%s (%s, %s%s)", e.VM, where, e.Cause, e.Policy, jobs), true
	case journal.JobInterrupted:
		return describeInterrupted(e)
	case journal.JobFailed:
		return levelWarn, fmt.Sprintf("job %s gave up after %s: %s", e.Job, plural(e.Attempt, "attempt"), e.Reason), true
	case journal.VMRunning:
		return describeRunning(e, where)
	case journal.VMAllocationFailed:
		return levelWarn, fmt.Sprintf("allocation failed%s: %s: %s", where, e.Code, e.Reason), true
	case journal.VMBootstrapFailed:
		return levelWarn, fmt.Sprintf("%s never took work (bootstrap failed)", e.VM), true
	case journal.VMDeleted:
		return levelInfo, fmt.Sprintf("deleted: %s: %s", e.VM, e.Reason), true
	case journal.FaultStarted, journal.FaultEnded:
		return levelWarn, describeFault(e), true
	case journal.PriceChanged:
		return levelInfo, fmt.Sprintf("Spot price%s now $%.4f/h", where, e.Price), true
	case journal.Note:
		return levelNote, "note: " + e.Reason, true
	case journal.Aborted:
		return levelAlert, "ABORT: " + e.Reason, true
	case journal.RunEnded:
		text := "run ended: " + e.Status
		if e.Reason != "" {
			text += ": " + e.Reason
		}
		if e.Status == journal.StatusCompleted {
			return levelInfo, text, true
		}
		return levelAlert, text, true
	}
	return 0, "", false
}

// describeInterrupted logs only the interruptions that show a failure
// mode: a drain cut short (F2), a checkpoint lost with the VM (F5).
func describeInterrupted(e *journal.Event) (logLevel, string, bool) {
	switch {
	case e.DrainLate:
		return levelWarn, fmt.Sprintf("job %s on %s: drain cut short by the eviction, %s lost", e.Job, e.VM, scenarios.FormatSeconds(e.Lost)), true
	case e.CheckpointLost:
		return levelWarn, fmt.Sprintf("job %s on %s: local checkpoint lost with the VM, %s lost", e.Job, e.VM, scenarios.FormatSeconds(e.Lost)), true
	}
	return 0, "", false
}

// describeRunning logs replacements and fallback VMs, not the initial fleet.
func describeRunning(e *journal.Event, where string) (logLevel, string, bool) {
	switch {
	case e.Fallback:
		return levelWarn, fmt.Sprintf("fallback VM running: %s%s at $%.4f/h", e.VM, where, e.Price), true
	case e.Replaces != "":
		return levelInfo, fmt.Sprintf("replaced: %s by %s%s", e.Replaces, e.VM, where), true
	case e.At != nil:
		return levelInfo, fmt.Sprintf("VM running: %s%s", e.VM, where), true
	}
	return 0, "", false
}

func describeFault(e *journal.Event) string {
	what := "fault"
	if e.Fault != nil {
		what = e.Fault.Type
	}
	if e.Type == journal.FaultEnded {
		return fmt.Sprintf("market fault ended: %s (wave %s)", what, e.Wave)
	}
	return fmt.Sprintf("market fault started: %s (wave %s)", what, e.Wave)
}

// poolZone says where a VM is: its zone, and its pool unless the VM's name
// already starts with it.
func poolZone(vm, pool, zone string) string {
	if pool != "" && vm != "" && strings.HasPrefix(vm, pool) {
		pool = ""
	}
	switch {
	case pool == "" && zone == "":
		return ""
	case zone == "":
		return " in " + pool
	case pool == "":
		return " in z" + zone
	}
	return fmt.Sprintf(" in %s z%s", pool, zone)
}
