package tui

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/scenarios"
)

// largeConsole is the console after the first 2h30m of the benchmark game
// day (10,000 Spot VMs, natural evictions at 10 %/h, a wave of 500): the
// grid aggregates, the log is full, the sparklines hold hundreds of samples.
func largeConsole(b *testing.B, w, h int) *Model {
	b.Helper()
	sc, err := scenarios.Load(filepath.Join("..", "..", "scenarios", "bench", "large-fleet.yaml"))
	require.NoError(b, err)
	sc.Duration = scenarios.Duration(150 * time.Minute)
	sc.Waves = sc.Waves[:1]
	rec := record(b, sc, false, nil)
	m := withProfile(newTestModel(b, sc, experiments.NewControl(0, false), rec.live), termenv.ANSI256)
	send(m, tea.WindowSizeMsg{Width: w, Height: h}, batch(rec.events), progressMsg{Now: 150 * time.Minute},
		m.gauges.poll(rec.live, 0, false)())
	require.GreaterOrEqual(b, m.fleet.live(), 9000)
	return m
}

// BenchmarkView draws one frame of a 10,000-VM fleet. A frame's cost
// follows the cells on screen, not the events of the run.
func BenchmarkView(b *testing.B) {
	for _, size := range [][2]int{{80, 24}, {160, 48}, {250, 70}} {
		b.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(b *testing.B) {
			m := largeConsole(b, size[0], size[1])
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
			b.ReportMetric(float64(m.fleet.scale), "VMs/cell")
		})
	}
}

// BenchmarkUpdate folds a frame's batch of events (what a run at full speed
// delivers in 1/30 s) into the 10,000-VM console.
func BenchmarkUpdate(b *testing.B) {
	m := largeConsole(b, 160, 48)
	sc, err := scenarios.Load(filepath.Join("..", "..", "scenarios", "bench", "large-fleet.yaml"))
	require.NoError(b, err)
	sc.Duration = scenarios.Duration(150 * time.Minute)
	events := record(b, sc, false, nil).events
	const perFrame = 2000
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i+perFrame > len(events) {
			i = 0
		}
		m.Update(batch(events[i : i+perFrame]))
		i += perFrame
	}
	b.ReportMetric(perFrame, "events/op")
}
