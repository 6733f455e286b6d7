package tui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// fitLine cuts a styled line to width cells and pads it with spaces, so that
// columns line up and nothing ever wraps.
func fitLine(s string, width int) string {
	if width <= 0 {
		return ""
	}
	w, ok := narrowWidth(s)
	if !ok {
		// Text from outside (an error, a reason from Azure) may hold line
		// breaks or tabs: one line of the screen stays one line.
		s = controlChars.Replace(s)
		w = ansi.StringWidth(s)
	}
	if w > width {
		return ansi.Truncate(s, width, "…")
	}
	return s + strings.Repeat(" ", width-w)
}

var controlChars = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ", "\v", " ", "\f", " ")

// narrowWidth measures a line quickly when every character in it is one
// cell wide for sure (Latin, punctuation, box drawing, blocks, geometric
// shapes) and its escape codes are CSI sequences: what the console draws.
// Anything else (a note in CJK, an emoji) goes to ansi.StringWidth, whose
// grapheme segmentation would otherwise be most of a frame's cost.
func narrowWidth(s string) (int, bool) {
	w := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == 0x1b:
			if i+1 >= len(s) || s[i+1] != '[' {
				return 0, false
			}
			i += 2
			for i < len(s) && (s[i] < 0x40 || s[i] > 0x7e) {
				i++
			}
			i++ // the final byte
			continue
		case c < 0x20 || c == 0x7f:
			return 0, false
		case c < 0x80:
			w++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !(r < 0x300 || (r >= 0x2000 && r < 0x2070) || (r >= 0x2500 && r < 0x2600)) {
			return 0, false
		}
		w++
		i += size
	}
	return w, true
}

// padLines fills a pane to rows lines of width spaces, so that the column
// beside it stays in place.
func padLines(lines []string, rows, width int) []string {
	blank := strings.Repeat(" ", max(width, 0))
	for len(lines) < rows {
		lines = append(lines, blank)
	}
	return lines
}

// padRight pads a plain string to width cells.
func padRight(s string, width int) string {
	if w := ansi.StringWidth(s); w < width {
		return s + strings.Repeat(" ", width-w)
	}
	return s
}

// padLeft right-aligns a plain string in width cells.
func padLeft(s string, width int) string {
	if w := ansi.StringWidth(s); w < width {
		return strings.Repeat(" ", width-w) + s
	}
	return s
}

// truncate cuts a plain string to width cells.
func truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	return ansi.Truncate(s, width, "…")
}

// thousands writes 12345 as 12,345.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// hms writes seconds of the run clock as H:MM:SS.
func hms(sec float64) string {
	if sec < 0 || math.IsNaN(sec) || math.IsInf(sec, 0) {
		sec = 0
	}
	s := int64(sec)
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

// shortDur writes seconds as a short duration: 45s, 12m30s, 2h05m.
func shortDur(sec float64) string {
	s := int64(math.Ceil(max(sec, 0)))
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, s/60%60)
}

// speedText names a speed the way the keys and the flag do.
func speedText(speed float64) string {
	if speed <= 0 {
		return "max"
	}
	return "×" + strconv.FormatFloat(speed, 'f', -1, 64)
}

func secondsDur(sec float64) time.Duration { return time.Duration(sec * float64(time.Second)) }

// plural writes "1 job", "2 jobs".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return thousands(n) + " " + word + "s"
}
