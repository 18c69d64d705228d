package fakesn

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sncheck/sncheck/fakesn/internal/store"
	"github.com/sncheck/sncheck/fixtures"
)

func TestTokenGrantsWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		form        url.Values
		mods        []func(*http.Request)
		wantRefresh bool
		want        JournalEntry
	}{
		{
			name: "password, client credentials in the form",
			form: oaPasswordForm("admin", "admin"), wantRefresh: true,
			want: JournalEntry{GrantType: "password", ClientID: oaClientID, ClientAuth: "form", User: "admin", Status: 200},
		},
		{
			name: "password, client credentials in Basic",
			form: oaForm("grant_type", "password", "username", "itil", "password", "itil"),
			mods: []func(*http.Request){oaBasic(oaClientID, oaSecret)}, wantRefresh: true,
			want: JournalEntry{GrantType: "password", ClientID: oaClientID, ClientAuth: "basic", User: "itil", Status: 200},
		},
		{
			name: "password, Basic plus client_id in the body",
			form: oaForm("grant_type", "password", "client_id", oaClientID, "username", "itil", "password", "itil"),
			mods: []func(*http.Request){oaBasic(oaClientID, oaSecret)}, wantRefresh: true,
			want: JournalEntry{GrantType: "password", ClientID: oaClientID, ClientAuth: "basic", User: "itil", Status: 200},
		},
		{
			name: "client_credentials acts as the application user, no refresh token",
			form: oaForm("grant_type", "client_credentials", "client_id", oaClientID, "client_secret", oaSecret),
			want: JournalEntry{GrantType: "client_credentials", ClientID: oaClientID, ClientAuth: "form", User: "sncheck.integration", Status: 200},
		},
		{
			name: "client_credentials in Basic",
			form: oaForm("grant_type", "client_credentials"),
			mods: []func(*http.Request){oaBasic(oaClientID, oaSecret)},
			want: JournalEntry{GrantType: "client_credentials", ClientID: oaClientID, ClientAuth: "basic", User: "sncheck.integration", Status: 200},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
				r := oaToken(t, c, base, tc.form, tc.mods...)
				access, refresh := wantTokenSuccess(t, r, "useraccount", tc.wantRefresh, 1799)
				want := tc.want
				want.IssuedAccess, want.IssuedRefresh = Fingerprint(access), Fingerprint(refresh)
				wantJournal(t, oaLast(t, s, "oauth_token"), want)
				acc := credOf(t, s, access)
				if acc["u_refresh"] == "" != !tc.wantRefresh {
					t.Errorf("access token u_refresh = %q, want a link to the refresh token: %v", acc["u_refresh"], tc.wantRefresh)
				}
				if tc.wantRefresh && acc["u_refresh"] != credOf(t, s, refresh)["sys_id"] {
					t.Errorf("access token is not linked to the refresh token it came with")
				}
			})
		})
	}
}

func TestTokenRefreshGrant(t *testing.T) {
	t.Parallel()
	forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
		access, refresh := wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
		oaAdvance(t, s, 1800*time.Second)
		r := oaToken(t, c, base, oaRefreshForm(refresh))
		access2, refresh2 := wantTokenSuccess(t, r, "useraccount", true, 1799)
		if refresh2 != refresh {
			t.Errorf("refresh answered another refresh token; the instance returns the same one")
		}
		if access2 == access {
			t.Errorf("refresh answered the expired access token")
		}
		wantJournal(t, oaLast(t, s, "oauth_token"), JournalEntry{GrantType: "refresh_token", ClientID: oaClientID,
			ClientAuth: "form", User: "admin", Token: Fingerprint(refresh), IssuedAccess: Fingerprint(access2),
			IssuedRefresh: Fingerprint(refresh), Status: 200})
		if got, want := credOf(t, s, access2)["u_refresh"], credOf(t, s, refresh)["sys_id"]; got != want {
			t.Errorf("refreshed access token u_refresh = %q, want %q", got, want)
		}
		// A refresh never extends the refresh token's own life.
		if got, want := credOf(t, s, refresh)["u_expires_ms"], strconv.FormatInt(oaStart.Add(8640000*time.Second).UnixMilli(), 10); got != want {
			t.Errorf("refresh token expiry = %s, want %s (issue time + 100 days)", got, want)
		}
		// Basic client authentication works for refresh too.
		r = oaToken(t, c, base, oaForm("grant_type", "refresh_token", "refresh_token", refresh), oaBasic(oaClientID, oaSecret))
		if _, rt := wantTokenSuccess(t, r, "useraccount", true, 1799); rt != refresh {
			t.Errorf("refresh with Basic answered another refresh token")
		}
	})
}

func TestTokenReuse(t *testing.T) {
	t.Parallel()
	shortRefresh := func(o *Options) {
		o.Apps = []App{{ClientID: "short", ClientSecret: "short-secret", RedirectURLs: []string{oaRedirect},
			RefreshTokenLifespan: time.Hour, ApplicationUser: "sncheck.integration"}}
	}
	form := func(grant string, kv ...string) url.Values {
		return oaForm(append([]string{"grant_type", grant, "client_id", "short", "client_secret", "short-secret"}, kv...)...)
	}
	t.Run("password grant returns the current tokens and extends both", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(shortRefresh), func(t *testing.T, s *Server, c *http.Client, base string) {
			a1, r1 := wantTokenSuccess(t, oaToken(t, c, base, form("password", "username", "admin", "password", "admin")), "useraccount", true, 1799)
			oaAdvance(t, s, 1000*time.Second)
			a2, r2 := wantTokenSuccess(t, oaToken(t, c, base, form("password", "username", "admin", "password", "admin")), "useraccount", true, 1799)
			if a2 != a1 || r2 != r1 {
				t.Fatalf("second password grant answered new tokens; the instance returns the current ones")
			}
			wantJournal(t, oaLast(t, s, "oauth_token"), JournalEntry{GrantType: "password", ClientID: "short", ClientAuth: "form",
				User: "admin", IssuedAccess: Fingerprint(a1), IssuedRefresh: Fingerprint(r1), Status: 200})
			// The refresh token would have died at 3600 s; the reuse at
			// 1000 s moved it to 4600 s.
			oaAdvance(t, s, 2700*time.Second) // 3700 s
			wantTokenSuccess(t, oaToken(t, c, base, form("refresh_token", "refresh_token", r1)), "useraccount", true, 1799)
			oaAdvance(t, s, 900*time.Second) // 4600 s
			wantGenericFailure(t, oaToken(t, c, base, form("refresh_token", "refresh_token", r1)))
			// Another user gets tokens of their own.
			a3, _ := wantTokenSuccess(t, oaToken(t, c, base, form("password", "username", "itil", "password", "itil")), "useraccount", true, 1799)
			if a3 == a1 {
				t.Errorf("another user got admin's access token")
			}
		})
	})
	t.Run("the reused access token lives 1800 s from the last grant", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
			a1, _ := wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
			oaAdvance(t, s, 1799*time.Second)
			a2, _ := wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
			if a2 != a1 {
				t.Fatalf("at 1799 s the access token is still live and must be reused")
			}
			oaAdvance(t, s, 1800*time.Second)
			a3, _ := wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
			if a3 == a1 {
				t.Errorf("1800 s after the last grant the access token expired; a new one is due")
			}
		})
	})
	t.Run("client credentials reuse too, never with a refresh token", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(shortRefresh), func(t *testing.T, s *Server, c *http.Client, base string) {
			a1, _ := wantTokenSuccess(t, oaToken(t, c, base, form("client_credentials")), "useraccount", false, 1799)
			oaAdvance(t, s, 10*time.Second)
			a2, _ := wantTokenSuccess(t, oaToken(t, c, base, form("client_credentials")), "useraccount", false, 1799)
			if a2 != a1 {
				t.Errorf("second client_credentials grant answered a new access token")
			}
		})
	})
	t.Run("NoAccessTokenReuse issues new tokens every time", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(func(o *Options) { o.NoAccessTokenReuse = true }), func(t *testing.T, s *Server, c *http.Client, base string) {
			a1, r1 := wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
			a2, r2 := wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
			if a1 == a2 || r1 == r2 {
				t.Errorf("NoAccessTokenReuse: a repeated grant answered the same tokens")
			}
		})
	})
	t.Run("after ExpireTokens a grant issues new tokens", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
			a1, _ := wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
			if n, err := s.ExpireTokens(context.Background(), ExpireRequest{Token: a1}); err != nil || n != 1 {
				t.Fatalf("ExpireTokens = %d, %v", n, err)
			}
			a2, _ := wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
			if a2 == a1 {
				t.Errorf("an expired access token was reused")
			}
		})
	})
}

func TestTokenScopeField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		scopes []string
		want   string
	}{
		{name: "default entity", scopes: nil, want: "useraccount"},
		{name: "several scopes, space-joined", scopes: []string{"incident_read", "incident_write"}, want: "incident_read incident_write"},
		{name: "no scope at all", scopes: []string{}, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := oaOpts(func(o *Options) {
				o.Apps = []App{{ClientID: "sc", ClientSecret: "sc-secret", Scopes: tc.scopes, ApplicationUser: "sncheck.integration"}}
			})
			forEachTransport(t, opts, func(t *testing.T, s *Server, c *http.Client, base string) {
				r := oaToken(t, c, base, oaForm("grant_type", "client_credentials", "client_id", "sc", "client_secret", "sc-secret"))
				wantTokenSuccess(t, r, tc.want, false, 1799)
			})
		})
	}
}

func TestTokenPostBodyOnly(t *testing.T) {
	t.Parallel()
	query := "?" + oaPasswordForm("admin", "admin").Encode()
	t.Run("query parameters are ignored", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
			wantGenericFailure(t, oaPost(t, c, base, "/oauth_token.do"+query, url.Values{}))
			e := oaLast(t, s, "oauth_token")
			if e.ErrCode != CodeOAuthInvalidRequest || len(e.SecretsInURL) == 0 {
				t.Errorf("journal: ErrCode %q SecretsInURL %v, want invalid_request and the secrets named", e.ErrCode, e.SecretsInURL)
			}
			// Body values win; the query's are not merged in.
			form := oaForm("grant_type", "password", "client_id", oaClientID, "client_secret", oaSecret, "username", "admin")
			wantGenericFailure(t, oaPost(t, c, base, "/oauth_token.do?password=admin", form))
		})
	})
	t.Run("with the property off the query counts", func(t *testing.T) {
		t.Parallel()
		opts := oaOpts(func(o *Options) { o.Properties = map[string]string{propPostBodyOnly: "false"} })
		forEachTransport(t, opts, func(t *testing.T, s *Server, c *http.Client, base string) {
			wantTokenSuccess(t, oaPost(t, c, base, "/oauth_token.do"+query, url.Values{}), "useraccount", true, 1799)
		})
	})
}

// failureCase is one row of servicenow-spec §1.6: how to provoke it, and
// the RFC 6749 code Options.RFCErrors answers.
type failureCase struct {
	name  string
	opts  func(*Options)
	setup func(t *testing.T, s *Server, c *http.Client, base string) url.Values // nil: form below
	form  url.Values
	mods  []func(*http.Request)
	raw   func(t *testing.T, c *http.Client, base string) oaResp // a request that is not a form post
	want  Code
}

func tokenFailureCases() []failureCase {
	tokens := func(t *testing.T, c *http.Client, base string) (string, string) {
		t.Helper()
		return wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
	}
	exchange := func(code string, kv ...string) url.Values {
		return oaForm(append([]string{"grant_type", "authorization_code", "client_id", oaClientID, "client_secret", oaSecret,
			"code", code, "redirect_uri", oaRedirect}, kv...)...)
	}
	withUser := func(u User) func(*Options) { return func(o *Options) { o.Users = []User{u} } }
	return []failureCase{
		{name: "wrong client_secret", form: oaForm("grant_type", "password", "client_id", oaClientID, "client_secret", "nope",
			"username", "admin", "password", "admin"), want: CodeOAuthInvalidClient},
		{name: "wrong client_secret in Basic", form: oaForm("grant_type", "password", "username", "admin", "password", "admin"),
			mods: []func(*http.Request){oaBasic(oaClientID, "nope")}, want: CodeOAuthInvalidClient},
		{name: "malformed Basic header", form: oaPasswordForm("admin", "admin"),
			mods: []func(*http.Request){func(r *http.Request) { r.Header.Set("Authorization", "Basic !!!") }}, want: CodeOAuthInvalidClient},
		{name: "Basic and body name different clients", form: oaForm("grant_type", "password", "client_id", "other",
			"username", "admin", "password", "admin"), mods: []func(*http.Request){oaBasic(oaClientID, oaSecret)}, want: CodeOAuthInvalidRequest},
		{name: "unknown client_id", form: oaForm("grant_type", "password", "client_id", "nobody", "client_secret", oaSecret,
			"username", "admin", "password", "admin"), want: CodeOAuthInvalidClient},
		{name: "no client at all", form: oaForm("grant_type", "password", "username", "admin", "password", "admin"), want: CodeOAuthInvalidClient},
		{name: "confidential client without secret", form: oaForm("grant_type", "password", "client_id", oaClientID,
			"username", "admin", "password", "admin"), want: CodeOAuthInvalidClient},
		{name: "inactive application", opts: func(o *Options) {
			o.Apps = []App{{ClientID: oaClientID, ClientSecret: oaSecret, Inactive: true, SysID: fixtures.OAuthEntitySysID}}
		}, form: oaPasswordForm("admin", "admin"), want: CodeOAuthInvalidClient},
		{name: "wrong password", form: oaPasswordForm("admin", "wrong"), want: CodeOAuthInvalidGrant},
		{name: "unknown user", form: oaPasswordForm("ghost", "ghost"), want: CodeOAuthInvalidGrant},
		{name: "inactive user", opts: withUser(User{UserName: "u1", Password: "p1", Inactive: true}),
			form: oaPasswordForm("u1", "p1"), want: CodeOAuthInvalidGrant},
		{name: "locked-out user", opts: withUser(User{UserName: "u1", Password: "p1", LockedOut: true}),
			form: oaPasswordForm("u1", "p1"), want: CodeOAuthInvalidGrant},
		{name: "web-service-only user", form: oaPasswordForm("sncheck.integration", "integration"), want: CodeOAuthInvalidGrant},
		{name: "user must reset password", opts: withUser(User{UserName: "u1", Password: "p1", PasswordNeedsReset: true}),
			form: oaPasswordForm("u1", "p1"), want: CodeOAuthInvalidGrant},
		{name: "client credentials with the property off",
			opts: func(o *Options) { o.Properties = map[string]string{propClientCredentials: "false"} },
			form: oaForm("grant_type", "client_credentials", "client_id", oaClientID, "client_secret", oaSecret), want: CodeOAuthUnauthorizedClient},
		{name: "client credentials without an application user", opts: func(o *Options) {
			o.Apps = []App{{ClientID: "noapp", ClientSecret: "noapp-secret"}}
		}, form: oaForm("grant_type", "client_credentials", "client_id", "noapp", "client_secret", "noapp-secret"), want: CodeOAuthUnauthorizedClient},
		{name: "grant not in the entity's grant types", opts: func(o *Options) {
			o.Apps = []App{{ClientID: "pw", ClientSecret: "pw-secret", GrantTypes: []string{"password", "refresh_token"}, ApplicationUser: "sncheck.integration"}}
		}, form: oaForm("grant_type", "client_credentials", "client_id", "pw", "client_secret", "pw-secret"), want: CodeOAuthUnauthorizedClient},
		{name: "public client may not use the password grant", opts: func(o *Options) {
			o.Apps = []App{{ClientID: "pub", Public: true, RedirectURLs: []string{oaRedirect}}}
		}, form: oaForm("grant_type", "password", "client_id", "pub", "username", "admin", "password", "admin"), want: CodeOAuthUnauthorizedClient},
		{name: "expired refresh token", setup: func(t *testing.T, s *Server, c *http.Client, base string) url.Values {
			_, rt := tokens(t, c, base)
			oaAdvance(t, s, 8640000*time.Second)
			return oaRefreshForm(rt)
		}, want: CodeOAuthInvalidGrant},
		{name: "revoked refresh token", setup: func(t *testing.T, s *Server, c *http.Client, base string) url.Values {
			_, rt := tokens(t, c, base)
			if r := oaGet(t, c, base+"/oauth_revoke_token.do?token="+url.QueryEscape(rt)); r.status != 200 {
				t.Fatalf("revoke: %d", r.status)
			}
			return oaRefreshForm(rt)
		}, want: CodeOAuthInvalidGrant},
		{name: "unknown refresh token", form: oaRefreshForm(strings.Repeat("x", 86)), want: CodeOAuthInvalidGrant},
		{name: "an access token as refresh token", setup: func(t *testing.T, s *Server, c *http.Client, base string) url.Values {
			at, _ := tokens(t, c, base)
			return oaRefreshForm(at)
		}, want: CodeOAuthInvalidGrant},
		{name: "another client's refresh token", opts: func(o *Options) {
			o.Apps = []App{{ClientID: "other", ClientSecret: "other-secret"}}
		}, setup: func(t *testing.T, s *Server, c *http.Client, base string) url.Values {
			_, rt := tokens(t, c, base)
			return oaForm("grant_type", "refresh_token", "client_id", "other", "client_secret", "other-secret", "refresh_token", rt)
		}, want: CodeOAuthInvalidGrant},
		{name: "invalid code", form: exchange(strings.Repeat("c", 86)), want: CodeOAuthInvalidGrant},
		{name: "reused code", setup: func(t *testing.T, s *Server, c *http.Client, base string) url.Values {
			code := oaCode(t, c, base)
			wantTokenSuccess(t, oaToken(t, c, base, exchange(code)), "useraccount", true, 1799)
			return exchange(code)
		}, want: CodeOAuthInvalidGrant},
		{name: "redirect_uri differs from the authorization request's", setup: func(t *testing.T, s *Server, c *http.Client, base string) url.Values {
			f := exchange(oaCode(t, c, base))
			f.Set("redirect_uri", "http://localhost:8765/other")
			return f
		}, want: CodeOAuthInvalidGrant},
		{name: "wrong code_verifier", setup: func(t *testing.T, s *Server, c *http.Client, base string) url.Values {
			code := oaCode(t, c, base, "code_challenge", pkceChallenge(testVerifier), "code_challenge_method", "S256")
			return exchange(code, "code_verifier", testVerifier+"x")
		}, want: CodeOAuthInvalidGrant},
		{name: "missing code_verifier", setup: func(t *testing.T, s *Server, c *http.Client, base string) url.Values {
			code := oaCode(t, c, base, "code_challenge", pkceChallenge(testVerifier), "code_challenge_method", "S256")
			return exchange(code)
		}, want: CodeOAuthInvalidGrant},
		{name: "unsupported grant_type", form: oaForm("grant_type", "magic", "client_id", oaClientID, "client_secret", oaSecret), want: CodeOAuthUnsupportedGrant},
		{name: "jwt-bearer is not modelled", form: oaForm("grant_type", grantJWTBearer, "client_id", oaClientID, "client_secret", oaSecret,
			"assertion", "x.y.z"), want: CodeOAuthUnsupportedGrant},
		{name: "missing grant_type", form: oaForm("client_id", oaClientID, "client_secret", oaSecret), want: CodeOAuthInvalidRequest},
		{name: "missing password", form: oaForm("grant_type", "password", "client_id", oaClientID, "client_secret", oaSecret,
			"username", "admin"), want: CodeOAuthInvalidRequest},
		{name: "missing refresh_token", form: oaForm("grant_type", "refresh_token", "client_id", oaClientID, "client_secret", oaSecret), want: CodeOAuthInvalidRequest},
		{name: "missing code", form: oaForm("grant_type", "authorization_code", "client_id", oaClientID, "client_secret", oaSecret), want: CodeOAuthInvalidRequest},
		{name: "parameters only in the query string", raw: func(t *testing.T, c *http.Client, base string) oaResp {
			return oaPost(t, c, base, "/oauth_token.do?"+oaPasswordForm("admin", "admin").Encode(), url.Values{})
		}, want: CodeOAuthInvalidRequest},
		{name: "JSON body", raw: func(t *testing.T, c *http.Client, base string) oaResp {
			req, _ := http.NewRequest(http.MethodPost, base+"/oauth_token.do",
				strings.NewReader(`{"grant_type":"password","client_id":"sncheck-client","client_secret":"sncheck-secret","username":"admin","password":"admin"}`))
			req.Header.Set("Content-Type", "application/json")
			return oaDo(t, c, req)
		}, want: CodeOAuthInvalidRequest},
		{name: "GET", raw: func(t *testing.T, c *http.Client, base string) oaResp {
			return oaGet(t, c, base+"/oauth_token.do?"+oaPasswordForm("admin", "admin").Encode())
		}, want: CodeOAuthInvalidRequest},
		{name: "entity linked to a deleted scope", setup: func(t *testing.T, s *Server, c *http.Client, base string) url.Values {
			err := s.store.Update("admin", func(tx *store.Tx) error { return tx.Delete("sys_auth_scope", fixtures.UserAccountScopeSysID) })
			if err != nil {
				t.Fatal(err)
			}
			return oaPasswordForm("admin", "admin")
		}, want: CodeOAuthInvalidScope},
	}
}

// TestTokenFailures runs every row of servicenow-spec §1.6, answered the
// instance's way and in RFC mode.
func TestTokenFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range tokenFailureCases() {
		for _, rfc := range []bool{false, true} {
			name := tc.name
			if rfc {
				name += "/rfc"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				opts := oaOpts(func(o *Options) {
					if tc.opts != nil {
						tc.opts(o)
					}
					o.RFCErrors = rfc
				})
				forEachTransport(t, opts, func(t *testing.T, s *Server, c *http.Client, base string) {
					var r oaResp
					switch {
					case tc.raw != nil:
						r = tc.raw(t, c, base)
					case tc.setup != nil:
						r = oaToken(t, c, base, tc.setup(t, s, c, base), tc.mods...)
					default:
						r = oaToken(t, c, base, tc.form, tc.mods...)
					}
					if rfc {
						wantRFCFailure(t, r, tc.want)
					} else {
						wantGenericFailure(t, r)
					}
					e := oaLast(t, s, "oauth_token")
					if e.ErrCode != tc.want || e.ErrMessage == "" || e.IssuedAccess != "" || e.IssuedRefresh != "" {
						t.Errorf("journal: ErrCode %q ErrMessage %q issued %q/%q, want %q with a reason and nothing issued",
							e.ErrCode, e.ErrMessage, e.IssuedAccess, e.IssuedRefresh, tc.want)
					}
				})
			})
		}
	}
}

// wantRFCFailure checks an RFC 6749 §5.2 answer.
func wantRFCFailure(t *testing.T, r oaResp, code Code) {
	t.Helper()
	status, auth := http.StatusBadRequest, ""
	if code == CodeOAuthInvalidClient {
		status, auth = http.StatusUnauthorized, `Basic realm="Service-now"`
	}
	if r.status != status {
		t.Errorf("status = %d, want %d", r.status, status)
	}
	if got := r.header.Get("WWW-Authenticate"); got != auth {
		t.Errorf("WWW-Authenticate = %q, want %q", got, auth)
	}
	prefix := `{"error":"` + string(code) + `","error_description":"`
	if !strings.HasPrefix(r.body, prefix) || !strings.HasSuffix(r.body, `"}`) || len(r.body) == len(prefix)+2 {
		t.Errorf("body = %s, want %s<reason>\"}", r.body, prefix)
	}
	wantInstanceHeaders(t, r, "application/json;charset=UTF-8")
}

func TestTokenRepeatedParameter(t *testing.T) {
	t.Parallel()
	form := oaPasswordForm("admin", "admin")
	form.Add("username", "itil")
	t.Run("instance takes the first value", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
			wantTokenSuccess(t, oaToken(t, c, base, form), "useraccount", true, 1799)
			if u := oaLast(t, s, "oauth_token").User; u != "admin" {
				t.Errorf("user = %q, want admin", u)
			}
		})
	})
	t.Run("RFC mode refuses it", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(func(o *Options) { o.RFCErrors = true }), func(t *testing.T, s *Server, c *http.Client, base string) {
			wantRFCFailure(t, oaToken(t, c, base, form), CodeOAuthInvalidRequest)
		})
	})
}

func TestTokenRotation(t *testing.T) {
	t.Parallel()
	rotation := func(grace time.Duration) func() Options {
		return oaOpts(func(o *Options) { o.RefreshTokenRotation, o.RotationGrace = true, grace })
	}
	t.Run("with grace", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, rotation(time.Minute), func(t *testing.T, s *Server, c *http.Client, base string) {
			_, r1 := wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
			_, r2 := wantTokenSuccess(t, oaToken(t, c, base, oaRefreshForm(r1)), "useraccount", true, 1799)
			if r2 == r1 {
				t.Fatalf("rotation: the refresh answered the same refresh token")
			}
			wantJournal(t, oaLast(t, s, "oauth_token"), JournalEntry{GrantType: "refresh_token", ClientID: oaClientID,
				ClientAuth: "form", User: "admin", Token: Fingerprint(r1), IssuedAccess: oaLast(t, s, "oauth_token").IssuedAccess,
				IssuedRefresh: Fingerprint(r2), Status: 200})
			if st := credOf(t, s, r1)["u_status"]; st != credSuperseded {
				t.Errorf("old refresh token status = %q, want superseded", st)
			}
			// Inside the grace window the old token still works and leads
			// to its successor instead of forking the chain.
			oaAdvance(t, s, 59*time.Second)
			_, again := wantTokenSuccess(t, oaToken(t, c, base, oaRefreshForm(r1)), "useraccount", true, 1799)
			if again != r2 {
				t.Errorf("a refresh in the grace window answered %s, want the successor %s", Fingerprint(again), Fingerprint(r2))
			}
			oaAdvance(t, s, time.Second)
			wantGenericFailure(t, oaToken(t, c, base, oaRefreshForm(r1)))
			if e := oaLast(t, s, "oauth_token"); e.ErrCode != CodeOAuthInvalidGrant || !strings.Contains(e.ErrMessage, "superseded") {
				t.Errorf("journal: %q %q, want invalid_grant: superseded", e.ErrCode, e.ErrMessage)
			}
			_, r3 := wantTokenSuccess(t, oaToken(t, c, base, oaRefreshForm(r2)), "useraccount", true, 1799)
			if r3 == r2 || r3 == r1 {
				t.Errorf("the successor's refresh did not rotate")
			}
		})
	})
	t.Run("without grace", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, rotation(0), func(t *testing.T, s *Server, c *http.Client, base string) {
			_, r1 := wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
			wantTokenSuccess(t, oaToken(t, c, base, oaRefreshForm(r1)), "useraccount", true, 1799)
			wantGenericFailure(t, oaToken(t, c, base, oaRefreshForm(r1)))
		})
	})
	t.Run("RFC mode says invalid_grant", func(t *testing.T) {
		t.Parallel()
		opts := oaOpts(func(o *Options) { o.RefreshTokenRotation, o.RFCErrors = true, true })
		forEachTransport(t, opts, func(t *testing.T, s *Server, c *http.Client, base string) {
			_, r1 := wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
			wantTokenSuccess(t, oaToken(t, c, base, oaRefreshForm(r1)), "useraccount", true, 1799)
			wantRFCFailure(t, oaToken(t, c, base, oaRefreshForm(r1)), CodeOAuthInvalidGrant)
		})
	})
}

// TestOAuthLifespans moves the clock over each lifespan: what should
// expire does, exactly at its lifespan, and nothing earlier.
func TestOAuthLifespans(t *testing.T) {
	t.Parallel()
	t.Run("refresh token at 8,640,000 s", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
			_, rt := wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
			oaAdvance(t, s, 8639999*time.Second)
			wantTokenSuccess(t, oaToken(t, c, base, oaRefreshForm(rt)), "useraccount", true, 1799)
			oaAdvance(t, s, time.Second)
			wantGenericFailure(t, oaToken(t, c, base, oaRefreshForm(rt)))
		})
	})
	t.Run("authorization code at its lifespan", func(t *testing.T) {
		t.Parallel()
		opts := oaOpts(func(o *Options) {
			o.Apps = []App{{ClientID: oaClientID, ClientSecret: oaSecret, RedirectURLs: []string{oaRedirect},
				SysID: fixtures.OAuthEntitySysID, CodeLifespan: 120 * time.Second}}
		})
		forEachTransport(t, opts, func(t *testing.T, s *Server, c *http.Client, base string) {
			exchange := func(code string) oaResp {
				return oaToken(t, c, base, oaForm("grant_type", "authorization_code", "client_id", oaClientID,
					"client_secret", oaSecret, "code", code, "redirect_uri", oaRedirect))
			}
			code := oaCode(t, c, base)
			oaAdvance(t, s, 119*time.Second)
			wantTokenSuccess(t, exchange(code), "useraccount", true, 1799)
			code = oaCode(t, c, base)
			oaAdvance(t, s, 120*time.Second)
			wantGenericFailure(t, exchange(code))
			if e := oaLast(t, s, "oauth_token"); !strings.Contains(e.ErrMessage, "expired") {
				t.Errorf("journal reason %q, want the code expired", e.ErrMessage)
			}
		})
	})
	t.Run("default code lifespan is 600 s", func(t *testing.T) {
		t.Parallel()
		forEachTransport(t, oaOpts(), func(t *testing.T, s *Server, c *http.Client, base string) {
			code := oaCode(t, c, base)
			oaAdvance(t, s, 600*time.Second)
			wantGenericFailure(t, oaToken(t, c, base, oaForm("grant_type", "authorization_code", "client_id", oaClientID,
				"client_secret", oaSecret, "code", code, "redirect_uri", oaRedirect)))
		})
	})
}
