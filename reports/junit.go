package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spotdrill/spotdrill/scenarios"
)

// The JUnit XML of a report, in the common format CI systems read (Jenkins,
// GitHub Actions test reporters, Azure Pipelines' PublishTestResults,
// GitLab): one <testsuite> per run, one <testcase> per SLO, a failure that
// says measured against objective, and the verdict and score as properties.
// testdata/junit.xsd is the schema the tests hold it to.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML: a test case per SLO (failed
// with measured vs objective), one for the run itself (an error when it was
// aborted or cut short) and, with a baseline, one for regressions. The
// suite's properties carry the verdict and the score; its time is the
// run's length on its own clock.
func WriteJUnit(w io.Writer, b *Bundle) error {
	doc := buildJUnit(b)
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	s := &stickyWriter{w: w}
	s.printf("%s", xml.Header)
	_, _ = s.Write(out)
	s.printf("\n")
	if s.err != nil {
		return fmt.Errorf("write JUnit report: %w", s.err)
	}
	return nil
}

func seconds3(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

func buildJUnit(b *Bundle) junitSuites {
	r, g := b.Report, b.Grading
	scenario := withDefault(r.Run.Scenario, "unnamed")
	class := "spotdrill." + scenario
	suite := junitSuite{
		Name: "spotdrill · " + scenario, Time: seconds3(r.End), Timestamp: junitTimestamp(r.Run.Start),
		SystemOut: b.Analysis.Summary,
	}
	props := []junitProperty{
		{"verdict", string(g.Verdict)},
		{"score", strconv.Itoa(g.Score)},
		{"slos.met", strconv.Itoa(g.Met)},
		{"slos.total", strconv.Itoa(len(g.Grades))},
		{"scenario", scenario},
		{"provider", r.Run.Provider},
		{"seed", strconv.FormatInt(r.Run.Seed, 10)},
		{"status", withDefault(r.Status, "cut short")},
		{"events", strconv.FormatInt(r.Tail.Events, 10)},
	}
	if b.Source != "" {
		props = append(props, junitProperty{"journal", b.Source})
	}
	if r.Run.ScenarioSHA256 != "" {
		props = append(props, junitProperty{"scenarioSha256", r.Run.ScenarioSHA256})
	}
	suite.Properties = props
	suite.Cases = append(suite.Cases, runCase(r, class))
	for _, gr := range g.Grades {
		suite.Cases = append(suite.Cases, sloCase(gr, class))
	}
	if c := b.Baseline; c != nil {
		suite.Cases = append(suite.Cases, baselineCase(c, class))
	}
	for _, tc := range suite.Cases {
		suite.Tests++
		if tc.Failure != nil {
			suite.Failures++
		}
		if tc.Error != nil {
			suite.Errors++
		}
	}
	return junitSuites{
		Name: "spotdrill", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors, Time: suite.Time,
		Suites: []junitSuite{suite},
	}
}

// junitTimestamp writes the run's start the way the JUnit schema wants it
// (no zone); empty when the start is not a time.
func junitTimestamp(start string) string {
	t, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}

// runCase passes when the run completed; an aborted or cut short run is an
// error, since its SLOs could not be fully graded.
func runCase(r *Report, class string) junitCase {
	tc := junitCase{Name: "game day ran to the end", Classname: class + ".run", Time: "0.000"}
	if loud := loudLine(r); loud != "" {
		kind := "incomplete"
		if r.Aborted() {
			kind = "aborted"
		}
		tc.Error = &junitProblem{Message: loud, Type: kind, Text: loud}
	}
	return tc
}

func sloCase(gr SLOGrade, class string) junitCase {
	name := gr.Objective
	if label := sloLabel(gr); label != gr.Metric && label != "" {
		name = label + ": " + gr.Objective
	}
	tc := junitCase{Name: name, Classname: class + ".slo", Time: "0.000"}
	msg := "not measured, objective " + gr.Objective
	if gr.Measured {
		msg = fmt.Sprintf("measured %s, objective %s, margin %s", scenarios.FormatValue(gr.Unit, gr.Value), gr.Objective, signed(gr.Unit, gr.Margin))
	}
	if gr.Note != "" {
		msg += ": " + gr.Note
	}
	if gr.Pass {
		tc.SystemOut = msg
		return tc
	}
	tc.Failure = &junitProblem{Message: msg, Type: "SLO", Text: msg}
	return tc
}

func baselineCase(c *Comparison, class string) junitCase {
	tc := junitCase{Name: "no regression against the baseline beyond " + FormatTolerance(c.Tolerance), Classname: class + ".baseline", Time: "0.000"}
	if !c.Regressed() {
		return tc
	}
	var lines []string
	for _, s := range c.SLOs {
		if s.Regressed {
			lines = append(lines, s.Objective+": met by the baseline, failed now")
		}
	}
	for _, m := range c.Metrics {
		if m.Change == ChangeRegressed {
			lines = append(lines, fmt.Sprintf("%s: %s → %s (%s)", m.Name, m.baseText(), m.nowText(), m.changeText()))
		}
	}
	msg := fmt.Sprintf("%s beyond %s, %s newly failed against %s", plural(c.Regressions, "metric regression"), FormatTolerance(c.Tolerance),
		plural(c.SLORegressions, "SLO"), c.Baseline)
	tc.Failure = &junitProblem{Message: msg, Type: "regression", Text: strings.Join(lines, "\n")}
	return tc
}
