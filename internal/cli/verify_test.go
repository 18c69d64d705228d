package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/suites"
)

// TestVerifyTranscripts checks verify's refusals of a bad command line:
// exit code 2 and one clear line, before any suite runs.
func TestVerifyTranscripts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
	}{
		{name: "verify-h", args: []string{"verify", "-h"}, wantCode: exitOK},
		{name: "verify-no-command", args: []string{"verify"}, wantCode: exitUsage},
		{name: "verify-no-command-after-dashes", args: []string{"verify", "--grant", "password", "--"}, wantCode: exitUsage},
		{name: "verify-bad-grant", args: []string{"verify", "--grant", "implicit", "--", "true"}, wantCode: exitUsage},
		{name: "verify-bad-grant-env", env: map[string]string{"SNCHECK_GRANT": "implicit"}, args: []string{"verify", "--", "true"}, wantCode: exitUsage},
		{name: "verify-unknown-check", args: []string{"verify", "--check", "OAUTH-TOKEN-SHAPE", "--", "true"}, wantCode: exitUsage},
		{name: "verify-bad-label-filter", args: []string{"verify", "--label-filter", "auth &&", "--", "true"}, wantCode: exitUsage},
		{name: "verify-adapter-not-found", args: []string{"verify", "--", "./no-such-adapter-here"}, wantCode: exitUsage},
		{name: "verify-bad-timeout", args: []string{"verify", "--timeout", "0s", "--", "true"}, wantCode: exitUsage},
		// live (--instance, --url): refused before anything is sent.
		{name: "verify-live-instance-and-url", args: []string{"verify", "--instance", "dev1", "--url", "https://dev1.service-now.com", "--", "true"}, wantCode: exitUsage},
		{name: "verify-live-missing-credentials", args: []string{"verify", "--instance", "dev1", "--", "true"}, wantCode: exitUsage},
		{name: "verify-live-plain-http", args: []string{"verify", "--url", "http://dev1.service-now.com", "--", "true"}, wantCode: exitUsage},
		{name: "verify-live-authorization-code", args: []string{"verify", "--grant", "authorization_code", "--instance", "dev1", "--", "true"}, wantCode: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCaptured(t, tt.args, tt.env)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstderr:\n%s", code, tt.wantCode, stderr)
			}
			var b strings.Builder
			for k, v := range tt.env {
				fmt.Fprintf(&b, "$ export %s=%s\n", k, v)
			}
			fmt.Fprintf(&b, "$ %s\nexit %d\n-- stdout --\n%s-- stderr --\n%s", strings.Join(append([]string{"sncheck"}, tt.args...), " "), code, stdout, stderr)
			checkGolden(t, filepath.Join("testdata", tt.name+".txt"), b.String())
		})
	}
}

// runBinary runs the built sncheck with args, in a clean environment, and
// returns its exit code and output.
func runBinary(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(needBinaries(t)["sncheck"], args...)
	cmd.Env = cleanEnviron(nil)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// TestVerifyEndToEnd runs `sncheck verify` against the reference adapter:
// passing checks exit 0 with progress, summary and a saved run; a broken
// adapter exits 3 with the failing check's explanation and hint.
func TestVerifyEndToEnd(t *testing.T) {
	t.Parallel()
	ref := needBinaries(t)["sncheck-reference"]

	t.Run("passes", func(t *testing.T) {
		t.Parallel()
		save := filepath.Join(t.TempDir(), "run.json")
		code, stdout, stderr := runBinary(t, "verify", "--check", "AUTH-GRANT", "--check", "REFRESH-ON-EXPIRY",
			"--check", "AUTH-STATE-CHECKED", "--save", save, "--", ref)
		if code != exitOK {
			t.Fatalf("exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`(?m)^sncheck verify: integration suite against \S+sncheck-reference \(password grant\), a fresh fake per check$`),
			regexp.MustCompile(`(?m)^✓ AUTH-GRANT \(\d+\.\d\ds\)$`),
			regexp.MustCompile(`(?m)^✓ REFRESH-ON-EXPIRY \(\d+\.\d\ds\)$`),
			regexp.MustCompile(`(?m)^- AUTH-STATE-CHECKED \(\d+\.\d\ds\): does not apply to the password grant: state exists only in the authorization-code flow$`),
			regexp.MustCompile(`(?m)^3 checks: 2 passed, 0 failed, 1 skipped in `),
		} {
			if !want.MatchString(stdout) {
				t.Errorf("stdout does not match %v:\n%s", want, stdout)
			}
		}
		run, err := suites.ReadRunFile(save)
		if err != nil {
			t.Fatal(err)
		}
		if run.Suite != "integration" || run.Summary != (suites.Summary{Passed: 2, Skipped: 1}) {
			t.Errorf("saved run: suite %q, summary %+v; want integration, 2 passed, 1 skipped", run.Suite, run.Summary)
		}
	})

	t.Run("authorization_code", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runBinary(t, "verify", "--grant", "authorization_code", "--label-filter", "auth", "--", ref)
		if code != exitOK {
			t.Fatalf("exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if !strings.Contains(stdout, "✓ AUTH-STATE-CHECKED") || !strings.Contains(stdout, "✓ AUTH-PKCE-PUBLIC") {
			t.Errorf("stdout lacks the authorization-code checks:\n%s", stdout)
		}
	})

	t.Run("catches a bug", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runBinary(t, "verify", "--check", "SECRETS-NOT-LOGGED", "--check", "AUTH-GRANT", "--", ref, "-bug", "log-secret")
		if code != exitChecksFailed {
			t.Fatalf("exit code %d, want 3\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		for _, want := range []string{
			"✓ AUTH-GRANT", "✗ SECRETS-NOT-LOGGED",
			"2 checks: 1 passed, 1 failed, 0 skipped",
			"The integration's output", "contains the client secret",
			"hint: log requests without their bodies",
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
		if !strings.Contains(stderr, "1 of 2 checks failed: SECRETS-NOT-LOGGED") {
			t.Errorf("stderr lacks the failing check:\n%s", stderr)
		}
	})

	// live: a fake over TLS with a test CA stands in for a live instance
	// (the child trusts it through SSL_CERT_FILE); the adapter talks to the
	// recording proxy, and nothing secret reaches the output or the run.
	t.Run("live", func(t *testing.T) {
		t.Parallel()
		creds := harness.Credentials{ClientID: "sncheck-live", ClientSecret: "cs-" + rand.Text(), Username: "sncheck.live", Password: "pw-" + rand.Text()}
		fake, err := fakesn.New(fakesn.Options{
			Users: []fakesn.User{{UserName: creds.Username, Password: creds.Password, Roles: []string{"itil"}}},
			Apps:  []fakesn.App{{Name: "live", ClientID: creds.ClientID, ClientSecret: creds.ClientSecret, ApplicationUser: creds.Username}},
		})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewTLSServer(fake)
		t.Cleanup(func() { ts.Close(); fake.Close() })
		dir := t.TempDir()
		pemFile := filepath.Join(dir, "ca.pem")
		if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
			t.Fatal(err)
		}
		save := filepath.Join(dir, "run.json")
		cmd := exec.Command(needBinaries(t)["sncheck"], "verify", "--url", ts.URL, "--save", save,
			"--check", "AUTH-GRANT", "--check", "REFRESH-ON-EXPIRY", "--check", "FAULT-5XX-BACKOFF",
			"--check", "SCOPE-INSUFFICIENT", "--check", "FAULT-NO-POST-REPLAY", "--", ref)
		cmd.Env = cleanEnviron(map[string]string{
			"SSL_CERT_FILE": pemFile, harness.EnvClientID: creds.ClientID, harness.EnvClientSecret: creds.ClientSecret,
			harness.EnvUsername: creds.Username, harness.EnvPassword: creds.Password,
		})
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`(?m)^sncheck verify: integration suite against \S+sncheck-reference \(password grant\), live instance https://127\.0\.0\.1:\d+ through a recording proxy \(read-only\)$`),
			regexp.MustCompile(`(?m)^✓ AUTH-GRANT `),
			regexp.MustCompile(`(?m)^✓ REFRESH-ON-EXPIRY `),
			regexp.MustCompile(`(?m)^✓ FAULT-5XX-BACKOFF `),
			regexp.MustCompile(`(?m)^- SCOPE-INSUFFICIENT \(\d+\.\d\ds\): against a live instance: needs the instance configured for the check`),
			regexp.MustCompile(`(?m)^- FAULT-NO-POST-REPLAY \(\d+\.\d\ds\): against a live instance: creates records; run with --allow-writes`),
			regexp.MustCompile(`(?m)^5 checks: 3 passed, 0 failed, 2 skipped in `),
		} {
			if !want.MatchString(stdout.String()) {
				t.Errorf("stdout does not match %v:\n%s", want, stdout.String())
			}
		}
		saved, err := os.ReadFile(save)
		if err != nil {
			t.Fatal(err)
		}
		run, err := suites.ReadRunFile(save)
		if err != nil {
			t.Fatal(err)
		}
		if !run.Target.Live || run.Target.Name != "live" || run.Summary != (suites.Summary{Passed: 3, Skipped: 2}) {
			t.Errorf("saved run: target %+v, summary %+v; want live, 3 passed, 2 skipped", run.Target, run.Summary)
		}
		for _, sec := range creds.Secrets() {
			for place, text := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String(), "saved run": string(saved)} {
				if strings.Contains(text, sec) {
					t.Errorf("the %s holds a secret", place)
				}
			}
		}
		if fj, _ := fake.Journal(context.Background(), fakesn.JournalFilter{API: "oauth_revoke"}); len(fj) == 0 {
			t.Error("the instance saw no revocation: REFRESH-ON-EXPIRY was not forced by revocation")
		}
	})

	t.Run("dead adapter", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runBinary(t, "verify", "--check", "AUTH-GRANT", "--", "false")
		if code != exitChecksFailed {
			t.Fatalf("exit code %d, want 3\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if !strings.Contains(stdout, "✗ AUTH-GRANT") || !strings.Contains(stdout, "adapter") {
			t.Errorf("stdout does not explain the dead adapter:\n%s", stdout)
		}
	})
}
