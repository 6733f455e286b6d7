package textsafe

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Hostile is a corpus of names that must never reach a terminal as they
// are: other packages' tests feed it through their outputs.
var Hostile = []string{
	"\x1b[2J\x1b[Hcleared",           // clear the screen
	"\x1b]52;c;ZWNobyBwd25lZA==\x07", // OSC 52: write the clipboard
	"line one\nline two",             // break the layout
	"tab\there\rcarriage",            // more controls
	"\u202eevil.exe\u202c",           // bidirectional override
	"bad \xff\xfe utf-8",             // invalid UTF-8
	"\x9b31mC1 CSI",                  // an 8-bit control (as UTF-8, U+009B)
	"del\x7f",                        // DEL
	"zero\x00byte",                   // NUL
}

func TestCleanEscapesEveryControl(t *testing.T) {
	for _, s := range Hostile {
		got := Clean(s)
		for i := 0; i < len(got); i++ {
			require.False(t, got[i] < 0x20 || got[i] == 0x7f, "%q left a control byte in %q", s, got)
		}
		require.NotContains(t, got, "\u202e")
		require.NotContains(t, got, "\u0080\u009b")
		require.False(t, Safe(s), "%q", s)
		require.True(t, Safe(got), "cleaned %q is safe", got)
	}
	require.Equal(t, `\x1b[2J\x1b[Hcleared`, Clean(Hostile[0]))
	require.Equal(t, `line one\nline two`, Clean(Hostile[2]))
	require.Equal(t, `\u202eevil.exe\u202c`, Clean(Hostile[4]))
	require.Equal(t, `bad \xff\xfe utf-8`, Clean(Hostile[5]))
}

func TestCleanKeepsPrintableText(t *testing.T) {
	for _, s := range []string{"batch-spot-00001", "Zone 1 · Ünïcödé 東京", "recover fast", ""} {
		require.Equal(t, s, Clean(s))
		require.True(t, Safe(s))
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range Hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Clean(s)
		require.True(t, Safe(got), "%q cleaned to %q", s, got)
		if Safe(s) {
			require.Equal(t, s, got)
		}
	})
}
