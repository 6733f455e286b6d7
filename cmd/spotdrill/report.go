package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/spotdrill/spotdrill/reports"
	"github.com/spotdrill/spotdrill/scenarios"
)

// ReportOptions are the flags of `spotdrill report`.
type ReportOptions struct {
	IO      *IOStreams
	Journal string
	// Formats is the comma-separated list of --format.
	Formats string
	// Output is -o: a file for one format, a directory for several.
	Output string
	// SLOs replace the journal's objectives when given.
	SLOs      []string
	Baseline  string
	Tolerance string
	// CI makes a regression against the baseline fail the command (exit 3).
	CI             bool
	CheckpointCost string
}

// NewCmdReport regenerates the reports of a saved journal.
func NewCmdReport(ios *IOStreams) *cobra.Command { return newCmdReport(ios, nil) }

// newCmdReport takes a runF that replaces the work in tests of the flags.
func newCmdReport(ios *IOStreams, runF func(*ReportOptions) error) *cobra.Command {
	opts := &ReportOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "report JOURNAL",
		Short: "Report on a saved game day: text, Markdown postmortem, HTML, JSON, JUnit",
		Long: `Report reads a journal (the JSON lines a run writes) and reports on it, in
any of these formats: text (the terminal summary), md (a Markdown
postmortem), html (the postmortem with charts, one self-contained file),
json (a stable schema, reports/report.schema.json) and junit (one test case
per SLO, for CI). A journal cut short by a crash reports too, and says so.

--slo grades the run against other objectives than the ones it was run
with; --baseline compares it with an earlier run, metric by metric.

Exit codes: 0 all SLOs met, 2 invalid input (flags, missing or malformed
journal), 3 an SLO failed (or, with --ci, a regression against the
baseline), 4 the run was aborted or did not complete.`,
		Example: `  spotdrill report runs/nightly/journal.jsonl
  spotdrill report journal.jsonl --format md -o postmortem.md
  spotdrill report journal.jsonl --format text,md,html,json,junit -o out/
  spotdrill report journal.jsonl --slo 'ttr.p95<=90s' --slo 'lostWork.fraction<=1%'
  spotdrill report new.jsonl --baseline old.jsonl --tolerance 5% --ci`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Journal = args[0]
			if runF != nil {
				return runF(opts)
			}
			return reportRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Formats, "format", "text", "comma-separated formats: text, md, html, json, junit")
	f.StringVarP(&opts.Output, "output", "o", "", "file for one format, or directory for one file per format (default: standard output)")
	f.StringArrayVar(&opts.SLOs, "slo", nil, "objective to grade instead of the journal's, such as 'ttr.p95<=90s' (repeatable)")
	f.StringVar(&opts.Baseline, "baseline", "", "journal of an earlier run to compare with")
	f.StringVar(&opts.Tolerance, "tolerance", "10%", "worsening of a metric against the baseline that is still not a regression")
	f.BoolVar(&opts.CI, "ci", false, "exit 3 when an SLO met by the baseline fails now or a metric regressed")
	f.StringVar(&opts.CheckpointCost, "checkpoint-cost", "", "what one checkpoint costs the workload, such as 20s, for the checkpoint interval recommendation")
	return cmd
}

// reportSettings is the flags, checked.
type reportSettings struct {
	out       reports.Output
	slos      []scenarios.SLO
	tolerance float64
}

// settings checks every flag before any journal is read, and reports every
// problem at once.
func (opts *ReportOptions) settings() (reportSettings, error) {
	var (
		s    reportSettings
		errs []error
		err  error
	)
	s.out = reports.Output{Path: opts.Output, Stdout: opts.IO.Out, Source: opts.Journal, Text: reports.TextOptions{Color: useColor(opts.IO)}}
	if s.out.Formats, err = reports.ParseFormats(opts.Formats); err != nil {
		errs = append(errs, fmt.Errorf("--format: %w", err))
	} else if _, err := s.out.Targets(); err != nil {
		errs = append(errs, fmt.Errorf("-o: %w", err))
	}
	if s.slos, err = reports.ParseSLOs(opts.SLOs); err != nil {
		errs = append(errs, err)
	}
	if s.tolerance, err = reports.ParseTolerance(opts.Tolerance); err != nil {
		errs = append(errs, fmt.Errorf("--tolerance: %w", err))
	}
	if opts.CheckpointCost != "" {
		d, err := scenarios.ParseDuration(opts.CheckpointCost)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("--checkpoint-cost %q: expected a positive duration like 20s", opts.CheckpointCost))
		}
		s.out.Analysis.CheckpointCost = d.Seconds()
	}
	return s, errors.Join(errs...)
}

func reportRun(opts *ReportOptions) error {
	s, err := opts.settings()
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	rep, err := reports.Load(opts.Journal)
	if err != nil {
		return withCode(ExitInvalid, err)
	}
	slos := s.slos
	g := rep.Grading
	if len(slos) > 0 {
		g = reports.Grade(rep, slos)
	} else {
		slos = reports.RunSLOs(rep.Run)
	}
	if opts.Baseline != "" {
		base, err := reports.Load(opts.Baseline)
		if err != nil {
			return withCode(ExitInvalid, fmt.Errorf("baseline: %w", err))
		}
		s.out.Baseline = reports.Compare(rep, g, slos, base, opts.Baseline, s.tolerance)
	}
	written, err := reports.WriteAll(rep, g, s.out)
	for _, path := range written {
		fmt.Fprintf(opts.IO.Err, "report: %s\n", path)
	}
	if err != nil {
		return withCode(ExitInternal, err)
	}
	if rep.CutShort() && len(written) > 0 {
		fmt.Fprintf(opts.IO.Err, "spotdrill: %s was cut short (no run.ended%s): the report covers the run up to %s\n",
			opts.Journal, truncatedNote(rep), scenarios.FormatSeconds(rep.End))
	}
	return reportExit(rep, g, s.out.Baseline, opts.CI)
}

func truncatedNote(rep *reports.Report) string {
	if rep.Tail.Truncated {
		return ", last line cut mid-write"
	}
	return ""
}

// reportExit maps the outcome to DESIGN §8's exit codes: a run that was
// aborted or did not complete cannot vouch for its SLOs (4), a failed SLO
// is 3, and so is, with --ci, a regression against the baseline.
func reportExit(rep *reports.Report, g reports.Grading, c *reports.Comparison, ci bool) error {
	switch {
	case g.Verdict == reports.VerdictDamaged:
		return withCode(ExitInvalid, errors.New(rep.DamageLine()))
	case g.Verdict == reports.VerdictAborted || g.Verdict == reports.VerdictIncomplete:
		return withCode(ExitAborted, nil)
	case !g.Pass():
		return withCode(ExitSLO, nil)
	case ci && c != nil && c.Regressed():
		var what []string
		if c.SLORegressions > 0 {
			what = append(what, plural(c.SLORegressions, "SLO")+" met by the baseline failed now")
		}
		if c.Regressions > 0 {
			what = append(what, plural(c.Regressions, "metric")+" regressed beyond "+reports.FormatTolerance(c.Tolerance))
		}
		return withCode(ExitSLO, fmt.Errorf("regression against %s: %s", c.Baseline, strings.Join(what, ", ")))
	}
	return nil
}
