package fakesn

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// Security properties of the fake: secrets compared in constant time and
// stored hashed, tokens from crypto/rand, the control API closed to the
// network, secrets never written anywhere, and every resource bounded.
// (harness.NewLiveTarget's TLS rules are tested in harness; `sncheck serve`
// refusing a non-loopback address without an admin token in internal/cli.)

func TestVerifySecret(t *testing.T) {
	t.Parallel()
	hashed := hashSecret("s3cret")
	salt, _, _ := strings.Cut(strings.TrimPrefix(hashed, hashedPrefix), "$")
	for _, tc := range []struct {
		name, stored, given string
		want                bool
	}{
		{"hashed, right", hashed, "s3cret", true},
		{"hashed, wrong", hashed, "s3creT", false},
		{"hashed, prefix of it", hashed, "s3cre", false},
		{"hashed, longer", hashed, "s3cret ", false},
		{"hashed, empty given", hashed, "", false},
		{"hashed, the hash itself given", hashed, hashed, false},
		{"hashed, the digest given", hashed, strings.TrimPrefix(hashed, hashedPrefix+salt+"$"), false},
		{"plain, right", "plain-secret", "plain-secret", true},
		{"plain, wrong", "plain-secret", "plain-secreT", false},
		{"empty stored matches nothing", "", "", false},
		{"empty stored, given", "", "x", false},
		{"hash without salt separator", hashedPrefix + "nosalt", "nosalt", false},
		{"hash with another salt", hashWithSalt("00", "s3cret"), "s3cret", true},
		{"hash of another secret", hashWithSalt(salt, "other"), "s3cret", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := verifySecret(tc.stored, tc.given); got != tc.want {
				t.Errorf("verifySecret(%q, %q) = %v, want %v", tc.stored, tc.given, got, tc.want)
			}
		})
	}
	t.Run("hashSecret", func(t *testing.T) {
		t.Parallel()
		again := hashSecret("s3cret")
		if again == hashed {
			t.Errorf("two hashes of one secret are equal (%s): no salt", hashed)
		}
		if got := hashSecret(hashed); got != hashed {
			t.Errorf("hashSecret hashed a stored hash again: %s", got)
		}
		if got := hashSecret(""); got != "" {
			t.Errorf(`hashSecret("") = %q, want ""`, got)
		}
		if strings.Contains(hashed, "s3cret") {
			t.Errorf("the hash %s holds the secret", hashed)
		}
	})
}

func TestTokensFromCryptoRand(t *testing.T) {
	t.Parallel()
	const n = 1000
	seen := map[string]bool{}
	counts := map[rune]int{}
	for range n {
		tok := newOpaqueToken()
		if !tokenShape.MatchString(tok) {
			t.Fatalf("token %q is not 86 base64url characters", tok)
		}
		if seen[tok] {
			t.Fatalf("token %s issued twice", Fingerprint(tok))
		}
		seen[tok] = true
		// The 86th character carries 2 bits only; the others 6 each.
		for _, r := range tok[:85] {
			counts[r]++
		}
	}
	// A weak generator shows here; crypto/rand puts about 1328 of each of
	// the 64 characters into 85,000.
	if len(counts) != 64 {
		t.Errorf("%d distinct characters in %d tokens, want all 64", len(counts), n)
	}
	for r, c := range counts {
		if c < 1000 || c > 1700 {
			t.Errorf("character %q appears %d times in %d, want about 1328", r, c, 85*n)
		}
	}

	// Tokens and codes handed out by the endpoints come from the same
	// generator: every one distinct and of the same shape.
	forEachTransport(t, oaOpts(func(o *Options) { o.NoAccessTokenReuse = true }), func(t *testing.T, s *Server, c *http.Client, base string) {
		got := map[string]bool{}
		for i := range 50 {
			a, rt := wantTokenSuccess(t, oaToken(t, c, base, oaPasswordForm("admin", "admin")), "useraccount", true, 1799)
			code := oaCode(t, c, base, "state", fmt.Sprint("st", i))
			for _, tok := range []string{a, rt, code} {
				if got[tok] {
					t.Fatalf("token %s issued twice", Fingerprint(tok))
				}
				got[tok] = true
			}
		}
	})
}

// controlReq calls the control API as a client at remote would.
func controlReq(s *Server, method, path, remote, token string, body string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, "http://instance.test"+path, rd)
	r.RemoteAddr = remote
	if token != "" {
		r.Header.Set(AdminTokenHeader, token)
	}
	r.SetBasicAuth("admin", "admin") // an integration's credentials never open it
	r.Header.Set("X-Forwarded-For", "127.0.0.1")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func TestControlAPIRefusedBeyondLoopback(t *testing.T) {
	t.Parallel()
	const token = "admin-token-5e7b"
	refusedLoopback := `{"error":{"message":"Control API refused","detail":"the fake listens beyond loopback: set an admin token"},"status":"failure"}`
	refusedToken := `{"error":{"message":"Control API refused","detail":"missing or wrong X-Fakesn-Admin-Token"},"status":"failure"}`
	for _, tc := range []struct {
		name, adminToken, remote, sent, path string
		want                                 string // "" means served
	}{
		{name: "no token set, loopback v4", remote: "127.0.0.1:4000"},
		{name: "no token set, loopback v6", remote: "[::1]:4000"},
		{name: "no token set, loopback v4-in-v6", remote: "[::ffff:127.0.0.1]:4000"},
		{name: "no token set, remote", remote: "203.0.113.7:4000", want: refusedLoopback},
		{name: "no token set, remote v6", remote: "[2001:db8::1]:4000", want: refusedLoopback},
		{name: "no token set, private network", remote: "10.0.0.2:4000", want: refusedLoopback},
		{name: "no token set, unparsable address", remote: "localhost", want: refusedLoopback},
		{name: "no token set, remote sends a token", remote: "203.0.113.7:4000", sent: token, want: refusedLoopback},
		{name: "no token set, remote via dot-dot", remote: "203.0.113.7:4000", path: "/api/now/../../_fakesn/clock/advance", want: refusedLoopback},
		{name: "no token set, remote via encoded underscore", remote: "203.0.113.7:4000", path: "/%5Ffakesn/clock/advance", want: refusedLoopback},
		{name: "no token set, remote via double slash", remote: "203.0.113.7:4000", path: "//_fakesn//clock/advance", want: refusedLoopback},
		{name: "token set, remote, missing", adminToken: token, remote: "203.0.113.7:4000", want: refusedToken},
		{name: "token set, remote, wrong", adminToken: token, remote: "203.0.113.7:4000", sent: token + "x", want: refusedToken},
		{name: "token set, remote, prefix", adminToken: token, remote: "203.0.113.7:4000", sent: token[:5], want: refusedToken},
		{name: "token set, remote, other case", adminToken: token, remote: "203.0.113.7:4000", sent: strings.ToUpper(token), want: refusedToken},
		{name: "token set, loopback, missing", adminToken: token, remote: "127.0.0.1:4000", want: refusedToken},
		{name: "token set, remote, right", adminToken: token, remote: "203.0.113.7:4000", sent: token},
		{name: "token set, loopback, right", adminToken: token, remote: "127.0.0.1:4000", sent: token},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewFakeClock(tableStart)
			s, err := New(Options{Clock: clock, AdminToken: tc.adminToken})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			path := tc.path
			if path == "" {
				path = "/_fakesn/clock/advance"
			}
			w := controlReq(s, "POST", path, tc.remote, tc.sent, `{"seconds":60}`)
			if tc.want == "" {
				if w.Code != http.StatusOK || clock.Now() != tableStart.Add(time.Minute) {
					t.Errorf("refused a permitted control request: %d %s", w.Code, w.Body)
				}
				return
			}
			if w.Code != http.StatusForbidden || w.Body.String() != tc.want {
				t.Errorf("got %d %s, want 403 %s", w.Code, w.Body, tc.want)
			}
			if clock.Now() != tableStart {
				t.Errorf("a refused request moved the clock to %v", clock.Now())
			}
			// Every endpoint is behind the same check, reads included.
			for _, p := range []string{"/_fakesn/journal", "/_fakesn/snapshot", "/_fakesn/health", "/_fakesn/nope"} {
				if w := controlReq(s, "GET", p, tc.remote, tc.sent, ""); w.Code != http.StatusForbidden {
					t.Errorf("GET %s: got %d, want 403", p, w.Code)
				}
			}
		})
	}
}

// TestSecretsNeverWritten runs OAuth grants, Table API calls (Basic,
// Bearer, access_token in the URL, a password written to sys_user), the
// authorize flow with PKCE, revocations and unknown routes, with canary
// secrets, some of them in URLs, and with a debug log and a data
// directory. No canary may appear in the journal, the log, the unexpected
// list, a snapshot, the control API's answers or the data directory.
// (oauth_secrets_test.go covers the OAuth error bodies.)
func TestSecretsNeverWritten(t *testing.T) {
	t.Parallel()
	const (
		user, password = "canary.user", "canary-password-51be0d"
		wrongPassword  = "canary-wrong-password-c4e2"
		client, secret = "canary-client", "canary-client-secret-7f3a9c"
		newPassword    = "canary-new-user-password-88aa"
		verifier       = "canary-pkce-verifier-0123456789-abcdefghijklmnopqrstuvwxyz"
	)
	for _, tc := range transports {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logs := &oaLogBuf{}
			dir := t.TempDir()
			s, c, base := tc.start(t, Options{
				Clock:   NewFakeClock(oaStart),
				Logger:  slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
				DataDir: dir,
				Users:   []User{{UserName: user, Password: password, Roles: []string{"itil"}}},
				Apps:    []App{{ClientID: client, ClientSecret: secret, RedirectURLs: []string{oaRedirect}}},
			})
			canaries := []string{password, wrongPassword, secret, newPassword, verifier}
			var bodies []string // every answer but the grants
			keep := func(r oaResp) oaResp { bodies = append(bodies, r.body); return r }
			form := func(kv ...string) url.Values {
				return oaForm(append([]string{"client_id", client, "client_secret", secret}, kv...)...)
			}
			grant := func(r oaResp) (string, string) {
				a, rt := wantTokenSuccess(t, r, "useraccount", true, 1799) // the one place tokens belong
				canaries = append(canaries, a, rt)
				return a, rt
			}
			table := func(method, path, body string, opts ...reqOpt) wire {
				w := send(t, noJar(c), method, base+path, body, opts...)
				bodies = append(bodies, w.body)
				return w
			}

			// Grants: form and Basic client authentication, a wrong
			// password, secrets in the URL only, a refresh.
			access1, refresh1 := grant(oaToken(t, c, base, form("grant_type", "password", "username", user, "password", password)))
			access2, _ := grant(oaToken(t, c, base, oaForm("grant_type", "password", "username", user, "password", password), oaBasic(client, secret)))
			keep(oaToken(t, c, base, form("grant_type", "password", "username", user, "password", wrongPassword)))
			keep(oaPost(t, c, base, "/oauth_token.do?"+form("grant_type", "password", "username", user, "password", password).Encode(), url.Values{}))
			access3, _ := grant(oaToken(t, c, base, form("grant_type", "refresh_token", "refresh_token", refresh1)))

			// The Table API: Bearer, access_token in the URL, Basic right
			// and wrong, a password written and read back.
			wantStatus(t, table("GET", "/api/now/table/incident?sysparm_limit=1", "", header("Authorization", "Bearer "+access1)), 200)
			wantStatus(t, table("GET", "/api/now/table/incident?sysparm_limit=1&access_token="+access2, "", anonymous()), 200)
			wantStatus(t, table("GET", "/api/now/table/incident?sysparm_limit=1", "", func(r *http.Request) { r.SetBasicAuth(user, password) }), 200)
			wantStatus(t, table("GET", "/api/now/table/incident?sysparm_limit=1", "", func(r *http.Request) { r.SetBasicAuth(user, wrongPassword) }), 401)
			created := table("POST", "/api/now/table/sys_user?sysparm_input_display_value=true", fmt.Sprintf(`{"user_name":"canary.new","user_password":%q}`, newPassword))
			wantStatus(t, created, 201)
			newID, _ := decode[oneResult](t, created.body).Result["sys_id"].(string)
			wantStatus(t, table("PATCH", "/api/now/table/sys_user/"+newID+"?sysparm_input_display_value=true", fmt.Sprintf(`{"user_password":%q}`, newPassword+"2")), 200)
			canaries = append(canaries, newPassword+"2")
			wantStatus(t, table("GET", "/api/now/table/sys_user?sysparm_query=user_name=canary.new", ""), 200)
			wantStatus(t, table("GET", "/api/now/table/incident?sysparm_limit=1", "", func(r *http.Request) { r.SetBasicAuth("canary.new", newPassword+"2") }), 200)

			// The authorize flow with PKCE, a failed login on the way, then
			// the code replayed with the verifier in the URL.
			page := keep(oaGet(t, c, oaAuthURL(base, "client_id", client, "code_challenge", pkceChallenge(verifier), "code_challenge_method", "S256")))
			login := formFields(t, page.body, "login_form")
			login.Set("user_name", user)
			login.Set("user_password", wrongPassword)
			keep(oaPost(t, c, base, "/oauth_auth.do", login))
			login.Set("user_password", password)
			consent := keep(oaPost(t, c, base, "/oauth_auth.do", login))
			code := pressConsent(t, c, base, consent.body, "allow").Query().Get("code")
			canaries = append(canaries, code)
			grant(oaToken(t, c, base, form("grant_type", "authorization_code", "code", code, "redirect_uri", oaRedirect, "code_verifier", verifier)))
			keep(oaPost(t, c, base, "/oauth_token.do?"+url.Values{"code": {code}, "code_verifier": {verifier}}.Encode(), form("grant_type", "authorization_code", "redirect_uri", oaRedirect)))

			// Revocations with the token in the URL and in the body, an
			// injected revocation, unknown routes with secrets in the URL.
			keep(oaGet(t, c, base+"/oauth_revoke_token.do?token="+access1))
			keep(oaPost(t, c, base, "/oauth_revoke_token.do", oaForm("token", access3)))
			if _, err := s.AddFault(context.Background(), Fault{API: "oauth_token", GrantType: "refresh_token", Action: FaultRevoke}); err != nil {
				t.Fatal(err)
			}
			keep(oaToken(t, c, base, form("grant_type", "refresh_token", "refresh_token", refresh1)))
			table("GET", "/api/now/v2/nothing?client_secret="+secret+"&password="+password+"&refresh_token="+refresh1, "")
			table("GET", "/nothing.do?code_verifier="+verifier+"&token="+access2, "", anonymous())
			table("GET", "/api/now/table/incident?sysparm_limit=1&sysparm_bogus=1&access_token="+access2+"&Client_Secret="+secret, "", anonymous())

			// What the fake keeps and shows.
			entries, err := s.Journal(context.Background(), JournalFilter{})
			if err != nil {
				t.Fatal(err)
			}
			journal, _ := json.Marshal(entries)
			unexpected, _ := s.Unexpected(context.Background())
			unexpectedJSON, _ := json.Marshal(unexpected)
			snap, err := s.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			snapJSON, _ := json.Marshal(snap)
			ctl := map[string]string{}
			for _, p := range []string{"/_fakesn/journal", "/_fakesn/unexpected", "/_fakesn/snapshot", "/_fakesn/faults"} {
				w := send(t, c, "GET", base+p, "")
				wantStatus(t, w, 200)
				ctl[p] = w.body
			}
			s.Close() // flushes and closes the data directory
			files := map[string]string{}
			_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					b, _ := os.ReadFile(path)
					files[path] = string(b)
				}
				return nil
			})
			if len(files) == 0 {
				t.Fatal("the data directory is empty")
			}

			places := map[string]string{"journal": string(journal), "log": logs.String(),
				"unexpected list": string(unexpectedJSON), "snapshot": string(snapJSON)}
			for p, body := range ctl {
				places["control API "+p] = body
			}
			for p, b := range files {
				places["data dir "+filepath.Base(p)] = b
			}
			for i, b := range bodies {
				places[fmt.Sprintf("answer %d", i)] = b
			}
			for _, sec := range canaries {
				if sec == "" {
					t.Fatal("an empty canary")
				}
				forms := []string{sec, base64.StdEncoding.EncodeToString([]byte(sec))}
				if q := url.QueryEscape(sec); q != sec {
					forms = append(forms, q)
				}
				for place, text := range places {
					for _, f := range forms {
						if strings.Contains(text, f) {
							t.Errorf("the %s holds a secret (%s)", place, Fingerprint(sec))
							break
						}
					}
				}
			}
			for _, cred := range []string{user + ":" + password, client + ":" + secret} {
				b64 := base64.StdEncoding.EncodeToString([]byte(cred))
				for place, text := range places {
					if strings.Contains(text, b64) {
						t.Errorf("the %s holds Basic credentials", place)
					}
				}
			}

			// The secrets in URLs were seen, and named, not copied.
			named := map[string]bool{}
			for _, e := range entries {
				for _, n := range e.SecretsInURL {
					named[strings.ToLower(n)] = true
				}
			}
			for _, n := range []string{"client_secret", "password", "refresh_token", "access_token", "token", "code", "code_verifier"} {
				if !named[n] {
					t.Errorf("no journal entry names %s in its URL; named: %v", n, named)
				}
			}
		})
	}
}

func TestBoundedJournalSessionsUnexpected(t *testing.T) {
	t.Parallel()
	n := 20000
	if testing.Short() {
		n = 2000
	}
	const journalSize, maxSessions = 50, 100
	s, err := New(Options{Clock: NewFakeClock(tableStart), JournalSize: journalSize, MaxSessions: maxSessions})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:admin"))
	for i := range n {
		// A collection PUT authenticates and starts a session, then is
		// refused (405) without touching the store; every 10th request
		// is an unknown route.
		path := "/api/now/table/incident"
		if i%10 == 0 {
			path = fmt.Sprintf("/api/now/unknown/%d", i)
		}
		r := httptest.NewRequest(http.MethodPut, path, nil)
		r.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if i%10 != 0 && (w.Code != http.StatusMethodNotAllowed || len(w.Result().Cookies()) == 0) {
			t.Fatalf("request %d: %d, cookies %v; want 405 with a new session", i, w.Code, w.Result().Cookies())
		}
	}
	s.sessions.mu.Lock()
	sessions, byStore := len(s.sessions.byID), len(s.sessions.byStore)
	s.sessions.mu.Unlock()
	if sessions > maxSessions || byStore > maxSessions {
		t.Errorf("after %d cookie-less requests: %d sessions (%d by store id), want at most %d", n, sessions, byStore, maxSessions)
	}
	entries, _ := s.Journal(context.Background(), JournalFilter{})
	if len(entries) != journalSize || entries[len(entries)-1].Seq != int64(n) {
		t.Errorf("journal: %d entries, last seq %d; want %d, the newest of %d", len(entries), entries[len(entries)-1].Seq, journalSize, n)
	}
	if u, _ := s.Unexpected(context.Background()); len(u) > 1000 {
		t.Errorf("unexpected list: %d entries, want at most 1000", len(u))
	}
}

// TestBoundedCredentials grants in a loop with NoAccessTokenReuse, the
// clock moving one second per grant: dead credentials are pruned, so the
// store holds the live ones plus at most the pruning bound, and the live
// tokens still work.
func TestBoundedCredentials(t *testing.T) {
	t.Parallel()
	n := 10000
	if testing.Short() {
		n = credPruneAt + 2*credPruneEvery
	}
	clock := NewFakeClock(oaStart)
	s, err := New(Options{Clock: clock, NoAccessTokenReuse: true,
		Apps: []App{{ClientID: "bound-client", ClientSecret: "bound-secret", RefreshTokenLifespan: time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	c := &http.Client{Transport: s.Transport()}
	form := oaForm("grant_type", "password", "client_id", "bound-client", "client_secret", "bound-secret", "username", "admin", "password", "admin")
	var first, lastAccess, lastRefresh string
	maxRows := 0
	for i := range n {
		r := oaToken(t, c, "http://instance.test", form)
		var ans struct{ Access, Refresh string }
		_ = json.Unmarshal([]byte(r.body), &struct {
			A *string `json:"access_token"`
			R *string `json:"refresh_token"`
		}{&ans.Access, &ans.Refresh})
		if r.status != http.StatusOK || !tokenShape.MatchString(ans.Access) || !tokenShape.MatchString(ans.Refresh) {
			t.Fatalf("grant %d: %d %s", i, r.status, r.body)
		}
		a, rt := ans.Access, ans.Refresh
		if i == 0 {
			first = rt
		}
		lastAccess, lastRefresh = a, rt
		clock.Advance(time.Second)
		if i%500 == 0 || i == n-1 {
			maxRows = max(maxRows, credCount(s))
		}
	}
	// Live: an hour of refresh tokens and half an hour of access tokens.
	if limit := credPruneAt + credPruneEvery; maxRows > limit {
		t.Errorf("%d grants left up to %d credentials, want at most %d", n, maxRows, limit)
	}
	t.Logf("%d grants: at most %d credentials stored, %d remembered secrets", n, maxRows, len(s.secrets.m))
	if len(s.secrets.m) > s.secrets.max {
		t.Errorf("%d remembered token secrets, want at most %d", len(s.secrets.m), s.secrets.max)
	}
	w := send(t, c, "GET", "http://instance.test/api/now/table/incident?sysparm_limit=1&sysparm_fields=number", "", header("Authorization", "Bearer "+lastAccess))
	wantStatus(t, w, 200)
	wantTokenSuccess(t, oaToken(t, c, "http://instance.test", oaForm("grant_type", "refresh_token", "client_id", "bound-client",
		"client_secret", "bound-secret", "refresh_token", lastRefresh)), "useraccount", true, 1799)
	wantGenericFailure(t, oaToken(t, c, "http://instance.test", oaForm("grant_type", "refresh_token", "client_id", "bound-client",
		"client_secret", "bound-secret", "refresh_token", first)))
}

func credCount(s *Server) int {
	n := 0
	_ = s.store.View(func(tx *store.Tx) error { n = tx.Count("oauth_credential"); return nil })
	return n
}

// TestBoundedRequestBodies streams endless bodies: every endpoint stops
// reading at its limit and answers.
func TestBoundedRequestBodies(t *testing.T) {
	t.Parallel()
	s, err := New(Options{Clock: NewFakeClock(tableStart), Properties: map[string]string{"glide.rest.max_content_length": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.maxControlBody = 64 << 10
	for _, tc := range []struct {
		name, path, ct string
		status         int
	}{
		{"table api", "/api/now/table/incident", "application/json", 413},
		{"token endpoint", "/oauth_token.do", "application/x-www-form-urlencoded", 401},
		{"revoke endpoint", "/oauth_revoke_token.do", "application/x-www-form-urlencoded", 200},
		{"control api", "/_fakesn/restore", "application/json", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &endless{}
			r := httptest.NewRequest(http.MethodPost, tc.path, body)
			r.ContentLength = -1
			r.RemoteAddr = "127.0.0.1:4000"
			r.Header.Set("Content-Type", tc.ct)
			r.SetBasicAuth("admin", "admin")
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Errorf("got %d %s, want %d", w.Code, w.Body, tc.status)
			}
			if body.n > 2<<20 {
				t.Errorf("read %d bytes of an endless body", body.n)
			}
		})
	}
	// The property is read in MB and clamped to 1..25, as on an instance.
	for prop, want := range map[string]int64{"1": 1 << 20, "0": 1 << 20, "100": 25 << 20, "x": 10 << 20, "3": 3 << 20} {
		s, err := New(Options{Properties: map[string]string{"glide.rest.max_content_length": prop}})
		if err != nil {
			t.Fatal(err)
		}
		_ = s.store.View(func(tx *store.Tx) error {
			if got := maxContentLength(tx); got != want {
				t.Errorf("glide.rest.max_content_length=%s: limit %d, want %d", prop, got, want)
			}
			return nil
		})
	}
}

// endless is a body that never ends, of one letter: as JSON and as a form
// alike, it never completes.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	e.n += len(p)
	return len(p), nil
}
