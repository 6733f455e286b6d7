package reports

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Format names an output format of a report.
type Format string

// The formats, in the order WriteAll writes them.
const (
	FormatText     Format = "text"
	FormatMarkdown Format = "md"
	FormatHTML     Format = "html"
	FormatJSON     Format = "json"
	FormatJUnit    Format = "junit"
)

// Formats lists every format.
func Formats() []Format {
	return []Format{FormatText, FormatMarkdown, FormatHTML, FormatJSON, FormatJUnit}
}

// FileName is the file a format gets in an output directory.
func (f Format) FileName() string {
	switch f {
	case FormatText:
		return "report.txt"
	case FormatMarkdown:
		return "report.md"
	case FormatHTML:
		return "report.html"
	case FormatJSON:
		return "report.json"
	case FormatJUnit:
		return "junit.xml"
	}
	return "report." + string(f)
}

// ParseFormats reads a comma-separated list of formats ("junit,html"),
// as --format and --report take it. Repeats are dropped; the order is kept.
func ParseFormats(list string) ([]Format, error) {
	var out []Format
	for _, s := range strings.Split(list, ",") {
		s = strings.ToLower(strings.TrimSpace(s))
		switch s {
		case "":
			continue
		case "markdown":
			s = string(FormatMarkdown)
		case "xml":
			s = string(FormatJUnit)
		}
		f := Format(s)
		if _, ok := renderers()[f]; !ok {
			return nil, fmt.Errorf("unknown report format %q (expected a comma-separated list of text, md, html, json, junit)", s)
		}
		if !containsFormat(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no report format given (expected a comma-separated list of text, md, html, json, junit)")
	}
	return out, nil
}

func containsFormat(fs []Format, f Format) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

// Bundle is what every format renders: the report, its grades, the
// postmortem analysis and, when given, the comparison with a baseline.
type Bundle struct {
	Report   *Report
	Grading  Grading
	Analysis Analysis
	Baseline *Comparison
	// Source names the journal the report comes from; empty when unknown.
	Source string
	// Text shapes the terminal summary.
	Text TextOptions
}

// NewBundle grades nothing anew: it analyses a report as graded by g.
func NewBundle(r *Report, g Grading, opts AnalysisOptions) *Bundle {
	return &Bundle{Report: r, Grading: g, Analysis: Analyze(r, g, opts)}
}

// Renderer writes a bundle in one format. A Renderer returns the first
// error of the writer it was given.
type Renderer func(w io.Writer, b *Bundle) error

// renderers is the one place a format meets its writer: a new format is a
// constructor and a line here.
func renderers() map[Format]Renderer {
	return map[Format]Renderer{
		FormatText:     writeTextBundle,
		FormatMarkdown: WriteMarkdown,
		FormatHTML:     WriteHTML,
		FormatJSON:     WriteJSON,
		FormatJUnit:    WriteJUnit,
	}
}

// Render writes a bundle in one format.
func Render(w io.Writer, b *Bundle, f Format) error {
	render, ok := renderers()[f]
	if !ok {
		return fmt.Errorf("unknown report format %q", f)
	}
	return render(w, b)
}

func writeTextBundle(w io.Writer, b *Bundle) error {
	if err := WriteText(w, b.Report, b.Grading, b.Text); err != nil {
		return err
	}
	if b.Baseline != nil {
		return writeComparisonText(w, b.Baseline, b.Text.Color)
	}
	return nil
}

// Output says where WriteAll puts a report.
type Output struct {
	// Formats to write; text alone when empty.
	Formats []Format
	// Path is where: empty (or "-") for Stdout, which takes one format;
	// a directory for one file per format (Format.FileName) when it
	// exists as one, ends with a path separator or more than one format is
	// asked for; else a file for the one format.
	Path   string
	Stdout io.Writer

	Text     TextOptions
	Analysis AnalysisOptions
	// Baseline, when set, adds the comparison to every format.
	Baseline *Comparison
	// Source names the journal in the report's header.
	Source string

	// wrap lets tests put a failing writer under a renderer.
	wrap func(io.Writer) io.Writer
}

// Target is one format and where it goes; an empty Path is Stdout.
type Target struct {
	Format Format
	Path   string
}

// UsageError is an Output that cannot be written as asked: a mistake in
// the flags, not a failure to write.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Targets resolves where each format goes, without writing anything, so
// that a command can refuse bad flags before doing any work.
func (o Output) Targets() ([]Target, error) {
	formats := o.Formats
	if len(formats) == 0 {
		formats = []Format{FormatText}
	}
	for _, f := range formats {
		if _, ok := renderers()[f]; !ok {
			return nil, &UsageError{fmt.Errorf("unknown report format %q", f)}
		}
	}
	if o.Path == "" || o.Path == "-" {
		if len(formats) > 1 {
			return nil, &UsageError{fmt.Errorf("%d report formats need a directory to write to (-o DIR)", len(formats))}
		}
		return []Target{{Format: formats[0]}}, nil
	}
	if o.isDir(len(formats)) {
		out := make([]Target, len(formats))
		for i, f := range formats {
			out[i] = Target{Format: f, Path: filepath.Join(o.Path, f.FileName())}
		}
		return out, nil
	}
	return []Target{{Format: formats[0], Path: o.Path}}, nil
}

func (o Output) isDir(formats int) bool {
	if formats > 1 || strings.HasSuffix(o.Path, "/") || strings.HasSuffix(o.Path, string(filepath.Separator)) {
		return true
	}
	st, err := os.Stat(o.Path)
	return err == nil && st.IsDir()
}

// OutputFor is the Output of `spotdrill run --report FORMATS -o PATH`:
// the formats parsed and the targets checked, so that bad flags fail before
// the game day runs. PATH defaults to the journal's directory. Errors are
// *UsageError.
func OutputFor(formats, path, journalPath string) (Output, error) {
	fs, err := ParseFormats(formats)
	if err != nil {
		return Output{}, &UsageError{fmt.Errorf("--report: %w", err)}
	}
	if path == "" {
		path = filepath.Dir(journalPath) + string(filepath.Separator)
	}
	out := Output{Formats: fs, Path: path, Source: journalPath}
	if _, err := out.Targets(); err != nil {
		return Output{}, err
	}
	return out, nil
}

// WriteAll writes a graded report in every format of out, each file whole
// or not at all (written to a temporary file beside it, then renamed), and
// returns the files it wrote. It analyses the report once for all formats.
func WriteAll(r *Report, g Grading, out Output) ([]string, error) {
	targets, err := out.Targets()
	if err != nil {
		return nil, err
	}
	b := NewBundle(r, g, out.Analysis)
	b.Baseline, b.Source, b.Text = out.Baseline, out.Source, out.Text
	var written []string
	for _, t := range targets {
		render := func(w io.Writer) error {
			if out.wrap != nil {
				w = out.wrap(w)
			}
			return Render(w, b, t.Format)
		}
		if t.Path == "" {
			if err := writeWhole(out.Stdout, render); err != nil {
				return written, fmt.Errorf("%s report: %w", t.Format, err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(t.Path), 0o755); err != nil {
			return written, fmt.Errorf("%s report: %w", t.Format, err)
		}
		if err := WriteFileAtomic(t.Path, render); err != nil {
			return written, fmt.Errorf("%s report: %w", t.Format, err)
		}
		written = append(written, t.Path)
	}
	return written, nil
}

// writeWhole renders into memory first, so that a renderer that fails
// half-way leaves nothing half-written on w.
func writeWhole(w io.Writer, render func(io.Writer) error) error {
	if w == nil {
		return errors.New("no writer for standard output")
	}
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteFileAtomic writes path through render without ever leaving a
// truncated file there: it writes a temporary file in the same directory,
// syncs it and renames it over path. On any error the temporary file is
// removed and path keeps what it held before.
func WriteFileAtomic(path string, render func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	if err := render(bw); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// CreateTemp makes the file private; a report is for sharing.
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
