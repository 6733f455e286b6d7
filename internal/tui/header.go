package tui

import (
	"fmt"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/spotdrill/spotdrill/experiments"
	"github.com/spotdrill/spotdrill/scenarios"
)

// header is the sub-model of the top lines: which run this is, its state
// and speed, its clocks, and the banner that says what to do.
type header struct {
	title    string
	duration float64   // the run's length, seconds
	start    time.Time // the run clock's origin, for the time of day
	began    time.Time // the wall clock when the console opened
	wall     time.Time // the wall clock now
	events   int64
}

func newHeader(sc *scenarios.Scenario, began time.Time) header {
	return header{
		title:    fmt.Sprintf("spotdrill · %s · %s · seed %d", sc.Metadata.Name, sc.Target.Provider, sc.Seed),
		duration: sc.Duration.D().Seconds(),
		start:    experiments.RunStart(sc),
		began:    began, wall: began,
	}
}

// status is what the model tells the header about the run.
type status struct {
	badge badge
	label string
	speed float64
	// wall is a run on the wall clock (a real fleet): no speed.
	wall   bool
	manual bool
	now    float64 // the run clock, seconds
	banner string  // the banner line, drawn
}

func (h *header) view(t *theme, w int, s status) []string {
	title := h.title
	if s.manual {
		title += " · manual"
	}
	pace := speedText(s.speed)
	if s.wall {
		pace = "wall clock"
	}
	right := t.badge[s.badge].Render(" "+s.label+" ") + " " + t.bold.Render(pace)
	clocks := fmt.Sprintf("run clock %s/%s", hms(s.now), hms(h.duration))
	if !h.start.IsZero() {
		clocks += " (" + h.start.Add(secondsDur(s.now)).Format("Mon 15:04") + ")"
	}
	clocks += fmt.Sprintf("  wall %s (+%s)  %s events", h.wall.Format("15:04:05"), hms(h.wall.Sub(h.began).Seconds()), thousands(int(h.events)))
	return []string{joinEnds(t.title.Render(title), right, w), fitLine(clocks, w), s.banner}
}

// joinEnds puts left and right on one line of width w, cutting left first.
func joinEnds(left, right string, w int) string {
	rw := ansi.StringWidth(right)
	if rw+1 > w {
		return fitLine(right, w)
	}
	return fitLine(left, w-rw-1) + " " + right
}
