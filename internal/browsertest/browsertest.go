// Package browsertest opens pages in headless Chromium for tests, as a
// reader would, with everything that could reach the network turned off.
package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// RequireTool finds an external program, or skips the test without it;
// in CI (CI=true) a missing program fails the test instead, so that CI
// cannot pass by skipping.
func RequireTool(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (%s); CI must run this test", name, install)
	}
	t.Skipf("%s is not installed (%s)", name, install)
	return ""
}

// Chromium runs headless Chromium with args and returns its standard
// output.
func Chromium(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := RequireTool(t, "chromium", "apt-get install chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(),
	}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "chromium: %s", stderr.String())
	return stdout.Bytes()
}

// Screenshot renders the page at url into a PNG of the given size.
func Screenshot(t *testing.T, url, path string, width, height int) image.Image {
	t.Helper()
	Chromium(t, "--screenshot="+path, fmt.Sprintf("--window-size=%d,%d", width, height), url)
	f, err := os.Open(path)
	require.NoError(t, err, "no screenshot")
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	return img
}

// DistinctColours counts the colours of a sample of pixels: a blank page
// has one.
func DistinctColours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r >> 8, g >> 8, bl >> 8, a >> 8}] = true
		}
	}
	return len(seen)
}
