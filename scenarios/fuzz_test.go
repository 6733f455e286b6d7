package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic or hang (the fuzzer
// reports an input that runs for more than a few seconds), that every
// error is an *Errors with places inside the file, and that whatever parses
// is valid. Seeds: the fixtures under testdata/ and the corpus under
// testdata/fuzz/FuzzParse/. Run it with
//
//	go test ./scenarios -run XXX -fuzz FuzzParse -fuzztime 60s
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	bad, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range append(files, bad...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	env := func(name string) (string, bool) {
		if name == "SPOTDRILL_TEST_SUBSCRIPTION" {
			return "sub", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parse(data, "fuzz.yaml", env)
		if err != nil {
			checkErrors(t, err)
			return
		}
		if s == nil {
			t.Fatal("no scenario and no error")
		}
		// What parsed is valid, and stays so when defaulted again.
		s.ApplyDefaults()
		if probs := s.Validate(); len(probs) > 0 {
			t.Fatalf("a parsed scenario is invalid: %v", probs)
		}
	})
}

func checkErrors(t *testing.T, err error) {
	t.Helper()
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error of type %T, not *Errors: %v", err, err)
	}
	if len(errs.Problems) == 0 {
		t.Fatal("*Errors without problems")
	}
	for _, p := range errs.Problems {
		if p.Line < 0 || p.Col < 0 {
			t.Fatalf("problem outside the file: %+v", p)
		}
		if p.Msg == "" || p.File != "fuzz.yaml" {
			t.Fatalf("problem without message or file: %+v", p)
		}
	}
	if errs.Error() == "" {
		t.Fatal("empty error message")
	}
}
