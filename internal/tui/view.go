package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/x/ansi"

	"github.com/spotdrill/spotdrill/journal"
)

// The smallest screen that gets the full layout; below it the console shows
// the state, what to do and the keys.
const (
	minWidth  = 40
	minHeight = 12
	// headerRows are the title, the clocks and the banner; one more line
	// holds the keys.
	headerRows = 3
)

// layout is how many lines each pane gets. Update computes it when the
// screen or the fleet changes, so that the fleet can aggregate its cells
// for the space it has before View draws them.
type layout struct {
	tiny      bool
	fleetRows int // grid lines, between the title and the counts line
	midRows   int // lines under the waves and SLO titles
	waveRows  int // of midRows, the waves' (the sparklines take 2)
	logRows   int // lines under the log title
	leftW     int // the waves column
}

func (m *Model) relayout() {
	w, h := m.width, m.height
	if w < minWidth || h < minHeight {
		m.layout = layout{tiny: true}
		return
	}
	body := h - headerRows - 1
	fleetWant := m.fleet.need(w)
	midWant := max(len(m.waves.list)+2, len(m.gauges.list), 3)
	l := layout{leftW: max(24, w*45/100)}
	l.fleetRows = clamp(fleetWant, 1, max(1, body*45/100-2))
	l.midRows = clamp(midWant, 2, max(2, body*30/100-1))
	l.logRows = body - (l.fleetRows + 2) - (l.midRows + 1) - 1
	for l.logRows < 2 && l.midRows > 2 {
		l.midRows--
		l.logRows++
	}
	for l.logRows < 2 && l.fleetRows > 1 {
		l.fleetRows--
		l.logRows++
	}
	l.logRows = max(l.logRows, 0)
	l.waveRows = l.midRows
	if l.midRows >= 4 {
		l.waveRows = l.midRows - 2
	}
	m.layout = l
	m.fleet.fit(w, l.fleetRows)
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// View draws the screen: exactly height lines of at most width cells. Its
// cost follows the cells on screen, not the events of the run.
func (m *Model) View() string {
	w, h := m.width, m.height
	if w <= 0 || h <= 0 {
		return ""
	}
	lines := make([]string, 0, h)
	lines = append(lines, m.headerLines(w)...)
	if m.layout.tiny {
		lines = append(lines, fitLine(m.theme.dim.Render(fmt.Sprintf(
			"the screen is %d×%d: make it at least 80×24 to see the fleet, waves, SLOs and events", w, h)), w))
	} else {
		lines = append(lines, m.bodyLines(w)...)
	}
	for len(lines) < h-1 {
		lines = append(lines, "")
	}
	lines = append(lines[:min(len(lines), h-1)], m.help.view(w, m.helpKeys()))
	return strings.Join(lines, "\n")
}

func (m *Model) bodyLines(w int) []string {
	t := &m.theme
	l := m.layout
	lines := make([]string, 0, m.height)
	lines = append(lines, m.paneTitle(m.fleet.title(), paneFleet, w))
	lines = append(lines, m.fleet.view(t, w, l.fleetRows)...)

	c := m.clockState()
	rightW := w - l.leftW - 1
	left := m.waves.view(t, l.leftW, l.waveRows, c)
	if l.waveRows < l.midRows {
		left = append(left, m.sparks.view(t, l.leftW)...)
	}
	right := m.gauges.view(t, rightW, l.midRows)
	lines = append(lines, m.paneTitle(m.wavesTitle(), paneWaves, l.leftW)+t.dim.Render("┬")+
		rule(t, t.title, "─ "+m.gaugesTitle(), rightW))
	sep := t.dim.Render("│")
	for i := range l.midRows {
		lines = append(lines, left[i]+sep+right[i])
	}

	lines = append(lines, m.paneTitle(m.log.title(), paneLog, w))
	return append(lines, m.log.view(t, w, l.logRows)...)
}

// paneTitle is a rule with the pane's name; the focused pane (the one the
// arrow keys scroll) is marked with ▸ as well as colour.
func (m *Model) paneTitle(text string, p pane, w int) string {
	t := &m.theme
	mark, st := "─ ", t.title
	if m.focus == p {
		mark, st = "▸ ", t.focus
	}
	return rule(t, st, mark+text, w)
}

// rule is a title followed by a line to width w.
func rule(t *theme, st sgr, text string, w int) string {
	head := truncate(text+" ", w)
	return st.Render(head) + t.dim.Render(strings.Repeat("─", max(0, w-ansi.StringWidth(head))))
}

func (m *Model) wavesTitle() string {
	fired := 0
	for _, wv := range m.waves.list {
		if wv.status == waveFired {
			fired++
		}
	}
	return fmt.Sprintf("Waves · %d/%d fired", fired, len(m.waves.list))
}

func (m *Model) gaugesTitle() string {
	bad, judged := m.gauges.breached()
	n := 0
	for _, g := range m.gauges.list {
		if g.kind == gaugeSLO {
			n++
		}
	}
	if bad > 0 {
		return fmt.Sprintf("SLOs so far · %d of %d BREACHED", bad, n)
	}
	return fmt.Sprintf("SLOs so far · %d/%d met", judged, n)
}

func (m *Model) clockState() clock {
	return clock{now: m.now, speed: m.control.Speed, paused: m.control.Paused, waiting: m.progress.Waiting}
}

// headerLines are the header's: the model knows the run's state.
func (m *Model) headerLines(w int) []string {
	b, label := m.badge()
	return m.header.view(&m.theme, w, status{
		badge: b, label: label, speed: m.control.Speed, wall: m.wallClock(), manual: m.control.Manual, now: m.now, banner: m.bannerLine(w),
	})
}

type badge uint8

const (
	badgeStarting badge = iota
	badgeRunning
	badgePaused
	badgeWaiting
	badgeHalting
	badgeRecovering
	badgeCompleted
	badgeAborted
	badgeFailed
	nBadges
)

// badge is the run's state in one word.
func (m *Model) badge() (badge, string) {
	switch {
	case m.result != nil && m.result.Err != nil:
		return badgeFailed, "FAILED"
	case m.runEnd != nil:
		return m.endBadge()
	case m.control.Halted:
		return badgeHalting, "HALTING"
	case m.stopping:
		return badgeHalting, "STOPPING"
	case m.abort != nil:
		return badgeRecovering, "ABORTED · RECOVERING"
	case m.confirmPlan != nil:
		return badgeWaiting, "CONFIRM THE PLAN"
	case m.progress.Waiting != "":
		return badgeWaiting, "WAITING FOR n"
	case m.control.Paused:
		return badgePaused, "PAUSED"
	case !m.started:
		return badgeStarting, "STARTING"
	}
	return badgeRunning, "RUNNING"
}

func (m *Model) endBadge() (badge, string) {
	switch {
	case m.runEnd.Status == journal.StatusCompleted:
		return badgeCompleted, "COMPLETED"
	case m.runEnd.Status == journal.StatusFailed:
		return badgeFailed, "FAILED"
	case m.abort != nil && m.abort.Code == "halt":
		return badgeAborted, "HALTED"
	case m.abort != nil && m.abort.Code == "signal":
		return badgeAborted, "STOPPED"
	}
	return badgeAborted, "ABORTED"
}

// bannerLine tells what is happening and what to do about it. Prompts and
// inputs take its place.
func (m *Model) bannerLine(w int) string {
	t := &m.theme
	switch m.mode {
	case modeConfirmHalt:
		return fitLine(t.bannerAsk.Render(" HALT EVERYTHING? No more evictions; the run ends and its journal and summary are written. y halts · n/esc cancels "), w)
	case modeConfirmQuit:
		return fitLine(t.bannerAsk.Render(" QUIT? The run is still live: y halts it and quits (the journal and summary are written) · n/esc keeps watching "), w)
	case modeConfirmPlan:
		p := m.confirmPlan
		return fitLine(t.bannerAsk.Render(fmt.Sprintf(" START THE GAME DAY? Plan %s: %d Spot VMs frozen by resource ID, %d waves, %d excluded. This evicts REAL Azure Spot VMs. y starts · n refuses (nothing is evicted) ",
			p.Digest, p.Targets, p.Waves, p.Excluded)), w)
	case modeConfirmFire:
		return fitLine(t.bannerAsk.Render(" FIRE WAVE "+m.confirmFire.name+" NOW, ahead of its time "+hms(m.confirmFire.at)+"? It goes through the blast-radius guard like any wave. y fires · n/esc keeps the schedule "), w)
	case modeNote, modeFilter:
		return fitLine(m.input.View(), w)
	}
	text, st := m.situation()
	// A key's feedback shows for a few seconds, unless the run needs the
	// facilitator: a wave waiting, an abort, the end.
	if m.flash != "" && m.header.wall.Before(m.flashTill) && !m.urgent() {
		return fitLine(t.banner.Render("» "+m.flash), w)
	}
	return fitLine(st.Render(text), w)
}

// urgent is true when the banner must say what the run needs now.
func (m *Model) urgent() bool {
	return !m.live() || m.stopping || m.control.Halted || m.abort != nil || m.progress.Waiting != ""
}

// situation is the banner's text when nothing is asked of the facilitator.
func (m *Model) situation() (string, sgr) {
	t := &m.theme
	switch {
	case m.result != nil && m.result.Err != nil:
		return "The run failed: " + m.result.Err.Error() + ". q exits.", t.bannerAlert
	case m.runEnd != nil:
		return m.endSituation()
	case m.stopping:
		return "Signal received: stopping (kill switch). No more evictions; closing the journal…", t.bannerAlert
	case m.control.Halted:
		return "Halting: no more evictions; the run is closing its journal…", t.bannerAlert
	case m.abort != nil:
		return fmt.Sprintf("ABORTED: %s. No more evictions; recovery is watched until the run closes.", m.abort.Reason), t.bannerAlert
	case m.progress.Waiting != "":
		return fmt.Sprintf("Wave %s is due: press n to fire it (manual mode), h to halt.", m.progress.Waiting), t.bannerAsk
	case m.control.Paused:
		return fmt.Sprintf("Paused at %s of the run clock: space resumes; n, m and h still work.", hms(m.now)), t.warn
	case !m.started:
		return "Starting the run…", t.dim
	}
	next, ok := m.waves.nextWave()
	if !ok {
		return fmt.Sprintf("All waves fired: watching recovery until %s.", hms(m.opts.Scenario.Duration.D().Seconds())), t.info
	}
	when := countdown(next.at-m.now, m.clockState())
	if m.control.Manual {
		return fmt.Sprintf("Next: wave %s %s; it waits for n (manual mode).", next.name, when), t.info
	}
	return fmt.Sprintf("Next: wave %s %s; n fires it now.", next.name, when), t.info
}

func (m *Model) endSituation() (string, sgr) {
	t := &m.theme
	at := hms(m.runEnd.T)
	switch {
	case m.runEnd.Status == journal.StatusCompleted:
		bad, _ := m.gauges.breached()
		if bad > 0 {
			return fmt.Sprintf("Run completed at %s with %d SLO(s) breached. q exits and prints the summary.", at, bad), t.bannerAlert
		}
		return fmt.Sprintf("Run completed at %s. q exits and prints the summary.", at), t.ok
	case m.abort != nil && m.abort.Code == "halt":
		return fmt.Sprintf("Halted by the facilitator at %s. q exits and prints the summary.", at), t.bannerAlert
	}
	return fmt.Sprintf("Run %s at %s: %s. q exits and prints the summary.", m.runEnd.Status, at, m.runEnd.Reason), t.bannerAlert
}

// helpKeys are the keys that do something now.
func (m *Model) helpKeys() []key.Binding {
	k := &m.keys
	switch {
	case m.mode == modeConfirmHalt || m.mode == modeConfirmQuit || m.mode == modeConfirmFire || m.mode == modeConfirmPlan:
		return []key.Binding{k.Yes, k.No}
	case m.mode == modeNote || m.mode == modeFilter:
		return []key.Binding{k.Enter, k.Cancel}
	case !m.live():
		return []key.Binding{k.Exit, k.Filter, k.Tab, k.Scroll}
	}
	// The keys a facilitator needs most come first: a narrow screen cuts
	// the end of the bar. The wall clock of a real fleet neither pauses nor
	// changes speed.
	var keys []key.Binding
	if !m.wallClock() {
		pause := k.Pause
		if m.control.Paused {
			pause.SetHelp("space", "resume")
		}
		keys = append(keys, pause)
	}
	if _, ok := m.waves.nextWave(); ok && m.abort == nil {
		keys = append(keys, k.Next)
	}
	keys = append(keys, k.Halt, k.Quit)
	if !m.wallClock() {
		speed := k.Faster
		speed.SetHelp("+/-", "speed "+speedText(m.control.Speed))
		keys = append(keys, speed)
	}
	return append(keys, k.Note, k.Filter, k.Tab)
}
