package tui

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
)

// keyMap is every key of the console. The help bar shows the ones that do
// something in the current state.
type keyMap struct {
	Pause, Faster, Slower, Next, Halt, Note, Filter, Tab, Quit key.Binding
	Up, Down, PageUp, PageDown, Home, End                      key.Binding
	Yes, No, Enter, Cancel                                     key.Binding
	Exit, Scroll                                               key.Binding
}

func newKeyMap() keyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return keyMap{
		Pause:    b([]string{" "}, "space", "pause"),
		Faster:   b([]string{"+", "="}, "+/-", "speed"),
		Slower:   b([]string{"-", "_"}, "-", "slower"),
		Next:     b([]string{"n"}, "n", "next wave"),
		Halt:     b([]string{"h"}, "h", "halt"),
		Note:     b([]string{"m"}, "m", "note"),
		Filter:   b([]string{"/"}, "/", "filter"),
		Tab:      b([]string{"tab", "shift+tab"}, "tab", "pane"),
		Quit:     b([]string{"q", "ctrl+c"}, "q", "quit"),
		Up:       b([]string{"up", "k"}, "↑", "scroll"),
		Down:     b([]string{"down", "j"}, "↓", "scroll"),
		PageUp:   b([]string{"pgup"}, "pgup", "page"),
		PageDown: b([]string{"pgdown"}, "pgdn", "page"),
		Home:     b([]string{"home"}, "home", "oldest"),
		End:      b([]string{"end"}, "end", "follow"),
		Yes:      b([]string{"y", "Y"}, "y", "yes"),
		No:       b([]string{"n", "N", "esc"}, "n/esc", "no"),
		Enter:    b([]string{"enter"}, "enter", "save"),
		Cancel:   b([]string{"esc"}, "esc", "cancel"),
		Exit:     b([]string{"q", "ctrl+c"}, "q", "exit, print the summary"),
		Scroll:   b([]string{"up", "down"}, "↑↓", "scroll"),
	}
}

// helpBar is the sub-model of the bottom line.
type helpBar struct {
	model help.Model
}

func newHelpBar(t *theme) helpBar {
	h := help.New()
	h.ShortSeparator = "  "
	h.Styles.ShortKey = t.helpKey
	h.Styles.ShortDesc = t.helpDesc
	h.Styles.ShortSeparator = t.helpSep
	h.Styles.Ellipsis = t.helpSep
	return helpBar{model: h}
}

func (h helpBar) view(width int, bindings []key.Binding) string {
	h.model.Width = width
	return fitLine(h.model.ShortHelpView(bindings), width)
}
