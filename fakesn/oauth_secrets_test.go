package fakesn

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// oaLogBuf collects a fake's log lines; the socket transport logs from
// other goroutines.
type oaLogBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *oaLogBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *oaLogBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestOAuthSecretsStayHidden runs every OAuth flow with canary secrets and
// scans the journal, the debug log and every error body for them.
func TestOAuthSecretsStayHidden(t *testing.T) {
	t.Parallel()
	const (
		user, password = "canary.user", "pw-CANARY-71c3"
		client, secret = "canary-client", "secret-CANARY-9d1c"
	)
	for _, rfc := range []bool{false, true} {
		t.Run(map[bool]string{false: "instance errors", true: "rfc errors"}[rfc], func(t *testing.T) {
			t.Parallel()
			var logs sync.Map // *slog.Logger -> *oaLogBuf
			opts := oaOpts(func(o *Options) {
				buf := &oaLogBuf{}
				o.Logger = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
				logs.Store(o.Logger, buf)
				o.RFCErrors = rfc
				o.Users = []User{{UserName: user, Password: password, Roles: []string{"itil"}}}
				o.Apps = []App{{ClientID: client, ClientSecret: secret, RedirectURLs: []string{oaRedirect}, ApplicationUser: "sncheck.integration"}}
			})
			forEachTransport(t, opts, func(t *testing.T, s *Server, c *http.Client, base string) {
				secrets := []string{password, secret, testVerifier}
				var failures []string
				token := func(form url.Values, mods ...func(*http.Request)) oaResp {
					r := oaToken(t, c, base, form, mods...)
					if r.status != http.StatusOK {
						failures = append(failures, r.body)
					}
					return r
				}
				form := func(kv ...string) url.Values {
					return oaForm(append([]string{"client_id", client, "client_secret", secret}, kv...)...)
				}
				lastAccess := ""
				keep := func(r oaResp, wantRefresh bool) string {
					a, rt := wantTokenSuccess(t, r, "useraccount", wantRefresh, 1799)
					lastAccess = a
					secrets = append(secrets, a)
					if rt != "" {
						secrets = append(secrets, rt)
					}
					return rt
				}

				rt := keep(token(form("grant_type", "password", "username", user, "password", password)), true)
				keep(token(oaForm("grant_type", "password", "username", user, "password", password), oaBasic(client, secret)), true)
				token(form("grant_type", "password", "username", user, "password", password+"x"))
				token(oaForm("grant_type", "password", "client_id", client, "client_secret", secret+"x", "username", user, "password", password))
				token(oaForm("grant_type", "password", "username", user, "password", password), oaBasic(client, secret+"x"))
				keep(token(form("grant_type", "refresh_token", "refresh_token", rt)), true)
				token(form("grant_type", "refresh_token", "refresh_token", rt+"x"))
				keep(token(form("grant_type", "client_credentials")), false)
				ccAccess := lastAccess
				// Secrets in the URL: refused, and only named in the journal.
				r := oaPost(t, c, base, "/oauth_token.do?"+form("grant_type", "password", "username", user, "password", password).Encode(), url.Values{})
				failures = append(failures, r.body)

				// The authorize flow with PKCE, a failed login on the way.
				page := oaGet(t, c, oaAuthURL(base, "client_id", client, "code_challenge", pkceChallenge(testVerifier), "code_challenge_method", "S256"))
				login := formFields(t, page.body, "login_form")
				login.Set("user_name", user)
				login.Set("user_password", password+"x")
				page = oaPost(t, c, base, "/oauth_auth.do", login)
				failures = append(failures, page.body)
				login.Set("user_password", password)
				consent := oaPost(t, c, base, "/oauth_auth.do", login)
				code := pressConsent(t, c, base, consent.body, "allow").Query().Get("code")
				secrets = append(secrets, code)
				exchange := form("grant_type", "authorization_code", "code", code, "redirect_uri", oaRedirect, "code_verifier", testVerifier)
				token(form("grant_type", "authorization_code", "code", code, "redirect_uri", oaRedirect, "code_verifier", testVerifier+"x"))
				token(exchange)

				implicit := authorizeAs(t, c, base, oaAuthURL(base, "client_id", client, "response_type", "token"), user, password)
				secrets = append(secrets, implicit.Query().Get("access_token"))
				oaGet(t, c, base+"/oauth_revoke_token.do?token="+url.QueryEscape(rt))
				oaPost(t, c, base, "/oauth_revoke_token.do", oaForm("token", ccAccess))

				entries, err := s.Journal(context.Background(), JournalFilter{})
				if err != nil {
					t.Fatal(err)
				}
				journal, _ := json.Marshal(entries)
				v, _ := logs.Load(s.logger)
				logText := v.(*oaLogBuf).String()
				if !strings.Contains(logText, "token request refused") || !strings.Contains(logText, "wrong client_secret") {
					t.Errorf("the debug log does not give the reasons:\n%s", logText)
				}
				for _, sec := range secrets {
					if sec == "" {
						t.Fatalf("an empty canary")
					}
					if strings.Contains(string(journal), sec) {
						t.Errorf("the journal holds a secret (%s)", Fingerprint(sec))
					}
					if strings.Contains(logText, sec) {
						t.Errorf("the log holds a secret (%s)", Fingerprint(sec))
					}
					for _, b := range failures {
						if strings.Contains(b, sec) {
							t.Errorf("an error body holds a secret (%s): %s", Fingerprint(sec), b)
						}
					}
				}
				if len(failures) < 8 {
					t.Errorf("only %d failures seen", len(failures))
				}
			})
		})
	}
}
