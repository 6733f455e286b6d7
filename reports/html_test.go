package reports

import (
	"image"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/internal/browsertest"
	"github.com/spotdrill/spotdrill/journal"
)

func TestHTMLIsSelfContained(t *testing.T) {
	for _, fx := range fixtures() {
		page := string(render(t, fx.bundle(t), FormatHTML))
		// Nothing is fetched at view time: no script, no stylesheet or font
		// link, no image or frame source, no URL in the CSS.
		for _, banned := range []*regexp.Regexp{
			regexp.MustCompile(`(?i)<script`), regexp.MustCompile(`(?i)<link`), regexp.MustCompile(`(?i)<img`),
			regexp.MustCompile(`(?i)<iframe`), regexp.MustCompile(`(?i)\bsrc=`), regexp.MustCompile(`(?i)url\(`),
			regexp.MustCompile(`(?i)@import`), regexp.MustCompile(`(?i)@font-face`), regexp.MustCompile(`(?i)href="http`),
		} {
			assert.NotRegexp(t, banned, page, fx.name)
		}
		assert.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"), fx.name)
		assert.NotContains(t, page, "<?xml", "the SVGs are inlined without their prolog")
	}
}

func TestHTMLCharts(t *testing.T) {
	page := string(render(t, fixtures()[0].bundle(t), FormatHTML))
	for _, id := range []string{"chart-timeline", "chart-ttr", "chart-lost-work"} {
		assert.Contains(t, page, `<figure id="`+id+`">`)
	}
	assert.Equal(t, 3, strings.Count(page, `<svg class="chart"`))
	assert.Contains(t, page, "SLO ttr.p95 &lt;= 5m", "the TTR chart shows the objective")
	// A run without interrupted work has no TTR or lost work to chart.
	r := fold(started(), ended(0)).Report()
	empty := string(render(t, NewBundle(r, r.Grading, AnalysisOptions{}), FormatHTML))
	assert.NotContains(t, empty, "<svg")
	assert.Contains(t, empty, "No SLOs to grade.")
}

func TestHTMLEscapesJournalText(t *testing.T) {
	r := fold(started(), journal.Event{T: 10, Type: journal.Note, Reason: `<script>alert("x")</script> & done`}, ended(20)).Report()
	page := string(render(t, NewBundle(r, r.Grading, AnalysisOptions{}), FormatHTML))
	assert.NotContains(t, page, "<script>")
	assert.Contains(t, page, "&lt;script&gt;")
}

// The HTML report opens in a real browser: the screenshot is not blank,
// and the charts are in the DOM as SVG with drawn content.
func TestHTMLInHeadlessChromium(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	require.NoError(t, os.WriteFile(path, render(t, fixtures()[3].bundle(t), FormatHTML), 0o644))
	url := "file://" + path

	shot := filepath.Join(dir, "shot.png")
	img := browsertest.Screenshot(t, url, shot, 1280, 2000)
	assert.Equal(t, image.Pt(1280, 2000), img.Bounds().Size())
	assert.Greater(t, browsertest.DistinctColours(img), 8, "the screenshot is blank")
	if keep := os.Getenv("SPOTDRILL_KEEP_SCREENSHOT"); keep != "" {
		data, err := os.ReadFile(shot)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(keep, data, 0o644))
	}

	dom := string(browsertest.Chromium(t, "--dump-dom", url))
	for _, id := range []string{"chart-timeline", "chart-ttr", "chart-lost-work"} {
		i := strings.Index(dom, `<figure id="`+id+`">`)
		require.GreaterOrEqual(t, i, 0, "%s is not in the DOM", id)
		fig := dom[i:]
		fig = fig[:strings.Index(fig, "</figure>")]
		assert.Contains(t, fig, `<svg class="chart"`, id)
		assert.Greater(t, strings.Count(fig, "<path"), 10, "%s draws nothing", id)
		assert.Contains(t, fig, "<text", id)
	}
	assert.Contains(t, dom, "Game day postmortem: failure-modes")
}
