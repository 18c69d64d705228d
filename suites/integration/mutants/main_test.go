package mutants_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/mutant-matrix.md from this run")

// referenceAdapter is the reference integration's adapter, built once for
// the exec-driver tests; empty when it could not be built (buildErr says
// why).
var (
	referenceAdapter string
	buildErr         error
)

func TestMain(m *testing.M) {
	flag.Parse()
	// The checks mostly wait (Retry-After, backoff, HTTP round trips), so
	// run more of them at once than there are CPUs unless told otherwise.
	if !flagSet("test.parallel") {
		_ = flag.Set("test.parallel", fmt.Sprint(max(16, 8*runtime.GOMAXPROCS(0))))
	}
	dir, err := os.MkdirTemp("", "sncheck-integration-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	referenceAdapter, buildErr = buildReference(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// buildReference builds examples/reference/cmd/sncheck-reference into dir.
func buildReference(dir string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no go tool to build the reference adapter: %v", err)
	}
	bin := filepath.Join(dir, "sncheck-reference")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command(goTool, "build", "-o", bin, "github.com/sncheck/sncheck/examples/reference/cmd/sncheck-reference")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the reference adapter: %v\n%s", err, out)
	}
	return bin, nil
}
