package reference_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sncheck/sncheck/examples/reference/snclient"
	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
)

// exercise runs create, get, update, list and delete and checks what
// comes back.
func exercise(t *testing.T, integ harness.Integration) {
	t.Helper()
	ctx := context.Background()
	created, err := integ.Create(ctx, "incident", harness.Record{"short_description": "sncheck reference", "urgency": "2"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	id, _ := created["sys_id"].(string)
	if len(id) != 32 || created["short_description"] != "sncheck reference" {
		t.Fatalf("Create returned %v", created)
	}
	got, err := integ.Get(ctx, "incident", id)
	if err != nil || got["sys_id"] != id {
		t.Fatalf("Get = %v, %v", got, err)
	}
	upd, err := integ.Update(ctx, "incident", id, harness.Record{"urgency": "1"})
	if err != nil || upd["urgency"] != "1" || upd["short_description"] != "sncheck reference" {
		t.Fatalf("Update = %v, %v", upd, err)
	}
	list, err := integ.List(ctx, "incident", "short_description=sncheck reference", []string{"sys_id", "urgency"})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if diff := cmp.Diff([]harness.Record{{"sys_id": id, "urgency": "1"}}, list); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if err := integ.Delete(ctx, "incident", id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := integ.Get(ctx, "incident", id); kindOf(err) != harness.KindNotFound {
		t.Fatalf("Get after Delete = %v, want not_found", err)
	}
}

// checkClean asserts the rules every correct integration keeps: Bearer
// on every Table API call, no secret in a URL, credentials only in the
// token endpoint's form body, and no secret in its output.
func checkClean(t *testing.T, e *env, integ interface{ Output() []byte }) {
	t.Helper()
	for _, j := range e.journal(fakesn.JournalFilter{}) {
		if len(j.SecretsInURL) > 0 {
			t.Errorf("%s %s carried %v in its URL", j.Method, j.Path, j.SecretsInURL)
		}
		switch j.API {
		case "table":
			if j.AuthKind != "bearer" {
				t.Errorf("%s %s authenticated with %q, want bearer", j.Method, j.Path, j.AuthKind)
			}
		case "oauth_token":
			if j.ClientAuth != "form" && j.ClientAuth != "none" {
				t.Errorf("token request used client auth %q, want form", j.ClientAuth)
			}
		}
	}
	out := string(integ.Output())
	for _, s := range append(e.cfg.Secrets(), "Bearer ", "access_token=") {
		if strings.Contains(out, s) {
			t.Errorf("the integration's output holds %q:\n%s", s, out)
		}
	}
}

func TestReferencePasswordGrant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fakesn.Options{})
	integ := e.connect(snclient.Config{})
	exercise(t, integ)
	if n := e.grants("password"); n != 1 {
		t.Errorf("password grants = %d, want 1", n)
	}
	// The fake's clock moves past the token's life: one 401, one refresh,
	// and the operation carries on.
	e.expire()
	if _, err := integ.List(context.Background(), "incident", "active=true", []string{"number"}); err != nil {
		t.Fatalf("List after expiry: %v", err)
	}
	if n := e.grants("refresh_token"); n != 1 {
		t.Errorf("refresh grants = %d, want 1", n)
	}
	if n := e.grants("password"); n != 1 {
		t.Errorf("password grants after expiry = %d, want still 1", n)
	}
	if n := e.count(fakesn.JournalFilter{API: "table", Status: 401}); n != 1 {
		t.Errorf("Table API 401s = %d, want 1", n)
	}
	checkClean(t, e, integ)
}

func TestReferenceClientCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fakesn.Options{})
	e.cfg.GrantType, e.cfg.Username, e.cfg.Password = harness.GrantClientCredentials, "", ""
	integ := e.connect(snclient.Config{})
	exercise(t, integ)
	e.expire()
	if _, err := integ.Get(context.Background(), "sys_user", "6816f79cc0a8016401c5a33be04be441"); err != nil {
		t.Fatalf("Get after expiry: %v", err)
	}
	// No refresh token with this grant: the client asks again.
	if n, r := e.grants("client_credentials"), e.grants("refresh_token"); n != 2 || r != 0 {
		t.Errorf("client_credentials grants = %d, refresh grants = %d; want 2 and 0", n, r)
	}
	checkClean(t, e, integ)
}

func TestReferenceAuthorizationCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		clientID string
		secret   string
		wantPKCE bool
	}{
		{name: "confidential client", clientID: "sncheck-client", secret: "sncheck-secret"},
		{name: "public client uses PKCE", clientID: "public-client", wantPKCE: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, fakesn.Options{Apps: []fakesn.App{{
				Name: "public", ClientID: "public-client", Public: true,
				RedirectURLs: []string{"http://localhost:8765/callback"},
			}}})
			e.cfg.GrantType, e.cfg.ClientID, e.cfg.ClientSecret = harness.GrantAuthorizationCode, tc.clientID, tc.secret
			e.cfg.Username, e.cfg.Password = "", ""
			integ := e.start(snclient.Config{})
			if err := e.authorize(integ, "itil", "itil"); err != nil {
				t.Fatalf("authorization-code flow: %v", err)
			}
			auth := e.journal(fakesn.JournalFilter{API: "oauth_auth"})
			if len(auth) == 0 || auth[0].Method != "GET" || strings.Contains(auth[0].Query, "code_challenge=") != tc.wantPKCE {
				t.Errorf("authorize requests %+v; want the first to be a GET, with PKCE %v", auth, tc.wantPKCE)
			}
			if n := e.grants("authorization_code"); n != 1 {
				t.Errorf("authorization_code grants = %d, want 1", n)
			}
			exercise(t, integ)
			e.expire()
			if _, err := integ.List(context.Background(), "incident", "active=true", []string{"number"}); err != nil {
				t.Fatalf("List after expiry: %v", err)
			}
			if n := e.grants("refresh_token"); n != 1 {
				t.Errorf("refresh grants = %d, want 1", n)
			}
			for _, j := range e.journal(fakesn.JournalFilter{API: "table"}) {
				if j.Status != 401 && j.User != "itil" {
					t.Errorf("Table API call as %q, want itil", j.User)
				}
			}
			checkClean(t, e, integ)
		})
	}
}

func TestReferenceCallbackChecksState(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fakesn.Options{})
	e.cfg.GrantType = harness.GrantAuthorizationCode
	integ := e.start(snclient.Config{})
	ctx := context.Background()
	u, err := integ.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	redirect, err := harness.AuthorizeAsUser(ctx, e.srv.Client(), u, "admin", "admin")
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(redirect, "state=", "state=forged", 1)
	if err := integ.Callback(ctx, forged); kindOf(err) != harness.KindInvalidRequest {
		t.Fatalf("Callback with a forged state = %v, want invalid_request", err)
	}
	if n := e.grants("authorization_code"); n != 0 {
		t.Errorf("the forged redirect's code was redeemed (%d grants)", n)
	}
	if err := integ.Callback(ctx, redirect+"&x=1"); err != nil {
		t.Fatalf("Callback with the right state: %v", err)
	}
	if err := integ.Callback(ctx, "http://localhost:8765/callback?error=access_denied&state=x"); kindOf(err) != harness.KindReauthRequired {
		t.Errorf("Callback with error=access_denied = %v, want reauth_required", err)
	}
}

func TestReferenceRestartReusesTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fakesn.Options{})
	first := e.connect(snclient.Config{})
	if _, err := first.List(context.Background(), "incident", "", []string{"number"}); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(e.cfg.StateDir, "snclient-token.json"))
	if err != nil {
		t.Fatalf("no token file: %v", err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("token file mode = %v, want 0600", mode)
	}
	second := e.connect(snclient.Config{})
	if _, err := second.List(context.Background(), "incident", "", []string{"number"}); err != nil {
		t.Fatal(err)
	}
	if n := e.grants(""); n != 1 {
		t.Errorf("token requests = %d, want the first run's 1 only", n)
	}
	// Another user's configuration does not pick the tokens up.
	e.cfg.Username, e.cfg.Password = "itil", "itil"
	e.connect(snclient.Config{})
	if n := e.grants("password"); n != 2 {
		t.Errorf("password grants = %d, want 2 (one per user)", n)
	}
}

func TestReferenceSingleFlightRefresh(t *testing.T) {
	t.Parallel()
	const n = 8
	e := newEnv(t, fakesn.Options{})
	integ := e.connect(snclient.Config{HTTPClient: &http.Client{Transport: newBarrier(n)}})
	e.expire()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = integ.List(context.Background(), "incident", fmt.Sprintf("priority=%d", i%5+1), []string{"number"})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("List %d: %v", i, err)
		}
	}
	if got := e.count(fakesn.JournalFilter{API: "table", Status: 401}); got != n {
		t.Errorf("401s = %d, want %d (all presented the expired token)", got, n)
	}
	if got := e.grants("refresh_token"); got != 1 {
		t.Errorf("refresh grants = %d, want 1", got)
	}
}

func TestReferenceDeadRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fakesn.Options{})
	integ := e.connect(snclient.Config{})
	ctx := context.Background()
	if _, err := e.srv.ExpireTokens(ctx, fakesn.ExpireRequest{}); err != nil {
		t.Fatal(err)
	}
	before := e.tableCalls()
	_, err := integ.List(ctx, "incident", "", nil)
	if kindOf(err) != harness.KindReauthRequired {
		t.Fatalf("List with dead tokens = %v, want reauth_required", err)
	}
	if got := e.grants("refresh_token"); got != 1 {
		t.Errorf("refresh grants = %d, want exactly 1", got)
	}
	if got := e.tableCalls() - before; got != 1 {
		t.Errorf("Table API calls = %d, want 1 (none after the refused refresh)", got)
	}
	// Later operations do not hammer the instance either.
	if _, err := integ.Get(ctx, "incident", "x"); kindOf(err) != harness.KindReauthRequired {
		t.Errorf("next Get = %v, want reauth_required", err)
	}
	if got := e.grants(""); got != 2 {
		t.Errorf("token requests = %d, want 2 (the grant and the one refresh)", got)
	}
	if _, err := os.Stat(filepath.Join(e.cfg.StateDir, "snclient-token.json")); !os.IsNotExist(err) {
		t.Errorf("the dead tokens are still kept: %v", err)
	}
	// Connect starts over.
	if _, err := integ.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := integ.Get(ctx, "sys_user", "6816f79cc0a8016401c5a33be04be441"); err != nil {
		t.Errorf("Get after reconnecting: %v", err)
	}
}

func TestReferenceErrorKinds(t *testing.T) {
	t.Parallel()
	const scopeDenied = `{"error":{"message":"User Not Authorized","detail":"Missing required api access scope: incident_write"},"status":"failure"}`
	tests := []struct {
		name   string
		faults []fakesn.Fault
		op     func(harness.Integration) error
		want   harness.ErrorKind
		// calls is how many Table API requests the operation makes.
		calls int
		waits []time.Duration
		// anyWaits skips the waits check: Go's transport itself may resend
		// a GET whose reused connection dropped.
		anyWaits bool
	}{
		{name: "missing record", op: get("incident", "0123456789abcdef0123456789abcdef"), want: harness.KindNotFound, calls: 1},
		{name: "unknown table", op: list("u_no_such_table"), want: harness.KindInvalidRequest, calls: 1},
		{name: "ACL 403", faults: []fakesn.Fault{{API: "table", Status: 403}}, op: list("incident"), want: harness.KindForbidden, calls: 1},
		{name: "scope 403", faults: []fakesn.Fault{{API: "table", Status: 403, Body: scopeDenied}}, op: list("incident"), want: harness.KindInsufficientScope, calls: 1},
		{name: "429 then success waits Retry-After", faults: []fakesn.Fault{{API: "table", Status: 429, RetryAfter: 7}}, op: list("incident"), calls: 2, waits: []time.Duration{7 * time.Second}},
		{name: "429 persists", faults: []fakesn.Fault{{API: "table", Status: 429, RetryAfter: 1, Times: -1}}, op: list("incident"), want: harness.KindRateLimited, calls: 4,
			waits: []time.Duration{time.Second, time.Second, time.Second}},
		{name: "Retry-After too long", faults: []fakesn.Fault{{API: "table", Status: 429, RetryAfter: 3600}}, op: list("incident"), want: harness.KindRateLimited, calls: 1},
		{name: "503 on GET is retried with backoff", faults: []fakesn.Fault{{API: "table", Status: 503, Times: 2}}, op: list("incident"), calls: 3,
			waits: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}},
		{name: "500 on GET persists", faults: []fakesn.Fault{{API: "table", Status: 500, Times: -1}}, op: list("incident"), want: harness.KindUnavailable, calls: 4,
			waits: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}},
		{name: "500 on POST is not replayed", faults: []fakesn.Fault{{API: "table", Method: "POST", Action: fakesn.FaultStatusAfter, Status: 500}}, op: create("incident"), want: harness.KindUnavailable, calls: 1},
		{name: "hibernating", faults: []fakesn.Fault{{API: "table", Action: fakesn.FaultHibernate}}, op: list("incident"), want: harness.KindUnavailable, calls: 1},
		{name: "dropped connection on GET is retried", faults: []fakesn.Fault{{API: "table", Action: fakesn.FaultDrop}}, op: list("incident"), calls: 2, anyWaits: true},
		{name: "dropped connection on POST", faults: []fakesn.Fault{{API: "table", Method: "POST", Action: fakesn.FaultDrop}}, op: create("incident"), want: harness.KindTransport, calls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, fakesn.Options{})
			integ := e.connect(snclient.Config{})
			for _, f := range tc.faults {
				e.fault(f)
			}
			err := tc.op(integ)
			if got := kindOf(err); got != tc.want {
				t.Fatalf("error = %v; want kind %q", err, tc.want)
			}
			if got := e.tableCalls(); got != tc.calls {
				t.Errorf("Table API calls = %d, want %d", got, tc.calls)
			}
			if diff := cmp.Diff(tc.waits, e.sleeps.waits()); diff != "" && !tc.anyWaits {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if n := e.grants("refresh_token"); n != 0 {
				t.Errorf("refresh grants = %d, want none", n)
			}
			if tc.want == harness.KindInsufficientScope && !strings.Contains(err.Error(), "incident_write") {
				t.Errorf("error %q does not name the scope", err)
			}
		})
	}
}

func get(table, id string) func(harness.Integration) error {
	return func(i harness.Integration) error { _, err := i.Get(context.Background(), table, id); return err }
}

func list(table string) func(harness.Integration) error {
	return func(i harness.Integration) error { _, err := i.List(context.Background(), table, "", nil); return err }
}

func create(table string) func(harness.Integration) error {
	return func(i harness.Integration) error {
		_, err := i.Create(context.Background(), table, harness.Record{"short_description": "x"})
		return err
	}
}

func TestReferenceRealScopeRefusal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fakesn.Options{Apps: []fakesn.App{{ClientID: "read-client", ClientSecret: "read-secret", Scopes: []string{"incident_read"}}}})
	// Writing incidents needs incident_write; the app has only incident_read.
	e.admin("POST", "/api/now/table/sys_api_access_scope", map[string]string{
		"rest_api": "now/table", "http_method": "POST", "table_name": "incident",
		"auth_scope": "7417b56b5c7adc194989afab74a9f846", "active": "true",
	})
	e.cfg.ClientID, e.cfg.ClientSecret = "read-client", "read-secret"
	integ := e.connect(snclient.Config{})
	_, err := integ.Create(context.Background(), "incident", harness.Record{"short_description": "x"})
	if kindOf(err) != harness.KindInsufficientScope || !strings.Contains(err.Error(), "incident_write") {
		t.Fatalf("Create = %v, want insufficient_scope naming incident_write", err)
	}
	if n := e.grants("refresh_token"); n != 0 {
		t.Errorf("refresh grants = %d, want none", n)
	}
	if n := e.count(fakesn.JournalFilter{API: "table", Status: 403}); n != 1 {
		t.Errorf("403s = %d, want 1 (no retry)", n)
	}
}

func TestReferencePagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fakesn.Options{})
	// itil reads only active incidents: rows are dropped after the limit,
	// so pages come back short or empty in the middle of the result.
	e.admin("POST", "/api/now/table/sys_security_acl", map[string]string{
		"name": "incident", "operation": "read", "roles": "itil", "condition": "active=true", "active": "true",
	})
	var want struct {
		Result []harness.Record `json:"result"`
	}
	body := e.admin("GET", "/api/now/table/incident?sysparm_query=active%3Dtrue%5EORDERBYnumber&sysparm_fields=number", nil)
	if err := json.Unmarshal(body, &want); err != nil || len(want.Result) < 5 {
		t.Fatalf("seed has %d active incidents (%v)", len(want.Result), err)
	}
	e.cfg.Username, e.cfg.Password = "itil", "itil"
	integ := e.connect(snclient.Config{PageSize: 4})
	got, err := integ.List(context.Background(), "incident", "ORDERBYnumber", []string{"number"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.Result, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	var all struct {
		Result []harness.Record `json:"result"`
	}
	if err := json.Unmarshal(e.admin("GET", "/api/now/table/incident?sysparm_fields=sys_id", nil), &all); err != nil {
		t.Fatal(err)
	}
	// Every page up to the last one that holds rows, and not one more.
	wantPages := (len(all.Result) + 3) / 4
	if got := e.tableCallsBy("itil"); got != wantPages {
		t.Errorf("pages requested = %d, want %d", got, wantPages)
	}
	if len(got) >= len(all.Result) {
		t.Errorf("itil saw all %d incidents; the ACL did not shorten any page", len(got))
	}
}
