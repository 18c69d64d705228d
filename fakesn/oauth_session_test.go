package fakesn

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// The OAuth endpoints seen from the Table API: sessions, bearer tokens at
// their lifespan, revocation. This is the one test that needs table.go.

const oaTablePath = "/api/now/table/sys_user?sysparm_limit=1"

// oaTable calls the Table API with mods (no credentials by default: only
// the client's cookie jar) and returns the status and the journal entry.
func oaTable(t *testing.T, s *Server, c *http.Client, base string, mods ...func(*http.Request)) (int, JournalEntry) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+oaTablePath, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	for _, m := range mods {
		m(req)
	}
	r := oaDo(t, c, req)
	return r.status, oaLast(t, s, "table")
}

func bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func TestOAuthTableAPI(t *testing.T) {
	t.Parallel()
	t.Run("the authorize login's session cookie is that user", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
			if st, e := oaTable(t, s, c, base); st != http.StatusUnauthorized || e.AuthKind != "none" {
				t.Fatalf("before login: %d %q, want 401", st, e.AuthKind)
			}
			authorizeAs(t, c, base, oaAuthURL(base), "itil", "itil")
			st, e := oaTable(t, s, c, base)
			if st != http.StatusOK || e.User != "itil" || e.AuthKind != "session" {
				t.Errorf("cookie-only call: %d user %q auth %q, want 200 itil session", st, e.User, e.AuthKind)
			}
		})
	})
	t.Run("a Basic call's session cookie is that user", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
			if st, e := oaTable(t, s, c, base, func(r *http.Request) { r.SetBasicAuth("admin", "admin") }); st != 200 || e.AuthKind != "basic" {
				t.Fatalf("Basic call: %d %q", st, e.AuthKind)
			}
			st, e := oaTable(t, s, c, base)
			if st != http.StatusOK || e.User != "admin" || e.AuthKind != "session" {
				t.Errorf("cookie-only call: %d user %q auth %q, want 200 admin session", st, e.User, e.AuthKind)
			}
		})
	})
	t.Run("an access token works for 1799 s, not 1800 s", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
			c.Jar = nil // bearer only, no session
			access, refresh := wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
			oaAdvance(t, s, 1799*time.Second)
			if st, e := oaTable(t, s, c, base, bearer(access)); st != http.StatusOK || e.User != "admin" || e.Token != Fingerprint(access) {
				t.Errorf("at 1799 s: %d %q %q, want 200 as admin", st, e.User, e.Token)
			}
			oaAdvance(t, s, time.Second)
			if st, _ := oaTable(t, s, c, base, bearer(access)); st != http.StatusUnauthorized {
				t.Errorf("at 1800 s: %d, want 401", st)
			}
			access2, _ := wantTokenSuccess(t, oaToken(t, c, base, oaRefreshForm(refresh)), "useraccount", true, 1799)
			if st, _ := oaTable(t, s, c, base, bearer(access2)); st != http.StatusOK {
				t.Errorf("refreshed token: %d, want 200", st)
			}
		})
	})
	t.Run("revocation ends access at once", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
			c.Jar = nil
			access, refresh := wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
			oaGet(t, c, base+"/oauth_revoke_token.do?token="+url.QueryEscape(access))
			if st, _ := oaTable(t, s, c, base, bearer(access)); st != http.StatusUnauthorized {
				t.Errorf("revoked access token: %d, want 401", st)
			}
			access2, _ := wantTokenSuccess(t, oaToken(t, c, base, oaRefreshForm(refresh)), "useraccount", true, 1799)
			oaPost(t, c, base, "/oauth_revoke_token.do", oaForm("token", refresh))
			if st, _ := oaTable(t, s, c, base, bearer(access2)); st != http.StatusUnauthorized {
				t.Errorf("access token of a revoked refresh token: %d, want 401", st)
			}
		})
	})
	t.Run("a client-credentials token acts as the application user", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
			c.Jar = nil
			access, _ := wantTokenSuccess(t, oaToken(t, c, base, oaForm("grant_type", "client_credentials",
				"client_id", oaClientID, "client_secret", oaSecret)), "useraccount", false, 1799)
			if st, e := oaTable(t, s, c, base, bearer(access)); st == http.StatusUnauthorized || e.User != "sncheck.integration" {
				t.Errorf("cc token: %d user %q, want sncheck.integration", st, e.User)
			}
		})
	})
}
