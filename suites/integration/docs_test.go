package integration_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sncheck/sncheck/suites/integration"
)

var update = flag.Bool("update", false, "rewrite the integration part of docs/checks.md")

// docs/checks.md holds the whole catalogue; each suite's tests keep their
// own section of it, between markers.
const (
	docPath  = "../../docs/checks.md"
	docBegin = "<!-- BEGIN generated: integration suite (go test ./suites/integration -run TestChecksDoc -update) -->"
	docEnd   = "<!-- END generated: integration suite -->"
)

// TestChecksDoc keeps the integration part of docs/checks.md equal to the
// catalogue. Rewrite it with -update.
func TestChecksDoc(t *testing.T) {
	t.Parallel()
	want := integrationDoc()
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start, end := strings.Index(doc, docBegin), strings.Index(doc, docEnd)
	if start < 0 || end < start {
		if !*update {
			t.Fatalf("%s has no generated integration section (between %q and %q); run go test ./suites/integration -run TestChecksDoc -update", docPath, docBegin, docEnd)
		}
		doc = strings.TrimRight(doc, "\n") + "\n\n" + docBegin + docEnd + "\n"
		start, end = strings.Index(doc, docBegin), strings.Index(doc, docEnd)
	}
	got := doc[start+len(docBegin) : end]
	if got == want {
		return
	}
	if *update {
		doc = doc[:start+len(docBegin)] + want + doc[end:]
		if err := os.WriteFile(docPath, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is stale; run go test ./suites/integration -run TestChecksDoc -update (-want +got):\n%s", docPath, cmp.Diff(want, got))
}

// integrationDoc renders the integration suite's part of the catalogue.
func integrationDoc() string {
	checks := integration.Checks()
	var b strings.Builder
	fmt.Fprintf(&b, `
## Integration suite

What a correct integration does when the instance does what real instances
do: %d checks, run against an integration's adapter with `+"`sncheck verify -- COMMAND`"+`
(one check: `+"`--check ID`"+`; a group: `+"`--label-filter`"+`), or against Go code in
process (`+"`integration.Register`"+`, as `+"`go test ./suites/integration`"+` does for the
reference integration). Every check starts the integration against a fresh
fake with a canary user and OAuth application whose password and client
secret are random, and judges it by the fake's request journal (what the
integration sent), its answers' error kinds, and its output (stderr),
scanned for the canaries and for the tokens the fake issued. A failed check
explains, in one paragraph, what the integration did and what it should
have done. Each statement completes "a correct integration …".

Labels: `+"`auth`, `refresh`, `expiry`, `scope`, `acl`, `ratelimit`, `faults`, `pagination`, `secrets`"+`.
**Needs** says what a check needs from the instance beyond observing the
integration: `+"`clock`"+` (moves the fake's clock), `+"`faults`"+` (injects 429, 5xx,
hibernation), `+"`config`"+` (sets up scopes, ACLs, OAuth applications),
`+"`writes`"+` (creates records), `+"`revocation`"+` (revokes tokens). **Grants** lists the
grants a check applies to; with another grant it is skipped with the reason.
Which broken integration each check catches is in
[mutant-matrix.md](mutant-matrix.md).

| ID | Statement | Labels | Needs | Grants |
|---|---|---|---|---|
`, len(checks))
	for _, c := range checks {
		needs := strings.Join(c.Needs, ", ")
		if needs == "" {
			needs = "—"
		}
		grants := "all"
		if len(c.Grants) > 0 {
			grants = strings.Join(c.Grants, ", ")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", c.ID, mdCell(c.Statement), strings.Join(c.Labels[1:], ", "), needs, grants)
	}
	b.WriteString("\n### Hints\n\n")
	for _, c := range checks {
		fmt.Fprintf(&b, "- **`%s`** — %s", c.ID, c.Hint)
		if c.NotFor != "" {
			fmt.Fprintf(&b, " (Only with %s: %s.)", strings.Join(c.Grants, ", "), c.NotFor)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	return b.String()
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
