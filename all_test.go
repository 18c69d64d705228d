// Repository rules that a test can check: workflows and the action lint
// clean.
package sncheck_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
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

// TestMakeFuzzRunsEveryFuzzTarget keeps `make fuzz` (and so CI's short
// pass) in step with the fuzz targets in the tree.
func TestMakeFuzzRunsEveryFuzzTarget(t *testing.T) {
	t.Parallel()
	mk, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)FUZZ_TARGETS \?= (.*?)\n[A-Z]`).FindSubmatch(mk)
	if block == nil {
		t.Fatal("Makefile has no FUZZ_TARGETS")
	}
	var listed []string
	for _, f := range strings.Fields(strings.ReplaceAll(string(block[1]), "\\", " ")) {
		listed = append(listed, f)
	}
	fuzzFunc := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(`)
	var found []string
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != "." {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range fuzzFunc.FindAllSubmatch(src, -1) {
			found = append(found, "./"+filepath.Dir(path)+":"+string(m[1]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(listed)
	slices.Sort(found)
	if !slices.Equal(listed, found) {
		t.Errorf("Makefile FUZZ_TARGETS = %v\nfuzz targets in the tree = %v", listed, found)
	}
}
