package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/spotdrill/spotdrill/internal/inputfile"
	"github.com/spotdrill/spotdrill/internal/textsafe"
)

// ShardDoc is what one shard of a sweep prints with --output json: the
// sweep's header and the raw figures of its runs, which `sweep merge`
// reads back.
type ShardDoc struct {
	Schema string     `json:"schema"`
	Shard  string     `json:"shard"`
	Sweep  Header     `json:"sweep"`
	Runs   []ShardRun `json:"runs"`
}

// ShardRun is one run in a shard document. Metrics follow the header's
// order; null is a metric the run did not measure.
type ShardRun struct {
	Run     int        `json:"run"`
	Metrics []*float64 `json:"metrics"`
	Met     []bool     `json:"met"`
	Verdict string     `json:"verdict"`
}

// NewShardDoc packs a shard's runs.
func NewShardDoc(h Header, shard Shard, runs []RunResult) *ShardDoc {
	doc := &ShardDoc{Schema: ShardSchema, Shard: shard.String(), Sweep: h, Runs: make([]ShardRun, len(runs))}
	for i, r := range runs {
		sr := ShardRun{Run: r.Run, Met: r.Met, Verdict: r.Verdict, Metrics: make([]*float64, len(r.Metrics))}
		if sr.Met == nil {
			sr.Met = []bool{}
		}
		for k, v := range r.Metrics {
			if !math.IsNaN(v) {
				sr.Metrics[k] = &v
			}
		}
		doc.Runs[i] = sr
	}
	return doc
}

// ParseShard reads "i/n" (1-based), or "k8s/n", where the index is
// JOB_COMPLETION_INDEX + 1 as a Kubernetes Indexed Job sets it.
func ParseShard(s string, getenv func(string) string) (Shard, error) {
	const want = "expected i/n with 1 <= i <= n, such as 2/8, or k8s/n inside an Indexed Job"
	a, b, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(b)
	if !ok || err != nil || n < 1 || n > 100_000 {
		return Shard{}, fmt.Errorf("--shard %s (%s)", textsafe.Quote(s), want)
	}
	var i int
	if a == "k8s" {
		env := getenv("JOB_COMPLETION_INDEX")
		idx, err := strconv.Atoi(env)
		if err != nil || idx < 0 {
			return Shard{}, fmt.Errorf("--shard k8s/%d: JOB_COMPLETION_INDEX is %s (expected the completion index, 0 to %d, that an Indexed Job sets)", n, textsafe.Quote(env), n-1)
		}
		if idx >= n {
			return Shard{}, fmt.Errorf("--shard k8s/%d: JOB_COMPLETION_INDEX is %d (expected 0 to %d: the Job's completions must equal the shard count)", n, idx, n-1)
		}
		i = idx + 1
	} else if i, err = strconv.Atoi(a); err != nil {
		return Shard{}, fmt.Errorf("--shard %s (%s)", textsafe.Quote(s), want)
	}
	if i < 1 || i > n {
		return Shard{}, fmt.Errorf("--shard %s: shard %d of %d (%s)", textsafe.Quote(s), i, n, want)
	}
	return Shard{Index: i, Count: n}, nil
}

// maxShardFile bounds a shard document: a run is a few hundred bytes, and
// a shard of a 10,000,000-run sweep split ten ways is about a gigabyte.
const maxShardFile = 2 << 30

// ReadShard reads a shard document.
func ReadShard(path string) (*ShardDoc, error) {
	f, err := inputfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(io.LimitReader(f, maxShardFile+1))
	dec.DisallowUnknownFields()
	var doc ShardDoc
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: not a sweep shard document: %w (expected the output of spotdrill sweep --shard i/n --output json)", textsafe.Quote(path), err)
	}
	if doc.Schema != ShardSchema {
		return nil, fmt.Errorf("%s: schema is %s (expected %s)", textsafe.Quote(path), textsafe.Quote(doc.Schema), ShardSchema)
	}
	return &doc, nil
}

// Merge combines the shards of one sweep into its runs, in run order,
// exactly as one process would have played them. A missing, duplicate or
// foreign shard is an error that names it.
func Merge(paths []string, docs []*ShardDoc) (Header, []RunResult, error) {
	if len(docs) == 0 {
		return Header{}, nil, fmt.Errorf("no shard documents (expected the files that sweep --shard i/n --output json wrote)")
	}
	first := docs[0]
	shard0, err := ParseShard(first.Shard, func(string) string { return "" })
	if err != nil {
		return Header{}, nil, fmt.Errorf("%s: %w", textsafe.Quote(paths[0]), err)
	}
	want, err := json.Marshal(first.Sweep)
	if err != nil {
		return Header{}, nil, err
	}
	seen := make([]string, shard0.Count+1)
	for k, doc := range docs {
		sh, err := ParseShard(doc.Shard, func(string) string { return "" })
		if err != nil {
			return Header{}, nil, fmt.Errorf("%s: %w", textsafe.Quote(paths[k]), err)
		}
		if sh.Count != shard0.Count {
			return Header{}, nil, fmt.Errorf("%s is shard %s, %s is shard %s: shards of different splits (expected every shard of one --shard i/%d sweep)", textsafe.Quote(paths[0]), first.Shard, textsafe.Quote(paths[k]), doc.Shard, shard0.Count)
		}
		got, err := json.Marshal(doc.Sweep)
		if err != nil {
			return Header{}, nil, err
		}
		if !bytes.Equal(got, want) {
			return Header{}, nil, fmt.Errorf("%s is a shard of another sweep than %s (a different scenario, grid, seeds or goal)", textsafe.Quote(paths[k]), textsafe.Quote(paths[0]))
		}
		if seen[sh.Index] != "" {
			return Header{}, nil, fmt.Errorf("shard %s is given twice: %s and %s", doc.Shard, textsafe.Quote(seen[sh.Index]), textsafe.Quote(paths[k]))
		}
		seen[sh.Index] = paths[k]
	}
	var missing []string
	for i := 1; i <= shard0.Count; i++ {
		if seen[i] == "" {
			missing = append(missing, fmt.Sprintf("%d/%d", i, shard0.Count))
		}
	}
	if len(missing) > 0 {
		return Header{}, nil, fmt.Errorf("missing shard %s (expected all %d shards)", strings.Join(missing, ", "), shard0.Count)
	}

	h := first.Sweep
	if len(h.SLOs) == 0 || h.Runs%len(h.SLOs) != 0 {
		return Header{}, nil, fmt.Errorf("%s: the header's runs (%d) do not divide among its %d grid points", textsafe.Quote(paths[0]), h.Runs, len(h.SLOs))
	}
	runs := make([]RunResult, h.Runs)
	have := make([]bool, h.Runs)
	for k, doc := range docs {
		sh, _ := ParseShard(doc.Shard, func(string) string { return "" })
		for _, r := range doc.Runs {
			if r.Run < 0 || r.Run >= h.Runs || !sh.has(r.Run) {
				return Header{}, nil, fmt.Errorf("%s: run %d does not belong to shard %s", textsafe.Quote(paths[k]), r.Run, doc.Shard)
			}
			if have[r.Run] {
				return Header{}, nil, fmt.Errorf("%s: run %d appears twice", textsafe.Quote(paths[k]), r.Run)
			}
			point := r.Run / h.seedsPerPoint()
			if len(r.Metrics) != len(h.Metrics) || len(r.Met) != len(h.SLOs[point]) {
				return Header{}, nil, fmt.Errorf("%s: run %d has %d metrics and %d SLOs (expected %d and %d)", textsafe.Quote(paths[k]), r.Run, len(r.Metrics), len(r.Met), len(h.Metrics), len(h.SLOs[point]))
			}
			have[r.Run] = true
			res := RunResult{Run: r.Run, Met: r.Met, Verdict: r.Verdict, Metrics: make([]float64, len(r.Metrics))}
			for m, v := range r.Metrics {
				res.Metrics[m] = math.NaN()
				if v != nil {
					res.Metrics[m] = *v
				}
			}
			runs[r.Run] = res
		}
	}
	for i, ok := range have {
		if !ok {
			sh := Shard{Index: i%shard0.Count + 1, Count: shard0.Count}
			return Header{}, nil, fmt.Errorf("run %d is missing from shard %s (%s): the shard is incomplete", i, sh, textsafe.Quote(seen[sh.Index]))
		}
	}
	return h, runs, nil
}

// WriteJSON writes v as indented JSON and a newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteFile writes to path, or to stdout when path is "" or "-". A file
// appears whole or not at all: it is written under a temporary name and
// renamed, so that a merge step waiting for shard documents on a shared
// volume never reads half of one.
func WriteFile(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		return write(stdout)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := errors.Join(write(f), f.Sync(), f.Close()); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
