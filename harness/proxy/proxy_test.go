package proxy

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sncheck/sncheck/fakesn"
)

var testStart = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// canaries are a test's secrets: unique, so finding one anywhere proves a
// leak.
type canaries struct {
	clientID, clientSecret, user, password string
}

func newCanaries() canaries {
	return canaries{clientID: "proxy-client", clientSecret: secret("cs-"), user: "proxy.user", password: secret("pw-")}
}

func secret(prefix string) string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func (c canaries) options() fakesn.Options {
	return fakesn.Options{
		Clock: fakesn.NewFakeClock(testStart),
		Users: []fakesn.User{{UserName: c.user, Password: c.password, Name: "Proxy User", Roles: []string{"itil"}}},
		Apps: []fakesn.App{{
			Name: "proxy test", ClientID: c.clientID, ClientSecret: c.clientSecret,
			RedirectURLs: []string{"http://localhost:8765/callback"}, ApplicationUser: c.user, AutoApprove: true,
		}},
	}
}

// syncBuffer collects logs written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// rig is the fake served over TLS with a test CA, and the proxy in front.
type rig struct {
	fake  *fakesn.Server
	ts    *httptest.Server
	proxy *Proxy
	c     *http.Client // the integration's: a cookie jar, no redirects
	logs  *syncBuffer
}

func poolOf(ts *httptest.Server) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return pool
}

func newRig(t *testing.T, fo fakesn.Options, po Options) *rig {
	t.Helper()
	fake, err := fakesn.New(fo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	ts := httptest.NewTLSServer(fake)
	t.Cleanup(ts.Close)
	logs := &syncBuffer{}
	po.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if po.RootCAs == nil {
		po.RootCAs = poolOf(ts)
	}
	p := startProxy(t, ts.URL, po)
	return &rig{fake: fake, ts: ts, proxy: p, c: newClient(), logs: logs}
}

func startProxy(t *testing.T, upstream string, po Options) *Proxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(u, po)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		// A fresh connection per request: a dropped one is then never
		// retried by the transport.
		Transport: &http.Transport{DisableKeepAlives: true},
	}
}

// answer is a raw response; status -1 means no answer (a dropped
// connection).
type answer struct {
	status int
	header http.Header
	body   string
}

type mod func(*http.Request)

func basic(user, pass string) mod { return func(r *http.Request) { r.SetBasicAuth(user, pass) } }
func bearer(tok string) mod {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func header(k, v string) mod { return func(r *http.Request) { r.Header.Set(k, v) } }

func send(t *testing.T, c *http.Client, method, rawURL, body string, mods ...mod) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	} else if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, m := range mods {
		m(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{status: -1}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, req.URL.Path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func wantStatus(t *testing.T, what string, a answer, want int) {
	t.Helper()
	if a.status != want {
		t.Fatalf("%s: status %d, want %d; body %.300s", what, a.status, want, a.body)
	}
}

// tokens reads a token answer.
func tokens(t *testing.T, a answer) (access, refresh string) {
	t.Helper()
	var v struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(a.body), &v); err != nil || v.AccessToken == "" {
		t.Fatalf("not a token answer: %d %.300s", a.status, a.body)
	}
	return v.AccessToken, v.RefreshToken
}

func passwordForm(c canaries) string {
	return url.Values{"grant_type": {"password"}, "client_id": {c.clientID}, "client_secret": {c.clientSecret},
		"username": {c.user}, "password": {c.password}}.Encode()
}

func refreshForm(c canaries, rt string) string {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {c.clientID}, "client_secret": {c.clientSecret},
		"refresh_token": {rt}}.Encode()
}

var (
	formRE  = regexp.MustCompile(`(?s)<form id="([a-z_]+)"[^>]*method="post" action="([^"]*)">(.*?)</form>`)
	inputRE = regexp.MustCompile(`<input [^>]*?name="([^"]*)"[^>]*?(?:value="([^"]*)")?>`)
)

// loginForm returns the login page's form as a browser would submit it.
func loginForm(t *testing.T, page string) url.Values {
	t.Helper()
	for _, m := range formRE.FindAllStringSubmatch(page, -1) {
		if m[1] != "login_form" {
			continue
		}
		v := url.Values{}
		for _, in := range inputRE.FindAllStringSubmatch(m[3], -1) {
			v.Add(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
		}
		return v
	}
	t.Fatalf("no login form in page:\n%.500s", page)
	return nil
}

// script sends an integration's worth of traffic to base: every grant,
// refusals, Table API CRUD and errors, pagination, secrets in URLs. It
// returns the secrets it got (tokens, the code).
func script(t *testing.T, c *http.Client, base string, cn canaries) []string {
	t.Helper()
	tok := base + "/oauth_token.do"
	var got []string

	a := send(t, c, "POST", tok, passwordForm(cn))
	wantStatus(t, "password grant", a, 200)
	access1, refresh1 := tokens(t, a)
	got = append(got, access1, refresh1)

	basicClient := basic(url.QueryEscape(cn.clientID), url.QueryEscape(cn.clientSecret))
	a = send(t, c, "POST", tok, url.Values{"grant_type": {"password"}, "username": {cn.user}, "password": {cn.password}}.Encode(), basicClient)
	wantStatus(t, "password grant, Basic client", a, 200)

	a = send(t, c, "POST", tok, url.Values{"grant_type": {"password"}, "client_id": {cn.clientID}, "client_secret": {cn.clientSecret},
		"username": {cn.user}, "password": {"wrong-" + cn.password}}.Encode())
	wantStatus(t, "wrong password", a, 401)

	a = send(t, c, "POST", tok, "grant_type=client_credentials", basicClient)
	wantStatus(t, "client credentials", a, 200)
	ccAccess, _ := tokens(t, a)
	got = append(got, ccAccess)

	a = send(t, c, "POST", tok, refreshForm(cn, refresh1))
	wantStatus(t, "refresh", a, 200)
	access2, _ := tokens(t, a)
	got = append(got, access2)

	a = send(t, c, "POST", tok, refreshForm(cn, "not-a-refresh-token"))
	wantStatus(t, "unknown refresh token", a, 401)
	a = send(t, c, "POST", tok, "grant_type=bogus&client_id="+cn.clientID)
	wantStatus(t, "unsupported grant", a, 401)
	// Secrets in the URL: the instance reads only the body, so this one
	// is refused, and journaled with the names of what leaked.
	a = send(t, c, "POST", tok+"?client_secret="+url.QueryEscape(cn.clientSecret)+"&password="+url.QueryEscape(cn.password),
		"grant_type=password&client_id="+cn.clientID+"&username="+cn.user)
	wantStatus(t, "secrets in the URL", a, 401)

	// Authorization code, with the user's browser (auto-approved).
	browser := newClient()
	authURL := base + "/oauth_auth.do?" + url.Values{"response_type": {"code"}, "client_id": {cn.clientID},
		"redirect_uri": {"http://localhost:8765/callback"}, "state": {"st-1"}}.Encode()
	a = send(t, browser, "GET", authURL, "")
	wantStatus(t, "authorize", a, 200)
	login := loginForm(t, a.body)
	login.Set("user_name", cn.user)
	login.Set("user_password", cn.password)
	a = send(t, browser, "POST", base+"/oauth_auth.do", login.Encode())
	wantStatus(t, "login", a, 302)
	loc, err := url.Parse(a.header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("login redirect %q has no code", a.header.Get("Location"))
	}
	code := loc.Query().Get("code")
	got = append(got, code)
	a = send(t, c, "POST", tok, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"http://localhost:8765/callback"}, "client_id": {cn.clientID}, "client_secret": {cn.clientSecret}}.Encode())
	wantStatus(t, "authorization code", a, 200)
	access3, refresh3 := tokens(t, a)
	got = append(got, access3, refresh3)

	// Table API.
	tbl := base + "/api/now/table/incident"
	a = send(t, c, "GET", tbl+"?sysparm_limit=2&sysparm_fields=number", "", bearer(access2))
	wantStatus(t, "list", a, 200)
	if next := nextLink(a.header.Get("Link")); next != "" {
		a = send(t, c, "GET", next, "", bearer(access2))
		wantStatus(t, "next page", a, 200)
	}
	a = send(t, c, "POST", tbl, `{"short_description":"proxy test"}`, bearer(access2))
	wantStatus(t, "create", a, 201)
	var created struct {
		Result struct {
			SysID string `json:"sys_id"`
		} `json:"result"`
	}
	_ = json.Unmarshal([]byte(a.body), &created)
	rec := tbl + "/" + created.Result.SysID
	wantStatus(t, "read", send(t, c, "GET", rec, "", bearer(access3)), 200)
	wantStatus(t, "update", send(t, c, "PATCH", rec, `{"short_description":"proxy test 2"}`, bearer(access3)), 200)
	wantStatus(t, "delete by override", send(t, c, "POST", rec, "", bearer(access3), header("X-HTTP-Method-Override", "DELETE")), 204)
	wantStatus(t, "read deleted", send(t, c, "GET", rec, "", bearer(access3)), 404)
	wantStatus(t, "invalid table", send(t, c, "GET", base+"/api/now/table/no_such_table", "", bearer(access3)), 400)
	wantStatus(t, "no auth", send(t, newClient(), "GET", tbl+"?sysparm_limit=1", ""), 401)
	wantStatus(t, "basic", send(t, c, "GET", tbl+"?sysparm_limit=1", "", basic("admin", "admin")), 200)
	wantStatus(t, "session", send(t, c, "GET", tbl+"?sysparm_limit=1", ""), 200)
	wantStatus(t, "token in the URL", send(t, c, "GET", tbl+"?sysparm_limit=1&access_token="+ccAccess, ""), 200)
	wantStatus(t, "client credentials token", send(t, c, "GET", base+"/api/now/v2/table/sys_user?sysparm_limit=1", "", bearer(ccAccess)), 200)
	wantStatus(t, "dot path", send(t, c, "GET", base+"/api/now/table/./incident?sysparm_limit=1", "", bearer(access3)), 200)
	wantStatus(t, "unknown route", send(t, c, "GET", tbl+"/", "", bearer(access3)), 400)
	wantStatus(t, "garbage bearer", send(t, c, "GET", tbl, "", bearer("garbage-"+access1[:10])), 401)

	// Revocation, by URL (as documented) and by form body.
	wantStatus(t, "revoke", send(t, c, "GET", base+"/oauth_revoke_token.do?token="+url.QueryEscape(access1), ""), 200)
	wantStatus(t, "revoke unknown", send(t, c, "POST", base+"/oauth_revoke_token.do", "token=unknown-token"), 200)
	wantStatus(t, "revoked token", send(t, c, "GET", tbl+"?sysparm_limit=1", "", bearer(access1)), 401)
	return got
}

// nextLink is the rel="next" URL of a Link header.
func nextLink(link string) string {
	for _, part := range strings.Split(link, ",") {
		if strings.Contains(part, `rel="next"`) {
			if i, j := strings.Index(part, "<"), strings.Index(part, ">"); i >= 0 && j > i {
				return part[i+1 : j]
			}
		}
	}
	return ""
}

// normalize drops what legitimately differs between the proxy's and the
// fake's journal of the same traffic (see the package doc), and the
// proxy's own requests from the fake's.
func normalize(es []fakesn.JournalEntry) []fakesn.JournalEntry {
	var out []fakesn.JournalEntry
	for _, e := range es {
		if e.UserAgent == UserAgent {
			continue
		}
		e.Seq, e.Time, e.WallTime, e.Duration, e.ErrCode = 0, time.Time{}, time.Time{}, 0, ""
		if e.API != "table" && e.Fault == "" {
			e.ErrMessage = ""
		}
		out = append(out, e)
	}
	return out
}

// sameJournal compares the proxy's journal with the fake's: equal, except
// that a User the proxy could not see may be missing (never wrong).
func sameJournal(t *testing.T, proxyJ, fakeJ []fakesn.JournalEntry) {
	t.Helper()
	got, want := normalize(proxyJ), normalize(fakeJ)
	if len(got) == len(want) {
		for i := range got {
			if got[i].User == "" {
				want[i].User = ""
			}
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("proxy journal differs from the fake's (-fake +proxy):\n%s", d)
	}
}

func TestJournalMatchesFake(t *testing.T) {
	t.Parallel()
	cn := newCanaries()
	r := newRig(t, cn.options(), Options{})
	script(t, r.c, r.proxy.URL(), cn)
	ctx := context.Background()
	pj, _ := r.proxy.Journal(ctx, fakesn.JournalFilter{})
	fj, _ := r.fake.Journal(ctx, fakesn.JournalFilter{})
	if len(pj) < 30 {
		t.Fatalf("the proxy journaled %d requests, want the script's 30+", len(pj))
	}
	sameJournal(t, pj, fj)

	// Spot checks of what the journal is for.
	byPath := func(api string, f func(e fakesn.JournalEntry) bool) []fakesn.JournalEntry {
		var out []fakesn.JournalEntry
		for _, e := range pj {
			if e.API == api && f(e) {
				out = append(out, e)
			}
		}
		return out
	}
	if es := byPath("table", func(e fakesn.JournalEntry) bool { return e.AuthKind == "bearer_query" }); len(es) != 1 ||
		!cmp.Equal(es[0].SecretsInURL, []string{"access_token"}) || !strings.Contains(es[0].Query, "access_token=REDACTED") {
		t.Errorf("bearer_query entries = %+v, want one with access_token named and redacted", es)
	}
	if es := byPath("oauth_token", func(e fakesn.JournalEntry) bool { return len(e.SecretsInURL) > 0 }); len(es) != 1 ||
		!cmp.Equal(es[0].SecretsInURL, []string{"client_secret", "password"}) {
		t.Errorf("token requests with secrets in the URL = %+v, want one naming client_secret and password", es)
	}
	if es := byPath("table", func(e fakesn.JournalEntry) bool { return e.AuthKind == "session" && e.Status == 200 }); len(es) != 1 {
		t.Errorf("session-authenticated requests = %d, want 1 (cookies must survive the proxy)", len(es))
	}
	if es := byPath("table", func(e fakesn.JournalEntry) bool {
		return e.Method == "GET" && strings.Contains(e.Query, "sysparm_offset=2")
	}); len(es) != 1 {
		t.Errorf("next-page requests through the proxy = %d, want 1 (Link must point at the proxy)", len(es))
	}
}

func TestRewritesInstanceURLs(t *testing.T) {
	t.Parallel()
	r := newRig(t, fakesn.Options{Clock: fakesn.NewFakeClock(testStart)}, Options{})
	base := r.proxy.URL()
	a := send(t, r.c, "GET", base+"/api/now/table/incident?sysparm_limit=1", "", basic("admin", "admin"))
	wantStatus(t, "list", a, 200)
	link := a.header.Get("Link")
	if link == "" || strings.Contains(link, r.ts.URL) || !strings.Contains(link, "<"+base+"/api/now/table/incident?") {
		t.Errorf("Link = %q, want every URL at the proxy %s", link, base)
	}
	a = send(t, r.c, "POST", base+"/api/now/table/incident", `{"short_description":"x"}`, basic("admin", "admin"))
	wantStatus(t, "create", a, 201)
	if loc := a.header.Get("Location"); !strings.HasPrefix(loc, base+"/api/now/table/incident/") {
		t.Errorf("Location = %q, want it at the proxy %s", loc, base)
	}
	for _, c := range a.header.Values("Set-Cookie") {
		if l := strings.ToLower(c); strings.Contains(l, "secure") || strings.Contains(l, "samesite=none") {
			t.Errorf("Set-Cookie %q keeps an attribute a plain-HTTP origin cannot honour", c)
		}
	}
	if len(a.header.Values("Set-Cookie")) == 0 {
		t.Error("no Set-Cookie: the instance's session cookies must reach the integration")
	}
}

func TestRewriteHelpers(t *testing.T) {
	t.Parallel()
	const from, to = "https://dev1.service-now.com", "http://127.0.0.1:5"
	for _, tc := range []struct{ name, in, want string }{
		{"location", from + "/api/now/table/incident/abc", to + "/api/now/table/incident/abc"},
		{"bare", from, to},
		{"case", "HTTPS://DEV1.service-now.com/x", to + "/x"},
		{"links", "<" + from + "/a?x=1>;rel=\"first\",<" + from + "/a?x=2>;rel=\"next\"", "<" + to + "/a?x=1>;rel=\"first\",<" + to + "/a?x=2>;rel=\"next\""},
		{"longer host kept", "https://dev1.service-now.com.evil/x", "https://dev1.service-now.com.evil/x"},
		{"other host kept", "https://dev2.service-now.com/x", "https://dev2.service-now.com/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := rebase(tc.in, from, to); got != tc.want {
				t.Errorf("rebase(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, in, want string }{
		{"instance", "JSESSIONID=AB; Path=/; HttpOnly;Secure;SameSite=None", "JSESSIONID=AB; Path=/; HttpOnly"},
		{"domain", "a=b; Domain=dev1.service-now.com; Path=/", "a=b; Path=/"},
		{"plain", "a=b; Max-Age=0; Path=/", "a=b; Max-Age=0; Path=/"},
		{"value with secure", "secure=secure; Path=/", "secure=secure; Path=/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := plainCookie(tc.in); got != tc.want {
				t.Errorf("plainCookie(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name, path string
		want       tableRoute
	}{
		{"collection", "/api/now/table/incident", tableRoute{table: "incident", ok: true}},
		{"record v2", "/api/now/v2/table/incident/abc", tableRoute{table: "incident", sysID: "abc", ok: true}},
		{"dot", "/api/now/table/./incident", tableRoute{table: "incident", ok: true}},
		{"escaped slash", "/api/now/table/a%2Fb", tableRoute{table: "a/b", ok: true}},
		{"trailing slash", "/api/now/table/incident/", tableRoute{}},
		{"too deep", "/api/now/table/a/b/c", tableRoute{}},
		{"empty", "/api/now/table/", tableRoute{}},
		{"other api", "/api/now/stats/incident", tableRoute{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, err := url.Parse("http://x" + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := parseTableRoute(u); got != tc.want {
				t.Errorf("parseTableRoute(%q) = %+v, want %+v", tc.path, got, tc.want)
			}
		})
	}
}

// anonymize replaces token fingerprints by their order of appearance, so
// that journals of two fakes (different random tokens) compare.
func anonymize(es []fakesn.JournalEntry) []fakesn.JournalEntry {
	names := map[string]string{}
	name := func(fp string) string {
		if fp == "" {
			return ""
		}
		if n, ok := names[fp]; ok {
			return n
		}
		names[fp] = "tok" + string(rune('A'+len(names)))
		return names[fp]
	}
	out := normalize(es)
	for i := range out {
		out[i].Token, out[i].IssuedAccess, out[i].IssuedRefresh = name(out[i].Token), name(out[i].IssuedAccess), name(out[i].IssuedRefresh)
		out[i].SysID = name(out[i].SysID) // created records' sys_ids are random too
	}
	return out
}

// step is one request of a fault scenario; prev holds the answers so far.
type step struct {
	name string
	req  func(base string, prev []answer) (method, path, body string, mods []mod)
	// compareBody: the answer's body is the same on the fake and the proxy.
	compareBody bool
}

func tableGet(path string, compare bool) step {
	return step{name: "GET " + path, compareBody: compare, req: func(string, []answer) (string, string, string, []mod) {
		return "GET", path, "", []mod{basic("admin", "admin")}
	}}
}

func TestFaultsLikeFake(t *testing.T) {
	t.Parallel()
	cn := newCanaries()
	grant := step{name: "password grant", req: func(string, []answer) (string, string, string, []mod) {
		return "POST", "/oauth_token.do", passwordForm(cn), nil
	}}
	refresh := step{name: "refresh", req: func(_ string, prev []answer) (string, string, string, []mod) {
		var v struct {
			RefreshToken string `json:"refresh_token"`
		}
		_ = json.Unmarshal([]byte(prev[0].body), &v)
		return "POST", "/oauth_token.do", refreshForm(cn, v.RefreshToken), nil
	}}
	withBearer := step{name: "bearer GET", req: func(_ string, prev []answer) (string, string, string, []mod) {
		var v struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.Unmarshal([]byte(prev[0].body), &v)
		return "GET", "/api/now/table/incident?sysparm_limit=1&sysparm_fields=number", "", []mod{bearer(v.AccessToken)}
	}}
	create := step{name: "create", compareBody: true, req: func(string, []answer) (string, string, string, []mod) {
		return "POST", "/api/now/table/incident", `{"short_description":"fault marker"}`, []mod{basic("admin", "admin")}
	}}
	count := tableGet("/api/now/table/incident?sysparm_query=short_description%3Dfault%20marker&sysparm_fields=short_description", true)
	list := tableGet("/api/now/table/incident?sysparm_limit=1&sysparm_fields=number", true)

	for _, tc := range []struct {
		name  string
		fault fakesn.Fault
		steps []step
	}{
		{"429 twice with Retry-After", fakesn.Fault{API: "table", Status: 429, RetryAfter: 2, Times: 2}, []step{list, list, list}},
		{"503 on records", fakesn.Fault{Path: "/api/now/table/incident/*", Status: 503},
			[]step{tableGet("/api/now/table/incident/0123456789abcdef0123456789abcdef", true), list}},
		{"500 on the refresh grant", fakesn.Fault{API: "oauth_token", GrantType: "refresh_token", Status: 500},
			[]step{grant, refresh, refresh}},
		{"status_after on create", fakesn.Fault{Method: "POST", API: "table", Action: fakesn.FaultStatusAfter, Status: 502},
			[]step{create, count}},
		{"hibernate after one", fakesn.Fault{Action: fakesn.FaultHibernate, After: 1, Times: -1}, []step{list, list, list}},
		{"drop", fakesn.Fault{API: "table", Action: fakesn.FaultDrop}, []step{list, list}},
		{"custom body", fakesn.Fault{API: "table", Status: 400, Body: `{"error":{"message":"custom","detail":null},"status":"failure"}`,
			Headers: map[string]string{"X-Custom": "1"}}, []step{list}},
		{"revoke the presented token", fakesn.Fault{API: "table", Action: fakesn.FaultRevoke}, []step{grant, withBearer, withBearer}},
		{"method and table", fakesn.Fault{Method: "GET", Table: "sys_user", Status: 500, Times: -1},
			[]step{list, tableGet("/api/now/table/sys_user?sysparm_limit=1", true)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			run := func(ctl fakesn.Controller, base string) ([]answer, []fakesn.JournalEntry, []fakesn.Fault) {
				if _, err := ctl.AddFault(ctx, tc.fault); err != nil {
					t.Fatal(err)
				}
				c := newClient()
				var answers []answer
				for _, s := range tc.steps {
					method, path, body, mods := s.req(base, answers)
					answers = append(answers, send(t, c, method, base+path, body, mods...))
				}
				j, _ := ctl.Journal(ctx, fakesn.JournalFilter{})
				fs, _ := ctl.Faults(ctx)
				return answers, j, fs
			}
			fake, err := fakesn.NewServer(cn.options())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(fake.Close)
			wantA, wantJ, wantF := run(fake, fake.URL())
			r := newRig(t, cn.options(), Options{})
			gotA, gotJ, gotF := run(r.proxy, r.proxy.URL())

			for i, s := range tc.steps {
				w, g := wantA[i], gotA[i]
				if w.status != g.status {
					t.Errorf("%s: status %d through the proxy, %d on the fake", s.name, g.status, w.status)
					continue
				}
				for _, h := range []string{"Retry-After", "Content-Type", "X-Custom"} {
					if w.header.Get(h) != g.header.Get(h) {
						t.Errorf("%s: %s %q through the proxy, %q on the fake", s.name, h, g.header.Get(h), w.header.Get(h))
					}
				}
				if (s.compareBody || wantJ[i].Fault != "") && w.body != g.body {
					t.Errorf("%s: body through the proxy\n%s\non the fake\n%s", s.name, g.body, w.body)
				}
			}
			if d := cmp.Diff(anonymize(wantJ), anonymize(gotJ)); d != "" {
				t.Errorf("journal (-fake +proxy):\n%s", d)
			}
			if d := cmp.Diff(wantF, gotF); d != "" {
				t.Errorf("fault counters (-fake +proxy):\n%s", d)
			}
		})
	}
}

func TestHibernating(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRig(t, fakesn.Options{Clock: fakesn.NewFakeClock(testStart)}, Options{})
	fake, err := fakesn.NewServer(fakesn.Options{Clock: fakesn.NewFakeClock(testStart)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	for _, ctl := range []fakesn.Controller{r.proxy, fake} {
		if err := ctl.SetHibernating(ctx, true); err != nil {
			t.Fatal(err)
		}
	}
	want := send(t, newClient(), "GET", fake.URL()+"/api/now/table/incident", "", basic("admin", "admin"))
	got := send(t, newClient(), "GET", r.proxy.URL()+"/api/now/table/incident", "", basic("admin", "admin"))
	if got.status != want.status || got.body != want.body || got.header.Get("Content-Type") != want.header.Get("Content-Type") {
		t.Errorf("hibernating: proxy answered %d %q %.80s, fake %d %q %.80s", got.status, got.header.Get("Content-Type"), got.body,
			want.status, want.header.Get("Content-Type"), want.body)
	}
	if fj, _ := r.fake.Journal(ctx, fakesn.JournalFilter{}); len(fj) != 0 {
		t.Errorf("a hibernating proxy forwarded %d requests", len(fj))
	}
	_ = r.proxy.SetHibernating(ctx, false)
	wantStatus(t, "awake", send(t, newClient(), "GET", r.proxy.URL()+"/api/now/table/incident?sysparm_limit=1", "", basic("admin", "admin")), 200)
	pj, _ := r.proxy.Journal(ctx, fakesn.JournalFilter{})
	fj, _ := fake.Journal(ctx, fakesn.JournalFilter{})
	sameJournal(t, pj[:1], fj)
}

func TestRevokeCurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cn := newCanaries()
	r := newRig(t, cn.options(), Options{})
	base := r.proxy.URL()
	tbl := base + "/api/now/table/incident?sysparm_limit=1"

	if _, err := r.proxy.RevokeCurrent(ctx, "access"); err == nil {
		t.Error("RevokeCurrent before any token: no error")
	}
	if _, err := r.proxy.RevokeCurrent(ctx, "both"); err == nil {
		t.Error("RevokeCurrent of kind both: no error")
	}

	access, refresh := tokens(t, send(t, r.c, "POST", base+"/oauth_token.do", passwordForm(cn)))
	wantStatus(t, "fresh token", send(t, r.c, "GET", tbl, "", bearer(access)), 200)
	fp, err := r.proxy.RevokeCurrent(ctx, "access")
	if err != nil {
		t.Fatal(err)
	}
	if fp != fakesn.Fingerprint(access) {
		t.Errorf("RevokeCurrent(access) revoked %s, want the current access token %s", fp, fakesn.Fingerprint(access))
	}
	wantStatus(t, "revoked access token", send(t, r.c, "GET", tbl, "", bearer(access)), 401)

	a := send(t, r.c, "POST", base+"/oauth_token.do", refreshForm(cn, refresh))
	wantStatus(t, "refresh after access revoked", a, 200)
	access2, _ := tokens(t, a)
	wantStatus(t, "refreshed token", send(t, r.c, "GET", tbl, "", bearer(access2)), 200)

	fp, err = r.proxy.RevokeCurrent(ctx, "refresh")
	if err != nil {
		t.Fatal(err)
	}
	if fp != fakesn.Fingerprint(refresh) {
		t.Errorf("RevokeCurrent(refresh) revoked %s, want %s", fp, fakesn.Fingerprint(refresh))
	}
	wantStatus(t, "refresh with a revoked refresh token", send(t, r.c, "POST", base+"/oauth_token.do", refreshForm(cn, refresh)), 401)
	wantStatus(t, "access token of a revoked refresh token", send(t, r.c, "GET", tbl, "", bearer(access2)), 401)

	// The revocations reached the instance as the proxy's own requests,
	// with the token in the body, and are not in the proxy's journal.
	revokes, _ := r.fake.Journal(ctx, fakesn.JournalFilter{API: "oauth_revoke"})
	if len(revokes) != 2 {
		t.Fatalf("the instance saw %d revocations, want 2", len(revokes))
	}
	for _, e := range revokes {
		if e.UserAgent != UserAgent || e.Method != "POST" || len(e.SecretsInURL) != 0 || e.Query != "" {
			t.Errorf("revocation %+v: want a POST by %s with nothing in the URL", e, UserAgent)
		}
	}
	if pj, _ := r.proxy.Journal(ctx, fakesn.JournalFilter{API: "oauth_revoke"}); len(pj) != 0 {
		t.Errorf("the proxy journaled its own revocations: %+v", pj)
	}
}

func TestExpireTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cn := newCanaries()
	r := newRig(t, cn.options(), Options{})
	base := r.proxy.URL()
	tbl := base + "/api/now/table/incident?sysparm_limit=1"
	if _, err := r.proxy.ExpireTokens(ctx, fakesn.ExpireRequest{Kind: "bogus"}); err == nil {
		t.Error("ExpireTokens of kind bogus: no error")
	}
	access, refresh := tokens(t, send(t, r.c, "POST", base+"/oauth_token.do", passwordForm(cn)))
	cc, _ := tokens(t, send(t, r.c, "POST", base+"/oauth_token.do", "grant_type=client_credentials",
		basic(cn.clientID, cn.clientSecret)))

	n, err := r.proxy.ExpireTokens(ctx, fakesn.ExpireRequest{Kind: "access", UserName: "nobody"})
	if err != nil || n != 0 {
		t.Errorf("ExpireTokens for another user = %d, %v; want 0", n, err)
	}
	n, err = r.proxy.ExpireTokens(ctx, fakesn.ExpireRequest{Kind: "access", UserName: cn.user})
	if err != nil || n != 1 {
		t.Errorf("ExpireTokens(access of %s) = %d, %v; want 1 (the client-credentials token's user is not seen)", cn.user, n, err)
	}
	wantStatus(t, "expired access", send(t, r.c, "GET", tbl, "", bearer(access)), 401)
	wantStatus(t, "other token", send(t, r.c, "GET", tbl, "", bearer(cc)), 200)
	wantStatus(t, "refresh still works", send(t, r.c, "POST", base+"/oauth_token.do", refreshForm(cn, refresh)), 200)

	n, err = r.proxy.ExpireTokens(ctx, fakesn.ExpireRequest{})
	if err != nil || n < 2 {
		t.Errorf("ExpireTokens(all) = %d, %v; want the refresh token and live access tokens", n, err)
	}
	wantStatus(t, "all expired: cc", send(t, r.c, "GET", tbl, "", bearer(cc)), 401)
	wantStatus(t, "all expired: refresh", send(t, r.c, "POST", base+"/oauth_token.do", refreshForm(cn, refresh)), 401)
}

func TestNoSecretLeaks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cn := newCanaries()
	r := newRig(t, cn.options(), Options{})
	got := script(t, r.c, r.proxy.URL(), cn)
	secrets := append(got, cn.clientSecret, cn.password)
	// Faults, so that their paths are covered too.
	for _, f := range []fakesn.Fault{
		{API: "oauth_token", GrantType: "refresh_token", Status: 503},
		{API: "table", Method: "POST", Action: fakesn.FaultStatusAfter, Status: 500},
		{API: "table", Action: fakesn.FaultRevoke},
	} {
		if _, err := r.proxy.AddFault(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	access3, refresh3 := got[5], got[6]
	wantStatus(t, "refresh fault", send(t, r.c, "POST", r.proxy.URL()+"/oauth_token.do", refreshForm(cn, refresh3)), 503)
	wantStatus(t, "status_after fault", send(t, r.c, "POST", r.proxy.URL()+"/api/now/table/incident", `{"short_description":"x"}`, bearer(access3)), 500)
	wantStatus(t, "revoke fault", send(t, r.c, "GET", r.proxy.URL()+"/api/now/table/incident?sysparm_limit=1", "", bearer(access3)), 401)
	var errs []string
	if _, err := r.proxy.RevokeCurrent(ctx, "refresh"); err != nil {
		errs = append(errs, err.Error())
	}
	if _, err := r.proxy.ExpireTokens(ctx, fakesn.ExpireRequest{}); err != nil {
		errs = append(errs, err.Error())
	}
	// The instance gone: errors must not echo the URLs or bodies that
	// carried secrets.
	r.ts.Close()
	dead := send(t, r.c, "GET", r.proxy.URL()+"/api/now/table/incident?access_token="+url.QueryEscape(secrets[0]), "")
	wantStatus(t, "instance gone", dead, 502)
	dead2 := send(t, r.c, "POST", r.proxy.URL()+"/oauth_token.do", passwordForm(cn))
	wantStatus(t, "instance gone, token request", dead2, 502)
	// Tokens seen before the instance went away are still revocable, and
	// the failures say so without the token.
	_, err := r.proxy.RevokeCurrent(ctx, "access")
	if err == nil {
		t.Error("RevokeCurrent with the instance gone: no error")
	} else {
		errs = append(errs, err.Error())
	}
	if _, err := r.proxy.ExpireTokens(ctx, fakesn.ExpireRequest{Token: secrets[1]}); err == nil {
		t.Error("ExpireTokens with the instance gone: no error")
	} else {
		errs = append(errs, err.Error())
	}

	journal, _ := r.proxy.Journal(ctx, fakesn.JournalFilter{})
	jb, _ := json.Marshal(journal)
	faults, _ := r.proxy.Faults(ctx)
	fb, _ := json.Marshal(faults)
	places := map[string]string{
		"journal": string(jb), "log": r.logs.String(), "faults": string(fb), "errors": strings.Join(errs, "\n"),
		"502 answer": dead.body + dead2.body,
	}
	if !strings.Contains(r.logs.String(), `"msg":"request"`) {
		t.Fatal("no debug log was written: the test would prove nothing")
	}
	for _, s := range secrets {
		forms := []string{s, url.QueryEscape(s), base64.StdEncoding.EncodeToString([]byte(s)),
			base64.StdEncoding.EncodeToString([]byte(cn.clientID + ":" + s))}
		for place, text := range places {
			for _, f := range forms {
				if strings.Contains(text, f) {
					t.Errorf("the %s holds a secret (%s)", place, fakesn.Fingerprint(s))
					break
				}
			}
		}
	}
}

func TestUntrustedCertificateRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, err := fakesn.New(fakesn.Options{Clock: fakesn.NewFakeClock(testStart)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	ts := httptest.NewTLSServer(fake)
	t.Cleanup(ts.Close)

	for _, tc := range []struct {
		name string
		cas  *x509.CertPool
	}{
		{"system roots", nil},
		{"another CA", otherCA(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startProxy(t, ts.URL, Options{RootCAs: tc.cas})
			if p.transport.TLSClientConfig.InsecureSkipVerify {
				t.Fatal("the transport skips verification")
			}
			a := send(t, newClient(), "GET", p.URL()+"/api/now/table/incident", "", basic("admin", "admin"))
			wantStatus(t, "untrusted instance", a, 502)
			if !strings.Contains(a.body, "certificate") {
				t.Errorf("502 body %q does not say the certificate was refused", a.body)
			}
			j, _ := p.Journal(ctx, fakesn.JournalFilter{})
			if len(j) != 1 || j[0].Status != 502 || !strings.Contains(j[0].ErrMessage, "certificate") {
				t.Errorf("journal %+v, want one 502 naming the certificate", j)
			}
		})
	}
	if fj, _ := fake.Journal(ctx, fakesn.JournalFilter{}); len(fj) != 0 {
		t.Errorf("the instance behind an untrusted certificate got %d requests", len(fj))
	}
}

// otherCA is a pool with a fresh self-signed CA that signed nothing the
// test servers present (httptest's servers all share one certificate).
func otherCA(t *testing.T) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sncheck other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

func TestNewChecksUpstream(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, url string
		ok        bool
	}{
		{"https", "https://dev123.service-now.com", true},
		{"https with path", "https://example.com/sn/", true},
		{"loopback http", "http://127.0.0.1:8080", true},
		{"localhost http", "http://localhost:8080", true},
		{"ipv6 loopback http", "http://[::1]:8080", true},
		{"plain http", "http://dev123.service-now.com", false},
		{"plain http private address", "http://10.0.0.5", false},
		{"other scheme", "ftp://dev123.service-now.com", false},
		{"credentials", "https://admin:s3cr3t-pw@dev123.service-now.com", false},
		{"query", "https://dev123.service-now.com/?access_token=s3cr3t-tok", false},
		{"no host", "https:///x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			p, err := New(u, Options{})
			if tc.ok != (err == nil) {
				t.Fatalf("New(%s) error = %v, want ok=%v", tc.url, err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the error %q repeats a secret", err)
			}
			if p != nil && strings.HasSuffix(p.Upstream(), "/") {
				t.Errorf("Upstream() = %q, want no trailing slash", p.Upstream())
			}
		})
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil): no error")
	}
}

func TestControllerNeedsFake(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u, _ := url.Parse("https://dev123.service-now.com")
	p, err := New(u, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, e1 := p.AdvanceClock(ctx, time.Minute)
	_, e2 := p.SetClock(ctx, testStart)
	_, e3 := p.Snapshot(ctx)
	_, e4 := p.Unexpected(ctx)
	for i, err := range []error{p.Health(ctx), p.Reset(ctx), e1, e2, e3, e4, p.Restore(ctx, nil), p.ClearUnexpected(ctx)} {
		if !errors.Is(err, ErrNotAvailable) || !strings.HasPrefix(err.Error(), "proxy: ") {
			t.Errorf("call %d: error %v, want a proxy: error wrapping ErrNotAvailable", i, err)
		}
	}
	if _, err := p.AddFault(ctx, fakesn.Fault{Action: "explode"}); err == nil {
		t.Error("AddFault with an unknown action: no error")
	}
	now, err := p.Now(ctx)
	if err != nil || time.Since(now) > time.Minute {
		t.Errorf("Now = %v, %v; want wall time", now, err)
	}
}

func TestRequestBudget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRig(t, fakesn.Options{Clock: fakesn.NewFakeClock(testStart)}, Options{MaxRequests: 2})
	tbl := r.proxy.URL() + "/api/now/table/incident?sysparm_limit=1"
	wantStatus(t, "first", send(t, r.c, "GET", tbl, "", basic("admin", "admin")), 200)
	wantStatus(t, "second", send(t, r.c, "GET", tbl, "", basic("admin", "admin")), 200)
	a := send(t, r.c, "GET", tbl, "", basic("admin", "admin"))
	wantStatus(t, "over budget", a, 502)
	if !strings.Contains(a.body, "budget") {
		t.Errorf("over-budget answer %q does not name the budget", a.body)
	}
	if fj, _ := r.fake.Journal(ctx, fakesn.JournalFilter{}); len(fj) != 2 {
		t.Errorf("the instance got %d requests, want the budget's 2", len(fj))
	}
	if _, err := r.proxy.ExpireTokens(ctx, fakesn.ExpireRequest{Token: "x"}); !errors.Is(err, ErrBudgetExhausted) {
		t.Errorf("a revocation over budget: error %v, want ErrBudgetExhausted", err)
	}
	if got := r.proxy.RequestsSent(); got != 2 {
		t.Errorf("RequestsSent = %d, want 2", got)
	}
}

// TestJournaledBeforeAnswered: a check reads the journal as soon as the
// integration's call returns, so the entry must exist by then, for
// forwarded answers, the proxy's own answers and drops alike.
func TestJournaledBeforeAnswered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRig(t, fakesn.Options{Clock: fakesn.NewFakeClock(testStart)}, Options{})
	base := r.proxy.URL()
	if _, err := r.proxy.AddFault(ctx, fakesn.Fault{Path: "/api/now/table/problem", Status: 429, RetryAfter: 1, Times: -1}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.proxy.AddFault(ctx, fakesn.Fault{Path: "/api/now/table/sys_user", Action: fakesn.FaultDrop, Times: -1}); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		path   string
		status int
	}{
		{"/api/now/table/incident?sysparm_limit=50", 200},
		{"/api/now/table/problem", 429},
		{"/api/now/table/sys_user", 0},
		{"/api/now/table/no_such_table", 400},
	} {
		for n := range 5 {
			a := send(t, r.c, "GET", base+tc.path, "", basic("admin", "admin"))
			last, _ := r.proxy.Journal(ctx, fakesn.JournalFilter{Limit: 1})
			want := int64(i*5 + n + 1)
			if len(last) != 1 || last[0].Seq != want || last[0].Status != tc.status {
				t.Fatalf("GET %s answered %d; the journal's last entry then was %+v, want seq %d with status %d", tc.path, a.status, last, want, tc.status)
			}
		}
	}
}
