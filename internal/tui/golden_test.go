package tui

import (
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

// frame is one state of the console worth keeping an eye on.
type frame struct {
	name     string
	sc       *scenarios.Scenario // the batch game day unless set
	events   []journal.Event
	progress experiments.Progress
	manual   bool
	keys     []tea.Msg
	ended    bool   // experiments.Run returned
	marker   string // text the screen shows once the state is drawn
}

// goldenFrames plays the batch game day (and a variant whose backlog
// aborts it) and cuts it at the moments a facilitator meets.
func goldenFrames(t *testing.T) (*scenarios.Scenario, []frame) {
	sc := loadScenario(t, "batch-checkpointed.yaml")
	full := record(t, sc, false, nil)
	halted := record(t, sc, false, func(p experiments.Progress, ctl *experiments.Control) {
		if p.Now >= 40*time.Minute {
			ctl.Halt()
		}
	})
	abortSc := loadScenario(t, "batch-checkpointed.yaml")
	cond, err := scenarios.ParseCondition("queue.backlog.max > 20")
	require.NoError(t, err)
	abortSc.AbortWhen = []scenarios.Abort{{When: cond}}
	aborted := record(t, abortSc, false, nil)
	abortAt := 0.0
	for _, e := range aborted.events {
		if e.Type == journal.Aborted {
			abortAt = e.T
			break
		}
	}
	require.Positive(t, abortAt)

	at := func(d time.Duration) experiments.Progress { return experiments.Progress{Now: d} }
	return sc, []frame{
		{name: "running", events: full.until(45 * 60), progress: at(45 * time.Minute), marker: "RUNNING"},
		{name: "paused", events: full.until(45 * 60), progress: at(45 * time.Minute), keys: []tea.Msg{press(" ")}, marker: "PAUSED"},
		{name: "manual-waiting", events: full.until(30*60 - 1), manual: true, marker: "WAITING",
			progress: experiments.Progress{Now: 30 * time.Minute, Waiting: "first-strike"}},
		{name: "halt-confirm", events: full.until(45 * 60), progress: at(45 * time.Minute), keys: []tea.Msg{press("h")}, marker: "HALT EVERYTHING"},
		{name: "after-abort", sc: abortSc, events: aborted.until(abortAt + 300), progress: at(time.Duration(abortAt+300) * time.Second), marker: "RECOVERING"},
		{name: "halted", events: halted.events, progress: at(40 * time.Minute), ended: true, marker: "HALTED"},
	}
}

// TestGoldenFrames draws each state at 80×24 and 160×48 without colour (as
// NO_COLOR would), and the running state once in colour. Refresh the files
// with: go test ./internal/tui -run TestGoldenFrames -update
func TestGoldenFrames(t *testing.T) {
	sc, frames := goldenFrames(t)
	sizes := [][2]int{{80, 24}, {160, 48}}
	for _, f := range frames {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s-%dx%d", f.name, size[0], size[1]), func(t *testing.T) {
				golden.RequireEqual(t, []byte(playFrame(t, sc, f, size, termenv.Ascii)))
			})
		}
	}
	t.Run("running-80x24-color", func(t *testing.T) {
		golden.RequireEqualEscape(t, []byte(playFrame(t, sc, frames[0], sizes[0], termenv.ANSI)), true)
	})
}

// playFrame runs the console program on a virtual terminal, brings it to
// the frame's state, and returns its last view.
func playFrame(t *testing.T, sc *scenarios.Scenario, f frame, size [2]int, profile termenv.Profile) string {
	t.Helper()
	if f.sc != nil {
		sc = f.sc
	}
	live := reports.NewAccumulator()
	for i := range f.events {
		live.Emit(&f.events[i])
	}
	m := withProfile(newTestModel(t, sc, experiments.NewControl(60, f.manual), live), profile)
	readings := m.gauges.poll(live, 0, false)() // before the program owns the model
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(size[0], size[1]))
	tm.Send(batch(f.events))
	tm.Send(progressMsg(f.progress))
	tm.Send(readings)
	if f.ended {
		tm.Send(RunEndedMsg{Result: experiments.Result{Status: journal.StatusAborted}})
	}
	for _, k := range f.keys {
		tm.Send(k)
	}
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return contains(b, f.marker) },
		teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	require.NoError(t, tm.Quit())
	return tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).View()
}

func contains(b []byte, s string) bool { return len(s) > 0 && bytesContains(b, s) }
