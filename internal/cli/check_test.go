package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/suites"
	"github.com/sncheck/sncheck/suites/instance"
)

// TestCheckUsage checks check's and diff's refusals of a bad command line:
// exit code 2 (1 for unreadable files), one clear line, no suite run and
// no secret echoed.
func TestCheckUsage(t *testing.T) {
	t.Parallel()
	creds := map[string]string{"SN_CLIENT_ID": "id", "SN_CLIENT_SECRET": "S3CRET-ENV", "SN_USERNAME": "u", "SN_PASSWORD": "PW-ENV"}
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStderr []string
	}{
		{name: "instance and url", args: []string{"check", "--instance", "dev1", "--url", "https://x.example"}, wantCode: exitUsage,
			wantStderr: []string{"give --instance or --url, not both"}},
		{name: "missing credentials name the variables", args: []string{"--instance", "dev1"}, wantCode: exitUsage,
			wantStderr: []string{"SN_CLIENT_ID", "SN_CLIENT_SECRET", "SN_USERNAME", "SN_PASSWORD"}},
		{name: "instance from the environment", args: []string{"check"}, env: map[string]string{"SN_INSTANCE": "dev1", "SN_CLIENT_ID": "id"},
			wantCode: exitUsage, wantStderr: []string{"missing SN_CLIENT_SECRET, SN_USERNAME, SN_PASSWORD"}},
		{name: "plain http beyond loopback", args: []string{"--url", "http://192.0.2.1"}, env: creds, wantCode: exitUsage,
			wantStderr: []string{"plain http"}},
		{name: "unknown check", args: []string{"check", "--check", "NO-SUCH-CHECK"}, wantCode: exitUsage,
			wantStderr: []string{"--check NO-SUCH-CHECK: no such check"}},
		{name: "bad label filter", args: []string{"check", "--label-filter", "oauth &&"}, wantCode: exitUsage,
			wantStderr: []string{"--label-filter"}},
		{name: "bad timeout", args: []string{"check", "--timeout", "0s"}, wantCode: exitUsage},
		{name: "extra argument", args: []string{"check", "now"}, wantCode: exitUsage, wantStderr: []string{`unexpected argument "now"`}},
		{name: "unknown flag", args: []string{"--bogus"}, wantCode: exitUsage, wantStderr: []string{"-bogus"}},
		{name: "secret flags warn and are not echoed", args: []string{"--instance", "dev1", "--client-secret", "S3CRET-FLAG", "--password", "PW-FLAG"},
			wantCode: exitUsage, wantStderr: []string{"--client-secret on the command line is visible", "--password on the command line is visible", "SN_CLIENT_ID"}},
		{name: "help", args: []string{"check", "-h"}, wantCode: exitOK},
		{name: "diff without files", args: []string{"diff", "a.json"}, wantCode: exitUsage, wantStderr: []string{"want two saved runs"}},
		{name: "diff of missing files", args: []string{"diff", "testdata/no-such-run.json", "testdata/no-such-run.json"}, wantCode: exitRuntime,
			wantStderr: []string{"no-such-run.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCaptured(t, tt.args, tt.env)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstderr:\n%s", code, tt.wantCode, stderr)
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			for _, secret := range []string{"S3CRET-ENV", "PW-ENV", "S3CRET-FLAG", "PW-FLAG"} {
				if strings.Contains(stdout+stderr, secret) {
					t.Errorf("the output holds the secret %s", secret)
				}
			}
			if tt.wantCode == exitOK && !strings.Contains(stdout, "Usage: sncheck check") {
				t.Errorf("check -h printed no usage:\n%s", stdout)
			}
		})
	}
}

// TestDiffCommand compares saved runs: differences by check ID and exit 3,
// or "no differences" and exit 0.
func TestDiffCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mk := func(name, state, total string) string {
		headers := map[string]string{}
		if total != "" {
			headers["X-Total-Count"] = total
		}
		run := &suites.Run{Schema: suites.RunSchema, Tool: "sncheck", Suite: "instance",
			Target: suites.TargetInfo{Name: "fake", URL: "http://127.0.0.1:1"},
			Results: []suites.Result{{ID: "TABLE-TOTAL-COUNT", State: state, Observations: []suites.Observation{
				{Name: "first page", Method: "GET", Path: "/api/now/table/incident", Status: 200, Headers: headers, Body: "json"},
			}}}}
		run.Finish()
		path := filepath.Join(dir, name)
		if err := saveRun(path, run); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a, b := mk("a.json", suites.StatePassed, "65"), mk("b.json", suites.StateFailed, "")
	code, stdout, stderr := runCaptured(t, []string{"diff", a, b}, nil)
	if code != exitChecksFailed {
		t.Errorf("diff of differing runs: exit %d, want 3\n%s", code, stderr)
	}
	for _, want := range []string{"TABLE-TOTAL-COUNT: state: passed → failed", `TABLE-TOTAL-COUNT "first page": header X-Total-Count: 65 → (absent)`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("diff output lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = runCaptured(t, []string{"diff", a, a}, nil)
	if code != exitOK || !strings.Contains(stdout, "no differences") {
		t.Errorf("diff of a run with itself: exit %d\n%s", code, stdout)
	}
}

// sncheckBinary builds cmd/sncheck once: `sncheck check` runs the suite in
// a child process, which must be the real binary.
var sncheckBinary = sync.OnceValues(func() (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "sncheck-check-test-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "sncheck")
	if out, err := exec.Command(goTool, "build", "-o", bin, "github.com/sncheck/sncheck/cmd/sncheck").CombinedOutput(); err != nil {
		return "", fmt.Errorf("building cmd/sncheck: %v\n%s", err, out)
	}
	return bin, nil
})

// sncheck runs the built binary with args and extra environment.
func sncheck(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	bin, err := sncheckBinary()
	if err != nil {
		t.Skipf("cannot build sncheck: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = suites.ChildEnv(os.Environ(), nil)
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	return exitOf(t, cmd.Run()), out.String(), errOut.String()
}

func exitOf(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}

// startServeBinary starts the built binary's `serve` on a free port and
// returns its URL.
func startServeBinary(t *testing.T) string {
	t.Helper()
	bin, err := sncheckBinary()
	if err != nil {
		t.Skipf("cannot build sncheck: %v", err)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	cmd.Env = suites.ChildEnv(os.Environ(), nil)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading serve's first line: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "sncheck serve: listening on ")
	if !ok {
		t.Fatalf("serve's first line is %q", line)
	}
	return url
}

// TestCheckAgainstServe is the acceptance run: the built binary's serve on
// a free port, and `sncheck check --url` against it passing every check,
// then `sncheck diff` of two such runs finding nothing.
func TestCheckAgainstServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	url := startServeBinary(t)
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.json"), filepath.Join(dir, "second.json")
	code, stdout, stderr := sncheck(t, nil, "check", "--url", url, "--save", first)
	if code != exitOK {
		t.Fatalf("sncheck check --url %s: exit %d\nstdout:\n%s\nstderr:\n%s", url, code, stdout, stderr)
	}
	run, err := suites.ReadRunFile(first)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range suites.Catalogue() {
		if c.Suite == "instance" {
			n++
			if r, ok := run.Result(c.ID); !ok || r.State != suites.StatePassed {
				t.Errorf("%s: %+v (in the run: %v)", c.ID, r, ok)
			}
		}
	}
	if len(run.Results) != n || run.Target.Name != "fake-url" || run.Requests == 0 {
		t.Errorf("run: %d results (want %d), target %+v, %d requests", len(run.Results), n, run.Target, run.Requests)
	}
	for _, want := range []string{"instance suite against the fake at " + url, "✓ OAUTH-TOKEN-SHAPE", fmt.Sprintf("%d checks: %d passed, 0 failed, 0 skipped", n, n)} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}

	// No subcommand means check; one check is one result.
	code, stdout, _ = sncheck(t, nil, "--url", url, "--check", "TABLE-ENVELOPE", "--save", second)
	if code != exitOK || !strings.Contains(stdout, "1 checks: 1 passed") {
		t.Errorf("sncheck --url --check: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = sncheck(t, nil, "diff", first, first)
	if code != exitOK || !strings.Contains(stdout, "no differences") {
		t.Errorf("sncheck diff of a run with itself: exit %d\n%s", code, stdout)
	}
}

// TestCheckEmbeddedFake runs `sncheck check` with no target: a fresh
// embedded fake, every check passing.
func TestCheckEmbeddedFake(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	code, stdout, stderr := sncheck(t, nil, "check")
	if code != exitOK || !strings.Contains(stdout, "a fresh embedded fake") || !strings.Contains(stdout, " 0 failed, 0 skipped") {
		t.Errorf("sncheck check: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// brokenFake serves a fake without X-Total-Count: a non-conformant
// instance at a URL.
func brokenFake(t *testing.T, hold func(w http.ResponseWriter, r *http.Request) bool) (*fakesn.Server, string) {
	t.Helper()
	srv, err := fakesn.New(fakesn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hold != nil && hold(w, r) {
			return
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("X-Total-Count")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(ts.Close)
	return srv, ts.URL
}

// TestCheckFailsWithIDsAndHints runs check against a broken instance: exit
// 3, the failing checks listed with what was seen and the hint, and the
// saved run differing from a good one exactly there.
func TestCheckFailsWithIDsAndHints(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	_, url := brokenFake(t, nil)
	dir := t.TempDir()
	bad, good := filepath.Join(dir, "bad.json"), filepath.Join(dir, "good.json")
	code, stdout, stderr := sncheck(t, nil, "check", "--url", url, "--label-filter", "table && !writes", "--save", bad)
	if code != exitChecksFailed {
		t.Fatalf("exit %d, want 3\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"✗ TABLE-TOTAL-COUNT", "Failed checks:", "seen: X-Total-Count is missing", "hint: Clients page with X-Total-Count"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "checks failed: TABLE-LINK-HEADER, TABLE-LINK-LAST-PAGE, TABLE-TOTAL-COUNT") {
		t.Errorf("stderr: %s", stderr)
	}
	if code, _, stderr := sncheck(t, nil, "check", "--label-filter", "table && !writes", "--save", good); code != exitOK {
		t.Fatalf("the good run: exit %d: %s", code, stderr)
	}
	code, stdout, _ = sncheck(t, nil, "diff", good, bad)
	if code != exitChecksFailed || !strings.Contains(stdout, "TABLE-TOTAL-COUNT: state: passed → failed") {
		t.Errorf("sncheck diff good bad: exit %d\n%s", code, stdout)
	}
}

// TestCheckCtrlC interrupts `sncheck check` (SIGINT to the parent, as a
// terminal's Ctrl-C does) while a write is in flight: exit 1, and no
// record of the run is left on the instance.
func TestCheckCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin, err := sncheckBinary()
	if err != nil {
		t.Skipf("cannot build sncheck: %v", err)
	}
	marker := instance.NewMarker()
	created := make(chan struct{})
	var once sync.Once
	// The handler runs on the server's goroutines; the child process is
	// no synchronisation the race detector can see.
	var srvRef atomic.Pointer[fakesn.Server]
	srv, url := brokenFake(t, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || r.URL.Path != "/api/now/table/incident" {
			return false
		}
		first := false
		once.Do(func() { first = true })
		if !first {
			return false
		}
		srvRef.Load().ServeHTTP(httptest.NewRecorder(), r) // the record exists; the client never hears
		close(created)
		<-r.Context().Done()
		return true
	})
	srvRef.Store(srv)
	cmd := exec.Command(bin, "check", "--url", url, "--label-filter", "writes", "--allow-writes")
	cmd.Env = append(suites.ChildEnv(os.Environ(), nil), suites.EnvRunMarker+"="+marker)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-created:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("no write reached the fake:\n%s", out.String())
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := exitOf(t, cmd.Wait()); code != exitRuntime || !strings.Contains(out.String(), "interrupted") {
		t.Errorf("interrupted check: exit %d, want 1\n%s", code, out.String())
	}
	req := httptest.NewRequest(http.MethodGet, "/api/now/table/incident?sysparm_fields=sys_id&sysparm_query=short_descriptionSTARTSWITH"+marker, nil)
	req.SetBasicAuth("admin", "admin")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var body struct {
		Result []json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Result) != 0 {
		t.Errorf("records marked %s after the interrupted run: %s", marker, rec.Body.String())
	}
}
