package reports

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/scenarios"
)

// fixture is a journal under testdata rendered in every format.
type fixture struct {
	name     string
	journal  string
	baseline string // a journal to compare with, or none
	slos     []scenarios.SLO
	opts     AnalysisOptions
}

func fixtures() []fixture {
	return []fixture{
		{name: "gameday", journal: "gameday.journal"},
		{name: "cutshort", journal: "cutshort.journal"},
		{name: "aborted", journal: "aborted.journal"},
		{name: "failuremodes", journal: "failuremodes.journal", opts: AnalysisOptions{CheckpointCost: 20}},
		{name: "baseline", journal: "gameday.journal", baseline: "gameday-baseline.journal"},
	}
}

// bundle loads a fixture the way spotdrill report does.
func (f fixture) bundle(t *testing.T) *Bundle {
	t.Helper()
	path := filepath.Join("testdata", f.journal)
	r, err := Load(path)
	require.NoError(t, err)
	g, slos := r.Grading, RunSLOs(r.Run)
	if f.slos != nil {
		g, slos = Grade(r, f.slos), f.slos
	}
	b := NewBundle(r, g, f.opts)
	b.Source = path
	if f.baseline != "" {
		base, err := Load(filepath.Join("testdata", f.baseline))
		require.NoError(t, err)
		b.Baseline = Compare(r, g, slos, base, filepath.Join("testdata", f.baseline), 0.1)
	}
	return b
}

func render(t *testing.T, b *Bundle, f Format) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Render(&buf, b, f))
	return buf.Bytes()
}

// Golden files of every format, refreshed with go test ./reports -update.
// Their numbers are checked by hand in load_test.go and analysis_test.go;
// these pin the layout.
func TestFormatsGolden(t *testing.T) {
	ext := map[Format]string{FormatMarkdown: ".md", FormatJSON: ".json", FormatJUnit: ".junit.xml", FormatHTML: ".html", FormatText: ".txt"}
	for _, fx := range fixtures() {
		for _, f := range []Format{FormatMarkdown, FormatJSON, FormatJUnit, FormatText} {
			if f == FormatText && fx.baseline == "" && fx.opts == (AnalysisOptions{}) {
				continue // TestWriteTextGolden has it
			}
			t.Run(fx.name+"/"+string(f), func(t *testing.T) {
				golden(t, fx.name+ext[f], render(t, fx.bundle(t), f))
			})
		}
	}
	// HTML goldens hold the charts' SVG: two are enough to pin the page.
	for _, name := range []string{"gameday", "failuremodes"} {
		for _, fx := range fixtures() {
			if fx.name == name {
				t.Run(name+"/html", func(t *testing.T) {
					golden(t, name+".html", render(t, fx.bundle(t), FormatHTML))
				})
			}
		}
	}
}

func TestFormatsAreDeterministic(t *testing.T) {
	for _, fx := range fixtures() {
		b := fx.bundle(t)
		for _, f := range Formats() {
			first := render(t, b, f)
			again := render(t, fx.bundle(t), f)
			assert.Equal(t, string(first), string(again), "%s %s", fx.name, f)
		}
	}
}

func TestMarkdownPostmortem(t *testing.T) {
	out := string(render(t, fixtures()[3].bundle(t), FormatMarkdown))
	for _, want := range []string{
		"# Game day postmortem: failure-modes",
		"**✗ FAIL · 2/3 SLOs met · resilience score 67/100**",
		"## SLOs", "## Timeline", "### Eviction phases", "### Evictions", "## Failure modes",
		"## Recommendations", "## Action items", "## Metrics",
		"| 0:14:55 | wave w1 (evict): evict 1 VM of batch — 1 requested |",
		"s2 evicted (injected, wave w1, zone 1): requested 0:14:55, noticed 0:15:00 (30.0s notice), replaced 0:18:20, recovered 0:16:40; 1 job, 2m00s lost",
		"| 1:00:00 | note: facilitator: zone 1 looked unhealthy all afternoon |",
		"### F1 · no or short notice", "### F10 · replacement fails to bootstrap",
		"Checkpoint every 4m43s of compute",
		"- [ ] Meet ttr.capacity.p95 \\<= 10m (measured 30m00s)",
		"- [ ] Set the checkpoint interval to 4m43s",
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "Not seen:", "every failure mode shows in this fixture")
}

func TestMarkdownEscapes(t *testing.T) {
	assert.Equal(t, `spot\_a \*.yaml \| a \<b\> \[x\]`, mdText("spot_a *.yaml | a <b> [x]"))
	assert.Equal(t, "one two", mdText("one\ntwo"))
}

func TestCutShortSaysSo(t *testing.T) {
	b := fixtures()[1].bundle(t)
	for _, f := range Formats() {
		out := string(render(t, b, f))
		assert.Contains(t, out, "CUT SHORT", f)
	}
}

func TestTextWithBaseline(t *testing.T) {
	out := string(render(t, fixtures()[4].bundle(t), FormatText))
	assert.Contains(t, out, "Baseline · testdata/gameday-baseline.journal (nightly-batch, seed 42: PASS, score 100)")
	assert.Contains(t, out, "✗ ttr.p95 <= 5m: met by the baseline, failed now")
	assert.NotContains(t, out, "stimulus", "unchanged stimulus metrics are left out")
	assert.True(t, strings.HasSuffix(out, "4 metric regressions beyond 10%, 1 SLO newly failed\n"), out)
}
