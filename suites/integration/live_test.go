package integration_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sncheck/sncheck/examples/reference"
	"github.com/sncheck/sncheck/examples/reference/snclient"
	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/suites"
	"github.com/sncheck/sncheck/suites/integration"
)

const liveDocPath = "../../docs/live-verify.md"

// TestLiveDoc keeps docs/live-verify.md equal to what the catalogue's
// Needs say about live runs. Rewrite it with -update.
func TestLiveDoc(t *testing.T) {
	t.Parallel()
	want := integration.LiveDoc()
	if *update {
		if err := os.WriteFile(liveDocPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(liveDocPath)
	if err != nil {
		t.Fatalf("%v; run go test ./suites/integration -run TestLiveDoc -update", err)
	}
	if d := cmp.Diff(want, string(got)); d != "" {
		t.Errorf("%s is stale; run go test ./suites/integration -run TestLiveDoc -update (-want +got):\n%s", liveDocPath, d)
	}
}

// TestLivePlan: what a check needs decides how it runs live.
func TestLivePlan(t *testing.T) {
	t.Parallel()
	modes := map[integration.LiveMode]int{}
	for _, c := range integration.Checks() {
		ro, rw := c.LivePlan(false), c.LivePlan(true)
		modes[rw.Mode]++
		has := func(n string) bool { return slices.Contains(c.Needs, n) }
		authCodeOnly := !c.Applies(harness.GrantPassword) && !c.Applies(harness.GrantClientCredentials)
		switch {
		case authCodeOnly || has(integration.NeedConfig):
			if ro.Mode != integration.LiveSkip || rw.Mode != integration.LiveSkip {
				t.Errorf("%s needs config or the authorization_code grant but runs live (%s, %s)", c.ID, ro.Mode, rw.Mode)
			}
		case has(integration.NeedWrites) && ro.Writes:
			if ro.Mode != integration.LiveSkip || rw.Mode == integration.LiveSkip {
				t.Errorf("%s writes: want it skipped without --allow-writes and run with it, got %s, %s", c.ID, ro.Mode, rw.Mode)
			}
		case has(integration.NeedFaults):
			if rw.Mode != integration.LiveFaults {
				t.Errorf("%s needs faults: mode %s, want %s", c.ID, rw.Mode, integration.LiveFaults)
			}
		case has(integration.NeedClock) || has(integration.NeedRevocation):
			if rw.Mode != integration.LiveRevoke {
				t.Errorf("%s needs token expiry: mode %s, want %s", c.ID, rw.Mode, integration.LiveRevoke)
			}
		default:
			if ro.Mode != integration.LiveObserve {
				t.Errorf("%s needs only observation: mode %s", c.ID, ro.Mode)
			}
		}
		if ro.Reason == "" || rw.Reason == "" {
			t.Errorf("%s: a live plan without a reason", c.ID)
		}
	}
	for _, m := range []integration.LiveMode{integration.LiveObserve, integration.LiveRevoke, integration.LiveFaults, integration.LiveSkip} {
		if modes[m] == 0 {
			t.Errorf("no check runs live in mode %s; the catalogue's Needs are off", m)
		}
	}
}

// TestLiveWritesAreMarkedAndDeleted runs the check that creates a record
// against a stand-in for a live instance (a fake over TLS with a test CA):
// skipped without --allow-writes; with it, the record the integration
// created carries the run marker and is gone when the check ends.
func TestLiveWritesAreMarkedAndDeleted(t *testing.T) {
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
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	c, ok := integration.Lookup("FAULT-NO-POST-REPLAY")
	if !ok {
		t.Fatal("no FAULT-NO-POST-REPLAY check")
	}
	const marker = "sncheck-livetest-"
	run := func(allowWrites bool) integration.Result {
		return c.Run(context.Background(), &integration.Env{
			Grant: harness.GrantPassword, Start: reference.Starter(snclient.Config{}), Logf: t.Logf,
			Live: &integration.Live{Config: harness.LiveConfig{URL: ts.URL, Credentials: creds, RootCAs: pool}, AllowWrites: allowWrites, Marker: marker},
		})
	}
	if r := run(false); r.State() != suites.StateSkipped {
		t.Fatalf("read-only: %s (%s), want skipped", r.State(), r.Explanation)
	}
	if fj, _ := fake.Journal(context.Background(), fakesn.JournalFilter{Path: "/api/now/table/*"}); len(fj) != 0 {
		t.Fatalf("a skipped check sent %d Table API requests to the instance", len(fj))
	}
	if r := run(true); r.State() != suites.StatePassed {
		t.Fatalf("with writes: %s: %s%s", r.State(), r.Explanation, r.Skipped)
	}
	var created, deleted int
	es, _ := fake.Journal(context.Background(), fakesn.JournalFilter{Path: "/api/now/table/incident*"})
	for _, e := range es {
		switch {
		case e.Method == http.MethodPost && e.Status == http.StatusCreated:
			created++
		case e.Method == http.MethodDelete && e.Status == http.StatusNoContent:
			deleted++
		}
	}
	if created != 1 || deleted != 1 {
		t.Errorf("the instance saw %d creations and %d deletions, want 1 and 1", created, deleted)
	}
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/now/table/incident?sysparm_fields=sys_id&sysparm_query=short_descriptionSTARTSWITH"+marker, nil)
	req.SetBasicAuth(creds.Username, creds.Password)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var left struct {
		Result []json.RawMessage `json:"result"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&left)
	if resp.StatusCode != http.StatusOK || len(left.Result) != 0 {
		t.Errorf("after the check, %d marked records are left (status %d)", len(left.Result), resp.StatusCode)
	}
}

func TestLiveFromEnviron(t *testing.T) {
	t.Parallel()
	full := map[string]string{
		integration.EnvLiveURL: "https://dev1.service-now.com", harness.EnvClientID: "id", harness.EnvClientSecret: "cs",
		harness.EnvUsername: "u", harness.EnvPassword: "pw", suites.EnvAllowWrites: "true", suites.EnvRunMarker: "sncheck-abc",
		integration.EnvLiveBudget: "50",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range full {
			m[a] = b
		}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantNil bool
		wantErr bool
	}{
		{name: "not live", env: with(integration.EnvLiveURL, ""), wantNil: true},
		{name: "live", env: full},
		{name: "missing password", env: with(harness.EnvPassword, ""), wantErr: true},
		{name: "plain http", env: with(integration.EnvLiveURL, "http://dev1.service-now.com"), wantErr: true},
		{name: "bad budget", env: with(integration.EnvLiveBudget, "12abc"), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := integration.LiveFromEnviron(func(k string) string { return tc.env[k] })
			switch {
			case tc.wantErr:
				if err == nil {
					t.Fatalf("no error, got %+v", l)
				}
				if s := err.Error(); slices.ContainsFunc([]string{"cs", "pw"}, func(sec string) bool { return s == sec }) {
					t.Errorf("error %q is a secret", s)
				}
			case err != nil:
				t.Fatal(err)
			case tc.wantNil != (l == nil):
				t.Fatalf("Live = %+v, want nil: %v", l, tc.wantNil)
			case l != nil && (!l.AllowWrites || l.Marker != "sncheck-abc" || l.MaxRequests != 50 || l.Config.URL != full[integration.EnvLiveURL]):
				t.Errorf("Live = %+v", l)
			}
		})
	}
}
