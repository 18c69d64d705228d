package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sncheck/sncheck/suites"
)

// JUnit XML, in the form CI systems read (Jenkins, GitLab, GitHub
// Actions reporters, Azure DevOps): one <testsuite> per run, one
// <testcase> per check with classname = the suite and name = "[ID]
// statement", a <failure> that carries the explanation and the hint, a
// <skipped> with the reason, and an <error> test case for each failure
// outside any check.

// JUnitTestSuites is the document's root element.
type JUnitTestSuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Errors   int              `xml:"errors,attr"`
	Skipped  int              `xml:"skipped,attr"`
	Time     string           `xml:"time,attr"`
	Suites   []JUnitTestSuite `xml:"testsuite"`
}

// JUnitTestSuite is one run of one suite.
type JUnitTestSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []JUnitProperty `xml:"properties>property,omitempty"`
	Cases      []JUnitTestCase `xml:"testcase"`
}

// JUnitProperty is a name/value pair of a test suite.
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitTestCase is one check.
type JUnitTestCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *JUnitProblem `xml:"failure,omitempty"`
	Error     *JUnitProblem `xml:"error,omitempty"`
	Skipped   *JUnitSkipped `xml:"skipped,omitempty"`
}

// JUnitProblem is a <failure> or an <error>.
type JUnitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnitSkipped is a <skipped>.
type JUnitSkipped struct {
	Message string `xml:"message,attr"`
}

// JUnit builds the JUnit document of a run.
func JUnit(run *suites.Run) *JUnitTestSuites {
	suite := run.Suite
	if suite == "" {
		suite = "sncheck"
	}
	ts := JUnitTestSuite{
		Name: suite,
		Time: seconds(run.Finished.Sub(run.Started).Seconds()),
	}
	if !run.Started.IsZero() {
		ts.Timestamp = run.Started.UTC().Format(time.RFC3339)
	}
	props := []JUnitProperty{
		{Name: "tool", Value: strings.TrimSpace(run.Tool + " " + run.Version)},
		{Name: "target", Value: run.Target.Name},
		{Name: "target.url", Value: run.Target.URL},
	}
	if run.Seed != 0 {
		props = append(props, JUnitProperty{Name: "seed", Value: fmt.Sprint(run.Seed)})
	}
	if run.LabelFilter != "" {
		props = append(props, JUnitProperty{Name: "label-filter", Value: run.LabelFilter})
	}
	if run.Interrupted {
		props = append(props, JUnitProperty{Name: "interrupted", Value: "true"})
	}
	for _, p := range props {
		if p.Value != "" {
			ts.Properties = append(ts.Properties, p)
		}
	}
	for _, r := range run.Results {
		tc := JUnitTestCase{Name: "[" + r.ID + "] " + r.Statement, Classname: suite, Time: seconds(r.DurationSeconds)}
		switch r.State {
		case suites.StateFailed:
			tc.Failure = &JUnitProblem{Message: r.Message, Type: "check failed", Text: failureText(r)}
			ts.Failures++
		case suites.StateSkipped:
			tc.Skipped = &JUnitSkipped{Message: r.SkipReason}
			ts.Skipped++
		}
		ts.Cases = append(ts.Cases, tc)
	}
	for i, e := range run.Errors {
		name := "[sncheck] the run"
		if len(run.Errors) > 1 {
			name = fmt.Sprintf("[sncheck] the run (%d)", i+1)
		}
		ts.Cases = append(ts.Cases, JUnitTestCase{
			Name: name, Classname: suite, Time: seconds(0),
			Error: &JUnitProblem{Message: e, Type: "run error", Text: e},
		})
		ts.Errors++
	}
	ts.Tests = len(ts.Cases)
	return &JUnitTestSuites{
		Name: "sncheck", Tests: ts.Tests, Failures: ts.Failures, Errors: ts.Errors, Skipped: ts.Skipped,
		Time: ts.Time, Suites: []JUnitTestSuite{ts},
	}
}

// failureText is the body of a <failure>: what was seen, the hint, and
// where the check failed.
func failureText(r suites.Result) string {
	var b strings.Builder
	b.WriteString(r.Message)
	if r.Hint != "" {
		b.WriteString("\n\nHint: " + r.Hint)
	}
	if r.Location != "" {
		b.WriteString("\n\nat " + r.Location)
	}
	return b.String()
}

func seconds(s float64) string {
	if s < 0 {
		s = 0
	}
	return fmt.Sprintf("%.3f", s)
}

// WriteJUnit writes the run as a JUnit XML document.
func WriteJUnit(w io.Writer, run *suites.Run) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(JUnit(run)); err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
