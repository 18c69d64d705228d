package integration

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sncheck/sncheck/fakesn"
)

func TestLeaks(t *testing.T) {
	t.Parallel()
	access := strings.Repeat("A", 43) + strings.Repeat("b", 42) + "_" // 86 base64url characters
	refresh := strings.Repeat("r", 80) + "-Z9z9z9"[:6]
	other := strings.Repeat("x", 86)
	c := canary{password: "pw-canary", clientSecret: "cs-canary"}
	issued := map[string]string{fakesn.Fingerprint(access): "an access token", fakesn.Fingerprint(refresh): "a refresh token"}
	tests := []struct {
		name string
		out  string
		want []string
	}{
		{name: "clean", out: "level=INFO msg=request path=/api/now/table/incident status=200 " + other, want: nil},
		{name: "secret and password", out: "client_secret=cs-canary password=pw-canary cs-canary", want: []string{"the client secret (2 times)", "the user's password (1 time)"}},
		{name: "token alone", out: `authorization="Bearer ` + access + `"`, want: []string{"an access token (fingerprint " + fakesn.Fingerprint(access) + ", 1 time)"}},
		{name: "token glued to text", out: "tok" + refresh + "\n" + refresh, want: []string{"a refresh token (fingerprint " + fakesn.Fingerprint(refresh) + ", 2 times)"}},
		{name: "not an issued token", out: other + other, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := leaks([]byte(tt.out), c, issued)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("leaks (-want +got):\n%s", diff)
			}
			for _, g := range got {
				if strings.Contains(g, access) || strings.Contains(g, refresh) || strings.Contains(g, "canary") {
					t.Errorf("a finding shows a secret: %q", g)
				}
			}
		})
	}
}

func TestHiddenFields(t *testing.T) {
	t.Parallel()
	page := `<form id="consent_form" method="post" action="/oauth_auth.do">
<input type="hidden" name="client_id" value="sncheck-canary">
<input type="hidden" name="redirect_uri" value="http://localhost:8765/callback?a=1&amp;b=2">
<input type="hidden" id="sysparm_ck" name="sysparm_ck" value="ABC123">
<input type="text" id="user_name" name="user_name" value="someone">
<button type="submit" id="allow" name="sysparm_action" value="allow">Allow</button>
</form>`
	got, ok := hiddenFields(page)
	if !ok {
		t.Fatal("no form found")
	}
	want := url.Values{"client_id": {"sncheck-canary"}, "redirect_uri": {"http://localhost:8765/callback?a=1&b=2"}, "sysparm_ck": {"ABC123"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hiddenFields (-want +got):\n%s", diff)
	}
	if _, ok := hiddenFields(`<p id="error_message">Invalid client_id</p>`); ok {
		t.Error("an error page has no form")
	}
	if got := pageError(`<main><p id="error_message">Missing State parameter in request.</p></main>`); got != "Missing State parameter in request." {
		t.Errorf("pageError = %q", got)
	}
}

func TestDescribeRequests(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	get := fakesn.JournalEntry{Method: "GET", Path: "/api/now/table/incident", API: "table", AuthKind: "bearer", Status: 401, Query: "sysparm_limit=100&sysparm_offset=0"}
	basic := fakesn.JournalEntry{Method: "GET", Path: "/api/now/table/incident/abc", API: "table", SysID: "abc", AuthKind: "basic", Status: 401}
	refresh := fakesn.JournalEntry{Method: "POST", Path: "/oauth_token.do", API: "oauth_token", GrantType: "refresh_token", Status: 200, WallTime: t0}
	tests := []struct {
		name string
		in   []fakesn.JournalEntry
		want string
	}{
		{name: "none", in: nil, want: "no request"},
		{name: "folded", in: []fakesn.JournalEntry{get, get, refresh, basic},
			want: "2× GET /api/now/table/incident (offset 0, limit 100) → 401; token request grant_type=refresh_token → 200; GET /api/now/table/incident/abc [auth basic] → 401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := describeRequests(tt.in); got != tt.want {
				t.Errorf("describeRequests = %q, want %q", got, tt.want)
			}
		})
	}
	next := refresh
	next.WallTime = t0.Add(1500 * time.Millisecond)
	refresh.Duration = 500 * time.Millisecond
	if got := gap(refresh, next); got != time.Second {
		t.Errorf("gap = %v, want 1s", got)
	}
}
