package fakesn

import (
	"net/http"
	"testing"
	"time"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// scopeOpts adds an application with no auth scope and one with
// incident_read, beside the seed's sncheck-client (useraccount).
func scopeOpts() Options {
	return Options{
		Clock: NewFakeClock(aclStart),
		Apps: []App{
			{ClientID: "bare-client", ClientSecret: "bare-secret", Scopes: []string{}},
			{ClientID: "read-client", ClientSecret: "read-secret", Scopes: []string{"incident_read"}},
		},
	}
}

// scopeAppID returns an application's sys_id.
func scopeAppID(t *testing.T, s *Server, clientID string) string {
	t.Helper()
	var id string
	_ = s.store.View(func(tx *store.Tx) error {
		a, ok := appByClientID(tx, clientID)
		if !ok {
			t.Fatalf("no app %s", clientID)
		}
		id = a.ID
		return nil
	})
	return id
}

// scopeToken issues an access token of clientID's application for user, as
// the token endpoint would.
func scopeToken(t *testing.T, s *Server, clientID, userID string) string {
	t.Helper()
	appID := scopeAppID(t, s, clientID)
	var tok string
	err := s.store.Update("admin", func(tx *store.Tx) error {
		var err error
		tok, _, err = issueCredential(tx, credSpec{Kind: kindAccess, AppID: appID, UserID: userID, Life: 30 * time.Minute, GrantType: "password"})
		return err
	})
	if err != nil {
		t.Fatalf("issue token: %v", err)
	}
	return tok
}

func accessScope(restAPI, method, table, scopeID string, extra ...string) map[string]string {
	r := map[string]string{"rest_api": restAPI, "http_method": method, "table_name": table, "auth_scope": scopeID}
	for i := 0; i+1 < len(extra); i += 2 {
		r[extra[i]] = extra[i+1]
	}
	return r
}

func TestCheckAPIScope(t *testing.T) {
	t.Parallel()
	const missingRead = "Missing required api access scope: incident_read"
	tests := []struct {
		name       string
		rows       []map[string]string
		props      map[string]string
		client     string // "" means Basic auth
		restAPI    string
		method     string
		table      string
		wantDetail string // "" means allowed
	}{
		{name: "no rows: any token", client: "bare-client", restAPI: "now/table", method: "GET", table: "incident"},
		{name: "row for the table, scope missing", rows: []map[string]string{accessScope("now/table", "", "incident", aclScopeRead)},
			client: "bare-client", restAPI: "now/table", method: "GET", table: "incident", wantDetail: missingRead},
		{name: "row for the table, scope present", rows: []map[string]string{accessScope("now/table", "", "incident", aclScopeRead)},
			client: "read-client", restAPI: "now/table", method: "GET", table: "incident"},
		{name: "useraccount opens everything", rows: []map[string]string{accessScope("now/table", "", "", aclScopeRead)},
			client: "sncheck-client", restAPI: "now/table", method: "DELETE", table: "problem"},
		{name: "basic auth exempt", rows: []map[string]string{accessScope("now/table", "", "", aclScopeRead)},
			restAPI: "now/table", method: "GET", table: "incident"},
		{name: "other table not covered", rows: []map[string]string{accessScope("now/table", "", "incident", aclScopeRead)},
			client: "bare-client", restAPI: "now/table", method: "GET", table: "problem"},
		{name: "other method not covered", rows: []map[string]string{accessScope("now/table", "POST", "incident", aclScopeRead)},
			client: "bare-client", restAPI: "now/table", method: "GET", table: "incident"},
		{name: "method matches case-insensitively", rows: []map[string]string{accessScope("now/table", "post", "incident", aclScopeRead)},
			client: "bare-client", restAPI: "now/table", method: "POST", table: "incident", wantDetail: missingRead},
		{name: "versioned path is the same API", rows: []map[string]string{accessScope("/api/now/table", "", "", aclScopeRead)},
			client: "bare-client", restAPI: "now/v2/table", method: "GET", table: "incident", wantDetail: missingRead},
		{name: "other API not covered", rows: []map[string]string{accessScope("now/attachment", "", "", aclScopeRead)},
			client: "bare-client", restAPI: "now/table", method: "GET", table: "incident"},
		{name: "inactive row ignored", rows: []map[string]string{accessScope("now/table", "", "", aclScopeRead, "active", "false")},
			client: "bare-client", restAPI: "now/table", method: "GET", table: "incident"},
		{name: "any one matching scope is enough", rows: []map[string]string{
			accessScope("now/table", "", "", aclScopeUserAcc), accessScope("now/table", "", "incident", aclScopeRead)},
			client: "read-client", restAPI: "now/table", method: "GET", table: "incident"},
		{name: "check disabled by property", rows: []map[string]string{accessScope("now/table", "", "", aclScopeRead)},
			props:  map[string]string{scopeCheckProperty: "false"},
			client: "bare-client", restAPI: "now/table", method: "GET", table: "incident"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := scopeOpts()
			opts.Properties = tc.props
			s := aclServer(t, opts)
			if len(tc.rows) > 0 {
				aclInsert(t, s, "sys_api_access_scope", tc.rows...)
			}
			p := aclPrincipal(t, s, "itil")
			if tc.client != "" {
				p.Auth, p.AppID = "bearer", scopeAppID(t, s, tc.client)
			}
			var got *Error
			_ = s.store.View(func(tx *store.Tx) error {
				got = s.checkAPIScope(tx, p, tc.restAPI, tc.method, tc.table)
				return nil
			})
			switch {
			case tc.wantDetail == "" && got != nil:
				t.Errorf("got %v, want allowed", got)
			case tc.wantDetail != "" && got == nil:
				t.Errorf("got allowed, want %q", tc.wantDetail)
			case got != nil:
				if got.Code != CodeNotAuthorized || got.HTTPStatus() != 403 || got.Message != "User Not Authorized" || got.Detail != tc.wantDetail {
					t.Errorf("got %+v, want 403 User Not Authorized / %s", got, tc.wantDetail)
				}
			}
		})
	}
}

// TestScopeOverHTTP: a token issued before its application gains the scope
// is refused, then accepted once the scope is added through the Table API.
func TestScopeOverHTTP(t *testing.T) {
	t.Parallel()
	const denied = `{"error":{"message":"User Not Authorized","detail":"Missing required api access scope: incident_read"},"status":"failure"}`
	forEachTransport(t, scopeOpts, func(t *testing.T, s *Server, c *http.Client, base string) {
		aclInsert(t, s, "sys_api_access_scope", accessScope("now/table", "", "incident", aclScopeRead))
		bare := scopeToken(t, s, "bare-client", aclITILID)
		full := scopeToken(t, s, "sncheck-client", aclITILID)
		one := "/api/now/table/incident?sysparm_limit=1&sysparm_fields=number"
		steps := []struct {
			name       string
			req        aclReq
			wantStatus int
			wantBody   string
		}{
			{name: "token without the scope", req: aclReq{method: "GET", path: one, bearer: bare}, wantStatus: 403, wantBody: denied},
			{name: "same token, v2 path", req: aclReq{method: "GET", path: "/api/now/v2/table/incident/" + aclIncActive, bearer: bare}, wantStatus: 403, wantBody: denied},
			{name: "same token, table without a row", req: aclReq{method: "GET", path: "/api/now/table/problem?sysparm_limit=1", bearer: bare}, wantStatus: 200},
			{name: "basic auth exempt", req: aclReq{method: "GET", path: one, user: "itil"}, wantStatus: 200},
			{name: "useraccount token", req: aclReq{method: "GET", path: one, bearer: full}, wantStatus: 200},
			{name: "admin adds the scope to the application", req: aclReq{method: "POST", path: "/api/now/table/oauth_entity_auth_scope", user: "admin",
				body: `{"oauth_entity":"` + scopeAppID(t, s, "bare-client") + `","auth_scope":"` + aclScopeRead + `"}`}, wantStatus: 201},
			{name: "the old token now passes", req: aclReq{method: "GET", path: one, bearer: bare}, wantStatus: 200},
		}
		for _, st := range steps {
			status, _, body := aclCall(t, c, base, st.req)
			if status != st.wantStatus {
				t.Errorf("%s: status %d, want %d (%s)", st.name, status, st.wantStatus, body)
				continue
			}
			if st.wantBody != "" && body != st.wantBody {
				t.Errorf("%s: body\n got %s\nwant %s", st.name, body, st.wantBody)
			}
		}
	})
}
