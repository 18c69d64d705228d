// Package python_test runs the Python adapter (sncheck_adapter.py) through
// harness.Exec against the fake.
package python_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
)

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// adapter returns a Starter for the Python adapter, or skips the test when
// python3 is not installed.
func adapter(t *testing.T, args ...string) harness.Starter {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skipf("python3 is not installed (%v); the Python adapter is not tested", err)
	}
	script, err := filepath.Abs("sncheck_adapter.py")
	if err != nil {
		t.Fatal(err)
	}
	return harness.Exec(py, append([]string{"-B", script}, args...)...)
}

type env struct {
	srv   *fakesn.Server
	clock *fakesn.FakeClock
	cfg   harness.IntegrationConfig
}

func newEnv(t *testing.T, grant string) *env {
	t.Helper()
	clock := fakesn.NewFakeClock(t0)
	srv := harness.StartFake(t, fakesn.Options{Clock: clock})
	c := harness.DefaultCredentials()
	return &env{srv: srv, clock: clock, cfg: harness.IntegrationConfig{
		InstanceURL: srv.URL(), ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		Username: c.Username, Password: c.Password, GrantType: grant,
		RedirectURI: c.RedirectURI, StateDir: t.TempDir(),
	}}
}

func (e *env) start(t *testing.T, s harness.Starter) harness.Integration {
	t.Helper()
	integ, err := s(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := integ.Close(); err != nil {
			t.Errorf("Close: %v\nstderr:\n%s", err, integ.(harness.OutputCapturer).Output())
		}
	})
	return integ
}

func (e *env) grants(t *testing.T, grant string) int {
	t.Helper()
	j, err := e.srv.Journal(context.Background(), fakesn.JournalFilter{API: "oauth_token", GrantType: grant})
	if err != nil {
		t.Fatal(err)
	}
	return len(j)
}

// testAgent marks the test's own requests in the journal.
const testAgent = "sncheck-python-test"

// countIncidents asks the fake directly, as admin.
func (e *env) countIncidents(t *testing.T) int {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL()+"/api/now/table/incident?sysparm_fields=sys_id", nil)
	req.SetBasicAuth("admin", "admin")
	req.Header.Set("User-Agent", testAgent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body struct {
		Result []harness.Record `json:"result"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	return len(body.Result)
}

// checkClean asserts Bearer on every Table API call, no secrets in URLs,
// and none on stderr.
func checkClean(t *testing.T, e *env, integ harness.Integration) {
	t.Helper()
	j, _ := e.srv.Journal(context.Background(), fakesn.JournalFilter{})
	for _, x := range j {
		if x.UserAgent == testAgent {
			continue
		}
		if len(x.SecretsInURL) > 0 {
			t.Errorf("%s %s carried %v in its URL", x.Method, x.Path, x.SecretsInURL)
		}
		if x.API == "table" && x.AuthKind != "bearer" {
			t.Errorf("%s %s authenticated with %q", x.Method, x.Path, x.AuthKind)
		}
		if x.API == "oauth_token" && x.ClientAuth != "form" {
			t.Errorf("token request used client auth %q", x.ClientAuth)
		}
	}
	out := string(integ.(harness.OutputCapturer).Output())
	for _, s := range append(e.cfg.Secrets(), "Bearer ") {
		if strings.Contains(out, s) {
			t.Errorf("stderr holds %q:\n%s", s, out)
		}
	}
}

func TestPythonAdapter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		grant string
		renew string // the grant that replaces an expired access token
	}{
		{name: "password", grant: harness.GrantPassword, renew: "refresh_token"},
		{name: "client credentials", grant: harness.GrantClientCredentials, renew: "client_credentials"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := adapter(t, "--page-size", "7")
			e := newEnv(t, tc.grant)
			integ := e.start(t, start)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if u, err := integ.Connect(ctx); err != nil || u != "" {
				t.Fatalf("Connect = %q, %v", u, err)
			}
			rec, err := integ.Create(ctx, "incident", harness.Record{"short_description": "from python"})
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			id, _ := rec["sys_id"].(string)
			if len(id) != 32 {
				t.Fatalf("Create returned %v", rec)
			}
			if upd, err := integ.Update(ctx, "incident", id, harness.Record{"urgency": "1"}); err != nil || upd["urgency"] != "1" {
				t.Fatalf("Update = %v, %v", upd, err)
			}
			all, err := integ.List(ctx, "incident", "", []string{"sys_id"})
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if want := e.countIncidents(t); len(all) != want {
				t.Errorf("List returned %d records over pages of 7, want %d", len(all), want)
			}
			// The fake's clock moves past the access token's life.
			e.clock.Advance(31 * time.Minute)
			got, err := integ.Get(ctx, "incident", id)
			if err != nil || got["urgency"] != "1" {
				t.Fatalf("Get after expiry = %v, %v", got, err)
			}
			if n := e.grants(t, tc.renew); n != map[bool]int{true: 2, false: 1}[tc.renew == tc.grant] {
				t.Errorf("%s grants = %d after one expiry", tc.renew, n)
			}
			if err := integ.Delete(ctx, "incident", id); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, err := integ.Get(ctx, "incident", id); harness.KindOf(err) != harness.KindNotFound {
				t.Fatalf("Get after Delete = %v, want not_found", err)
			}
			checkClean(t, e, integ)
		})
	}
}

func TestPythonAdapterDeadRefresh(t *testing.T) {
	t.Parallel()
	start := adapter(t)
	e := newEnv(t, harness.GrantPassword)
	integ := e.start(t, start)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := integ.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.ExpireTokens(ctx, fakesn.ExpireRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := integ.List(ctx, "incident", "", nil); harness.KindOf(err) != harness.KindReauthRequired {
		t.Fatalf("List with dead tokens = %v, want reauth_required", err)
	}
	if _, err := integ.Get(ctx, "incident", "x"); harness.KindOf(err) != harness.KindReauthRequired {
		t.Fatalf("next Get = %v, want reauth_required", err)
	}
	if n := e.grants(t, "refresh_token"); n != 1 {
		t.Errorf("refresh grants = %d, want 1", n)
	}
	j, _ := e.srv.Journal(ctx, fakesn.JournalFilter{API: "table"})
	if len(j) != 1 {
		t.Errorf("Table API calls = %d, want 1 (none after the refused refresh)", len(j))
	}
}

func TestPythonAdapterRestartAndRefusals(t *testing.T) {
	t.Parallel()
	start := adapter(t)
	e := newEnv(t, harness.GrantPassword)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first := e.start(t, start)
	if _, err := first.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(e.cfg.StateDir, "python-adapter-token.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v; want mode 0600", fi, err)
	}
	second := e.start(t, start)
	if _, err := second.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := second.Get(ctx, "sys_user", "6816f79cc0a8016401c5a33be04be441"); err != nil {
		t.Fatal(err)
	}
	if n := e.grants(t, ""); n != 1 {
		t.Errorf("token requests = %d, want 1: the restart reuses the kept token", n)
	}
	if _, err := e.srv.AddFault(ctx, fakesn.Fault{API: "table", Status: 403, Body: `{"error":{"message":"User Not Authorized","detail":"Missing required api access scope: incident_read"},"status":"failure"}`}); err != nil {
		t.Fatal(err)
	}
	if _, err := second.List(ctx, "incident", "", nil); harness.KindOf(err) != harness.KindInsufficientScope || !strings.Contains(err.Error(), "incident_read") {
		t.Errorf("List with a missing scope = %v, want insufficient_scope naming incident_read", err)
	}
	if _, err := second.Create(ctx, "u_no_such_table", harness.Record{}); harness.KindOf(err) != harness.KindInvalidRequest {
		t.Errorf("Create on an unknown table = %v, want invalid_request", err)
	}

	e.cfg.GrantType = harness.GrantAuthorizationCode
	e.cfg.StateDir = t.TempDir()
	third := e.start(t, start)
	if _, err := third.Connect(ctx); harness.KindOf(err) != harness.KindInvalidRequest {
		t.Errorf("Connect with authorization_code = %v, want invalid_request", err)
	}
}
