package report

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/suites"
)

// nasty is text a report must escape in every format.
const nasty = `<script>alert("x")</script> & 'quotes' ]]> `

// sampleRun is an integration run as sncheck verify reports it, with
// timelines drawn from a real fake's journal: a grant, requests, a clock
// jump past the token's lifespan, 401s, a refresh, a 429 fault.
func sampleRun(t testing.TB) *suites.Run {
	t.Helper()
	expiry := fakeTimeline(t, func(c *session) {
		c.grant("password")
		c.get(200)
		c.advance(30 * time.Minute)
		c.get(401)
		c.get(401)
		c.refresh()
		c.get(200)
	})
	rate := fakeTimeline(t, func(c *session) {
		c.grant("password")
		c.fault(fakesn.Fault{Method: "GET", Table: "incident", Status: 429, RetryAfter: 2})
		c.get(429)
		c.advance(2 * time.Second)
		c.get(200)
	})
	grant := fakeTimeline(t, func(c *session) {
		c.grant("client_credentials")
		c.get(200)
	})
	started := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	run := &suites.Run{
		Schema: suites.RunSchema, Tool: "sncheck", Version: "v0.0.0-test", Suite: "integration",
		Target:  suites.TargetInfo{Name: "fake"},
		Started: started, Finished: started.Add(4200 * time.Millisecond), Seed: 4242,
		Results: []suites.Result{
			{
				ID: "REFRESH-ON-EXPIRY", Suite: "integration", Labels: []string{"integration", "refresh"},
				Statement: "after the access token expires, renews it once and the operation succeeds",
				State:     suites.StateFailed, DurationSeconds: 0.12, Timeline: expiry,
				Message: "After the fake's clock moved 1800 s, the integration's Table API requests were answered 401 (2 of them) before it refreshed.",
				Hint:    "on a 401 from the Table API, run the refresh grant once and retry the request once with the new token",
			},
			{
				ID: "SECRETS-NOT-LOGGED", Suite: "integration", Labels: []string{"integration", "secrets"},
				Statement: "never writes the client secret, password or tokens to its output",
				State:     suites.StateFailed, DurationSeconds: 0.05,
				Message:  "The integration's output contains the client secret: " + nasty,
				Hint:     "log requests without their bodies",
				Location: "/src/suites/integration/register.go:32",
			},
			{
				ID: "RATE-RETRY-AFTER", Suite: "integration", Labels: []string{"integration", "ratelimit"},
				Statement: "waits at least Retry-After before retrying a 429",
				State:     suites.StatePassed, DurationSeconds: 2.01, Timeline: rate,
			},
			{
				ID: "AUTH-GRANT", Suite: "integration", Labels: []string{"integration", "auth"},
				Statement: "gets a token with its configured grant",
				State:     suites.StatePassed, DurationSeconds: 0.08, Timeline: grant,
			},
			{
				ID: "AUTH-PKCE-PUBLIC", Suite: "integration", Labels: []string{"integration", "auth"},
				Statement: "uses PKCE when it is a public client",
				State:     suites.StateSkipped, SkipReason: "does not apply to the password grant: PKCE belongs to the authorization-code flow",
			},
			{
				ID: "PAGE-ALL-RECORDS", Suite: "integration", Labels: []string{"integration", "pagination"},
				Statement: "returns every record exactly once across pages",
				State:     suites.StatePassed, DurationSeconds: 0.3,
			},
		},
	}
	run.Finish()
	return run
}

// session drives a fresh fake the way an integration and a check do.
type session struct {
	t          testing.TB
	srv        *fakesn.Server
	ctl        *suites.MarkingController
	access     string
	refreshTok string
}

func fakeTimeline(t testing.TB, script func(*session)) []suites.TimelineEvent {
	t.Helper()
	srv, err := fakesn.NewServer(fakesn.Options{Clock: fakesn.NewFakeClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	s := &session{t: t, srv: srv, ctl: suites.NewMarkingController(srv)}
	script(s)
	entries, err := srv.Journal(context.Background(), fakesn.JournalFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return suites.TimelineFromJournal(entries, s.ctl.Marks()...)
}

func (s *session) token(form url.Values) {
	s.t.Helper()
	form.Set("client_id", "sncheck-client")
	form.Set("client_secret", "sncheck-secret")
	resp, err := s.srv.Client().PostForm(s.srv.URL()+"/oauth_token.do", form)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&tok) != nil {
		s.t.Fatalf("token request %v: status %d", form.Get("grant_type"), resp.StatusCode)
	}
	s.access = tok.Access
	if tok.Refresh != "" {
		s.refreshTok = tok.Refresh
	}
}

func (s *session) grant(grant string) {
	s.t.Helper()
	form := url.Values{"grant_type": {grant}}
	if grant == "password" {
		form.Set("username", "admin")
		form.Set("password", "admin")
	}
	s.token(form)
}

func (s *session) refresh() {
	s.t.Helper()
	s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.refreshTok}})
}

func (s *session) get(want int) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL()+"/api/now/table/incident?sysparm_limit=1", nil)
	req.Header.Set("Authorization", "Bearer "+s.access)
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		s.t.Fatalf("GET incident: status %d, want %d", resp.StatusCode, want)
	}
}

func (s *session) advance(d time.Duration) {
	s.t.Helper()
	if _, err := s.ctl.AdvanceClock(context.Background(), d); err != nil {
		s.t.Fatal(err)
	}
}

func (s *session) fault(f fakesn.Fault) {
	s.t.Helper()
	if _, err := s.ctl.AddFault(context.Background(), f); err != nil {
		s.t.Fatal(err)
	}
}

// moduleRoot finds the directory that holds go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

func eventCount(run *suites.Run) int {
	n := 0
	for _, r := range run.Results {
		n += len(r.Timeline)
	}
	return n
}

func TestSampleRunTimeline(t *testing.T) {
	t.Parallel()
	run := sampleRun(t)
	r, _ := run.Result("REFRESH-ON-EXPIRY")
	var kinds []string
	for _, e := range r.Timeline {
		kinds = append(kinds, e.Kind)
	}
	want := "grant request clock request request refresh request"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("timeline kinds = %q, want %q", got, want)
	}
}
