package reports

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotdrill/spotdrill/internal/browsertest"
)

func xmllint(t *testing.T, xmllintPath, file string) (string, error) {
	t.Helper()
	out, err := exec.Command(xmllintPath, "--noout", "--schema", filepath.Join("testdata", "junit.xsd"), file).CombinedOutput()
	return string(out), err
}

func TestJUnitValidatesAgainstXSD(t *testing.T) {
	lint := browsertest.RequireTool(t, "xmllint", "apt-get install libxml2-utils")
	dir := t.TempDir()
	for _, fx := range fixtures() {
		t.Run(fx.name, func(t *testing.T) {
			path := filepath.Join(dir, fx.name+".xml")
			require.NoError(t, os.WriteFile(path, render(t, fx.bundle(t), FormatJUnit), 0o644))
			out, err := xmllint(t, lint, path)
			require.NoError(t, err, out)
		})
	}
	// The schema is not a rubber stamp: it refuses what readers refuse.
	good := string(render(t, fixtures()[0].bundle(t), FormatJUnit))
	for name, bad := range map[string]string{
		"time not a number":   strings.Replace(good, `time="0.000"`, `time="soon"`, 1),
		"testcase unnamed":    strings.Replace(good, `<testcase name="game day ran to the end"`, `<testcase`, 1),
		"suite without tests": strings.Replace(good, `<testsuite name="spotdrill · nightly-batch" tests="5"`, `<testsuite name="spotdrill · nightly-batch"`, 1),
		"timestamp with zone": strings.Replace(good, `timestamp="2026-01-01T00:00:00"`, `timestamp="2026-01-01T00:00:00Z"`, 1),
		"unknown element":     strings.Replace(good, `</properties>`, `</properties><verdict/>`, 1),
	} {
		t.Run("refuses "+name, func(t *testing.T) {
			require.NotEqual(t, good, bad, "the mutation must apply")
			path := filepath.Join(dir, "bad.xml")
			require.NoError(t, os.WriteFile(path, []byte(bad), 0o644))
			_, err := xmllint(t, lint, path)
			assert.Error(t, err)
		})
	}
}

type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Errors     int    `xml:"errors,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnitContent(t *testing.T) {
	var doc junitDoc
	require.NoError(t, xml.Unmarshal(render(t, fixtures()[0].bundle(t), FormatJUnit), &doc))
	require.Len(t, doc.Suites, 1)
	s := doc.Suites[0]
	props := map[string]string{}
	for _, p := range s.Properties {
		props[p.Name] = p.Value
	}
	assert.Equal(t, "fail", props["verdict"])
	assert.Equal(t, "58", props["score"])
	// The run, then one test case per SLO, counted right.
	require.Len(t, s.Cases, 5)
	assert.Equal(t, 5, s.Tests)
	assert.Equal(t, 1, s.Failures)
	assert.Equal(t, 0, s.Errors)
	assert.Equal(t, doc.Tests, s.Tests)
	assert.Equal(t, "spotdrill.nightly-batch.run", s.Cases[0].Classname)
	assert.Equal(t, "recover-fast: ttr.p95 <= 5m", s.Cases[1].Name)
	require.NotNil(t, s.Cases[1].Failure)
	assert.Equal(t, "measured 3m40s, objective ttr.p95 <= 5m, margin +1m20s: 1 interrupted job never recovered", s.Cases[1].Failure.Message)
	for _, c := range s.Cases[2:] {
		assert.Nil(t, c.Failure, c.Name)
	}

	var aborted junitDoc
	require.NoError(t, xml.Unmarshal(render(t, fixtures()[2].bundle(t), FormatJUnit), &aborted))
	require.NotNil(t, aborted.Suites[0].Cases[0].Error, "an aborted run is an error")
	assert.Contains(t, aborted.Suites[0].Cases[0].Error.Message, "ABORTED")

	var withBaseline junitDoc
	require.NoError(t, xml.Unmarshal(render(t, fixtures()[4].bundle(t), FormatJUnit), &withBaseline))
	cases := withBaseline.Suites[0].Cases
	last := cases[len(cases)-1]
	assert.Equal(t, "spotdrill.nightly-batch.baseline", last.Classname)
	require.NotNil(t, last.Failure)
	assert.Equal(t, "4 metric regressions beyond 10%, 1 SLO newly failed against testdata/gameday-baseline.journal", last.Failure.Message)
}
