package reports

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failAfter accepts n bytes, then fails every write: a disk that fills up
// half-way through a report.
type failAfter struct {
	w io.Writer
	n int
}

var errDiskFull = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) <= f.n {
		f.n -= len(p)
		return f.w.Write(p)
	}
	k, _ := f.w.Write(p[:f.n])
	f.n = 0
	return k, errDiskFull
}

func TestParseFormats(t *testing.T) {
	fs, err := ParseFormats("junit, HTML,md,junit,markdown")
	require.NoError(t, err)
	assert.Equal(t, []Format{FormatJUnit, FormatHTML, FormatMarkdown}, fs)
	_, err = ParseFormats("text,pdf")
	assert.ErrorContains(t, err, `unknown report format "pdf"`)
	_, err = ParseFormats(" , ")
	assert.ErrorContains(t, err, "no report format")
}

func TestOutputTargets(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing")
	require.NoError(t, os.Mkdir(existing, 0o755))
	tests := []struct {
		name string
		out  Output
		want []Target
		err  string
	}{
		{name: "default: text to stdout", out: Output{}, want: []Target{{Format: FormatText}}},
		{name: "one format to stdout", out: Output{Formats: []Format{FormatJSON}, Path: "-"}, want: []Target{{Format: FormatJSON}}},
		{name: "several to stdout", out: Output{Formats: []Format{FormatJSON, FormatMarkdown}}, err: "2 report formats need a directory"},
		{name: "one format to a file", out: Output{Formats: []Format{FormatMarkdown}, Path: filepath.Join(dir, "pm.md")},
			want: []Target{{FormatMarkdown, filepath.Join(dir, "pm.md")}}},
		{name: "one format to an existing directory", out: Output{Formats: []Format{FormatJUnit}, Path: existing},
			want: []Target{{FormatJUnit, filepath.Join(existing, "junit.xml")}}},
		{name: "a trailing slash makes a directory", out: Output{Formats: []Format{FormatHTML}, Path: filepath.Join(dir, "new") + "/"},
			want: []Target{{FormatHTML, filepath.Join(dir, "new", "report.html")}}},
		{name: "several formats make a directory", out: Output{Formats: Formats(), Path: filepath.Join(dir, "out")},
			want: []Target{
				{FormatText, filepath.Join(dir, "out", "report.txt")}, {FormatMarkdown, filepath.Join(dir, "out", "report.md")},
				{FormatHTML, filepath.Join(dir, "out", "report.html")}, {FormatJSON, filepath.Join(dir, "out", "report.json")},
				{FormatJUnit, filepath.Join(dir, "out", "junit.xml")},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.out.Targets()
			if tt.err != "" {
				var ue *UsageError
				require.ErrorAs(t, err, &ue)
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestWriteAllWritesEveryFormat(t *testing.T) {
	b := fixtures()[0].bundle(t)
	dir := filepath.Join(t.TempDir(), "out")
	written, err := WriteAll(b.Report, b.Grading, Output{Formats: Formats(), Path: dir, Source: b.Source})
	require.NoError(t, err)
	require.Len(t, written, 5)
	for _, f := range Formats() {
		got, err := os.ReadFile(filepath.Join(dir, f.FileName()))
		require.NoError(t, err)
		assert.Equal(t, string(render(t, b, f)), string(got), f)
		st, err := os.Stat(filepath.Join(dir, f.FileName()))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o644), st.Mode().Perm(), "reports are for sharing")
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 5, "no temporary file left behind")
}

func TestWriteAllToStdout(t *testing.T) {
	b := fixtures()[0].bundle(t)
	var out bytes.Buffer
	written, err := WriteAll(b.Report, b.Grading, Output{Formats: []Format{FormatJSON}, Stdout: &out, Source: b.Source})
	require.NoError(t, err)
	assert.Empty(t, written)
	assert.Equal(t, string(render(t, b, FormatJSON)), out.String())
}

// Every renderer returns the error of a writer that fails part-way, at
// any point, instead of carrying on or panicking.
func TestRenderersReturnWriteErrors(t *testing.T) {
	b := fixtures()[3].bundle(t)
	for _, f := range Formats() {
		full := len(render(t, b, f))
		for _, n := range []int{0, 1, full / 3, full / 2, full - 1} {
			err := Render(&failAfter{w: io.Discard, n: n}, b, f)
			assert.ErrorIs(t, err, errDiskFull, "%s failing after %d of %d bytes", f, n, full)
		}
	}
}

// A write that fails mid-way never leaves a truncated report in place: the
// previous file stays whole and no temporary file remains.
func TestWriteAllNeverLeavesATruncatedFile(t *testing.T) {
	b := fixtures()[0].bundle(t)
	for _, f := range Formats() {
		t.Run(string(f), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, f.FileName())
			require.NoError(t, os.WriteFile(path, []byte("last night's report\n"), 0o644))
			full := len(render(t, b, f))
			out := Output{Formats: []Format{f}, Path: path, Source: b.Source}
			out.wrap = func(w io.Writer) io.Writer { return &failAfter{w: w, n: full / 2} }
			_, err := WriteAll(b.Report, b.Grading, out)
			require.ErrorIs(t, err, errDiskFull)
			assert.ErrorContains(t, err, string(f)+" report: write "+path)
			got, rerr := os.ReadFile(path)
			require.NoError(t, rerr)
			assert.Equal(t, "last night's report\n", string(got))
			entries, _ := os.ReadDir(dir)
			assert.Len(t, entries, 1, "the temporary file is removed")
		})
	}
	t.Run("nothing written to stdout either", func(t *testing.T) {
		var stdout bytes.Buffer
		out := Output{Formats: []Format{FormatMarkdown}, Stdout: &stdout}
		out.wrap = func(w io.Writer) io.Writer { return &failAfter{w: w, n: 100} }
		_, err := WriteAll(b.Report, b.Grading, out)
		require.ErrorIs(t, err, errDiskFull)
		assert.Zero(t, stdout.Len())
	})
}

func TestWriteFileAtomicCannotCreate(t *testing.T) {
	err := WriteFileAtomic(filepath.Join(t.TempDir(), "missing", "x.md"), func(io.Writer) error { return nil })
	require.Error(t, err)
	assert.ErrorContains(t, err, "write ")
}

func TestOutputFor(t *testing.T) {
	journal := filepath.Join("runs", "nightly", "journal.jsonl")
	out, err := OutputFor("junit,html", "", journal)
	require.NoError(t, err)
	targets, err := out.Targets()
	require.NoError(t, err)
	assert.Equal(t, []Target{
		{FormatJUnit, filepath.Join("runs", "nightly", "junit.xml")},
		{FormatHTML, filepath.Join("runs", "nightly", "report.html")},
	}, targets, "beside the journal by default")
	assert.Equal(t, journal, out.Source)

	out, err = OutputFor("md", "pm.md", journal)
	require.NoError(t, err)
	assert.Equal(t, "pm.md", out.Path)

	_, err = OutputFor("pdf", "", journal)
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
	assert.ErrorContains(t, err, "--report: unknown report format")
}
