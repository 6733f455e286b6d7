package scenarios

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/goccy/go-yaml"
)

// Load reads, decodes, defaults and validates the scenario file at path.
// Any error is an *Errors listing every problem found.
func Load(path string) (*Scenario, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path)
}

// readFile reads a scenario file, refusing one over MaxFileSize before
// reading it.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, openProblem(path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, openProblem(path, err)
	}
	if info.IsDir() {
		return nil, fileProblem(path, "is a directory (expected a scenario YAML file)")
	}
	if info.Size() > MaxFileSize {
		return nil, fileProblem(path, "scenario file is %s, larger than the 1 MiB limit (expected a scenario file under 1 MiB)", formatSize(info.Size()))
	}
	// The file may grow between Stat and Read: read one byte past the limit
	// so that Parse still refuses it.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, openProblem(path, err)
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
