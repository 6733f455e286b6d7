package reports

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/bytedance/sonic"
	gojson "github.com/goccy/go-json"

	"github.com/spotdrill/spotdrill/journal"
)

// BenchmarkDecodeJournal decodes every line of a journal of a million
// events into journal.Event: the hand-written decoder against maintained
// alternatives, and the floor that only reads and splits the file. The
// journal is the synthetic one of BenchmarkLoad, or the file
// SPOTDRILL_BENCH_JOURNAL names (for example a large-fleet day's journal).
func BenchmarkDecodeJournal(b *testing.B) {
	path := os.Getenv("SPOTDRILL_BENCH_JOURNAL")
	if path == "" {
		path = filepath.Join(b.TempDir(), "synthetic.journal")
		writeSyntheticJournal(b, path, 1_000_000)
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	decoders := []struct {
		name   string
		decode func([]byte, *journal.Event) error
	}{
		{"read-only-floor", nil},
		{"journal.DecodeEvent", journal.DecodeEvent},
		{"sonic", func(l []byte, e *journal.Event) error { return sonic.Unmarshal(l, e) }},
		{"goccy-go-json", func(l []byte, e *journal.Event) error { return gojson.Unmarshal(l, e) }},
		{"encoding-json", func(l []byte, e *journal.Event) error { return json.Unmarshal(l, e) }},
	}
	for _, d := range decoders {
		b.Run(d.name, func(b *testing.B) {
			b.SetBytes(st.Size())
			b.ReportAllocs()
			for b.Loop() {
				n := decodeLines(b, path, d.decode)
				b.ReportMetric(float64(n), "events/op")
			}
		})
	}
}

// decodeLines reads path line by line, as the journal reader does, and
// decodes each line with decode (nil: read only). It returns the lines.
func decodeLines(b *testing.B, path string, decode func([]byte, *journal.Event) error) int {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	n := 0
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A long line (a workload summary part): gather it whole.
			head := bytes.Clone(line)
			rest, err2 := r.ReadBytes('\n')
			line, err = append(head, rest...), err2
		}
		if len(line) > 1 {
			n++
			if decode != nil {
				var e journal.Event
				if derr := decode(line, &e); derr != nil {
					b.Fatalf("line %d: %v", n, derr)
				}
			}
		}
		if err != nil {
			return n
		}
	}
}
