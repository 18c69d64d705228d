package cli

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/suites"
	runreport "github.com/sncheck/sncheck/suites/report"
)

// Golden transcripts of typical runs of the built binary: check against
// the embedded fake and against a fake at a URL, verify against the
// reference adapter, with and without a bug; progress, summary, exit
// code and report lines. Durations, ports, the run marker and temporary
// paths are normalised, and the progress lines sorted (the suite runs
// its checks in a random order). Rewrite with: go test ./internal/cli -update

var runNormalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\(\d+\.\d\ds\)`), "(D.DDs)"},
	{regexp.MustCompile(` in \d+\.\ds\b`), " in D.Ds"},
	{regexp.MustCompile(`http://127\.0\.0\.1:\d+`), "http://127.0.0.1:PORT"},
	{regexp.MustCompile(`sncheck-[0-9a-f]{12}\b`), "sncheck-MARKER"},
}

func normalizeRun(s string, paths map[string]string) string {
	for p, with := range paths {
		s = strings.ReplaceAll(s, p, with)
	}
	for _, n := range runNormalizers {
		s = n.re.ReplaceAllString(s, n.with)
	}
	// Sort each block of progress lines.
	lines := strings.Split(s, "\n")
	isProgress := func(l string) bool {
		return strings.HasPrefix(l, "✓ ") || strings.HasPrefix(l, "- ") || (strings.HasPrefix(l, "✗ ") && strings.Contains(l, "(D.DDs)"))
	}
	for i := 0; i < len(lines); {
		j := i
		for j < len(lines) && isProgress(lines[j]) {
			j++
		}
		slices.Sort(lines[i:j])
		i = max(j, i+1)
	}
	return strings.Join(lines, "\n")
}

// shellJoin writes a command line as a shell would read it.
func shellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\"'\\$&|!*?;<>()") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

func TestRunTranscripts(t *testing.T) {
	bins := needBinaries(t)
	t.Parallel()
	rfc, err := fakesn.NewServer(fakesn.Options{RFCErrors: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rfc.Close)
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{name: "run-check", args: []string{"check"}, wantCode: exitOK},
		{name: "run-check-quiet", args: []string{"check", "--quiet", "--label-filter", "table && !writes"}, wantCode: exitOK},
		{name: "run-check-failing", args: []string{"check", "--url", rfc.URL(), "--check", "OAUTH-ERR-BAD-SECRET", "--check", "OAUTH-TOKEN-SHAPE", "--check", "OAUTH-ERR-UNKNOWN-CLIENT"}, wantCode: exitChecksFailed},
		{name: "run-check-quiet-verbose", args: []string{"check", "--quiet", "--verbose"}, wantCode: exitUsage},
		{name: "run-check-same-report-file", args: []string{"check", "--json", "r.out", "--html", "./r.out"}, wantCode: exitUsage},
		{name: "run-check-report-dir-missing", args: []string{"check", "--junit", "no/such/dir/junit.xml"}, wantCode: exitUsage},
		{name: "run-verify", args: []string{"verify", "--label-filter", "refresh", "--", bins["sncheck-reference"]}, wantCode: exitOK},
		{name: "run-verify-never-refresh", args: []string{"verify", "--label-filter", "refresh || auth", "--", bins["sncheck-reference"], "-bug", "never-refresh"}, wantCode: exitChecksFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := sncheckRun(t, nil, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			paths := map[string]string{testBinDir + string(filepath.Separator): "BIN/"}
			args := shellJoin(append([]string{"sncheck"}, tt.args...))
			got := normalizeRun(fmt.Sprintf("$ %s\nexit %d\n-- stdout --\n%s-- stderr --\n%s", args, code, stdout, stderr), paths)
			checkGolden(t, filepath.Join("testdata", tt.name+".txt"), got)
		})
	}
}

// TestRunReports runs check and verify with every report format and checks
// each file: the JSON validates against docs/report-schema.json and is
// the same run as --save, the JUnit parses with the right counts, and
// the HTML holds every result and every timeline event.
func TestRunReports(t *testing.T) {
	bins := needBinaries(t)
	t.Parallel()
	schema, err := os.ReadFile(filepath.Join("..", "..", runreport.SchemaPath))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		timeline bool
	}{
		{name: "check", args: []string{"check", "--label-filter", "oauth"}, wantCode: exitOK, timeline: true},
		{name: "verify", args: []string{"verify", "--label-filter", "refresh || expiry", "--", bins["sncheck-reference"], "-bug", "never-refresh"}, wantCode: exitChecksFailed, timeline: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file := func(name string) string { return filepath.Join(dir, name) }
			args := append([]string{tt.args[0], "--junit", file("r.xml"), "--json", file("r.json"), "--html", file("r.html"), "--save", file("save.json")}, tt.args[1:]...)
			code, stdout, stderr := sncheckRun(t, nil, args...)
			if code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			for _, want := range []string{"wrote the JUnit report to " + file("r.xml"), "wrote the JSON report to " + file("r.json"), "wrote the HTML report to " + file("r.html")} {
				if !strings.Contains(stdout, want+"\n") {
					t.Errorf("stdout lacks %q", want)
				}
			}
			data, err := os.ReadFile(file("r.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := runreport.Validate(schema, data); err != nil {
				t.Errorf("the JSON report does not validate: %v", err)
			}
			saved, _ := os.ReadFile(file("save.json"))
			if !bytes.Equal(saved, data) {
				t.Error("--json and --save wrote different runs")
			}
			run, err := suites.ReadRun(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			events := 0
			for _, r := range run.Results {
				events += len(r.Timeline)
			}
			if tt.timeline && events == 0 {
				t.Error("the run has no timeline events")
			}

			var junit struct {
				Tests    int `xml:"tests,attr"`
				Failures int `xml:"failures,attr"`
				Skipped  int `xml:"skipped,attr"`
				Suites   []struct {
					Cases []struct {
						Name    string    `xml:"name,attr"`
						Failure *struct{} `xml:"failure"`
					} `xml:"testcase"`
				} `xml:"testsuite"`
			}
			xmlData, err := os.ReadFile(file("r.xml"))
			if err != nil {
				t.Fatal(err)
			}
			if err := xml.Unmarshal(xmlData, &junit); err != nil {
				t.Fatalf("the JUnit report does not parse: %v", err)
			}
			if junit.Tests != len(run.Results) || junit.Failures != run.Summary.Failed || junit.Skipped != run.Summary.Skipped ||
				len(junit.Suites) != 1 || len(junit.Suites[0].Cases) != len(run.Results) {
				t.Errorf("JUnit counts tests=%d failures=%d skipped=%d; the run has %d results, %+v", junit.Tests, junit.Failures, junit.Skipped, len(run.Results), run.Summary)
			}

			html, err := os.ReadFile(file("r.html"))
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Count(html, []byte(`<tr class="result `)); got != len(run.Results) {
				t.Errorf("the HTML report has %d result rows, want %d", got, len(run.Results))
			}
			_, timeline, _ := bytes.Cut(html, []byte(`<section id="timeline"`))
			if got := bytes.Count(timeline, []byte(`<g class="ev `)); got != events {
				t.Errorf("the HTML timeline draws %d events, the JSON has %d", got, events)
			}
			for _, r := range run.Failed() {
				if !bytes.Contains(html, []byte(`id="f-`+r.ID+`"`)) {
					t.Errorf("the HTML report has no failure card for %s", r.ID)
				}
			}
		})
	}
}
