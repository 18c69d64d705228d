package fakesn

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sncheck/sncheck/fakesn/internal/store"
	"github.com/sncheck/sncheck/fixtures"
)

// Helpers of the OAuth endpoint tests (oauth_*_test.go, oauth2client_test.go).

// oaStart is the fake clock's start in OAuth tests.
var oaStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	oaClientID = fixtures.OAuthClientID
	oaSecret   = fixtures.OAuthClientSecret
	oaRedirect = "http://localhost:8765/callback"
	oaState    = "st-4f9a"
)

// oaOpts returns an Options factory with a fresh FakeClock, changed by mods.
func oaOpts(mods ...func(*Options)) func() Options {
	return func() Options {
		o := Options{Clock: NewFakeClock(oaStart)}
		for _, m := range mods {
			m(&o)
		}
		return o
	}
}

// oaResp is a raw response.
type oaResp struct {
	status int
	header http.Header
	body   string
}

func oaDo(t *testing.T, c *http.Client, req *http.Request) oaResp {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return oaResp{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// oaPost posts a form to path (which may carry a query).
func oaPost(t *testing.T, c *http.Client, base, path string, form url.Values, mods ...func(*http.Request)) oaResp {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, m := range mods {
		m(req)
	}
	return oaDo(t, c, req)
}

func oaGet(t *testing.T, c *http.Client, rawURL string, mods ...func(*http.Request)) oaResp {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mods {
		m(req)
	}
	return oaDo(t, c, req)
}

func oaToken(t *testing.T, c *http.Client, base string, form url.Values, mods ...func(*http.Request)) oaResp {
	t.Helper()
	return oaPost(t, c, base, "/oauth_token.do", form, mods...)
}

// oaBasic sets HTTP Basic client credentials, form-urlencoded inside as
// RFC 6749 §2.3.1 (and x/oauth2) do.
func oaBasic(id, secret string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
}

// oaForm builds url.Values from pairs.
func oaForm(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func oaPasswordForm(user, pass string) url.Values {
	return oaForm("grant_type", "password", "client_id", oaClientID, "client_secret", oaSecret,
		"username", user, "password", pass)
}

func oaRefreshForm(rt string) url.Values {
	return oaForm("grant_type", "refresh_token", "client_id", oaClientID, "client_secret", oaSecret, "refresh_token", rt)
}

var tokenShape = regexp.MustCompile(`^[A-Za-z0-9_-]{86}$`)

// wantInstanceHeaders checks the headers every instance answer carries.
func wantInstanceHeaders(t *testing.T, r oaResp, contentType string) {
	t.Helper()
	want := map[string]string{
		"Server": "ServiceNow", "Content-Type": contentType,
		"Cache-Control": "no-cache,no-store,must-revalidate,max-age=-1", "Pragma": "no-store,no-cache",
		"Expires": "0", "X-Content-Type-Options": "nosniff",
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if id := r.header.Get("X-Transaction-ID"); !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("X-Transaction-ID = %q, want 12 lowercase hex", id)
	}
}

// wantTokenSuccess checks a successful token answer byte for byte and
// returns its tokens. wantRefresh false means no refresh_token key.
func wantTokenSuccess(t *testing.T, r oaResp, scope string, wantRefresh bool, expiresIn int) (access, refresh string) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", r.status, r.body)
	}
	wantInstanceHeaders(t, r, "application/json;charset=UTF-8")
	if v := r.header.Values("Set-Cookie"); len(v) != 0 {
		t.Errorf("Set-Cookie = %q, want none on a token answer", v)
	}
	if v := r.header.Get("X-Is-Logged-In"); v != "" {
		t.Errorf("X-Is-Logged-In = %q, want absent", v)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	access, _ = got["access_token"].(string)
	refresh, _ = got["refresh_token"].(string)
	want := fmt.Sprintf(`{"access_token":%q,"scope":%q,"token_type":"Bearer","expires_in":%d}`, access, scope, expiresIn)
	if wantRefresh {
		want = fmt.Sprintf(`{"access_token":%q,"refresh_token":%q,"scope":%q,"token_type":"Bearer","expires_in":%d}`, access, refresh, scope, expiresIn)
		if !tokenShape.MatchString(refresh) {
			t.Errorf("refresh_token %q is not 86 base64url characters", refresh)
		}
	}
	if r.body != want {
		t.Errorf("body:\n got %s\nwant %s", r.body, want)
	}
	if !tokenShape.MatchString(access) {
		t.Errorf("access_token %q is not 86 base64url characters", access)
	}
	return access, refresh
}

// wantGenericFailure checks the instance's one token failure answer.
func wantGenericFailure(t *testing.T, r oaResp) {
	t.Helper()
	if r.status != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", r.status)
	}
	if want := `{"error_description":"access_denied","error":"server_error"}`; r.body != want {
		t.Errorf("body = %s, want %s", r.body, want)
	}
	if v := r.header.Get("X-Is-Logged-In"); v != "false" {
		t.Errorf("X-Is-Logged-In = %q, want false", v)
	}
	if v := r.header.Values("Set-Cookie"); len(v) != 0 {
		t.Errorf("Set-Cookie = %q, want none", v)
	}
	wantInstanceHeaders(t, r, "application/json;charset=UTF-8")
}

// oaLast returns the newest journal entry of an API.
func oaLast(t *testing.T, s *Server, api string) JournalEntry {
	t.Helper()
	e, err := s.Journal(context.Background(), JournalFilter{API: api, Limit: 1})
	if err != nil || len(e) != 1 {
		t.Fatalf("journal for %s: %v, %d entries", api, err, len(e))
	}
	return e[0]
}

// wantJournal compares the OAuth fields of a journal entry.
func wantJournal(t *testing.T, got, want JournalEntry) {
	t.Helper()
	pick := func(e JournalEntry) JournalEntry {
		return JournalEntry{GrantType: e.GrantType, ClientID: e.ClientID, ClientAuth: e.ClientAuth, User: e.User,
			Token: e.Token, IssuedAccess: e.IssuedAccess, IssuedRefresh: e.IssuedRefresh, Status: e.Status, ErrCode: e.ErrCode}
	}
	if d := cmp.Diff(pick(want), pick(got)); d != "" {
		t.Errorf("journal entry (-want +got):\n%s", d)
	}
}

func oaAdvance(t *testing.T, s *Server, d time.Duration) {
	t.Helper()
	if _, err := s.AdvanceClock(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

// oaAuthURL is an authorization request for the seeded app.
func oaAuthURL(base string, kv ...string) string {
	v := oaForm("response_type", "code", "client_id", oaClientID, "redirect_uri", oaRedirect, "state", oaState)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return base + "/oauth_auth.do?" + v.Encode()
}

var (
	formRE  = regexp.MustCompile(`(?s)<form id="([a-z_]+)"[^>]*method="post" action="([^"]*)">(.*?)</form>`)
	inputRE = regexp.MustCompile(`<input [^>]*?name="([^"]*)"[^>]*?(?:value="([^"]*)")?>`)
)

// formFields returns the named inputs of the page's form with id, as a
// browser would submit them (buttons excluded).
func formFields(t *testing.T, page, id string) url.Values {
	t.Helper()
	for _, m := range formRE.FindAllStringSubmatch(page, -1) {
		if m[1] != id {
			continue
		}
		if m[2] != "/oauth_auth.do" {
			t.Errorf("form %s posts to %q", id, m[2])
		}
		v := url.Values{}
		for _, in := range inputRE.FindAllStringSubmatch(m[3], -1) {
			v.Add(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
		}
		return v
	}
	t.Fatalf("no form#%s in page:\n%s", id, page)
	return nil
}

// authorizeAs plays the browser: log in on the login page as user (unless
// the client's session skips it), then press Allow. It returns the redirect's parsed URL.
func authorizeAs(t *testing.T, c *http.Client, base, authURL, user, pass string) *url.URL {
	t.Helper()
	page := oaGet(t, c, authURL)
	if strings.Contains(page.body, `id="consent_form"`) {
		// Logged in already: the session skips the login page.
		if !strings.Contains(page.body, `<span id="user_name">`+user+`</span>`) {
			t.Fatalf("authorize: the session is not %s's:\n%s", user, page.body)
		}
		return pressConsent(t, c, base, page.body, "allow")
	}
	if page.status != http.StatusOK || !strings.Contains(page.body, `id="login_form"`) {
		t.Fatalf("authorize: got %d, want the login page; body %s", page.status, page.body)
	}
	login := formFields(t, page.body, "login_form")
	login.Set("user_name", user)
	login.Set("user_password", pass)
	consent := oaPost(t, c, base, "/oauth_auth.do", login)
	if consent.status != http.StatusOK || !strings.Contains(consent.body, `id="consent_form"`) {
		t.Fatalf("login: got %d, want the consent page; body %s", consent.status, consent.body)
	}
	return pressConsent(t, c, base, consent.body, "allow")
}

// pressConsent submits the consent page with Allow or Deny and returns the
// redirect.
func pressConsent(t *testing.T, c *http.Client, base, page, action string) *url.URL {
	t.Helper()
	f := formFields(t, page, "consent_form")
	f.Set("sysparm_action", action)
	r := oaPost(t, c, base, "/oauth_auth.do", f)
	return wantRedirect(t, r)
}

func wantRedirect(t *testing.T, r oaResp) *url.URL {
	t.Helper()
	if r.status != http.StatusFound {
		t.Fatalf("status = %d, want 302; body %s", r.status, r.body)
	}
	if r.body != "" {
		t.Errorf("redirect body = %q, want empty", r.body)
	}
	u, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatalf("Location %q: %v", r.header.Get("Location"), err)
	}
	return u
}

// oaCode runs the authorize flow as admin and returns the code.
func oaCode(t *testing.T, c *http.Client, base string, kv ...string) string {
	t.Helper()
	u := authorizeAs(t, c, base, oaAuthURL(base, kv...), "admin", "admin")
	code := u.Query().Get("code")
	if !tokenShape.MatchString(code) {
		t.Fatalf("redirect %s: code is not 86 base64url characters", u)
	}
	return code
}

// credRows returns the oauth_credential rows of a kind.
func credRows(t *testing.T, s *Server, kind string) []map[string]string {
	t.Helper()
	var out []map[string]string
	_ = s.store.View(func(tx *store.Tx) error {
		return tx.Scan("oauth_credential", func(r *store.Row) bool {
			if r.Get("type") == kind {
				out = append(out, r.Map())
			}
			return true
		})
	})
	return out
}

// credOf returns the stored row of a token.
func credOf(t *testing.T, s *Server, token string) map[string]string {
	t.Helper()
	var out map[string]string
	_ = s.store.View(func(tx *store.Tx) error {
		if r, ok := tx.Lookup("oauth_credential", "token", tokenKey(token)); ok {
			out = r.Map()
		}
		return nil
	})
	if out == nil {
		t.Fatalf("no credential for token %s", Fingerprint(token))
	}
	return out
}
