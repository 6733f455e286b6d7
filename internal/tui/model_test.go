package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/journal"
)

// started is a console that has seen the first half hour of the batch game
// day, on an 80×24 screen.
func started(t *testing.T, manual bool) (*Model, *experiments.Control, recorded) {
	t.Helper()
	sc := loadScenario(t, "batch-checkpointed.yaml")
	rec := record(t, sc, false, nil)
	ctl := experiments.NewControl(60, manual)
	m := newTestModel(t, sc, ctl, nil)
	send(m, tea.WindowSizeMsg{Width: 80, Height: 24}, batch(rec.until(25*60)), progressMsg{Now: 25 * time.Minute})
	return m, ctl, rec
}

func TestSpaceTogglesPause(t *testing.T) {
	m, ctl, _ := started(t, false)
	send(m, press(" "))
	require.True(t, ctl.State().Paused)
	require.Contains(t, m.View(), "PAUSED")
	require.Contains(t, m.View(), "space resumes")
	send(m, press(" "))
	require.False(t, ctl.State().Paused)
	require.Contains(t, m.View(), "RUNNING")
}

func TestPlusAndMinusStepThroughTheSpeeds(t *testing.T) {
	m, ctl, _ := started(t, false)
	send(m, press("+"))
	require.Equal(t, 0.0, ctl.State().Speed, "×60 then max")
	send(m, press("+"))
	require.Contains(t, m.flash, "already max")
	send(m, press("-"), press("-"), press("-"))
	require.Equal(t, 1.0, ctl.State().Speed)
	send(m, press("-"))
	require.Equal(t, 1.0, ctl.State().Speed)
	require.Contains(t, m.View(), "×1")
}

func TestHaltNeedsConfirmation(t *testing.T) {
	m, ctl, _ := started(t, false)
	send(m, press("h"))
	require.Contains(t, m.View(), "HALT EVERYTHING?")
	send(m, press("n"))
	require.False(t, ctl.State().Halted, "n cancels")
	require.NotContains(t, m.View(), "HALT EVERYTHING?")

	send(m, press("h"), press("y"))
	require.True(t, ctl.State().Halted)
	require.Contains(t, m.View(), "HALTING")
}

func TestQuitAsksToHaltALiveRunThenWaitsForTheJournal(t *testing.T) {
	m, ctl, _ := started(t, false)
	require.Nil(t, send(m, press("q")), "a live run is not left at once")
	require.Contains(t, m.View(), "QUIT?")
	send(m, press("esc"))
	require.False(t, ctl.State().Halted)

	send(m, press("q"), press("y"))
	require.True(t, ctl.State().Halted, "quitting halts the run")
	_, cmd := m.Update(RunEndedMsg{Result: experiments.Result{Status: journal.StatusAborted}})
	require.IsType(t, tea.QuitMsg{}, cmd(), "the console exits once the run has closed its journal")
}

func TestCtrlCTwiceHaltsAndQuits(t *testing.T) {
	m, ctl, _ := started(t, false)
	send(m, press("m"), press("x"), press("ctrl+c"))
	require.Equal(t, modeConfirmQuit, m.mode, "ctrl+c leaves the note and asks")
	send(m, press("ctrl+c"))
	require.True(t, ctl.State().Halted)
	require.True(t, m.quitting)
}

func TestQuitAfterTheEndExitsAtOnce(t *testing.T) {
	m, _, rec := started(t, false)
	send(m, batch(rec.events[len(rec.until(25*60)):]), RunEndedMsg{Result: rec.res})
	require.Contains(t, m.View(), "COMPLETED")
	require.Contains(t, m.View(), "q exits and prints the summary")
	require.IsType(t, tea.QuitMsg{}, send(m, press("q")))
}

func TestNextFiresOneWavePerPress(t *testing.T) {
	m, _, rec := started(t, true)
	send(m, progressMsg{Now: 30 * time.Minute, Waiting: "first-strike"})
	require.Contains(t, m.View(), "WAITING FOR n")
	require.Contains(t, m.View(), "press n to fire it")
	require.IsType(t, controlMsg{}, send(m, press("n")))
	require.Nil(t, send(m, press("n")), "a second press before the wave fired does nothing")
	require.Contains(t, m.flash, "already on its way")

	send(m, batch(rec.until(31 * 60)[len(rec.until(25*60)):]), progressMsg{Now: 31 * time.Minute})
	require.Empty(t, m.fireAsked, "the wave fired")
	require.Contains(t, m.View(), "✓ first-strike")
	require.IsType(t, controlMsg{}, send(m, press("n")), "the next one may be asked for now")
}

func TestNoteAndFilterUseTheInputLine(t *testing.T) {
	m, _, _ := started(t, false)
	send(m, press("m"))
	require.Contains(t, m.View(), "note: ")
	msgs := append(typeText("checkout team paged"), press("enter"))
	require.IsType(t, controlMsg{}, send(m, msgs...), "enter hands the note to the control")
	require.Contains(t, m.flash, "note taken")

	before := m.log.len()
	send(m, press("/"))
	send(m, typeText("replaced")...)
	require.Less(t, m.log.len(), before)
	require.Positive(t, m.log.len())
	for i := range m.log.len() {
		require.Contains(t, m.log.entry(i).text, "replaced")
	}
	send(m, press("enter"))
	require.Contains(t, m.View(), `filter "replaced"`)
	send(m, press("/"), press("esc"))
	require.Equal(t, before, m.log.len(), "esc clears the filter")
}

func TestTabMovesFocusAndArrowsScrollTheLog(t *testing.T) {
	m, _, rec := started(t, false)
	send(m, batch(rec.until(3600)[len(rec.until(25*60)):]))
	require.Equal(t, paneLog, m.focus)
	send(m, press("up"), press("up"))
	require.Equal(t, 2, m.log.offset)
	require.Contains(t, m.View(), "newer below")
	send(m, press("end"))
	require.Zero(t, m.log.offset)
	send(m, press("tab"))
	require.Equal(t, paneFleet, m.focus)
	require.Contains(t, m.View(), "▸ Fleet")
}

func TestSignalQuitsOnceTheRunHasEnded(t *testing.T) {
	m, _, _ := started(t, false)
	_, cmd := m.Update(SignalMsg{})
	require.Nil(t, cmd)
	require.Contains(t, m.View(), "STOPPING")
	_, cmd = m.Update(RunEndedMsg{})
	require.IsType(t, tea.QuitMsg{}, cmd())
}

func TestBlockedEvictionsAndAbortsStandOut(t *testing.T) {
	m, _, rec := started(t, false)
	send(m, batch(rec.until(30 * 60)[len(rec.until(25*60)):]))
	send(m, eventsMsg{{T: 1800, Type: journal.EvictionBlocked, Wave: "first-strike", VM: "batch-spot-00007",
		Code: "maxEvictions", Reason: "12 evictions requested, the limit is 12"}})
	v := m.View()
	require.Contains(t, v, "!! BLOCKED batch-spot-00007 by maxEvictions: 12 evictions requested")
	require.Contains(t, v, "1 BLOCKED", "the wave says so too")

	send(m, eventsMsg{{T: 1900, Type: journal.Aborted, Code: "queue.backlog.max > 20", Reason: "abort condition fired (measured 31)"}})
	v = m.View()
	require.Contains(t, v, "ABORTED · RECOVERING")
	require.Contains(t, v, "!! ABORT: abort condition fired")
	require.Contains(t, v, "skipped", "no wave fires after an abort")
}

func TestGaugesTurnRedWhenBreached(t *testing.T) {
	sc := loadScenario(t, "batch-checkpointed.yaml")
	m := newTestModel(t, sc, nil, nil)
	send(m, tea.WindowSizeMsg{Width: 120, Height: 30})
	// ttr.p95 <= 5m breached; lostWork met; success rate low only because
	// work is in flight (no job failed).
	send(m, gaugesMsg{readings: []reading{{value: 400, measured: true}, {value: 0.01, measured: true}, {value: 0.3, measured: true}, {}}},
		eventsMsg{{Type: journal.Sampled, Sample: &journal.Sample{Completed: 30, Failed: 0}}})
	v := m.View()
	require.Contains(t, v, "✗  6m40s  recover fast · ttr.p95 <= 5m BREACHED")
	require.Contains(t, v, "SLOs so far · 1 of 3 BREACHED")
	require.Contains(t, v, "✓  1.00%  lose little work")
	require.Contains(t, v, "… 30.00%  finish the work")
	// Failed jobs make the success rate a breach so far.
	send(m, eventsMsg{{Type: journal.Sampled, Sample: &journal.Sample{Completed: 30, Failed: 10}}})
	require.Contains(t, m.View(), "✗ 30.00%  finish the work")
}

// TestViewFitsEveryScreen draws every size from nothing to 200×60: no
// panic, never more lines than the screen or wider than it.
func TestViewFitsEveryScreen(t *testing.T) {
	m, _, rec := started(t, true)
	send(m, batch(rec.events[len(rec.until(25*60)):]))
	for _, mode := range []tea.Msg{nil, press("h"), press("esc"), press("/")} {
		if mode != nil {
			send(m, mode)
		}
		for w := 0; w <= 200; w += 7 {
			for h := 0; h <= 60; h += 3 {
				send(m, tea.WindowSizeMsg{Width: w, Height: h})
				v := m.View()
				if h == 0 || w == 0 {
					require.Empty(t, v)
					continue
				}
				lines := strings.Split(v, "\n")
				require.LessOrEqual(t, len(lines), h, "%d×%d", w, h)
				for _, l := range lines {
					require.LessOrEqual(t, ansi.StringWidth(l), w, "%d×%d: %q", w, h, l)
				}
			}
		}
	}
}

// TestNarrowWidthAgreesWithAnsi checks the fast measure on every line of a
// coloured frame, and that text it cannot vouch for goes to the slow one.
func TestNarrowWidthAgreesWithAnsi(t *testing.T) {
	m, _, _ := started(t, false)
	m = withProfile(m, termenv.ANSI256)
	send(m, tea.WindowSizeMsg{Width: 160, Height: 48})
	for _, line := range strings.Split(m.View(), "\n") {
		if w, ok := narrowWidth(line); ok {
			require.Equal(t, ansi.StringWidth(line), w, "%q", line)
		}
	}
	for _, s := range []string{"チーム", "on call 📟", "tab\there", "two\nlines", "\x1b]8;;link\x1b\\"} {
		_, ok := narrowWidth(s)
		require.False(t, ok, s)
		line := fitLine(s, 6)
		require.Equal(t, 6, ansi.StringWidth(line), s)
		require.NotContains(t, line, "\n")
	}
}

func TestFinalReadingsAreNotOverwritten(t *testing.T) {
	m, _, _ := started(t, false)
	final := gaugesMsg{readings: []reading{{value: 60, measured: true}}, final: true}
	late := gaugesMsg{readings: []reading{{value: 30, measured: true}}}
	send(m, RunEndedMsg{}, final, late)
	require.Equal(t, 60.0, m.gauges.list[0].value, "a reading taken before the end arrived after it")
}
