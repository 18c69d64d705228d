package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/sncheck/sncheck/suites"
)

func renderHTML(t *testing.T, run *suites.Run) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, run); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestHTMLSelfContained: no external assets, nothing to fetch.
func TestHTMLSelfContained(t *testing.T) {
	t.Parallel()
	page := renderHTML(t, sampleRun(t))
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)<(script|img|iframe)[^>]+src=`),
		regexp.MustCompile(`(?i)<link[^>]+href=`),
		regexp.MustCompile(`(?i)url\(\s*['"]?(https?:|//)`),
		regexp.MustCompile(`(?i)@import`),
	} {
		if m := re.FindString(page); m != "" {
			t.Errorf("the page loads an external asset: %s", m)
		}
	}
}

func TestHTMLEscapes(t *testing.T) {
	t.Parallel()
	page := renderHTML(t, sampleRun(t))
	if strings.Contains(page, nasty) || strings.Contains(page, `<script>alert`) {
		t.Error("a message reached the page unescaped")
	}
	if !strings.Contains(page, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`) {
		t.Error("the escaped message is missing")
	}
}

func TestHTMLContent(t *testing.T) {
	t.Parallel()
	run := sampleRun(t)
	page := renderHTML(t, run)
	count := func(re string) int { return len(regexp.MustCompile(re).FindAllStringIndex(page, -1)) }
	if got := count(`<tr class="result `); got != len(run.Results) {
		t.Errorf("%d result rows, want %d", got, len(run.Results))
	}
	if got := count(`<article class="failure"`); got != run.Summary.Failed {
		t.Errorf("%d failure cards, want %d", got, run.Summary.Failed)
	}
	_, timeline, _ := strings.Cut(page, `<section id="timeline"`)
	if got, want := strings.Count(timeline, `<g class="ev `), eventCount(run); got != want {
		t.Errorf("%d timeline events, want %d", got, want)
	}
	// Failures come first: the failed cards, then the failed group.
	if strings.Index(page, `id="failures"`) > strings.Index(page, `id="results"`) {
		t.Error("the failed checks do not come before the results")
	}
	for _, want := range []string{
		"2 of 6 checks failed",
		"a fresh embedded fake for every check",
		"on a 401 from the Table API, run the refresh grant once",
		"skipped: does not apply to the password grant",
		"the fake&#39;s clock moved 1800 s",
		">&#43;1800 s</text>",
		"refresh grant with refresh token ",
		"GET incident → 401 not_authenticated",
		"fault f1 armed: 429 (Retry-After: 2) on GET table incident",
		"Rate limit",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestHTMLRunWithoutTimeline(t *testing.T) {
	t.Parallel()
	run := &suites.Run{
		Schema: suites.RunSchema, Tool: "sncheck", Suite: "instance",
		Target: suites.TargetInfo{Name: "live", URL: "https://dev1.service-now.com", Live: true},
		Errors: []string{"BeforeSuite: the instance is hibernating"},
		Results: []suites.Result{{ID: "TABLE-ENVELOPE", Suite: "instance", Labels: []string{"instance", "table"},
			Statement: "A list answers 200", State: suites.StatePassed}},
	}
	run.Finish()
	page := renderHTML(t, run)
	for _, want := range []string{"live instance https://dev1.service-now.com", "The run failed", "the instance is hibernating", "No timeline"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestAreaOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		labels []string
		want   string
	}{
		{name: "integration", labels: []string{"integration", "refresh"}, want: "refresh"},
		{name: "needs first", labels: []string{"instance", "fake-only", "scope"}, want: "scope"},
		{name: "no area", labels: []string{"instance"}, want: "instance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := areaOf(suites.Result{Suite: tt.labels[0], Labels: tt.labels}); got != tt.want {
				t.Errorf("areaOf(%v) = %q, want %q", tt.labels, got, tt.want)
			}
		})
	}
}
