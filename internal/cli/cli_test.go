package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata/")

// mapEnv is a getenv over a fixed map, so tests never touch the process
// environment.
func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// runCaptured runs the command line with a cancelled context (so nothing
// long-running can hang a test) and returns its exit code and output.
func runCaptured(t *testing.T, args []string, environ map[string]string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, args, &env{stdout: &out, stderr: &errOut, getenv: mapEnv(environ)})
	return exitCode(err), out.String(), errOut.String()
}

var versionLine = regexp.MustCompile(`(?m)^sncheck (\S+) (go\S+) (\S+)/(\S+)$`)

// TestTranscripts compares whole runs (exit code, stdout, stderr) with
// testdata/<name>.txt. Rewrite them with: go test ./internal/cli -update
func TestTranscripts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
	}{
		{name: "help", args: []string{"help"}, wantCode: exitOK},
		{name: "help-flag", args: []string{"-h"}, wantCode: exitOK},
		{name: "help-serve", args: []string{"help", "serve"}, wantCode: exitOK},
		{name: "help-health", args: []string{"help", "health"}, wantCode: exitOK},
		{name: "serve-h", args: []string{"serve", "-h"}, wantCode: exitOK},
		{name: "version", args: []string{"version"}, wantCode: exitOK},

		{name: "no-args", args: nil, wantCode: exitUsage},
		{name: "unknown-command", args: []string{"frobnicate"}, wantCode: exitUsage},
		{name: "unknown-top-flag", args: []string{"--bogus"}, wantCode: exitUsage},
		{name: "help-unknown-command", args: []string{"help", "frobnicate"}, wantCode: exitUsage},
		{name: "version-extra-arg", args: []string{"version", "now"}, wantCode: exitUsage},
		{name: "serve-bad-flag", args: []string{"serve", "--bogus"}, wantCode: exitUsage},
		{name: "serve-extra-arg", args: []string{"serve", "now"}, wantCode: exitUsage},
		{name: "serve-addr-without-port", args: []string{"serve", "--addr", "8080"}, wantCode: exitUsage},
		{name: "serve-non-loopback-without-admin-token", args: []string{"serve", "--addr", "0.0.0.0:8080"}, wantCode: exitUsage},
		{name: "serve-non-loopback-env-without-admin-token", env: map[string]string{"FAKESN_ADDR": "192.0.2.10:8080"}, args: []string{"serve"}, wantCode: exitUsage},
		{name: "serve-bad-clock", args: []string{"serve", "--clock", "sundial"}, wantCode: exitUsage},
		{name: "serve-bad-clock-env", env: map[string]string{"FAKESN_CLOCK": "sundial"}, args: []string{"serve"}, wantCode: exitUsage},
		{name: "serve-bad-start-time", args: []string{"serve", "--clock", "fake", "--start-time", "yesterday"}, wantCode: exitUsage},
		{name: "serve-bad-bool-env", env: map[string]string{"FAKESN_STRICT": "maybe"}, args: []string{"serve"}, wantCode: exitUsage},
		{name: "serve-bad-int", args: []string{"serve", "--journal-size", "lots"}, wantCode: exitUsage},
		{name: "serve-bad-int-env", env: map[string]string{"FAKESN_JOURNAL_SIZE": "lots"}, args: []string{"serve"}, wantCode: exitUsage},
		{name: "serve-negative-journal", args: []string{"serve", "--journal-size", "-1"}, wantCode: exitUsage},
		{name: "health-no-url", args: []string{"health"}, wantCode: exitUsage},
		{name: "health-not-a-url", args: []string{"health", "ftp://example.com"}, wantCode: exitUsage},
		{name: "health-two-urls", args: []string{"health", "http://a:1", "http://b:2"}, wantCode: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCaptured(t, tt.args, tt.env)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstderr:\n%s", code, tt.wantCode, stderr)
			}
			if tt.name == "version" {
				stdout = normalizeVersion(t, stdout)
			}
			var b strings.Builder
			keys := make([]string, 0, len(tt.env))
			for k := range tt.env {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				fmt.Fprintf(&b, "$ export %s=%s\n", k, tt.env[k])
			}
			fmt.Fprintf(&b, "$ %s\nexit %d\n-- stdout --\n%s-- stderr --\n%s", strings.Join(append([]string{"sncheck"}, tt.args...), " "), code, stdout, stderr)
			checkGolden(t, filepath.Join("testdata", tt.name+".txt"), b.String())
		})
	}
}

// normalizeVersion checks the version line's parts and replaces them with
// placeholders, so the golden does not depend on the toolchain.
func normalizeVersion(t *testing.T, out string) string {
	t.Helper()
	m := versionLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("version output %q does not match %v", out, versionLine)
	}
	if m[1] != buildVersion() || m[2] != runtime.Version() || m[3] != runtime.GOOS || m[4] != runtime.GOARCH {
		t.Errorf("version line %q, want version %s, %s, %s/%s", m[0], buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
	return versionLine.ReplaceAllString(out, "sncheck VERSION GOVERSION GOOS/GOARCH")
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got); run go test -update if the change is intended:\n%s", path, diff)
	}
}

func TestVersionLDFlag(t *testing.T) {
	// Not parallel: it sets the package variable -ldflags -X would set.
	old := version
	t.Cleanup(func() { version = old })
	version = "v1.2.3"
	code, stdout, _ := runCaptured(t, []string{"version"}, nil)
	want := fmt.Sprintf("sncheck v1.2.3 %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if code != exitOK || stdout != want {
		t.Errorf("version = %d %q, want 0 %q", code, stdout, want)
	}
}

// TestExitCodesDocumented keeps cmd/sncheck/doc.go's "# Exit codes"
// section in step with the codes the errors carry.
func TestExitCodesDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "cmd", "sncheck", "doc.go"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "# Exit codes")
	if !ok {
		t.Fatal("cmd/sncheck/doc.go has no # Exit codes section")
	}
	for _, c := range []struct {
		code int
		word string
	}{{exitOK, "success"}, {exitRuntime, "runtime error"}, {exitUsage, "usage error"}, {exitChecksFailed, "checks failed"}} {
		if line := fmt.Sprintf("//\t%d  %s", c.code, c.word); !strings.Contains(section, line) {
			t.Errorf("doc.go exit codes lack %q", line)
		}
	}
}

func TestExitErrorCarriesCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want int
	}{
		{name: "nil", err: nil, want: 0},
		{name: "usage", err: usageErrorf("x"), want: 2},
		{name: "runtime", err: runtimeError(fmt.Errorf("x")), want: 1},
		{name: "checks failed", err: &exitError{code: exitChecksFailed, err: fmt.Errorf("x")}, want: 3},
		{name: "wrapped", err: fmt.Errorf("outer: %w", usageErrorf("x")), want: 2},
		{name: "plain error", err: fmt.Errorf("x"), want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := exitCode(tt.err); got != tt.want {
				t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
			// cmd/sncheck finds the code through this interface.
			var ec interface{ ExitCode() int }
			if tt.err != nil && tt.want != 1 && !errors.As(tt.err, &ec) {
				t.Errorf("%v does not carry ExitCode()", tt.err)
			}
		})
	}
}
