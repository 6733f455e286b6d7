package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/spotdrill/spotdrill/experiments"
)

// TestHeadlessProgressLine: on a terminal, a headless run rewrites one
// line of stderr with the run clock, events per second and the time left;
// nothing when stderr is not a terminal or with --quiet.
func TestHeadlessProgressLine(t *testing.T) {
	pr := experiments.Progress{Now: 30 * time.Minute, Duration: time.Hour, Events: 5000, Evictions: 3, Backlog: 7, Running: 12}
	for _, tc := range []struct {
		name     string
		terminal bool
		quiet    bool
		want     bool
	}{
		{"terminal", true, false, true},
		{"not a terminal", false, false, false},
		{"quiet", true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errb bytes.Buffer
			p := newProgressLine(&RunOptions{IO: &IOStreams{Err: &errb, ErrTerminal: tc.terminal}, Quiet: tc.quiet})
			p.start = time.Now().Add(-2 * time.Second)
			p.update(pr)
			p.done()
			if !tc.want {
				assert.Empty(t, errb.String())
				return
			}
			line := errb.String()
			assert.Contains(t, line, "30m / 1h")
			assert.Regexp(t, `\d+(\.\d)?k? events/s`, line)
			assert.Regexp(t, `ETA \d\.\ds`, line, "half the run in 2 s leaves about 2 s")
			assert.Contains(t, line, "evictions 3")
			assert.Contains(t, line, "\r\033[K", "one line, rewritten")
		})
	}
}
