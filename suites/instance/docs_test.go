package instance_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/suites"
	"github.com/sncheck/sncheck/suites/instance"
)

var update = flag.Bool("update", false, "rewrite the generated part of docs/checks.md")

// liveRun runs the suite against a fresh fake with the selection a live
// run makes (no fake-only checks; writes only with allowWrites) and
// returns the requests the fake's journal saw, checking that the suite
// counted the same.
func liveRun(t *testing.T, allowWrites bool) int {
	t.Helper()
	srv, url := startFake(t, fakesn.Options{}, nil)
	filter := "!fake-only && !writes"
	opts := suites.RunOptions{}
	marker := instance.NewMarker()
	if allowWrites {
		filter = "!fake-only"
		// The runner sweeps after the suite, as sncheck check does.
		opts.Sweep = func(ctx context.Context) (int, error) {
			maker, _, err := suites.TargetFromEnv(func(k string) string { return map[string]string{suites.EnvFakeURL: url}[k] })
			if err != nil {
				return 0, err
			}
			target, err := maker(ctx)
			if err != nil {
				return 0, err
			}
			return instance.Sweep(ctx, target, marker)
		}
	}
	opts.LabelFilter = filter
	run := runChild(t, context.Background(), url, map[string]string{suites.EnvRunMarker: marker}, opts)
	if run == nil {
		t.FailNow()
	}
	if run.Summary.Failed > 0 || len(run.Errors) > 0 {
		t.Fatalf("the live selection failed against the fake: %v %s", run.Errors, failures(run))
	}
	entries, err := srv.Journal(context.Background(), fakesn.JournalFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != run.Requests {
		t.Errorf("the suite counted %d requests, the fake's journal has %d", run.Requests, len(entries))
	}
	return len(entries)
}

const (
	docPath   = "../../docs/checks.md"
	docBegin  = "<!-- BEGIN generated: instance suite (go test ./suites/instance -run TestChecksDoc -update) -->"
	docEnd    = "<!-- END generated: instance suite -->"
	docHeader = `# Check catalogue

Every check sncheck runs has a stable ID, a one-line statement, labels, and
a hint that names the likely cause and the setup step to fix when it fails.
Run one check with ` + "`sncheck check --check ID`" + `, or a group with
` + "`--label-filter`" + ` (for example ` + "`--label-filter 'oauth && !fake-only'`" + `).

`
)

// TestChecksDoc measures the requests a live run makes, checks them
// against harness.DefaultLiveBudget, and keeps the instance part of
// docs/checks.md equal to the catalogue and those counts. Rewrite it with
// -update.
func TestChecksDoc(t *testing.T) {
	t.Parallel()
	readOnly, withWrites := liveRun(t, false), liveRun(t, true)
	t.Logf("a live run makes at most %d requests read-only, %d with writes", readOnly, withWrites)
	if withWrites > harness.DefaultLiveBudget || readOnly > withWrites {
		t.Errorf("requests: %d read-only, %d with writes; the budget is %d", readOnly, withWrites, harness.DefaultLiveBudget)
	}
	want := instanceDoc(readOnly, withWrites)
	data, err := os.ReadFile(docPath)
	if os.IsNotExist(err) {
		data = []byte(docHeader + docBegin + "\n" + docEnd + "\n")
	} else if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start, end := strings.Index(doc, docBegin), strings.Index(doc, docEnd)
	if start < 0 || end < start {
		t.Fatalf("%s has no generated instance section (between %q and %q)", docPath, docBegin, docEnd)
	}
	got := doc[start+len(docBegin) : end]
	if got == want {
		return
	}
	if *update {
		doc = doc[:start+len(docBegin)] + want + doc[end:]
		if err := os.WriteFile(filepath.Clean(docPath), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is stale; run go test ./suites/instance -run TestChecksDoc -update (-want +got):\n%s", docPath, cmp.Diff(want, got))
}

// instanceDoc renders the instance suite's part of the catalogue.
func instanceDoc(readOnly, withWrites int) string {
	var checks []suites.Check
	for _, c := range suites.Catalogue() {
		if c.Suite == "instance" {
			checks = append(checks, c)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Instance suite\n\n")
	fmt.Fprintf(&b, "What a ServiceNow instance does on the wire: %d checks, run against the fake\n", len(checks))
	fmt.Fprintf(&b, "and against a live instance (`sncheck --instance NAME`, `go test ./suites/instance`\n")
	fmt.Fprintf(&b, "with the `SN_*` variables). Labels: `oauth`, `table`, `scope`, `expiry`, `writes`\n")
	fmt.Fprintf(&b, "(create and delete records: against a live instance only with `--allow-writes`),\n")
	fmt.Fprintf(&b, "`fake-only` (need the fake's clock or configuration; left out against a live\n")
	fmt.Fprintf(&b, "instance).\n\n")
	fmt.Fprintf(&b, "**Requests against a live instance:** at most %d for a read-only run, %d with\n", readOnly, withWrites)
	fmt.Fprintf(&b, "`--allow-writes` (the runner's final sweep included), within the budget of\n")
	fmt.Fprintf(&b, "%d (`harness.DefaultLiveBudget`). Measured by running the live selection against\n", harness.DefaultLiveBudget)
	fmt.Fprintf(&b, "the fake and counting its journal; checks that skip on a live instance send\n")
	fmt.Fprintf(&b, "fewer.\n\n")
	b.WriteString("| ID | Statement | Labels |\n|---|---|---|\n")
	for _, c := range checks {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", c.ID, mdCell(c.Statement), strings.Join(c.Labels[1:], ", "))
	}
	b.WriteString("\n### Hints\n\n")
	for _, c := range checks {
		fmt.Fprintf(&b, "- **`%s`** — %s\n", c.ID, c.Hint)
	}
	b.WriteString("\n")
	return b.String()
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
