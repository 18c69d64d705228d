package mutants_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sncheck/sncheck/examples/reference"
	"github.com/sncheck/sncheck/examples/reference/snclient"
	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/suites"
	"github.com/sncheck/sncheck/suites/integration"
)

// namedFor lists, for every bug switch of the reference integration, the
// checks that must catch it. Other checks may catch it too; the matrix
// document shows everything that did.
var namedFor = map[string][]string{
	"never-refresh":            {"REFRESH-ON-EXPIRY"},
	"refresh-every-call":       {"REFRESH-ON-EXPIRY"},
	"concurrent-refresh":       {"REFRESH-SINGLE-FLIGHT"},
	"reuse-superseded-refresh": {"REFRESH-KEEPS-RETURNED-TOKEN"},
	"retry-403-forever":        {"SCOPE-INSUFFICIENT", "ACL-FORBIDDEN"},
	"refresh-on-403":           {"SCOPE-INSUFFICIENT", "ACL-FORBIDDEN"},
	"scope-as-forbidden":       {"SCOPE-INSUFFICIENT"},
	"loop-on-dead-refresh":     {"EXPIRY-REAUTH-REQUIRED"},
	"table-after-dead-refresh": {"EXPIRY-REAUTH-REQUIRED"},
	"ignore-retry-after":       {"RATE-RETRY-AFTER"},
	"no-retry-5xx":             {"FAULT-5XX-BACKOFF"},
	"replay-post":              {"FAULT-NO-POST-REPLAY"},
	"hibernation-as-empty":     {"FAULT-HIBERNATION"},
	"stop-on-short-page":       {"PAGE-ALL-RECORDS"},
	"follow-link-forever":      {"PAGE-STOPS-AT-LAST"},
	"log-secret":               {"SECRETS-NOT-LOGGED"},
	"token-in-url":             {"AUTH-BEARER-HEADER", "AUTH-NO-SECRET-IN-URL"},
	"secret-in-url":            {"AUTH-NO-SECRET-IN-URL"},
	"basic-to-table":           {"AUTH-CREDS-TOKEN-ENDPOINT-ONLY", "AUTH-BEARER-HEADER"},
	"ignore-state":             {"AUTH-STATE-CHECKED"},
	"no-pkce":                  {"AUTH-PKCE-PUBLIC"},
	"password-every-call":      {"REFRESH-NO-PASSWORD-RESEND"},
	"forget-tokens":            {"REFRESH-TOKENS-PERSISTED"},
	"wrong-grant":              {"AUTH-GRANT"},
}

// matrixGrant is the grant a check runs with in the matrix: password,
// unless the check applies only to others.
func matrixGrant(c integration.IntegrationCheck) string {
	if c.Applies(harness.GrantPassword) {
		return harness.GrantPassword
	}
	return c.Grants[0]
}

const referenceRow = "(none: the reference)"

// matrix holds the outcome of every (integration, check) pair.
type matrix struct {
	mu  sync.Mutex // guards res
	res map[string]map[string]integration.Result
}

func (m *matrix) put(row, id string, r integration.Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.res[row] == nil {
		m.res[row] = map[string]integration.Result{}
	}
	m.res[row][id] = r
}

func (m *matrix) get(row, id string) (integration.Result, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.res[row][id]
	return r, ok
}

// TestMutantMatrix runs every check against the reference integration
// (every grant) and against each of its bug switches, in process and in
// parallel, then asserts that the reference passes everything, that every
// bug is caught by the checks named for it, and that docs/mutant-matrix.md
// shows this run's matrix.
func TestMutantMatrix(t *testing.T) {
	t.Parallel()
	checks := integration.Checks()
	bugs := snclient.BugList()
	m := &matrix{res: map[string]map[string]integration.Result{}}
	t.Run("cells", func(t *testing.T) {
		for _, grant := range integration.Grants() {
			for _, c := range checks {
				t.Run("reference/"+grant+"/"+c.ID, func(t *testing.T) {
					t.Parallel()
					res := c.Run(context.Background(), &integration.Env{Grant: grant, Start: reference.Starter(snclient.Config{}), Logf: t.Logf})
					m.put("reference "+grant, c.ID, res)
					if !res.Passed && res.Skipped == "" {
						t.Errorf("the reference integration failed %s with the %s grant: %s", c.ID, grant, res.Explanation)
					}
				})
			}
		}
		for _, b := range bugs {
			sw, err := snclient.ParseBugs(b.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range checks {
				t.Run(b.Name+"/"+c.ID, func(t *testing.T) {
					t.Parallel()
					res := c.Run(context.Background(), &integration.Env{Grant: matrixGrant(c), Start: reference.Starter(snclient.Config{Bugs: sw}), Logf: t.Logf})
					m.put(b.Name, c.ID, res)
					t.Logf("%s: %s%s", res.State(), res.Explanation, res.Skipped)
				})
			}
		}
	})
	if t.Failed() {
		return
	}
	for _, b := range bugs {
		named, ok := namedFor[b.Name]
		if !ok {
			t.Errorf("bug %q has no checks named for it in namedFor", b.Name)
			continue
		}
		caught := 0
		for _, c := range checks {
			if r, _ := m.get(b.Name, c.ID); r.State() == suites.StateFailed {
				caught++
			}
		}
		if caught == 0 {
			t.Errorf("no check caught the bug %q", b.Name)
		}
		for _, id := range named {
			if _, ok := integration.Lookup(id); !ok {
				t.Errorf("namedFor[%q] names unknown check %s", b.Name, id)
				continue
			}
			if r, _ := m.get(b.Name, id); r.State() != suites.StateFailed {
				t.Errorf("%s did not catch the bug %q (%s): %s", id, b.Name, r.State(), r.Skipped)
			}
		}
	}
	for name := range namedFor {
		if !slices.ContainsFunc(bugs, func(b snclient.BugInfo) bool { return b.Name == name }) {
			t.Errorf("namedFor names %q, which is not a bug switch of the reference", name)
		}
	}
	goldenFile(t, filepath.Join("..", "..", "..", "docs", "mutant-matrix.md"), renderMatrix(m, checks, bugs))
}

// renderMatrix writes the matrix as Markdown: bugs down, checks across.
func renderMatrix(m *matrix, checks []integration.IntegrationCheck, bugs []snclient.BugInfo) []byte {
	var b bytes.Buffer
	b.WriteString(`# Mutant matrix

<!-- Generated by: go test ./suites/integration/mutants/ -run TestMutantMatrix -update
     TestMutantMatrix fails when this file is stale. Do not edit. -->

Each row is an integration: the reference integration
([examples/reference](../examples/reference)), correct, and then once per
bug switch ([examples/README.md](../examples/README.md)), each switching
one behaviour to a known mistake. Each column is a check of the
integration suite ([checks.md](checks.md)). A cell says what the check
said of that integration, in process against a fresh fake:

- **✗** the check failed: it caught the mistake;
- **·** the check passed;
- **–** the check does not apply to the grant (the reason is in checks.md).

The reference runs every check with every grant. A broken integration runs
each check with the password grant, or with authorization_code for the
checks that apply only to that grant. A bold **✗** is a check named for
that bug in the matrix test: it must catch it, and the test fails if it
does not.

## Caught by

| bug | what it does wrong | caught by |
|---|---|---|
`)
	for _, bug := range bugs {
		var caught []string
		for _, c := range checks {
			if r, _ := m.get(bug.Name, c.ID); r.State() == suites.StateFailed {
				caught = append(caught, "`"+c.ID+"`")
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", bug.Name, escapeCell(bug.Description), strings.Join(caught, ", "))
	}
	b.WriteString("\n## Every cell\n\n| integration |")
	for _, c := range checks {
		fmt.Fprintf(&b, " %s |", c.ID)
	}
	b.WriteString("\n|---|")
	for range checks {
		b.WriteString(":-:|")
	}
	b.WriteString("\n")
	rows := []string{}
	for _, g := range integration.Grants() {
		rows = append(rows, "reference "+g)
	}
	for _, bug := range bugs {
		rows = append(rows, bug.Name)
	}
	for _, row := range rows {
		label := "`" + row + "`"
		if strings.HasPrefix(row, "reference ") {
			label = "reference (" + strings.TrimPrefix(row, "reference ") + ")"
		}
		fmt.Fprintf(&b, "| %s |", label)
		for _, c := range checks {
			r, _ := m.get(row, c.ID)
			cell := map[string]string{suites.StateFailed: "✗", suites.StatePassed: "·", suites.StateSkipped: "–"}[r.State()]
			if cell == "✗" && slices.Contains(namedFor[row], c.ID) {
				cell = "**✗**"
			}
			fmt.Fprintf(&b, " %s |", cell)
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// goldenFile compares got with the file at path, or rewrites it with
// -update.
func goldenFile(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s is stale; run `go test ./suites/integration/mutants/ -run %s -update` (-want +got):\n%s", path, t.Name(), diff)
	}
}
