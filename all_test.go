// Repository rules that a test can check: workflows and the action lint
// clean.
package sncheck_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/rhysd/actionlint"
)

func TestWorkflowsAndActionPassActionlint(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(".github/workflows/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflow files found (%v)", err)
	}
	if _, err := os.Stat("action.yml"); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	var out bytes.Buffer
	linter, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Workflows that use the local action (uses: ./) make actionlint read
	// and check action.yml's metadata and inputs too.
	errs, err := linter.LintFiles(files, nil)
	if err != nil {
		t.Fatalf("actionlint: %v", err)
	}
	for _, e := range errs {
		t.Errorf("%s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind)
	}
	if t.Failed() {
		t.Logf("actionlint output:\n%s", out.String())
	}
}
