package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reportJournal is a journal of the reports package's test data.
func reportJournal(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "reports", "testdata", name))
	require.NoError(t, err)
	return p
}

// execute runs the command line in-process with captured streams.
func execute(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(args, &IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return result{code, out.String(), errb.String()}
}

func TestReportFlags(t *testing.T) {
	var got *ReportOptions
	var out bytes.Buffer
	cmd := newCmdReport(&IOStreams{Out: &out, Err: &out}, func(o *ReportOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"j.jsonl", "--format", "md,json", "-o", "out/", "--slo", "ttr.p95<=90s", "--slo", "jobs.successRate>=95%",
		"--baseline", "old.jsonl", "--tolerance", "5%", "--ci", "--checkpoint-cost", "20s"})
	require.NoError(t, cmd.Execute())
	require.NotNil(t, got)
	assert.Equal(t, "j.jsonl", got.Journal)
	assert.Equal(t, "md,json", got.Formats)
	assert.Equal(t, "out/", got.Output)
	assert.Equal(t, []string{"ttr.p95<=90s", "jobs.successRate>=95%"}, got.SLOs)
	assert.Equal(t, "old.jsonl", got.Baseline)
	assert.Equal(t, "5%", got.Tolerance)
	assert.True(t, got.CI)
	assert.Equal(t, "20s", got.CheckpointCost)
}

func TestReportExitCodes(t *testing.T) {
	gameday := reportJournal(t, "gameday.journal")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{name: "an SLO failed", args: []string{gameday}, code: ExitSLO,
			stdout: []string{"spotdrill · nightly-batch", "✗ FAIL · 3/4 SLOs met · resilience score 58/100"}},
		{name: "re-graded against objectives it meets", args: []string{gameday, "--slo", "ttr.capacity.p95<=3m", "--slo", "cheap: cost.savings >= 60%"}, code: ExitOK,
			stdout: []string{"SLOs  2/2 met", "cheap", "✓ PASS · 2/2 SLOs met"}},
		{name: "aborted", args: []string{reportJournal(t, "aborted.journal")}, code: ExitAborted, stdout: []string{"!! ABORTED at 33m20s"}},
		{name: "cut short", args: []string{reportJournal(t, "cutshort.journal")}, code: ExitAborted,
			stdout: []string{"!! CUT SHORT", "the report covers the run up to there"}},
		{name: "a regression fails --ci", args: []string{gameday, "--slo", "jobs.successRate>=50%", "--baseline", reportJournal(t, "gameday-baseline.journal"), "--ci"},
			code: ExitSLO, stdout: []string{"4 metric regressions beyond 10%"}, stderr: []string{"regression against", "4 metrics regressed beyond 10%"}},
		{name: "a regression without --ci is only reported", args: []string{gameday, "--slo", "jobs.successRate>=50%", "--baseline", reportJournal(t, "gameday-baseline.journal")},
			code: ExitOK, stdout: []string{"4 metric regressions beyond 10%"}},
		{name: "a loose tolerance", args: []string{gameday, "--slo", "jobs.successRate>=50%", "--baseline", reportJournal(t, "gameday-baseline.journal"), "--tolerance", "100%", "--ci"},
			code: ExitSLO, stderr: []string{"1 metric regressed beyond 100%"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := execute(t, append([]string{"report"}, tt.args...)...)
			require.Equal(t, tt.code, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			for _, w := range tt.stdout {
				assert.Contains(t, r.stdout, w)
			}
			for _, w := range tt.stderr {
				assert.Contains(t, r.stderr, w)
			}
			assert.NotContains(t, r.stdout, "\x1b", "no colour off a terminal")
		})
	}
}

func TestReportBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	gameday := reportJournal(t, "gameday.journal")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"missing journal", []string{filepath.Join(dir, "nope.jsonl")}, []string{"nope.jsonl", "no such file"}},
		{"malformed journal", []string{write("bad.jsonl", `{"seq":1,"t":0,"type":"run.started","run":{"schemaVersion":1}}`+"\n{nope\n"+`{"seq":3}`+"\n")},
			[]string{"bad.jsonl", "journal line 2"}},
		{"not a journal", []string{write("other.jsonl", `{"seq":1,"type":"note"}`+"\n")}, []string{"not a spotdrill journal"}},
		{"empty journal", []string{write("empty.jsonl", "")}, []string{"journal is empty"}},
		{"unknown format", []string{gameday, "--format", "pdf"}, []string{`unknown report format "pdf"`}},
		{"several formats to stdout", []string{gameday, "--format", "md,json"}, []string{"2 report formats need a directory"}},
		{"bad objectives, all of them", []string{gameday, "--slo", "ttr.p95<=soon", "--slo", "nope<1"}, []string{`--slo "ttr.p95<=soon"`, `unknown metric "nope"`}},
		{"bad tolerance", []string{gameday, "--tolerance", "lots"}, []string{"--tolerance"}},
		{"bad checkpoint cost", []string{gameday, "--checkpoint-cost", "-3s"}, []string{"--checkpoint-cost"}},
		{"missing baseline", []string{gameday, "--baseline", filepath.Join(dir, "old.jsonl")}, []string{"baseline:", "old.jsonl"}},
		{"no journal", nil, []string{"accepts 1 arg"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := execute(t, append([]string{"report"}, tt.args...)...)
			require.Equal(t, ExitInvalid, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			for _, w := range tt.want {
				assert.Contains(t, r.stderr, w)
			}
			assert.Empty(t, r.stdout)
		})
	}
}

func TestReportEveryFormatToADirectory(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out") + string(filepath.Separator)
	r := execute(t, "report", reportJournal(t, "cutshort.journal"), "--format", "text,md,html,json,junit", "-o", out)
	require.Equal(t, ExitAborted, r.code, r.stderr)
	assert.Empty(t, r.stdout)
	for _, name := range []string{"report.txt", "report.md", "report.html", "report.json", "junit.xml"} {
		assert.Contains(t, r.stderr, "report: "+filepath.Join(out, name))
		st, err := os.Stat(filepath.Join(out, name))
		require.NoError(t, err)
		assert.Positive(t, st.Size())
	}
	assert.Contains(t, r.stderr, "was cut short (no run.ended, last line cut mid-write)")
}

func TestReportOneFormatToAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "postmortem.md")
	r := execute(t, "report", reportJournal(t, "gameday.journal"), "--format", "md", "-o", path)
	require.Equal(t, ExitSLO, r.code, r.stderr)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(raw), "# Game day postmortem: nightly-batch\n"))
}

// A user's path: run a library game day with the real binary, then report
// on its journal in every format.
func TestRunThenReport(t *testing.T) {
	dir := t.TempDir()
	journalPath := filepath.Join(dir, "journal.jsonl")
	run := spotdrill(t, "run", library(t, "short-notice-slow-drain.yaml"), "--journal", journalPath)
	require.Equal(t, ExitSLO, run.code, run.stderr)
	out := filepath.Join(dir, "out")
	r := spotdrill(t, "report", journalPath, "--format", "text,md,html,json,junit", "-o", out)
	require.Equal(t, ExitSLO, r.code, r.stderr)
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "### F2 · drain slower than notice")
	text, err := os.ReadFile(filepath.Join(out, "report.txt"))
	require.NoError(t, err)
	assert.Equal(t, run.stdout, string(text), "the run's summary and the report's text are one")
}
