package experiments

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/internal/sim"
	"github.com/spotdrill/spotdrill/journal"
	"github.com/spotdrill/spotdrill/scenarios"
)

var updateJournals = flag.Bool("update-journals", false, "rewrite testdata/journal-sha256.txt")

// TestLibraryJournalsDoNotChange pins the SHA-256 of every library
// scenario's journal. A change of the simulator's speed or memory must not
// change a byte of what it records; a change of the model or the journal
// format is made on purpose, and rewrites the file with -update-journals.
func TestLibraryJournalsDoNotChange(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "scenarios", "library", "*.yaml"))
	require.NoError(t, err)
	got := map[string]string{}
	for _, f := range files {
		sc, err := scenarios.Load(f)
		require.NoError(t, err)
		sc.File = filepath.Base(f) // the journal records it: keep it the same on every machine
		var buf bytes.Buffer
		jw := journal.NewWriter(&buf)
		bus := journal.NewBus(jw)
		w, err := NewSimWorld(sc, bus, sim.Options{})
		require.NoError(t, err)
		_, err = Run(context.Background(), Config{Scenario: sc, World: w, Bus: bus, Journal: jw, Tool: "spotdrill test"})
		require.NoError(t, err)
		require.NoError(t, jw.Close())
		sum := sha256.Sum256(buf.Bytes())
		got[filepath.Base(f)] = hex.EncodeToString(sum[:])
	}
	names := make([]string, 0, len(got))
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", got[n], n)
	}
	path := filepath.Join("testdata", "journal-sha256.txt")
	if *updateJournals {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run with -update-journals to create %s", path)
	require.Equal(t, string(want), b.String(), "a library journal changed")
}
