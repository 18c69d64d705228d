package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Tests that run whole suites need the real binary: a suite runs in a
// child process, which is sncheck re-executed (os.Executable), so the
// test binary cannot stand in for it. TestMain owns a directory for the
// binaries, built on first use (tests that do not need them stay fast)
// and removed at the end.

var testBinDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sncheck-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testBinDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// testBinaries builds sncheck and the reference adapter once.
var testBinaries = sync.OnceValues(func() (map[string]string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for name, pkg := range map[string]string{
		"sncheck":           "github.com/sncheck/sncheck/cmd/sncheck",
		"sncheck-reference": "github.com/sncheck/sncheck/examples/reference/cmd/sncheck-reference",
	} {
		bin := filepath.Join(testBinDir, name)
		if b, err := exec.Command(goTool, "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building %s: %v\n%s", pkg, err, b)
		}
		out[name] = bin
	}
	return out, nil
})

// needBinaries returns the built binaries, or skips in -short mode.
func needBinaries(t *testing.T) map[string]string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds sncheck and runs suites")
	}
	bins, err := testBinaries()
	if err != nil {
		t.Fatal(err)
	}
	return bins
}

// cleanEnviron is this process's environment without anything that
// changes what sncheck does or prints, plus env.
func cleanEnviron(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "SN_") || strings.HasPrefix(k, "SNCHECK_") || strings.HasPrefix(k, "FAKESN_") ||
			k == "NO_COLOR" || k == "CLICOLOR_FORCE" {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// sncheckRun runs the built sncheck and returns its exit code and output.
func sncheckRun(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(needBinaries(t)["sncheck"], args...)
	cmd.Env = cleanEnviron(env)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running sncheck %v: %v", args, err)
	}
	return code, out.String(), errOut.String()
}
