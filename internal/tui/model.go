// Package tui is the live game-day console: a bubbletea program that shows
// a run as it plays (the fleet, the waves, the SLOs so far, the backlog and
// capacity, the events) and lets the facilitator steer it through an
// experiments.Control: pause, pace, fire the next wave, halt, take notes.
//
// The console is one subscriber of the run's events, never the runner's
// owner: the runner plays in its own goroutine and the Feed hands its events
// over in batches. Everything the console does to the run goes through the
// Control, so a run steered from the console writes the journal a headless
// run would for the same key presses.
package tui

import (
	"io"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

// Options configure a console.
type Options struct {
	Scenario *scenarios.Scenario
	// Feed is subscribed to the run's bus and receives its progress; a
	// console without one shows nothing but its keys.
	Feed *Feed
	// Control steers the run; nil watches only.
	Control *experiments.Control
	// Live answers the SLO gauges: the run's reports.Accumulator.
	Live Live
	// Output is the terminal, for its colour profile; Color false is
	// NO_COLOR (states are then told apart by glyphs and words alone).
	Output io.Writer
	Color  bool
	// Clock is the wall clock (time.Now when nil); tests fix it.
	Clock func() time.Time
}

// SignalMsg tells the console that a signal stopped the run (the kill
// switch): it says so, and exits once the run has closed its journal.
type SignalMsg struct{}

// ConfirmPlanMsg asks the facilitator to start a run on a real fleet: the
// plan is frozen and shown; y sends true on Answer, n sends false (the run
// is then refused and nothing is evicted).
type ConfirmPlanMsg struct {
	// Digest is the plan's short digest; Targets, Waves and Excluded what
	// it holds.
	Digest                   string
	Targets, Waves, Excluded int
	Answer                   chan<- bool
}

type (
	clockMsg   time.Time
	controlMsg experiments.State
)

type mode uint8

const (
	modeNormal mode = iota
	modeConfirmHalt
	modeConfirmQuit
	// modeConfirmFire asks before firing the next wave ahead of its time
	// outside manual mode.
	modeConfirmFire
	// modeConfirmPlan asks to start a run on a real fleet.
	modeConfirmPlan
	modeNote
	modeFilter
)

type pane uint8

const (
	paneFleet pane = iota
	paneWaves
	paneLog
	nPanes
)

// speeds are the paces + and - step through: virtual seconds per wall
// second, 0 for as fast as the machine goes.
var speeds = []float64{1, 10, 60, 0}

// Model is the top-level model. It holds the sub-models and the state of
// the run as the events tell it.
type Model struct {
	opts  Options
	ctl   *experiments.Control
	feed  *Feed
	clock func() time.Time
	theme theme
	keys  keyMap
	help  helpBar
	input textinput.Model

	width, height int
	layout        layout
	mode          mode
	focus         pane

	header header
	fleet  fleet
	waves  waves
	gauges gauges
	sparks sparks
	log    eventLog

	control  experiments.State
	progress experiments.Progress
	now      float64 // run clock, seconds: the latest event or progress
	started  bool
	abort    *journal.Event // the abort event, once one fired
	runEnd   *journal.Event // run.ended
	result   *RunEndedMsg   // experiments.Run returned

	// fireAsked names the wave a press of n asked for, until it fires: a
	// second press must not fire the wave after it by accident.
	fireAsked string
	// lastDigest is the short digest of the plan last answered.
	lastDigest string
	// confirmFire is the wave modeConfirmFire asks about.
	confirmFire wave
	// confirmPlan is the plan modeConfirmPlan asks about.
	confirmPlan *ConfirmPlanMsg
	stopping    bool // a signal stopped the run
	quitting    bool // quit once the run has closed its journal
	flash       string
	flashTill   time.Time
}

var _ tea.Model = (*Model)(nil)

// New builds the console for a run.
func New(opts Options) *Model {
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	t := newTheme(profileFor(opts.Output, opts.Color))
	in := textinput.New()
	in.CharLimit = 280
	in.PromptStyle, in.TextStyle = t.helpKey, t.inputText
	in.PlaceholderStyle, in.CompletionStyle = t.inputDim, t.inputDim
	in.Cursor.Style, in.Cursor.TextStyle = t.cursor, t.inputText
	in.Cursor.SetMode(cursor.CursorStatic)
	if opts.Feed == nil {
		opts.Feed = NewFeed(0)
	}
	now := clock()
	m := &Model{
		opts: opts, ctl: opts.Control, feed: opts.Feed, clock: clock,
		theme: t, keys: newKeyMap(), input: in,
		header: newHeader(opts.Scenario, now),
		fleet:  newFleet(), waves: newWaves(), gauges: newGauges(opts.Scenario), sparks: newSparks(),
		focus: paneLog,
		width: 80, height: 24,
	}
	m.help = newHelpBar(&m.theme)
	if m.ctl != nil {
		m.control = m.ctl.State()
	}
	m.relayout()
	return m
}

// Init starts listening to the feed, the clock and the live metrics.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.feed.nextEvents, m.feed.nextProgress, m.tick(), m.gauges.poll(m.opts.Live, 0, false))
}

func (m *Model) tick() tea.Cmd {
	clock := m.clock
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return clockMsg(clock()) })
}

// Update folds one message into the model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 0), max(msg.Height, 0)
		m.relayout()
	case eventsMsg:
		m.applyEvents(msg)
		m.feed.recycle(msg)
		m.relayout()
		return m, m.feed.nextEvents
	case progressMsg:
		m.progress = experiments.Progress(msg)
		m.now = max(m.now, m.progress.Now.Seconds())
		return m, m.feed.nextProgress
	case RunEndedMsg:
		m.result = &msg
		// One last reading of the metrics, now that they are final.
		return m, tea.Batch(m.gauges.poll(m.opts.Live, 0, true), m.quitIfDone())
	case gaugesMsg:
		m.gauges.update(msg)
		if m.result == nil {
			return m, m.gauges.poll(m.opts.Live, GaugeInterval, false)
		}
	case clockMsg:
		m.header.wall = time.Time(msg)
		return m, m.tick()
	case controlMsg:
		m.control = experiments.State(msg)
	case SignalMsg:
		m.stopping = true
		m.answerPlan(false)
		return m, m.quitIfDone()
	case ConfirmPlanMsg:
		m.closeInput()
		m.confirmPlan = &msg
		m.mode = modeConfirmPlan
	case tea.KeyMsg:
		return m, m.handleKey(msg)
	}
	return m, nil
}

// quitIfDone quits once the run has closed, when a quit or a signal asked.
func (m *Model) quitIfDone() tea.Cmd {
	if m.result != nil && (m.quitting || m.stopping) {
		return tea.Quit
	}
	return nil
}

func (m *Model) applyEvents(batch []journal.Event) {
	for i := range batch {
		e := &batch[i]
		m.header.events++
		m.now = max(m.now, e.T)
		m.fleet.apply(e)
		m.waves.apply(e)
		m.gauges.apply(e)
		m.sparks.apply(e)
		m.log.apply(e)
		switch e.Type {
		case journal.RunStarted:
			m.started = true
		case journal.WaveStarted:
			if e.Wave == m.fireAsked {
				m.fireAsked = ""
			}
		case journal.Aborted:
			m.abort = clonePtr(e) // the batch is reused
		case journal.RunEnded:
			m.runEnd = clonePtr(e)
		}
	}
}

// live is true until the run has ended.
func (m *Model) live() bool { return m.runEnd == nil && m.result == nil }

func (m *Model) setFlash(s string) {
	m.flash, m.flashTill = s, m.header.wall.Add(4*time.Second)
}

// steer runs a control action as a command and reports the control's new
// state back.
func (m *Model) steer(f func(*experiments.Control)) tea.Cmd {
	ctl := m.ctl
	if ctl == nil {
		return nil
	}
	return func() tea.Msg {
		f(ctl)
		return controlMsg(ctl.State())
	}
}

func (m *Model) handleKey(k tea.KeyMsg) tea.Cmd {
	if k.String() == "ctrl+c" && m.mode != modeConfirmQuit {
		// Wherever the facilitator is, ctrl+c asks to halt and quit, and a
		// second one confirms.
		m.closeInput()
		if !m.live() {
			return tea.Quit
		}
		m.answerPlan(false)
		m.mode = modeConfirmQuit
		return nil
	}
	switch m.mode {
	case modeConfirmHalt, modeConfirmQuit:
		return m.confirmKey(k)
	case modeConfirmFire:
		return m.confirmFireKey(k)
	case modeConfirmPlan:
		return m.confirmPlanKey(k)
	case modeNote, modeFilter:
		return m.inputKey(k)
	}
	return m.normalKey(k)
}

func (m *Model) normalKey(k tea.KeyMsg) tea.Cmd {
	keys := &m.keys
	switch {
	case key.Matches(k, keys.Quit):
		if !m.live() {
			return tea.Quit
		}
		m.mode = modeConfirmQuit
	case key.Matches(k, keys.Pause):
		return m.pause()
	case key.Matches(k, keys.Faster):
		return m.pace(+1)
	case key.Matches(k, keys.Slower):
		return m.pace(-1)
	case key.Matches(k, keys.Next):
		return m.fireNext()
	case key.Matches(k, keys.Halt):
		if m.refuseEnded() {
			return nil
		}
		m.mode = modeConfirmHalt
	case key.Matches(k, keys.Note):
		if m.refuseEnded() {
			return nil
		}
		m.openInput(modeNote, "note: ", "what happened, e.g. checkout team paged", "")
	case key.Matches(k, keys.Filter):
		m.openInput(modeFilter, "/", "filter the events, e.g. blocked or zone 2", m.log.filter)
	case key.Matches(k, keys.Tab):
		m.cycleFocus(k.String() == "shift+tab")
	default:
		m.scrollKey(k)
	}
	return nil
}

// refuseEnded says so when a key needs a live run.
func (m *Model) refuseEnded() bool {
	if m.live() && m.ctl != nil {
		return false
	}
	if m.live() {
		m.setFlash("this console only watches the run")
	} else {
		m.setFlash("the run has ended: q exits and prints the summary")
	}
	return true
}

func (m *Model) pause() tea.Cmd {
	if m.refuseEnded() {
		return nil
	}
	if m.opts.Scenario.Target.Provider != scenarios.ProviderSim {
		m.setFlash("pause works on simulated runs only: Azure's clock does not stop")
		return nil
	}
	return m.steer((*experiments.Control).TogglePause)
}

// pace steps the speed through ×1, ×10, ×60 and max.
func (m *Model) pace(step int) tea.Cmd {
	if m.refuseEnded() {
		return nil
	}
	if m.wallClock() {
		m.setFlash("a real fleet runs on the wall clock: no speed to change")
		return nil
	}
	i := speedIndex(m.control.Speed)
	j := max(0, min(len(speeds)-1, i+step))
	if i == j {
		m.setFlash("speed is already " + speedText(speeds[j]))
		return nil
	}
	s := speeds[j]
	m.setFlash("speed " + speedText(s))
	return m.steer(func(c *experiments.Control) { c.SetSpeed(s) })
}

// speedIndex finds the step nearest to a speed.
func speedIndex(s float64) int {
	if s <= 0 {
		return len(speeds) - 1
	}
	for i, v := range speeds[:len(speeds)-1] {
		if s <= v {
			return i
		}
	}
	return len(speeds) - 1
}

func (m *Model) fireNext() tea.Cmd {
	if m.refuseEnded() {
		return nil
	}
	next, ok := m.waves.nextWave()
	switch {
	case !ok:
		m.setFlash("no wave left to fire")
		return nil
	case m.fireAsked != "":
		m.setFlash("wave " + m.fireAsked + " is already on its way")
		return nil
	}
	if !m.control.Manual {
		// Ahead of the schedule the facilitator agreed to: ask first.
		m.confirmFire = next
		m.mode = modeConfirmFire
		return nil
	}
	return m.fire(next)
}

// fire sends the next wave through the guard now.
func (m *Model) fire(next wave) tea.Cmd {
	m.fireAsked = next.name
	m.setFlash("firing wave " + next.name + " now (planned for " + hms(next.at) + ")")
	return m.steer((*experiments.Control).FireNext)
}

// confirmPlanKey starts the run on y and refuses it on n or esc.
func (m *Model) confirmPlanKey(k tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.Yes):
		m.answerPlan(true)
		m.setFlash("plan " + m.lastDigest + " confirmed: the game day starts")
	case key.Matches(k, m.keys.No):
		m.answerPlan(false)
		m.setFlash("plan refused: nothing is evicted; the run closes")
	}
	return nil
}

// answerPlan answers a pending plan question once; a console that quits or
// is stopped while asking refuses it.
func (m *Model) answerPlan(yes bool) {
	if m.confirmPlan == nil {
		return
	}
	m.lastDigest = m.confirmPlan.Digest
	m.confirmPlan.Answer <- yes
	m.confirmPlan = nil
	if m.mode == modeConfirmPlan {
		m.mode = modeNormal
	}
}

// wallClock is true for a run on a real fleet: its clock is the wall's,
// which neither pauses nor changes speed.
func (m *Model) wallClock() bool { return m.opts.Scenario.Target.Provider != scenarios.ProviderSim }

func (m *Model) confirmFireKey(k tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.Yes):
		m.mode = modeNormal
		if m.refuseEnded() {
			return nil
		}
		return m.fire(m.confirmFire)
	case key.Matches(k, m.keys.No):
		m.mode = modeNormal
		m.setFlash("wave " + m.confirmFire.name + " keeps its time, " + hms(m.confirmFire.at))
	}
	return nil
}

func (m *Model) confirmKey(k tea.KeyMsg) tea.Cmd {
	halt := m.mode == modeConfirmHalt
	yes := key.Matches(k, m.keys.Yes) || (!halt && k.String() == "ctrl+c")
	switch {
	case yes:
		m.mode = modeNormal
		if !halt {
			m.quitting = true
		}
		if !m.live() {
			return m.quitIfDone()
		}
		m.setFlash("halting: no more evictions; the run closes its journal")
		return m.steer((*experiments.Control).Halt)
	case key.Matches(k, m.keys.No):
		m.mode = modeNormal
	}
	return nil
}

func (m *Model) openInput(md mode, prompt, placeholder, value string) {
	m.mode = md
	m.input.Prompt, m.input.Placeholder = prompt, placeholder
	m.input.SetValue(value)
	m.input.CursorEnd()
	m.input.Width = max(10, m.width-len(prompt)-2)
	m.input.Focus()
}

func (m *Model) inputKey(k tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.Enter):
		return m.commitInput()
	case key.Matches(k, m.keys.Cancel):
		if m.mode == modeFilter {
			m.log.setFilter("")
		}
		m.closeInput()
		return nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(k)
	if m.mode == modeFilter {
		m.log.setFilter(m.input.Value())
	}
	return cmd
}

func (m *Model) commitInput() tea.Cmd {
	text := m.input.Value()
	md := m.mode
	m.closeInput()
	if md == modeFilter {
		m.log.setFilter(text)
		return nil
	}
	if text == "" || m.refuseEnded() {
		return nil
	}
	m.setFlash("note taken: it is journaled at " + hms(m.now) + " of the run clock as soon as the clock moves")
	return m.steer(func(c *experiments.Control) { c.Note(text) })
}

func (m *Model) closeInput() {
	m.mode = modeNormal
	m.input.Blur()
	m.input.SetValue("")
}

func (m *Model) cycleFocus(back bool) {
	step := pane(1)
	if back {
		step = nPanes - 1
	}
	m.focus = (m.focus + step) % nPanes
}

func (m *Model) scrollKey(k tea.KeyMsg) {
	page := max(1, m.paneRows(m.focus)-1)
	delta := 0
	switch {
	case key.Matches(k, m.keys.Up):
		delta = -1
	case key.Matches(k, m.keys.Down):
		delta = 1
	case key.Matches(k, m.keys.PageUp):
		delta = -page
	case key.Matches(k, m.keys.PageDown):
		delta = page
	case key.Matches(k, m.keys.Home):
		delta = -1 << 30
	case key.Matches(k, m.keys.End):
		delta = 1 << 30
	default:
		return
	}
	rows := m.paneRows(m.focus)
	switch m.focus {
	case paneFleet:
		m.fleet.scroll(delta, rows)
	case paneWaves:
		m.waves.scroll(delta, m.layout.waveRows)
	case paneLog:
		// The log counts back from the newest line: up scrolls back.
		m.log.scroll(-delta, rows)
	}
}

func (m *Model) paneRows(p pane) int {
	switch p {
	case paneFleet:
		return m.layout.fleetRows
	case paneWaves:
		return m.layout.waveRows
	}
	return m.layout.logRows
}
