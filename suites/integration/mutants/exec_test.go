package mutants_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sncheck/sncheck/examples/reference"
	"github.com/sncheck/sncheck/examples/reference/snclient"
	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/suites"
	"github.com/sncheck/sncheck/suites/integration"
)

func mustCheck(t *testing.T, id string) integration.IntegrationCheck {
	t.Helper()
	c, ok := integration.Lookup(id)
	if !ok {
		t.Fatalf("no check %s", id)
	}
	return c
}

// TestExplanationIsReadable pins what a failed check says: one paragraph
// that names what the integration did (the 401s, the missing refresh) and
// what it should have done.
func TestExplanationIsReadable(t *testing.T) {
	t.Parallel()
	bugs, err := snclient.ParseBugs("never-refresh")
	if err != nil {
		t.Fatal(err)
	}
	res := mustCheck(t, "REFRESH-ON-EXPIRY").Run(context.Background(), &integration.Env{
		Grant: harness.GrantPassword, Start: reference.Starter(snclient.Config{Bugs: bugs}), Logf: t.Logf,
	})
	if res.State() != suites.StateFailed {
		t.Fatalf("REFRESH-ON-EXPIRY against never-refresh: %s, want failed", res.State())
	}
	got := res.Explanation
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`answered 401 \(2 of them\)`),
		regexp.MustCompile(`sent no token request: it never refreshed`),
		regexp.MustCompile(`reauth_required`),
		regexp.MustCompile(`2× GET /api/now/table/incident/[0-9a-f]{32} → 401`),
		regexp.MustCompile(`should have renewed the access token once with the refresh grant \(grant_type=refresh_token\) and retried`),
	} {
		if !want.MatchString(got) {
			t.Errorf("explanation does not match %v:\n%s", want, got)
		}
	}
	if strings.Contains(got, "\n") {
		t.Errorf("explanation is not one paragraph:\n%s", got)
	}
}

// execCases are checks run through real adapter processes: the protocol
// path (stdin/stdout, stderr capture, restart with a state directory).
var execCases = []struct {
	name  string
	grant string
	check string
	args  []string // adapter arguments
	want  string   // state
}{
	{name: "grant", grant: harness.GrantPassword, check: "AUTH-GRANT", want: suites.StatePassed},
	{name: "refresh", grant: harness.GrantPassword, check: "REFRESH-ON-EXPIRY", want: suites.StatePassed},
	{name: "single flight", grant: harness.GrantPassword, check: "REFRESH-SINGLE-FLIGHT", want: suites.StatePassed},
	{name: "restart", grant: harness.GrantPassword, check: "REFRESH-TOKENS-PERSISTED", want: suites.StatePassed},
	{name: "pages", grant: harness.GrantClientCredentials, check: "PAGE-ALL-RECORDS", want: suites.StatePassed},
	{name: "stderr scanned", grant: harness.GrantPassword, check: "SECRETS-NOT-LOGGED", want: suites.StatePassed},
	{name: "state", grant: harness.GrantAuthorizationCode, check: "AUTH-STATE-CHECKED", want: suites.StatePassed},
	{name: "log-secret caught", grant: harness.GrantPassword, check: "SECRETS-NOT-LOGGED", args: []string{"-bug", "log-secret"}, want: suites.StateFailed},
	{name: "never-refresh caught", grant: harness.GrantPassword, check: "REFRESH-ON-EXPIRY", args: []string{"-bug", "never-refresh"}, want: suites.StateFailed},
	{name: "ignore-state caught", grant: harness.GrantAuthorizationCode, check: "AUTH-STATE-CHECKED", args: []string{"-bug", "ignore-state"}, want: suites.StateFailed},
}

// TestReferenceAdapter runs checks through the reference adapter process.
func TestReferenceAdapter(t *testing.T) {
	t.Parallel()
	if referenceAdapter == "" {
		t.Skipf("the reference adapter could not be built: %v", buildErr)
	}
	for _, tc := range execCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := mustCheck(t, tc.check).Run(context.Background(), &integration.Env{
				Grant: tc.grant, Start: harness.Exec(referenceAdapter, tc.args...), Logf: t.Logf,
			})
			if res.State() != tc.want {
				t.Errorf("%s %v with the %s grant: %s, want %s: %s%s", tc.check, tc.args, tc.grant, res.State(), tc.want, res.Explanation, res.Skipped)
			}
		})
	}
}

// TestPythonAdapter runs every check the Python adapter's README claims
// through python3, with the password grant, and the grant and renewal
// checks with client_credentials too (python3 is slow to start: a run of
// everything with both grants would take minutes).
func TestPythonAdapter(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts python3 for every check")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skipf("python3 is not installed (%v); the Python adapter is not checked", err)
	}
	dir := filepath.Join("..", "..", "..", "examples", "python")
	script, err := filepath.Abs(filepath.Join(dir, "sncheck_adapter.py"))
	if err != nil {
		t.Fatal(err)
	}
	claimed := claimedChecks(t, filepath.Join(dir, "README.md"))
	if len(claimed) == 0 {
		t.Fatal("examples/python/README.md claims no check")
	}
	start := harness.Exec(py, "-B", script)
	for _, grant := range []string{harness.GrantPassword, harness.GrantClientCredentials} {
		for _, c := range claimed {
			if grant == harness.GrantClientCredentials && c.ID != "AUTH-GRANT" && c.ID != "REFRESH-ON-EXPIRY" {
				continue
			}
			t.Run(grant+"/"+c.ID, func(t *testing.T) {
				t.Parallel()
				res := c.Run(context.Background(), &integration.Env{Grant: grant, Start: start, Logf: t.Logf})
				if res.State() == suites.StateFailed {
					t.Errorf("the Python adapter fails %s, which its README claims, with the %s grant: %s", c.ID, grant, res.Explanation)
				}
			})
		}
	}
}

// claimedChecks reads the check IDs an adapter's README claims: those in
// the paragraph that says it passes them.
func claimedChecks(t *testing.T, readme string) []integration.IntegrationCheck {
	t.Helper()
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	_, claims, ok := strings.Cut(text, "it passes every")
	if !ok {
		t.Fatalf("%s does not say which checks it passes (\"it passes every check …: IDs\")", readme)
	}
	claims, _, _ = strings.Cut(claims, "\n\n")
	var out []integration.IntegrationCheck
	for _, id := range regexp.MustCompile(`\b[A-Z]+(?:-[A-Z0-9]+)+\b`).FindAllString(claims, -1) {
		c, ok := integration.Lookup(id)
		if !ok {
			t.Errorf("%s claims %s, which is not an integration check", readme, id)
			continue
		}
		if !slices.ContainsFunc(out, func(o integration.IntegrationCheck) bool { return o.ID == id }) {
			out = append(out, c)
		}
	}
	return out
}
