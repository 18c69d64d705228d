package fakesn

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// Seed role sys_ids.
const (
	roleITIL     = "282bf1fac6112285017366cb5f867469"
	roleApprover = "ca2640ae3fbbcbbeb19d508705c26b12"
)

func rateRule(name, typ, user, role string, limit int, extra ...string) map[string]string {
	r := map[string]string{"sys_id": name, "name": name, "rest_api": "now/table", "type": typ, "user": user, "role": role,
		"max_requests": strconv.Itoa(limit)}
	for i := 0; i+1 < len(extra); i += 2 {
		r[extra[i]] = extra[i+1]
	}
	return r
}

// rateOpts adds a user holding two roles, for role precedence.
func rateOpts() Options {
	return Options{
		Clock: NewFakeClock(aclStart),
		Users: []User{{UserName: "two.roles", Password: "two.roles", Roles: []string{"itil", "approver_user"}}},
	}
}

func TestRateRulePrecedence(t *testing.T) {
	t.Parallel()
	var (
		userRule  = rateRule("a0000000000000000000000000000001", "user", aclITILID, "", 50)
		roleIT    = rateRule("a0000000000000000000000000000002", "role", "", roleITIL, 20)
		roleAppr  = rateRule("a0000000000000000000000000000003", "role", "", roleApprover, 10)
		allUsers  = rateRule("a0000000000000000000000000000004", "all", "", "", 5)
		allLower  = rateRule("a0000000000000000000000000000005", "all", "", "", 3)
		inactive  = rateRule("a0000000000000000000000000000006", "all", "", "", 1, "active", "false")
		getOnly   = rateRule("a0000000000000000000000000000007", "all", "", "", 2, "http_method", "GET")
		otherTbl  = rateRule("a0000000000000000000000000000008", "all", "", "", 2, "table_name", "problem")
		otherAPI  = rateRule("a0000000000000000000000000000009", "all", "", "", 2, "rest_api", "now/attachment")
		adminRole = rateRule("a0000000000000000000000000000010", "role", "", roleITIL, 7)
	)
	tests := []struct {
		name      string
		rules     []map[string]string
		user      string
		method    string
		wantRule  string
		wantLimit int
	}{
		{name: "no rules", user: "itil", method: "GET"},
		{name: "user rule beats role and all", rules: []map[string]string{allUsers, roleIT, userRule}, user: "itil", method: "GET",
			wantRule: userRule["sys_id"], wantLimit: 50},
		{name: "role rule beats all", rules: []map[string]string{allUsers, roleIT, userRule}, user: "two.roles", method: "GET",
			wantRule: roleIT["sys_id"], wantLimit: 20},
		{name: "lowest role limit wins", rules: []map[string]string{roleIT, roleAppr, allUsers}, user: "two.roles", method: "GET",
			wantRule: roleAppr["sys_id"], wantLimit: 10},
		{name: "all users rule for the rest", rules: []map[string]string{allUsers, roleIT, userRule}, user: "employee", method: "GET",
			wantRule: allUsers["sys_id"], wantLimit: 5},
		{name: "lowest all-users limit wins", rules: []map[string]string{allUsers, allLower}, user: "employee", method: "GET",
			wantRule: allLower["sys_id"], wantLimit: 3},
		{name: "role rules need the role itself, not admin", rules: []map[string]string{adminRole}, user: "admin", method: "GET"},
		{name: "inactive rule ignored", rules: []map[string]string{inactive}, user: "employee", method: "GET"},
		{name: "method rule matches its method", rules: []map[string]string{getOnly}, user: "employee", method: "GET",
			wantRule: getOnly["sys_id"], wantLimit: 2},
		{name: "method rule skips others", rules: []map[string]string{getOnly}, user: "employee", method: "POST"},
		{name: "table rule skips other tables", rules: []map[string]string{otherTbl}, user: "employee", method: "GET"},
		{name: "api rule skips other APIs", rules: []map[string]string{otherAPI}, user: "employee", method: "GET"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := aclServer(t, rateOpts())
			if len(tc.rules) > 0 {
				aclInsert(t, s, "sys_rate_limit_rules", tc.rules...)
			}
			p := aclPrincipal(t, s, tc.user)
			var rule string
			var limit int
			_ = s.store.View(func(tx *store.Tx) error {
				rule, limit = rateRuleFor(tx, p, "now/table", tc.method, "incident")
				return nil
			})
			if rule != tc.wantRule || limit != tc.wantLimit {
				t.Errorf("rateRuleFor = %q, %d; want %q, %d", rule, limit, tc.wantRule, tc.wantLimit)
			}
		})
	}
}

// TestCheckRateLimit counts within the clock hour, refuses the (N+1)th
// request with Retry-After, and starts over in the next hour.
func TestCheckRateLimit(t *testing.T) {
	t.Parallel()
	clock := NewFakeClock(aclStart)
	s := aclServer(t, Options{Clock: clock})
	p := aclPrincipal(t, s, "itil")
	call := func() (*httptest.ResponseRecorder, *Error) {
		w := httptest.NewRecorder()
		var e *Error
		_ = s.store.View(func(tx *store.Tx) error {
			e = s.checkRateLimit(w, tx, p, "now/table", "GET", "incident")
			return nil
		})
		return w, e
	}
	if w, e := call(); e != nil || len(w.Header()) != 0 {
		t.Fatalf("no rules: got %v, headers %v; want nothing", e, w.Header())
	}
	rule := rateRule("b0000000000000000000000000000001", "all", "", "", 2)
	aclInsert(t, s, "sys_rate_limit_rules", rule)
	reset11 := strconv.FormatInt(time.Date(2026, 3, 4, 11, 0, 0, 0, time.UTC).Unix(), 10)
	// The instance's own spelling, not Go's canonical X-Ratelimit-*.
	want := http.Header{"X-RateLimit-Limit": {"2"}, "X-RateLimit-Reset": {reset11}, "X-RateLimit-Rule": {rule["sys_id"]}}
	for i := 1; i <= 2; i++ {
		w, e := call()
		if e != nil {
			t.Fatalf("request %d: %v", i, e)
		}
		if diff := cmp.Diff(want, w.Header()); diff != "" {
			t.Errorf("request %d headers (-want +got):\n%s", i, diff)
		}
	}
	w, e := call()
	if e == nil {
		t.Fatal("request 3: allowed, want 429")
	}
	if e.HTTPStatus() != 429 || e.Code != CodeRateLimited || e.Message != "Rate limit exceeded" ||
		e.Detail != "Rate limit of 2 requests per hour for Table API exceeded" {
		t.Errorf("request 3: got %+v", e)
	}
	if diff := cmp.Diff(http.Header{"Retry-After": {"2700"}}, e.Header); diff != "" {
		t.Errorf("request 3 error headers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, w.Header()); diff != "" {
		t.Errorf("request 3 headers (-want +got):\n%s", diff)
	}

	// Another user has a count of their own.
	other := aclPrincipal(t, s, "employee")
	_ = s.store.View(func(tx *store.Tx) error {
		if e := s.checkRateLimit(httptest.NewRecorder(), tx, other, "now/table", "GET", "incident"); e != nil {
			t.Errorf("other user: %v, want allowed", e)
		}
		return nil
	})

	clock.Advance(44*time.Minute + 59*time.Second + 500*time.Millisecond)
	if _, e := call(); e == nil || e.Header.Get("Retry-After") != "1" {
		t.Errorf("half a second before the hour: got %+v, want 429 with Retry-After 1", e)
	}
	clock.Advance(time.Second)
	w, e = call()
	if e != nil {
		t.Fatalf("next hour: %v, want allowed", e)
	}
	reset12 := strconv.FormatInt(time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC).Unix(), 10)
	if got := strings.Join(w.Header()["X-RateLimit-Reset"], ","); got != reset12 {
		t.Errorf("next hour: X-RateLimit-Reset %s, want %s", got, reset12)
	}
}

func TestRateCounter(t *testing.T) {
	t.Parallel()
	c := newRateCounter()
	h10 := aclStart.Truncate(time.Hour)
	h11 := h10.Add(time.Hour)
	steps := []struct {
		name   string
		rule   string
		user   string
		window time.Time
		want   int
	}{
		{name: "first", rule: "r", user: "u", window: h10, want: 1},
		{name: "second", rule: "r", user: "u", window: h10, want: 2},
		{name: "other user", rule: "r", user: "v", window: h10, want: 1},
		{name: "other rule", rule: "s", user: "u", window: h10, want: 1},
		{name: "next window starts over", rule: "r", user: "u", window: h11, want: 1},
		{name: "late request of the old window", rule: "r", user: "u", window: h10, want: 1},
	}
	for _, st := range steps {
		if got := c.hit(st.rule, st.user, st.window); got != st.want {
			t.Errorf("%s: hit = %d, want %d", st.name, got, st.want)
		}
	}
	c.mu.Lock()
	n := len(c.counts)
	c.mu.Unlock()
	if n != 2 {
		t.Errorf("after moving on: %d counters, want 2 (old window dropped)", n)
	}
	c.reset()
	if got := c.hit("r", "u", h11); got != 1 {
		t.Errorf("after reset: hit = %d, want 1", got)
	}
	for i := range maxRateKeys + 10 {
		c.hit("r", strconv.Itoa(i), h11)
	}
	c.mu.Lock()
	n = len(c.counts)
	c.mu.Unlock()
	if n > maxRateKeys {
		t.Errorf("%d counters, want at most %d", n, maxRateKeys)
	}
}

// TestRateLimitOverHTTP: no headers without a rule; with one, headers on
// every matched answer, 429 past the limit, and a fresh hour on the clock.
func TestRateLimitOverHTTP(t *testing.T) {
	t.Parallel()
	forEachTransport(t, rateOpts, func(t *testing.T, s *Server, c *http.Client, base string) {
		clock := s.clock.(*FakeClock)
		get := aclReq{method: "GET", path: "/api/now/table/incident?sysparm_limit=1&sysparm_fields=number", user: "employee"}
		status, h, body := aclCall(t, c, base, get)
		if status != 200 {
			t.Fatalf("no rules: %d %s", status, body)
		}
		for _, name := range []string{"X-RateLimit-Limit", "X-RateLimit-Reset", "X-RateLimit-Rule", "Retry-After"} {
			if v, ok := h[http.CanonicalHeaderKey(name)]; ok {
				t.Errorf("no rules: %s: %v, want absent", name, v)
			}
		}

		userRule := rateRule("c0000000000000000000000000000001", "user", aclITILID, "", 1)
		roleA := rateRule("c0000000000000000000000000000002", "role", "", roleITIL, 5)
		roleB := rateRule("c0000000000000000000000000000003", "role", "", roleApprover, 4)
		all := rateRule("c0000000000000000000000000000004", "all", "", "", 3)
		aclInsert(t, s, "sys_rate_limit_rules", userRule, roleA, roleB, all)
		reset11 := strconv.FormatInt(time.Date(2026, 3, 4, 11, 0, 0, 0, time.UTC).Unix(), 10)
		const tooMany = `{"error":{"message":"Rate limit exceeded","detail":"Rate limit of 3 requests per hour for Table API exceeded"},"status":"failure"}`

		// Precedence: each user is governed by their own rule.
		for _, tc := range []struct{ user, rule, limit string }{
			{user: "itil", rule: userRule["sys_id"], limit: "1"},
			{user: "two.roles", rule: roleB["sys_id"], limit: "4"},
			{user: "admin", rule: all["sys_id"], limit: "3"},
		} {
			req := get
			req.user = tc.user
			status, h, body := aclCall(t, c, base, req)
			if status != 200 || h.Get("X-RateLimit-Rule") != tc.rule || h.Get("X-RateLimit-Limit") != tc.limit {
				t.Errorf("%s: %d rule %q limit %q (%s), want 200 rule %s limit %s", tc.user, status,
					h.Get("X-RateLimit-Rule"), h.Get("X-RateLimit-Limit"), body, tc.rule, tc.limit)
			}
		}

		// employee: already one request before the rule existed, which did
		// not count; three more are allowed, the fourth is refused.
		for i := 1; i <= 3; i++ {
			status, h, body := aclCall(t, c, base, get)
			want := http.Header{"X-Ratelimit-Limit": {"3"}, "X-Ratelimit-Reset": {reset11}, "X-Ratelimit-Rule": {all["sys_id"]}}
			got := http.Header{"X-Ratelimit-Limit": h.Values("X-RateLimit-Limit"), "X-Ratelimit-Reset": h.Values("X-RateLimit-Reset"),
				"X-Ratelimit-Rule": h.Values("X-RateLimit-Rule")}
			if status != 200 {
				t.Fatalf("request %d: %d %s", i, status, body)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("request %d headers (-want +got):\n%s", i, diff)
			}
		}
		status, h, body = aclCall(t, c, base, get)
		if status != http.StatusTooManyRequests || body != tooMany {
			t.Errorf("request 4: %d %s, want 429 %s", status, body, tooMany)
		}
		for name, want := range map[string]string{"Retry-After": "2700", "X-RateLimit-Limit": "3", "X-RateLimit-Reset": reset11,
			"X-RateLimit-Rule": all["sys_id"], "Content-Type": contentTypeJSON} {
			if got := h.Values(name); len(got) != 1 || got[0] != want {
				t.Errorf("request 4: %s = %q, want [%s]", name, got, want)
			}
		}

		// The next hour of the fake's clock lets requests through again.
		clock.Advance(45 * time.Minute)
		status, h, body = aclCall(t, c, base, get)
		reset12 := strconv.FormatInt(time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC).Unix(), 10)
		if status != 200 || h.Get("X-RateLimit-Reset") != reset12 {
			t.Errorf("next hour: %d reset %q (%s), want 200 reset %s", status, h.Get("X-RateLimit-Reset"), body, reset12)
		}
	})
}
