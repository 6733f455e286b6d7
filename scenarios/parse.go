package scenarios

import (
	"github.com/spotdrill/spotdrill/internal/inputfile"

	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/goccy/go-yaml"
)

// Load reads, decodes, defaults and validates the scenario file at path.
// Any error is an *Errors listing every problem found.
func Load(path string) (*Scenario, error) {
	sc, _, err := LoadContext(context.Background(), path)
	return sc, err
}

// LoadContext is Load that also returns the bytes it read, once, and gives
// up when ctx is cancelled (a signal) even while a pipe or FIFO has not
// written yet.
func LoadContext(ctx context.Context, path string) (*Scenario, []byte, error) {
	data, err := ReadFile(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	sc, err := Parse(data, path)
	return sc, data, err
}

// ReadFile reads a scenario once, through the MaxFileSize limit: a regular
// file is refused by its size before it is read; a pipe, a FIFO or a
// device is read as a stream up to one byte past the limit. Opening never
// waits for a FIFO's writer, and a read that waits is given up when ctx is
// cancelled. A directory is an error.
func ReadFile(ctx context.Context, path string) ([]byte, error) {
	f, err := inputfile.Open(path)
	if err != nil {
		return nil, openProblem(path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, openProblem(path, err)
	}
	switch mode := info.Mode(); {
	case mode.IsDir():
		return nil, fileProblem(path, "is a directory (expected a scenario YAML file)")
	case mode.IsRegular() && info.Size() > MaxFileSize:
		return nil, fileProblem(path, "scenario file is %s, larger than the 1 MiB limit (expected a scenario file under 1 MiB)", formatSize(info.Size()))
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Now()) })
	defer stop()
	// One byte past the limit, so that Parse refuses a file that grew or a
	// stream that goes on.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fileProblem(path, "reading was stopped by a signal before the file ended")
		}
		return nil, openProblem(path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fileProblem(path, "scenario is larger than the 1 MiB limit (expected a scenario file under 1 MiB)")
	}
	return data, nil
}

func openProblem(path string, err error) *Errors {
	var msg string
	switch {
	case errors.Is(err, fs.ErrNotExist):
		msg = "no such file (expected the path of a scenario YAML file)"
	case errors.Is(err, fs.ErrPermission):
		msg = "permission denied (expected a readable scenario file)"
	default:
		msg = fmt.Sprintf("cannot read the file: %v", err)
	}
	e := fileProblem(path, "%s", msg)
	e.cause = err
	return e
}

// Parse decodes a scenario from data, expands ${ENV} references in
// target.azure, applies defaults and validates it. file names the source in
// problems. Any error is an *Errors listing every problem found, each with
// its line and column.
func Parse(data []byte, file string) (*Scenario, error) {
	return parse(data, file, os.LookupEnv)
}

// parse is Parse with the environment passed in, for tests.
func parse(data []byte, file string, lookupEnv func(string) (string, bool)) (*Scenario, error) {
	doc, errs := readDocument(data, file)
	if errs != nil {
		return nil, errs
	}
	return decodeDocument(doc, file, lookupEnv)
}

// decodeDocument checks the document's shape, decodes it, applies defaults
// and validates it.
func decodeDocument(doc *document, file string, lookupEnv func(string) (string, bool)) (*Scenario, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	if probs := checkShape(doc.body, doc.ix, file); len(probs) > 0 {
		return nil, newErrors(probs)
	}
	var s Scenario
	err := safely(func() error {
		// The decoder counts a key that overrides a merged one ("<<: *base"
		// then "name: b") as a duplicate; the parser has already refused
		// keys written twice, so duplicates here are only such overrides.
		return yaml.NodeToValue(doc.body, &s, yaml.DisallowUnknownField(), yaml.AllowDuplicateMapKey())
	})
	if err != nil {
		return nil, newErrors([]Problem{yamlProblem(file, err, doc.ix)})
	}
	s.File = file
	probs := s.expandEnv(lookupEnv)
	s.markExplicitZeros(doc.ix)
	s.ApplyDefaults()
	probs = append(probs, s.Validate()...)
	if len(probs) > 0 {
		for i := range probs {
			place(&probs[i], doc.ix, file)
		}
		return nil, newErrors(probs)
	}
	return &s, nil
}

// place fills in the file, line and column of a problem from its field.
func place(p *Problem, ix *index, file string) {
	p.File = file
	if p.Line == 0 {
		pos := ix.lookup(p.Field)
		p.Line, p.Col = pos.line, pos.col
	}
}
