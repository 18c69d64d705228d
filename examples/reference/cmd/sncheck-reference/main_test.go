package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
)

// The tests run this test binary as the adapter: harness.Exec gives it a
// clean environment, so -as-adapter (and the adapter's own flags after
// "--") travel on the command line.
var asAdapter = flag.Bool("as-adapter", false, "run as sncheck-reference (tests only)")

func TestMain(m *testing.M) {
	flag.Parse()
	if *asAdapter {
		os.Exit(run(context.Background(), flag.Args(), os.Getenv, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func adapter(args ...string) harness.Starter {
	return harness.Exec(os.Args[0], append([]string{"-as-adapter", "--"}, args...)...)
}

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

func setup(t *testing.T, grant string) (*fakesn.Server, *fakesn.FakeClock, harness.IntegrationConfig) {
	t.Helper()
	clock := fakesn.NewFakeClock(t0)
	srv := harness.StartFake(t, fakesn.Options{Clock: clock})
	c := harness.DefaultCredentials()
	return srv, clock, harness.IntegrationConfig{
		InstanceURL: srv.URL(), ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		Username: c.Username, Password: c.Password, GrantType: grant,
		RedirectURI: c.RedirectURI, StateDir: t.TempDir(),
	}
}

func start(t *testing.T, s harness.Starter, cfg harness.IntegrationConfig) harness.Integration {
	t.Helper()
	integ, err := s(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = integ.Close() })
	return integ
}

func grants(t *testing.T, srv *fakesn.Server, grant string) int {
	t.Helper()
	j, err := srv.Journal(context.Background(), fakesn.JournalFilter{API: "oauth_token", GrantType: grant})
	if err != nil {
		t.Fatal(err)
	}
	return len(j)
}

func TestAdapterOverExec(t *testing.T) {
	t.Parallel()
	srv, clock, cfg := setup(t, harness.GrantPassword)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	integ := start(t, adapter("-page-size", "7"), cfg)
	if u, err := integ.Connect(ctx); err != nil || u != "" {
		t.Fatalf("Connect = %q, %v", u, err)
	}
	rec, err := integ.Create(ctx, "incident", harness.Record{"short_description": "over exec"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	id := rec["sys_id"].(string)
	if _, err := integ.Update(ctx, "incident", id, harness.Record{"urgency": "1"}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	all, err := integ.List(ctx, "incident", "", []string{"sys_id"})
	if err != nil || len(all) < 8 {
		t.Fatalf("List = %d records, %v", len(all), err)
	}
	clock.Advance(31 * time.Minute)
	got, err := integ.Get(ctx, "incident", id)
	if err != nil || got["urgency"] != "1" {
		t.Fatalf("Get after expiry = %v, %v", got, err)
	}
	if err := integ.Delete(ctx, "incident", id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := integ.Get(ctx, "incident", id); harness.KindOf(err) != harness.KindNotFound {
		t.Fatalf("Get after Delete = %v, want not_found", err)
	}
	if p, r := grants(t, srv, "password"), grants(t, srv, "refresh_token"); p != 1 || r != 1 {
		t.Errorf("password grants = %d, refresh grants = %d; want 1 and 1", p, r)
	}
	if err := integ.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	out := string(integ.(harness.OutputCapturer).Output())
	if !strings.Contains(out, "path=/api/now/table/incident") {
		t.Errorf("stderr has no request log:\n%s", out)
	}
	for _, s := range cfg.Secrets() {
		if strings.Contains(out, s) {
			t.Errorf("stderr holds a secret:\n%s", out)
		}
	}

	// A restart with the same state directory reuses the kept tokens.
	again := start(t, adapter(), cfg)
	if _, err := again.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := again.Get(ctx, "sys_user", "6816f79cc0a8016401c5a33be04be441"); err != nil {
		t.Fatal(err)
	}
	if n := grants(t, srv, ""); n != 2 {
		t.Errorf("token requests = %d after the restart, want still 2", n)
	}
}

func TestAdapterAuthorizationCode(t *testing.T) {
	t.Parallel()
	srv, _, cfg := setup(t, harness.GrantAuthorizationCode)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	integ := start(t, adapter(), cfg)
	u, err := integ.Connect(ctx)
	if err != nil || !strings.HasPrefix(u, srv.URL()+"/oauth_auth.do?") {
		t.Fatalf("Connect = %q, %v; want the authorize URL", u, err)
	}
	redirect, err := harness.AuthorizeAsUser(ctx, srv.Client(), u, "itil", "itil")
	if err != nil {
		t.Fatal(err)
	}
	if err := integ.Callback(ctx, redirect); err != nil {
		t.Fatalf("Callback: %v", err)
	}
	if _, err := integ.List(ctx, "incident", "active=true", []string{"number"}); err != nil {
		t.Fatalf("List: %v", err)
	}
	if n := grants(t, srv, "authorization_code"); n != 1 {
		t.Errorf("authorization_code grants = %d, want 1", n)
	}
}

func TestAdapterBugFlag(t *testing.T) {
	t.Parallel()
	srv, _, cfg := setup(t, harness.GrantPassword)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	integ := start(t, adapter("-bug", "token-in-url"), cfg)
	if _, err := integ.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := integ.Get(ctx, "sys_user", "6816f79cc0a8016401c5a33be04be441"); err != nil {
		t.Fatal(err)
	}
	j, _ := srv.Journal(ctx, fakesn.JournalFilter{API: "table"})
	if len(j) != 1 || j[0].AuthKind != "bearer_query" {
		t.Errorf("Table API journal %+v; want one bearer_query call", j)
	}
	if out := string(integ.(harness.OutputCapturer).Output()); !strings.Contains(out, "deliberate bugs switched on") {
		t.Errorf("stderr does not announce the bug:\n%s", out)
	}
}

func TestRunUsage(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"SN_INSTANCE_URL": "http://127.0.0.1:1", "SN_CLIENT_ID": "c", "SN_CLIENT_SECRET": "s",
		"SN_USERNAME": "u", "SN_PASSWORD": "p", "SN_GRANT_TYPE": "password",
	}
	getenv := func(extra map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return env[k]
		}
	}
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		stdin    string
		code     int
		stdout   string // substring
		stderr   string // substring
		noStderr string
	}{
		{name: "list bugs", args: []string{"-list-bugs"}, code: 0, stdout: "never-refresh "},
		{name: "unknown bug", args: []string{"-bug", "nope"}, code: 2, stderr: `unknown bug "nope"`},
		{name: "unknown bug from the environment", env: map[string]string{"SNCHECK_BUG": "nope"}, code: 2, stderr: `unknown bug "nope"`},
		{name: "bad flag", args: []string{"-frobnicate"}, code: 2, stderr: "flag provided but not defined"},
		{name: "missing configuration", env: map[string]string{"SN_PASSWORD": ""}, code: 2, stderr: "missing SN_PASSWORD", noStderr: "=s"},
		{name: "other protocol version", env: map[string]string{"SNCHECK_DRIVER_PROTOCOL": "sncheck-driver/9"}, code: 2, stderr: "speaks sncheck-driver/1"},
		{name: "serves until shutdown", stdin: `{"id":1,"op":"frobnicate"}` + "\n" + `{"id":2,"op":"shutdown"}` + "\n", code: 0,
			stdout: `{"id":1,"ok":false,"error":{"kind":"invalid_request","message":"unknown op \"frobnicate\""}}` + "\n" + `{"id":2,"ok":true,"result":{}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, getenv(tc.env), strings.NewReader(tc.stdin), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout.String(), tc.stdout)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tc.stderr)
			}
			if tc.noStderr != "" && strings.Contains(stderr.String(), tc.noStderr) {
				t.Errorf("stderr = %q shows %q", stderr.String(), tc.noStderr)
			}
		})
	}
}
