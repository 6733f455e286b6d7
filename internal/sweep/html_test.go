package sweep

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/internal/browsertest"
)

// The sweep page opens in a real browser: not blank, a chart per metric
// drawn as SVG, and for a two-parameter grid the heat maps.
func TestHTMLInHeadlessChromium(t *testing.T) {
	grid := []Param{
		{Path: "workload.drainTime", Values: []string{"5s", "20s", "40s"}},
		{Path: "fleet.notice", Values: []string{"10s", "30s"}},
	}
	s := newSweep(t, "short-notice-slow-drain.yaml", 4, grid, Goal{Metric: "lostWork.fraction", Probability: 0.5})
	runs, err := s.Play(context.Background(), Options{})
	require.NoError(t, err)
	res, err := Aggregate(s.Header(), runs)
	require.NoError(t, err)
	var page bytes.Buffer
	require.NoError(t, WriteHTML(&page, res, ShownMetrics(res, nil)))
	assert.NotContains(t, page.String(), "<script")
	assert.NotContains(t, page.String(), "src=")
	assert.NotContains(t, page.String(), `href="http`)

	dir := t.TempDir()
	path := filepath.Join(dir, "sweep.html")
	require.NoError(t, os.WriteFile(path, page.Bytes(), 0o644))
	url := "file://" + path
	img := browsertest.Screenshot(t, url, filepath.Join(dir, "shot.png"), 1280, 1600)
	assert.Greater(t, browsertest.DistinctColours(img), 8, "the screenshot is blank")

	dom := string(browsertest.Chromium(t, "--dump-dom", url))
	assert.Equal(t, 2, strings.Count(dom, `<svg class="chart"`), "a chart per metric: lostWork.fraction, ttr.p95")
	assert.Contains(t, dom, "Probability that any SLO breaks")
	assert.Contains(t, dom, "Breach probability: ttr.p95 &lt;= 3m")
	assert.Contains(t, dom, `<tr class="best">`)
	assert.Greater(t, strings.Count(dom, "<path"), 20, "the charts draw nothing")
}
