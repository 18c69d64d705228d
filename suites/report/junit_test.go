package report

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sncheck/sncheck/suites"
)

// The JUnit structure CI systems read, declared here independently of
// junit.go so that the test checks the document, not the writer's types.
type xTestSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    string       `xml:"tests,attr"`
	Failures string       `xml:"failures,attr"`
	Errors   string       `xml:"errors,attr"`
	Skipped  string       `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []xTestSuite `xml:"testsuite"`
}

type xTestSuite struct {
	Name       string      `xml:"name,attr"`
	Tests      string      `xml:"tests,attr"`
	Failures   string      `xml:"failures,attr"`
	Errors     string      `xml:"errors,attr"`
	Skipped    string      `xml:"skipped,attr"`
	Time       string      `xml:"time,attr"`
	Timestamp  string      `xml:"timestamp,attr"`
	Properties []xProperty `xml:"properties>property"`
	Cases      []xTestCase `xml:"testcase"`
}

type xProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type xTestCase struct {
	Name      string    `xml:"name,attr"`
	Classname string    `xml:"classname,attr"`
	Time      string    `xml:"time,attr"`
	Failure   *xProblem `xml:"failure"`
	Error     *xProblem `xml:"error"`
	Skipped   *xProblem `xml:"skipped"`
}

type xProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// parseJUnit parses a JUnit document strictly and checks that its
// counts add up, at both levels.
func parseJUnit(t *testing.T, data []byte) xTestSuites {
	t.Helper()
	var doc xTestSuites
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("not a JUnit document: %v\n%s", err, data)
	}
	atoi := func(what, s string) int {
		t.Helper()
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("%s=%q is not a count", what, s)
		}
		return n
	}
	var total [4]int
	for _, s := range doc.Suites {
		var got [4]int
		for _, c := range s.Cases {
			got[0]++
			if c.Failure != nil {
				got[1]++
			}
			if c.Error != nil {
				got[2]++
			}
			if c.Skipped != nil {
				got[3]++
			}
			if _, err := strconv.ParseFloat(c.Time, 64); err != nil {
				t.Errorf("testcase %q time=%q is not seconds", c.Name, c.Time)
			}
		}
		want := [4]int{atoi("tests", s.Tests), atoi("failures", s.Failures), atoi("errors", s.Errors), atoi("skipped", s.Skipped)}
		if got != want {
			t.Errorf("testsuite %q counts tests/failures/errors/skipped %v, its testcases %v", s.Name, want, got)
		}
		for i := range total {
			total[i] += got[i]
		}
	}
	root := [4]int{atoi("tests", doc.Tests), atoi("failures", doc.Failures), atoi("errors", doc.Errors), atoi("skipped", doc.Skipped)}
	if root != total {
		t.Errorf("testsuites counts %v, the suites' testcases %v", root, total)
	}
	return doc
}

func TestJUnit(t *testing.T) {
	t.Parallel()
	run := sampleRun(t)
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, run); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no XML declaration:\n%s", buf.String())
	}
	doc := parseJUnit(t, buf.Bytes())
	if len(doc.Suites) != 1 {
		t.Fatalf("%d testsuites, want 1", len(doc.Suites))
	}
	s := doc.Suites[0]
	if s.Name != "integration" || s.Tests != "6" || s.Failures != "2" || s.Skipped != "1" || s.Errors != "0" || s.Time != "4.200" || s.Timestamp != "2026-01-05T09:00:00Z" {
		t.Errorf("testsuite = %+v", s)
	}
	props := map[string]string{}
	for _, p := range s.Properties {
		props[p.Name] = p.Value
	}
	if diff := cmp.Diff(map[string]string{"tool": "sncheck v0.0.0-test", "target": "fake", "seed": "4242"}, props); diff != "" {
		t.Errorf("properties (-want +got):\n%s", diff)
	}
	cases := map[string]xTestCase{}
	for _, c := range s.Cases {
		if c.Classname != "integration" {
			t.Errorf("testcase %q classname %q, want the suite", c.Name, c.Classname)
		}
		cases[c.Name] = c
	}
	for _, r := range run.Results {
		name := "[" + r.ID + "] " + r.Statement
		c, ok := cases[name]
		if !ok {
			t.Errorf("no testcase named %q", name)
			continue
		}
		if got, want := c.Time, strconv.FormatFloat(r.DurationSeconds, 'f', 3, 64); got != want {
			t.Errorf("%s time %s, want %s", r.ID, got, want)
		}
		switch r.State {
		case suites.StateFailed:
			if c.Failure == nil || c.Skipped != nil {
				t.Fatalf("%s: want only a <failure>, got %+v", r.ID, c)
			}
			if c.Failure.Message != r.Message || c.Failure.Type != "check failed" {
				t.Errorf("%s failure message=%q type=%q, want the explanation", r.ID, c.Failure.Message, c.Failure.Type)
			}
			for _, want := range []string{r.Message, "Hint: " + r.Hint} {
				if !strings.Contains(c.Failure.Text, want) {
					t.Errorf("%s failure text lacks %q:\n%s", r.ID, want, c.Failure.Text)
				}
			}
		case suites.StateSkipped:
			if c.Skipped == nil || c.Skipped.Message != r.SkipReason || c.Failure != nil {
				t.Errorf("%s: want <skipped message=%q>, got %+v", r.ID, r.SkipReason, c)
			}
		default:
			if c.Failure != nil || c.Skipped != nil || c.Error != nil {
				t.Errorf("%s passed, but its testcase is %+v", r.ID, c)
			}
		}
	}
}

func TestJUnitRunErrorsAndControlCharacters(t *testing.T) {
	t.Parallel()
	run := sampleRun(t)
	run.Errors = []string{"BeforeSuite: the target could not be set up", "cleanup: sweeping failed"}
	run.Interrupted = true
	run.Results[0].Message = "ANSI \x1b[31mred\x1b[0m and NUL \x00 in a message"
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, run); err != nil {
		t.Fatal(err)
	}
	doc := parseJUnit(t, buf.Bytes())
	s := doc.Suites[0]
	if s.Errors != "2" || s.Tests != "8" {
		t.Errorf("errors=%s tests=%s, want 2 and 8 (one testcase per run error)", s.Errors, s.Tests)
	}
	var errs []string
	for _, c := range s.Cases {
		if c.Error != nil {
			errs = append(errs, c.Name+": "+c.Error.Message)
		}
	}
	want := []string{"[sncheck] the run (1): BeforeSuite: the target could not be set up", "[sncheck] the run (2): cleanup: sweeping failed"}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("error testcases (-want +got):\n%s", diff)
	}
	if !strings.Contains(buf.String(), `<property name="interrupted" value="true">`) {
		t.Errorf("no interrupted property:\n%s", buf.String())
	}
}

func TestJUnitEmptyRun(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, &suites.Run{Schema: suites.RunSchema, Suite: "instance"}); err != nil {
		t.Fatal(err)
	}
	doc := parseJUnit(t, buf.Bytes())
	if doc.Tests != "0" || len(doc.Suites) != 1 || doc.Suites[0].Time != "0.000" {
		t.Errorf("empty run: %+v", doc)
	}
}
