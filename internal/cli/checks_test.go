package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sncheck/sncheck/suites"
	"github.com/sncheck/sncheck/suites/integration"
)

func TestChecksTranscripts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{name: "checks-h", args: []string{"checks", "-h"}, wantCode: exitOK},
		{name: "checks-integration", args: []string{"checks", "--suite", "integration"}, wantCode: exitOK},
		{name: "checks-label-filter", args: []string{"checks", "--label-filter", "scope && !fake-only"}, wantCode: exitOK},
		{name: "checks-none", args: []string{"checks", "--label-filter", "no-such-label"}, wantCode: exitOK},
		{name: "checks-bad-suite", args: []string{"checks", "--suite", "other"}, wantCode: exitUsage},
		{name: "checks-bad-filter", args: []string{"checks", "--label-filter", "auth &&"}, wantCode: exitUsage},
		{name: "checks-extra-arg", args: []string{"checks", "all"}, wantCode: exitUsage},
		{name: "check-h", args: []string{"check", "-h"}, wantCode: exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCaptured(t, tt.args, nil)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstderr:\n%s", code, tt.wantCode, stderr)
			}
			got := fmt.Sprintf("$ %s\nexit %d\n-- stdout --\n%s-- stderr --\n%s", shellJoin(append([]string{"sncheck"}, tt.args...)), code, stdout, stderr)
			checkGolden(t, filepath.Join("testdata", tt.name+".txt"), got)
		})
	}
}

// TestChecksJSON: --json lists the whole catalogue, with what only the
// integration suite has (grants), and every check once.
func TestChecksJSON(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCaptured(t, []string{"checks", "--json"}, nil)
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	var got []checkInfo
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	want := suites.Catalogue()
	if len(got) != len(want) {
		t.Fatalf("%d checks, want the catalogue's %d", len(got), len(want))
	}
	perSuite := map[string]int{}
	for i, c := range got {
		if diff := cmp.Diff(want[i], c.Check); diff != "" {
			t.Errorf("check %d (-catalogue +json):\n%s", i, diff)
		}
		perSuite[c.Suite]++
		if ic, ok := integration.Lookup(c.ID); ok {
			if !cmp.Equal(ic.Grants, c.Grants) || ic.NotFor != c.NotFor {
				t.Errorf("%s: grants %v %q, want %v %q", c.ID, c.Grants, c.NotFor, ic.Grants, ic.NotFor)
			}
		}
	}
	if perSuite["instance"] == 0 || perSuite["integration"] != len(integration.Checks()) {
		t.Errorf("checks per suite %v; the integration suite has %d", perSuite, len(integration.Checks()))
	}
	if !strings.Contains(stdout, `"grants": [`) || !strings.Contains(stdout, `"not_for": "`) {
		t.Error("no check in the JSON says which grants it applies to")
	}
}

// TestChecksDocCoversCatalogue: docs/checks.md, which the suites'
// TestChecksDoc generate from the catalogue, lists exactly the checks
// `sncheck checks` lists: a check added or removed without regenerating
// the document fails here, without running a suite.
func TestChecksDocCoversCatalogue(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "checks.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9-]+)` \\|").FindAllStringSubmatch(string(data), -1) {
		documented[m[1]] = true
	}
	listed := map[string]bool{}
	for _, c := range catalogue() {
		listed[c.ID] = true
		if !documented[c.ID] {
			t.Errorf("docs/checks.md does not list the %s check %s: regenerate it (go test ./suites/%s -run TestChecksDoc -update)", c.Suite, c.ID, c.Suite)
		}
	}
	for id := range documented {
		if !listed[id] {
			t.Errorf("docs/checks.md lists %s, which is no check any more: regenerate it", id)
		}
	}
}
