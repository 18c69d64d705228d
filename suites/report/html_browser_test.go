package report

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromium finds a Chromium or Chrome to drive, or "" when none is
// installed.
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// collectErrors records the page's uncaught errors before its own
// script runs.
const collectErrors = `window.__errors = [];
window.addEventListener("error", function (e) { window.__errors.push(String(e.message)); });`

// TestHTMLInBrowser renders a report in headless Chromium and checks what
// a reader sees: one row per result, the failed check's explanation and
// hint, the skip reason, and a timeline with every event drawn; then the
// filters and the event details, which need the page's script. It saves
// a screenshot in out/report-screenshot.png.
func TestHTMLInBrowser(t *testing.T) {
	exe := chromium()
	if exe == "" {
		t.Skip("skipping the browser test: Chromium is not installed (apt-get install chromium)")
	}
	t.Parallel()
	run := sampleRun(t)
	file := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(f, run); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-dev-shm-usage", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	// The first Run starts the browser; its context must not time out.
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: collectErrors})
		return err
	})); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()
	u := url.URL{Scheme: "file", Path: file}
	if err := chromedp.Do(ctx, chromedp.Navigate(u.String()), chromedp.WaitVisible(chromedp.CSS("#timeline"))); err != nil {
		t.Fatalf("loading %s: %v", u.String(), err)
	}
	eval := func(expr string) any {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
		if err != nil {
			t.Fatalf("evaluating %s: %v", expr, err)
		}
		return v
	}
	evalInt := func(expr string) int {
		t.Helper()
		f, ok := eval(expr).(float64)
		if !ok {
			t.Fatalf("%s is not a number", expr)
		}
		return int(f)
	}
	visibleText := func(sel string) string {
		t.Helper()
		s, _ := eval(`(function () {
			var el = document.querySelector(` + jsString(sel) + `);
			if (!el) { return "(no element)"; }
			var r = el.getBoundingClientRect();
			if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === "hidden") { return "(not visible)"; }
			return el.innerText;
		})()`).(string)
		return s
	}

	if got, want := evalInt(`document.querySelectorAll("tr.result").length`), len(run.Results); got != want {
		t.Errorf("%d result rows, want %d", got, want)
	}
	failed, _ := run.Result("REFRESH-ON-EXPIRY")
	if got := visibleText("#f-REFRESH-ON-EXPIRY .explanation"); got != failed.Message {
		t.Errorf("the failed check's explanation reads %q, want %q", got, failed.Message)
	}
	if got := visibleText("#f-REFRESH-ON-EXPIRY .hint"); !strings.Contains(got, failed.Hint) {
		t.Errorf("the failed check's hint reads %q, want it to contain %q", got, failed.Hint)
	}
	if got := visibleText("#r-AUTH-PKCE-PUBLIC .note.skipped"); !strings.Contains(got, "does not apply to the password grant") {
		t.Errorf("the skip reason reads %q", got)
	}
	if got := visibleText("#f-SECRETS-NOT-LOGGED .explanation"); !strings.Contains(got, `<script>alert("x")</script>`) {
		t.Errorf("the escaped message reads %q, want the text as written", got)
	}

	// The timeline: one lane per check with events, each event drawn.
	lanes := 0
	for _, r := range run.Results {
		if len(r.Timeline) > 0 {
			lanes++
		}
	}
	if got := evalInt(`document.querySelectorAll("#timeline .lane svg.lane-svg").length`); got != lanes {
		t.Errorf("%d timeline lanes, want %d", got, lanes)
	}
	if got, want := evalInt(`document.querySelectorAll("#timeline g.ev").length`), eventCount(run); got != want {
		t.Errorf("%d timeline events, want %d", got, want)
	}
	if got := evalInt(`Array.from(document.querySelectorAll("#timeline g.ev")).filter(function (g) {
			var b = g.getBBox(); return b.width > 0 && b.height > 0; }).length`); got != eventCount(run) {
		t.Errorf("%d timeline events have a size, want all %d", got, eventCount(run))
	}
	if got := evalInt(`document.querySelectorAll("#lane-REFRESH-ON-EXPIRY g.ev.st-401").length`); got != 2 {
		t.Errorf("the failed check's lane shows %d 401 answers, want 2", got)
	}
	if got := evalInt(`document.querySelector("#timeline .lane").dataset.check === "REFRESH-ON-EXPIRY" ? 1 : 0`); got != 1 {
		t.Error("the first lane is not the failed check's")
	}

	// The script: filters and event details.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.filters button[data-filter="failed"]`))); err != nil {
		t.Fatal(err)
	}
	if got := evalInt(`document.querySelectorAll("tr.result:not(.hidden)").length`); got != run.Summary.Failed {
		t.Errorf("the Failed filter shows %d rows, want %d", got, run.Summary.Failed)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.filters button[data-filter="all"]`))); err != nil {
		t.Fatal(err)
	}
	if got := evalInt(`document.querySelectorAll("tr.result:not(.hidden)").length`); got != len(run.Results) {
		t.Errorf("the All filter shows %d rows, want %d", got, len(run.Results))
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#lane-REFRESH-ON-EXPIRY g.ev-refresh`))); err != nil {
		t.Fatal(err)
	}
	if got := visibleText("#lane-REFRESH-ON-EXPIRY .lane-detail"); !strings.Contains(got, "refresh grant with refresh token") {
		t.Errorf("selecting the refresh shows %q, want its label", got)
	}
	if errs := eval(`window.__errors.join("; ")`); errs != "" {
		t.Errorf("the page's script failed: %v", errs)
	}

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(moduleRoot(t), "out", "report-screenshot.png")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the report: %s", out)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
