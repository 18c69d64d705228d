package mutants_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sncheck/sncheck/examples/reference"
	"github.com/sncheck/sncheck/examples/reference/snclient"
	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/fixtures"
	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/suites"
	"github.com/sncheck/sncheck/suites/integration"
)

// standIn is a fake standing in for a live instance: served over TLS with
// a test certificate authority, with the OAuth application and user that
// a live run is given, and more users than one page holds (the live
// pagination check lists the instance's own records).
func standIn(t *testing.T) *integration.Live {
	t.Helper()
	creds := harness.Credentials{
		ClientID: "sncheck-live", ClientSecret: "cs-" + rand.Text(),
		Username: "sncheck.live", Password: "pw-" + rand.Text(),
		RedirectURI: "http://localhost:8765/callback",
	}
	users := make([]map[string]string, 0, 150)
	for i := range 150 {
		users = append(users, map[string]string{"sys_id": fmt.Sprintf("5c0c0a%026x", i), "user_name": fmt.Sprintf("sncheck.page.%03d", i), "active": "true"})
	}
	fake, err := fakesn.New(fakesn.Options{
		Users: []fakesn.User{{UserName: creds.Username, Password: creds.Password, Name: "sncheck Live", Roles: []string{"itil"}}},
		Apps: []fakesn.App{{Name: "sncheck live", ClientID: creds.ClientID, ClientSecret: creds.ClientSecret,
			RedirectURLs: []string{creds.RedirectURI}, ApplicationUser: creds.Username}},
		Config: &fixtures.Seed{Rows: []fixtures.Rows{{Table: "sys_user", Records: users}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(fake)
	t.Cleanup(func() { ts.Close(); fake.Close() })
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return &integration.Live{
		Config:      harness.LiveConfig{URL: ts.URL, Credentials: creds, RootCAs: pool},
		AllowWrites: true, Marker: "sncheck-live-test-",
	}
}

// TestLiveMatchesFake runs every check that runs live against the
// reference integration and each of its bug switches twice: with a fresh
// fake, and through the recording proxy in front of a stand-in for a live
// instance. The verdicts must be the same, so that a live run judges as a
// fake one does; and the reference must pass every live-runnable check.
func TestLiveMatchesFake(t *testing.T) {
	t.Parallel()
	var live []integration.IntegrationCheck
	for _, c := range integration.Checks() {
		if c.LivePlan(true).Mode != integration.LiveSkip {
			live = append(live, c)
		}
	}
	if len(live) < 8 {
		t.Fatalf("only %d checks run live; the catalogue's Needs are off", len(live))
	}
	type row struct {
		name      string
		grant     string
		bugs      snclient.Bugs
		reference bool
	}
	rows := []row{}
	for _, g := range integration.Grants() {
		if g != harness.GrantAuthorizationCode {
			rows = append(rows, row{name: "reference " + g, grant: g, reference: true})
		}
	}
	for _, b := range snclient.BugList() {
		sw, err := snclient.ParseBugs(b.Name)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row{name: b.Name, grant: harness.GrantPassword, bugs: sw})
	}
	for _, r := range rows {
		for _, c := range live {
			if !c.Applies(r.grant) {
				continue
			}
			t.Run(r.name+"/"+c.ID, func(t *testing.T) {
				t.Parallel()
				start := reference.Starter(snclient.Config{Bugs: r.bugs})
				want := c.Run(context.Background(), &integration.Env{Grant: r.grant, Start: start, Logf: t.Logf})
				live := standIn(t)
				got := c.Run(context.Background(), &integration.Env{Grant: r.grant, Start: start, Live: live, Logf: t.Logf})
				// What a live run reports never holds a secret either.
				for _, sec := range live.Config.Secrets() {
					if strings.Contains(got.Explanation+got.Skipped, sec) {
						t.Errorf("the live result of %s holds a secret: %s", c.ID, got.Explanation)
					}
				}
				if got.State() != want.State() {
					t.Errorf("%s through the proxy; %s on the fake.\nlive: %s%s\nfake: %s%s", got.State(), want.State(),
						got.Explanation, got.Skipped, want.Explanation, want.Skipped)
				}
				if r.reference && got.State() != suites.StatePassed {
					t.Errorf("the reference integration does not pass %s live: %s%s", c.ID, got.Explanation, got.Skipped)
				}
				for _, id := range namedFor[r.name] {
					if id == c.ID && got.State() != suites.StateFailed {
						t.Errorf("live, %s did not catch the bug %q it is named for", c.ID, r.name)
					}
				}
			})
		}
	}
}
