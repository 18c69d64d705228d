package reference_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/sncheck/sncheck/examples/reference"
	"github.com/sncheck/sncheck/examples/reference/snclient"
	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
)

const adminID = "6816f79cc0a8016401c5a33be04be441"

// bugCase is one bug switch and a scenario whose observation (what the
// fake's journal or the results show) differs between the correct client
// and the broken one.
type bugCase struct {
	name  string // the bug, as -bug takes it
	opts  fakesn.Options
	setup func(e *env, base *snclient.Config)
	run   func(t *testing.T, e *env, integ *reference.Integration) string
	right string // observation without the bug
	wrong string // observation with it
}

func bugCases() []bugCase {
	ctx := context.Background()
	getAdmin := func(i *reference.Integration) error {
		_, err := i.Get(ctx, "sys_user", adminID)
		return err
	}
	listAll := func(i *reference.Integration) ([]harness.Record, error) {
		return i.List(ctx, "incident", "", []string{"number"})
	}
	scope403 := fakesn.Fault{API: "table", Status: 403,
		Body: `{"error":{"message":"User Not Authorized","detail":"Missing required api access scope: incident_read"},"status":"failure"}`}
	shortPages := func(e *env, base *snclient.Config) {
		e.admin("POST", "/api/now/table/sys_security_acl", map[string]string{
			"name": "incident", "operation": "read", "roles": "itil", "condition": "active=true", "active": "true",
		})
		e.cfg.Username, e.cfg.Password = "itil", "itil"
		base.PageSize = 4
	}
	// forget-tokens restarts the client it ran with: setup keeps its
	// configuration (the right and wrong runs of a case are sequential).
	var restartBase snclient.Config
	return []bugCase{
		{name: "never-refresh",
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				e.expire()
				err := getAdmin(i)
				return fmt.Sprintf("kind=%s refresh=%d", kindOf(err), e.grants("refresh_token"))
			},
			right: "kind= refresh=1", wrong: "kind=reauth_required refresh=0"},
		{name: "refresh-every-call",
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				for range 3 {
					if err := getAdmin(i); err != nil {
						t.Fatal(err)
					}
				}
				return fmt.Sprintf("refresh=%d", e.grants("refresh_token"))
			},
			right: "refresh=0", wrong: "refresh=3"},
		{name: "concurrent-refresh",
			setup: func(e *env, base *snclient.Config) { base.HTTPClient = &http.Client{Transport: newBarrier(4)} },
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				e.expire()
				var wg sync.WaitGroup
				for range 4 {
					wg.Add(1)
					go func() { defer wg.Done(); _ = getAdmin(i) }()
				}
				wg.Wait()
				return fmt.Sprintf("refresh=%d", e.grants("refresh_token"))
			},
			right: "refresh=1", wrong: "refresh=4"},
		{name: "reuse-superseded-refresh",
			opts: fakesn.Options{RefreshTokenRotation: true},
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				var err error
				for range 2 {
					e.expire()
					if err = getAdmin(i); err != nil {
						break
					}
				}
				presented := map[string]bool{}
				for _, j := range e.journal(fakesn.JournalFilter{API: "oauth_token", GrantType: "refresh_token"}) {
					presented[j.Token] = true
				}
				return fmt.Sprintf("kind=%s distinct_refresh_tokens=%d", kindOf(err), len(presented))
			},
			right: "kind= distinct_refresh_tokens=2", wrong: "kind=reauth_required distinct_refresh_tokens=1"},
		{name: "retry-403-forever",
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				e.fault(fakesn.Fault{API: "table", Status: 403, Times: -1})
				err := getAdmin(i)
				return fmt.Sprintf("kind=%s calls=%d", kindOf(err), e.tableCalls())
			},
			right: "kind=forbidden calls=1", wrong: "kind=forbidden calls=26"},
		{name: "refresh-on-403",
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				e.fault(scope403)
				err := getAdmin(i)
				return fmt.Sprintf("kind=%s refresh=%d", kindOf(err), e.grants("refresh_token"))
			},
			right: "kind=insufficient_scope refresh=0", wrong: "kind= refresh=1"},
		{name: "scope-as-forbidden",
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				e.fault(scope403)
				return fmt.Sprintf("kind=%s", kindOf(getAdmin(i)))
			},
			right: "kind=insufficient_scope", wrong: "kind=forbidden"},
		{name: "loop-on-dead-refresh",
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				_, _ = e.srv.ExpireTokens(ctx, fakesn.ExpireRequest{})
				err := getAdmin(i)
				return fmt.Sprintf("kind=%s refresh=%d", kindOf(err), e.grants("refresh_token"))
			},
			right: "kind=reauth_required refresh=1", wrong: "kind=reauth_required refresh=25"},
		{name: "table-after-dead-refresh",
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				_, _ = e.srv.ExpireTokens(ctx, fakesn.ExpireRequest{})
				err := getAdmin(i)
				return fmt.Sprintf("kind=%s calls=%d", kindOf(err), e.tableCalls())
			},
			right: "kind=reauth_required calls=1", wrong: "kind=reauth_required calls=2"},
		{name: "ignore-retry-after",
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				e.fault(fakesn.Fault{API: "table", Status: 429, RetryAfter: 2})
				err := getAdmin(i)
				return fmt.Sprintf("kind=%s waits=%v", kindOf(err), e.sleeps.waits())
			},
			right: "kind= waits=[2s]", wrong: "kind= waits=[0s]"},
		{name: "no-retry-5xx",
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				e.fault(fakesn.Fault{API: "table", Status: 503})
				err := getAdmin(i)
				return fmt.Sprintf("kind=%s calls=%d", kindOf(err), e.tableCalls())
			},
			right: "kind= calls=2", wrong: "kind=unavailable calls=1"},
		{name: "replay-post",
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				e.fault(fakesn.Fault{API: "table", Method: "POST", Action: fakesn.FaultStatusAfter, Status: 500})
				_, err := i.Create(ctx, "incident", harness.Record{"short_description": "replayed?"})
				recs, _ := i.List(ctx, "incident", "short_description=replayed?", []string{"sys_id"})
				return fmt.Sprintf("kind=%s created=%d", kindOf(err), len(recs))
			},
			right: "kind=unavailable created=1", wrong: "kind= created=2"},
		{name: "hibernation-as-empty",
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				_ = e.srv.SetHibernating(ctx, true)
				recs, err := listAll(i)
				return fmt.Sprintf("kind=%s records=%d", kindOf(err), len(recs))
			},
			right: "kind=unavailable records=0", wrong: "kind= records=0"},
		{name: "stop-on-short-page",
			setup: shortPages,
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				recs, err := listAll(i)
				if err != nil {
					t.Fatal(err)
				}
				var want struct {
					Result []harness.Record `json:"result"`
				}
				decode(t, e.admin("GET", "/api/now/table/incident?sysparm_query=active%3Dtrue&sysparm_fields=number", nil), &want)
				return fmt.Sprintf("complete=%v", len(recs) == len(want.Result))
			},
			right: "complete=true", wrong: "complete=false"},
		{name: "follow-link-forever",
			setup: func(e *env, base *snclient.Config) { base.PageSize = 10 },
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				recs, err := listAll(i)
				if err != nil {
					t.Fatal(err)
				}
				return fmt.Sprintf("pages_past_the_last=%d", e.tableCalls()-(len(recs)+9)/10)
			},
			right: "pages_past_the_last=0", wrong: "pages_past_the_last=1"},
		{name: "log-secret",
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				if err := getAdmin(i); err != nil {
					t.Fatal(err)
				}
				return fmt.Sprintf("secret_in_output=%v", strings.Contains(string(i.Output()), e.cfg.ClientSecret))
			},
			right: "secret_in_output=false", wrong: "secret_in_output=true"},
		{name: "token-in-url",
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				err := getAdmin(i)
				j := e.journal(fakesn.JournalFilter{API: "table"})[0]
				return fmt.Sprintf("kind=%s auth=%s url_secrets=%v", kindOf(err), j.AuthKind, j.SecretsInURL)
			},
			right: "kind= auth=bearer url_secrets=[]", wrong: "kind= auth=bearer_query url_secrets=[access_token]"},
		{name: "secret-in-url",
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				all, _ := e.srv.Journal(ctx, fakesn.JournalFilter{API: "oauth_token"}) // the connect's own
				j := all[0]
				return fmt.Sprintf("status=%d url_secrets=%v", j.Status, j.SecretsInURL)
			},
			right: "status=200 url_secrets=[]", wrong: "status=200 url_secrets=[client_secret]"},
		{name: "basic-to-table",
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				err := getAdmin(i)
				j := e.journal(fakesn.JournalFilter{API: "table"})[0]
				return fmt.Sprintf("kind=%s auth=%s", kindOf(err), j.AuthKind)
			},
			right: "kind= auth=bearer", wrong: "kind=reauth_required auth=basic"},
		{name: "ignore-state",
			setup: func(e *env, base *snclient.Config) { e.cfg.GrantType = harness.GrantAuthorizationCode },
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				u, err := i.Connect(ctx)
				if err != nil {
					t.Fatal(err)
				}
				redirect, err := harness.AuthorizeAsUser(ctx, e.srv.Client(), u, "admin", "admin")
				if err != nil {
					t.Fatal(err)
				}
				err = i.Callback(ctx, strings.Replace(redirect, "state=", "state=forged", 1))
				return fmt.Sprintf("kind=%s codes_redeemed=%d", kindOf(err), e.grants("authorization_code"))
			},
			right: "kind=invalid_request codes_redeemed=0", wrong: "kind= codes_redeemed=1"},
		{name: "no-pkce",
			opts: fakesn.Options{Apps: []fakesn.App{{ClientID: "public-client", Public: true, RedirectURLs: []string{"http://localhost:8765/callback"}}}},
			setup: func(e *env, base *snclient.Config) {
				e.cfg.GrantType, e.cfg.ClientID, e.cfg.ClientSecret = harness.GrantAuthorizationCode, "public-client", ""
			},
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				u, err := i.Connect(ctx)
				if err != nil {
					t.Fatal(err)
				}
				_, err = harness.AuthorizeAsUser(ctx, e.srv.Client(), u, "admin", "admin")
				return fmt.Sprintf("pkce=%v authorized=%v", strings.Contains(u, "code_challenge="), err == nil)
			},
			right: "pkce=true authorized=true", wrong: "pkce=false authorized=false"},
		{name: "password-every-call",
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				e.expire()
				err := getAdmin(i)
				return fmt.Sprintf("kind=%s password=%d refresh=%d", kindOf(err), e.grants("password"), e.grants("refresh_token"))
			},
			right: "kind= password=0 refresh=1", wrong: "kind= password=1 refresh=0"},
		{name: "forget-tokens",
			setup: func(e *env, base *snclient.Config) { restartBase = *base },
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				_ = i.Close()
				again := e.connect(restartBase) // the same state directory
				err := getAdmin(again)
				return fmt.Sprintf("kind=%s password=%d", kindOf(err), e.grants("password"))
			},
			right: "kind= password=0", wrong: "kind= password=1"},
		{name: "wrong-grant",
			run: func(t *testing.T, e *env, i *reference.Integration) string {
				all, _ := e.srv.Journal(ctx, fakesn.JournalFilter{API: "oauth_token"}) // the connect's own
				j := all[0]
				return fmt.Sprintf("grant=%s status=%d user=%s", j.GrantType, j.Status, j.User)
			},
			right: "grant=password status=200 user=admin", wrong: "grant=client_credentials status=200 user=sncheck.integration"},
	}
}

func TestBugSwitchesChangeBehaviour(t *testing.T) {
	t.Parallel()
	cases := bugCases()
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.name] = true
	}
	for _, b := range snclient.BugList() {
		if !covered[b.Name] {
			t.Errorf("bug %s has no smoke test", b.Name)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bugs, err := snclient.ParseBugs(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range []struct {
				label string
				bugs  snclient.Bugs
				want  string
			}{{"right", snclient.Bugs{}, tc.right}, {"wrong", bugs, tc.wrong}} {
				e := newEnv(t, tc.opts)
				base := snclient.Config{Bugs: v.bugs}
				if tc.setup != nil {
					tc.setup(e, &base)
				}
				integ := e.start(base)
				if e.cfg.GrantType != harness.GrantAuthorizationCode {
					if _, err := integ.Connect(context.Background()); err != nil {
						t.Fatalf("%s: Connect: %v", v.label, err)
					}
					e.skipJournal() // the scenarios look at what follows
				}
				if got := tc.run(t, e, integ); got != v.want {
					t.Errorf("%s client: observed %q, want %q", v.label, got, v.want)
				}
			}
		})
	}
}

func TestParseBugs(t *testing.T) {
	t.Parallel()
	b, err := snclient.ParseBugs(" never-refresh, log-secret ,")
	if err != nil {
		t.Fatal(err)
	}
	if !b.NeverRefresh || !b.LogSecret || b.String() != "never-refresh,log-secret" {
		t.Errorf("ParseBugs = %+v (%s)", b, b)
	}
	if _, err := snclient.ParseBugs("no-such-bug"); err == nil || !strings.Contains(err.Error(), `unknown bug "no-such-bug"`) {
		t.Errorf("ParseBugs(no-such-bug) = %v", err)
	}
	if b, err := snclient.ParseBugs(""); err != nil || b != (snclient.Bugs{}) {
		t.Errorf("ParseBugs(\"\") = %+v, %v", b, err)
	}
	if n := len(snclient.BugList()); n != 24 {
		t.Errorf("BugList has %d bugs, want 24", n)
	}
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
