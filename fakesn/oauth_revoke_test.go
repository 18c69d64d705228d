package fakesn

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func wantRevokeAnswer(t *testing.T, r oaResp) {
	t.Helper()
	if r.status != http.StatusOK || r.body != "" {
		t.Errorf("revoke answered %d %q, want 200 with an empty body", r.status, r.body)
	}
	if r.header.Get("Server") != "ServiceNow" {
		t.Errorf("revoke answer lacks the instance headers: %v", r.header)
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		send func(t *testing.T, c *http.Client, base, token string) oaResp
	}{
		{name: "GET with the token in the query", send: func(t *testing.T, c *http.Client, base, token string) oaResp {
			return oaGet(t, c, base+"/oauth_revoke_token.do?token="+url.QueryEscape(token))
		}},
		{name: "POST with the token in the form", send: func(t *testing.T, c *http.Client, base, token string) oaResp {
			return oaPost(t, c, base, "/oauth_revoke_token.do", oaForm("token", token))
		}},
		{name: "POST with the token in the query", send: func(t *testing.T, c *http.Client, base, token string) oaResp {
			return oaPost(t, c, base, "/oauth_revoke_token.do?token="+url.QueryEscape(token), url.Values{})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
				// Revoking the access token leaves the refresh token working.
				a1, r1 := wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
				wantRevokeAnswer(t, tc.send(t, c, base, a1))
				if st := credOf(t, s, a1)["u_status"]; st != credRevoked {
					t.Errorf("revoked access token status = %q", st)
				}
				e := oaLast(t, s, "oauth_revoke")
				if e.Token != Fingerprint(a1) || e.User != "admin" || e.ClientID != oaClientID || strings.Contains(e.Query, a1) {
					t.Errorf("journal: %+v", e)
				}
				a2, _ := wantTokenSuccess(t, oaToken(t, c, base, oaRefreshForm(r1)), "useraccount", true, 1799)

				// Revoking the refresh token ends it and its access tokens.
				wantRevokeAnswer(t, tc.send(t, c, base, r1))
				for _, tok := range []string{r1, a2} {
					if st := credOf(t, s, tok)["u_status"]; st != credRevoked {
						t.Errorf("token %s status = %q after revoking the refresh token", Fingerprint(tok), st)
					}
				}
				wantGenericFailure(t, oaToken(t, c, base, oaRefreshForm(r1)))
				// The next password grant starts afresh.
				a3, r3 := wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
				if a3 == a2 || r3 == r1 {
					t.Errorf("a password grant after revocation answered a revoked token")
				}

				// Unknown and missing tokens answer the same.
				wantRevokeAnswer(t, tc.send(t, c, base, strings.Repeat("z", 86)))
				wantRevokeAnswer(t, oaGet(t, c, base+"/oauth_revoke_token.do"))
			})
		})
	}
}

func TestRevokeOtherMethods(t *testing.T) {
	t.Parallel()
	forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
		req, _ := http.NewRequest(http.MethodDelete, base+"/oauth_revoke_token.do?token=x", nil)
		r := oaDo(t, c, req)
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET, POST" {
			t.Errorf("DELETE answered %d Allow %q, want 405 GET, POST", r.status, r.header.Get("Allow"))
		}
	})
}
