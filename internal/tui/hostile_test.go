package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/internal/textsafe"
	"github.com/spotdrill/spotdrill/journal"
)

// TestHostileNamesReachTheConsoleEscaped: events whose names, reasons and
// notes carry terminal escapes and newlines go through the feed, as a run's
// do, and the console draws them visibly escaped, one line each.
func TestHostileNamesReachTheConsoleEscaped(t *testing.T) {
	sc := loadScenario(t, "batch-checkpointed.yaml")
	feed := NewFeed(time.Millisecond)
	m := withProfile(New(Options{Scenario: sc, Feed: feed, Control: experiments.NewControl(60, false), Clock: fixedClock}), termenv.Ascii)
	hostile := []string{"\x1b[2J\x1b[Hcleared", "\x1b]52;c;cHduZWQ=\x07", "line one\nline two", "\u202eevil", "bad \xff utf-8"}
	for i, n := range hostile {
		feed.Emit(&journal.Event{Seq: int64(i*3 + 1), T: 60, Type: journal.EvictionBlocked, Wave: n, VM: "vm-" + n, Code: n, Reason: n})
		feed.Emit(&journal.Event{Seq: int64(i*3 + 2), T: 61, Type: journal.Note, Reason: n})
		feed.Emit(&journal.Event{Seq: int64(i*3 + 3), T: 62, Type: journal.EvictionEvicted, VM: "vm-" + n, Pool: n, Zone: n, Cause: n})
	}
	feed.Finish(experiments.Result{}, nil)
	send(m, tea.WindowSizeMsg{Width: 160, Height: 48}, feed.nextEvents())
	view := m.View()
	for _, line := range strings.Split(view, "\n") {
		require.True(t, textsafe.Safe(line), "raw control in the console: %q", line)
	}
	require.Contains(t, view, `\x1b[2J`)
}
