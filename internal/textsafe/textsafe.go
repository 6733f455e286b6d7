// Package textsafe is spotdrill's one escaping policy for strings that come
// from outside (scenario names, Azure names and tags, span attributes,
// error text, journals from elsewhere) on their way to a person: control
// characters, invisible formatting characters (bidirectional overrides)
// and invalid UTF-8 are shown visibly escaped, Go-style (\x1b, \n, \u202e),
// so that a name can neither rewrite the terminal (clear the screen, write
// the clipboard with OSC 52) nor break a layout with a newline. Printable
// text, including non-ASCII letters, passes unchanged.
package textsafe

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean returns s with every character that is not printable escaped.
func Clean(s string) string {
	if Safe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case printable(r):
			b.WriteString(s[i : i+n])
		default:
			q := strconv.QuoteRune(r) // '\x1b', '\n', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

// Safe reports whether s needs no escaping: the fast path for the names
// of a large run, which are plain ASCII.
func Safe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c >= utf8.RuneSelf {
			return safeUnicode(s[i:])
		}
	}
	return true
}

func safeUnicode(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n <= 1) || !printable(r) {
			return false
		}
		i += n
	}
	return true
}

// printable is unicode.IsPrint: letters, marks, numbers, punctuation,
// symbols and the ASCII space; not controls nor format characters such as
// U+202E RIGHT-TO-LEFT OVERRIDE.
func printable(r rune) bool { return unicode.IsPrint(r) }

// Quote is Clean inside double quotes, for a string whose edges matter
// (an empty name, trailing spaces).
func Quote(s string) string { return strconv.Quote(s) }

// Lines is Clean applied to each line of a text the program laid out
// itself: its own newlines stay, anything else unprintable is escaped.
func Lines(s string) string {
	if Safe(strings.ReplaceAll(s, "\n", "")) {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Clean(l)
	}
	return strings.Join(lines, "\n")
}
