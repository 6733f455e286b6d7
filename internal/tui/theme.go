package tui

import (
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// theme holds every style of the console, all from one renderer so that the
// colour profile is decided once: the terminal's, or none under NO_COLOR.
// Every state is also told apart by a glyph or a word, so nothing is lost
// without colour.
type theme struct {
	title, dim, bold, focus        sgr
	ok, warn, alert, info, note    sgr
	badge                          [nBadges]sgr
	banner, bannerAlert, bannerAsk sgr
	cell                           [nStates]sgr

	// The bubbles components (help bar, text input) take lipgloss styles.
	helpKey, helpDesc, helpSep  lipgloss.Style
	inputText, inputDim, cursor lipgloss.Style
}

// sgr is the escape codes a style writes before and after a text. The
// console paints with them rather than with lipgloss.Style.Render, which
// costs microseconds and several allocations a call: a frame paints
// hundreds of runs.
type sgr struct{ open, close string }

// Render paints one line of text.
func (p sgr) Render(s string) string {
	if p.open == "" {
		return s
	}
	return p.open + s + p.close
}

// profileFor is the colour profile of out: what the terminal supports, or
// none at all when color is false (NO_COLOR).
func profileFor(out io.Writer, color bool) termenv.Profile {
	if !color || out == nil {
		return termenv.Ascii
	}
	return termenv.NewOutput(out).EnvColorProfile()
}

// newTheme builds the styles for a colour profile. The palette is the 16
// basic colours, which every terminal and multiplexer shows and which read
// on dark and light backgrounds.
func newTheme(profile termenv.Profile) theme {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(profile)
	// Asking the terminal for its background would write a query to it and
	// wait for the answer.
	r.SetHasDarkBackground(true)
	s := r.NewStyle
	fg := func(c string) lipgloss.Style { return s().Foreground(lipgloss.Color(c)) }
	bold := func(c string) lipgloss.Style { return s().Bold(true).Foreground(lipgloss.Color(c)) }
	onBg := func(f, b string) sgr {
		return split(s().Bold(true).Foreground(lipgloss.Color(f)).Background(lipgloss.Color(b)))
	}
	t := theme{
		title: split(s().Bold(true)), dim: split(fg("8")), bold: split(s().Bold(true)), focus: split(bold("6")),
		ok: split(fg("2")), warn: split(fg("3")), alert: split(bold("1")), info: split(fg("6")), note: split(fg("5")),
		banner: split(s().Bold(true)), bannerAlert: onBg("15", "1"), bannerAsk: onBg("0", "3"),

		helpKey: s().Bold(true), helpDesc: fg("7"), helpSep: fg("8"),
		inputText: s(), inputDim: fg("8"), cursor: s().Reverse(true),
	}
	t.badge = [nBadges]sgr{
		badgeStarting: onBg("0", "7"), badgeRunning: onBg("0", "2"), badgePaused: onBg("0", "3"),
		badgeWaiting: onBg("0", "3"), badgeHalting: onBg("15", "1"), badgeRecovering: onBg("15", "1"),
		badgeCompleted: onBg("0", "2"), badgeAborted: onBg("15", "1"), badgeFailed: onBg("15", "1"),
	}
	t.cell = [nStates]sgr{
		stGone: split(fg("8")), stRunning: split(fg("2")), stFallback: split(fg("4")), stProvisioning: split(fg("6")),
		stDrained: split(fg("5")), stNotice: split(fg("3")), stEvicted: split(bold("1")),
	}
	return t
}

// split finds the codes a style writes around a text.
func split(st lipgloss.Style) sgr {
	const mark = "\x00"
	out := st.Render(mark)
	i := strings.Index(out, mark)
	if i < 0 {
		return sgr{}
	}
	return sgr{open: out[:i], close: out[i+len(mark):]}
}
