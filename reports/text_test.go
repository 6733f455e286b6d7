package reports

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/scenarios"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./reports/ -update to create it")
	assert.Equal(t, string(want), string(got))
}

func TestWriteTextGolden(t *testing.T) {
	tests := []struct {
		name    string
		journal string
		slos    []scenarios.SLO // nil: the journal's own
		color   bool
	}{
		{name: "gameday", journal: "gameday.journal"},
		{name: "gameday-color", journal: "gameday.journal", color: true},
		{name: "cutshort", journal: "cutshort.journal"},
		{name: "aborted", journal: "aborted.journal"},
		{
			name: "regraded", journal: "gameday.journal",
			slos: []scenarios.SLO{slo("cheap", "cost.savings >= 50%"), slo("", "jobs.duplicates <= 0"), slo("", "provision.latency.p95 < 1m")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Load(filepath.Join("testdata", tt.journal))
			require.NoError(t, err)
			g := r.Grading
			if tt.slos != nil {
				g = Grade(r, tt.slos)
			}
			var buf bytes.Buffer
			require.NoError(t, WriteText(&buf, r, g, TextOptions{Color: tt.color}))
			if !tt.color {
				assert.NotContains(t, buf.String(), "\x1b", "plain text has no escape codes")
			}
			golden(t, tt.name+".txt", buf.Bytes())
		})
	}
}

func TestWriteTextColor(t *testing.T) {
	r, err := Load(filepath.Join("testdata", "gameday.journal"))
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, WriteText(&buf, r, r.Grading, TextOptions{Color: true}))
	out := buf.String()
	assert.Contains(t, out, ansiGreen+"✓"+ansiReset)
	assert.Contains(t, out, ansiRed+"✗"+ansiReset)
	assert.Contains(t, out, ansiRed+"FAIL · 3/4 SLOs met")
}

func TestWriteTextEmptyRun(t *testing.T) {
	r := fold(started(), ended(0)).Report()
	var buf bytes.Buffer
	require.NoError(t, WriteText(&buf, r, r.Grading, TextOptions{}))
	out := buf.String()
	assert.Contains(t, out, "no SLOs to grade")
	assert.Contains(t, out, "ttr.p50")
	assert.Contains(t, out, "n/a (no interrupted work)")
	assert.Contains(t, out, "✓ PASS · 0/0 SLOs met · resilience score 100/100")
	assert.NotContains(t, out, "Blocked")
	assert.NotContains(t, out, "!!")
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteTextWriteError(t *testing.T) {
	r := fold(started(), ended(0)).Report()
	err := WriteText(failingWriter{}, r, r.Grading, TextOptions{})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "write summary: "), err.Error())
	assert.ErrorContains(t, err, "disk full")
}
