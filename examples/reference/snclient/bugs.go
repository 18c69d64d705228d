package snclient

import (
	"fmt"
	"sort"
	"strings"
)

// Bugs are deliberate mistakes, each switching exactly one behaviour of
// the client from right to wrong. They exist so that the integration
// suite can prove it catches each mistake; leave them all false for a
// correct client.
type Bugs struct {
	NeverRefresh           bool // a 401 becomes reauth_required with no refresh
	RefreshEveryCall       bool // refreshes before every Table API call
	ConcurrentRefresh      bool // no single-flight: each failing call refreshes
	ReuseSupersededRefresh bool // keeps presenting the first refresh token
	Retry403Forever        bool // retries a 403 (up to 25 times)
	RefreshOn403           bool // refreshes and retries after a 403
	ScopeAsForbidden       bool // a missing-scope 403 is reported as forbidden
	LoopOnDeadRefresh      bool // retries a refused refresh (up to 25 times)
	TableAfterDeadRefresh  bool // calls the Table API again after a refused refresh
	IgnoreRetryAfter       bool // retries a 429 at once
	NoRetry5xx             bool // gives up on the first 5xx
	ReplayPost             bool // retries a POST after a 5xx
	HibernationAsEmpty     bool // reads a 200 HTML page as an empty answer
	StopOnShortPage        bool // stops listing at the first short page
	FollowLinkForever      bool // pages on until an empty page (up to 50)
	LogSecret              bool // logs the client secret and tokens
	TokenInURL             bool // sends ?access_token= instead of the header
	SecretInURL            bool // puts client_id/client_secret in the token URL
	BasicToTable           bool // sends the client id and secret as Basic to the Table API
	IgnoreState            bool // does not check state on the callback
	NoPKCE                 bool // a public client skips PKCE
	PasswordEveryCall      bool // re-sends the password instead of refreshing
	ForgetTokens           bool // never writes its tokens to the state directory
	WrongGrant             bool // connects with a grant other than the configured one
}

// BugInfo names and describes one bug switch.
type BugInfo struct {
	Name        string
	Description string
	field       func(*Bugs) *bool
}

var bugTable = []BugInfo{
	{"never-refresh", "keeps using the expired access token: a 401 is reported as reauth_required without refreshing", func(b *Bugs) *bool { return &b.NeverRefresh }},
	{"refresh-every-call", "runs the refresh grant before every Table API call", func(b *Bugs) *bool { return &b.RefreshEveryCall }},
	{"concurrent-refresh", "no single-flight: N operations that hit the expiry together cause N refreshes", func(b *Bugs) *bool { return &b.ConcurrentRefresh }},
	{"reuse-superseded-refresh", "keeps presenting the first refresh token forever, even after the instance returned a new one", func(b *Bugs) *bool { return &b.ReuseSupersededRefresh }},
	{"retry-403-forever", "retries a 403 (missing scope or ACL), up to 25 times", func(b *Bugs) *bool { return &b.Retry403Forever }},
	{"refresh-on-403", "treats a 403 like an expired token: refreshes and retries once", func(b *Bugs) *bool { return &b.RefreshOn403 }},
	{"scope-as-forbidden", "reports a 403 \"Missing required api access scope\" as forbidden instead of insufficient_scope", func(b *Bugs) *bool { return &b.ScopeAsForbidden }},
	{"loop-on-dead-refresh", "retries a refused refresh grant up to 25 times before reporting reauth_required", func(b *Bugs) *bool { return &b.LoopOnDeadRefresh }},
	{"table-after-dead-refresh", "calls the Table API once more with the old token after the refresh was refused", func(b *Bugs) *bool { return &b.TableAfterDeadRefresh }},
	{"ignore-retry-after", "retries a 429 at once, without waiting for Retry-After", func(b *Bugs) *bool { return &b.IgnoreRetryAfter }},
	{"no-retry-5xx", "gives up on the first 5xx of a GET, PATCH or DELETE instead of retrying with backoff", func(b *Bugs) *bool { return &b.NoRetry5xx }},
	{"replay-post", "retries a POST after a 5xx, creating the record twice when the first one succeeded", func(b *Bugs) *bool { return &b.ReplayPost }},
	{"hibernation-as-empty", "reads a hibernating instance's 200 HTML page as an empty answer instead of unavailable", func(b *Bugs) *bool { return &b.HibernationAsEmpty }},
	{"stop-on-short-page", "stops listing at the first page with fewer rows than the limit (ACLs make pages short)", func(b *Bugs) *bool { return &b.StopOnShortPage }},
	{"follow-link-forever", "pages past the last page until an empty page comes back (up to 50 pages)", func(b *Bugs) *bool { return &b.FollowLinkForever }},
	{"log-secret", "logs the client secret, the password and the tokens to stderr", func(b *Bugs) *bool { return &b.LogSecret }},
	{"token-in-url", "sends the access token as ?access_token= instead of Authorization: Bearer", func(b *Bugs) *bool { return &b.TokenInURL }},
	{"secret-in-url", "puts client_id and client_secret in the token endpoint's URL query (as well as the body)", func(b *Bugs) *bool { return &b.SecretInURL }},
	{"basic-to-table", "sends the client id and secret as Basic auth to the Table API instead of the bearer token", func(b *Bugs) *bool { return &b.BasicToTable }},
	{"ignore-state", "does not check state on the authorization-code callback", func(b *Bugs) *bool { return &b.IgnoreState }},
	{"no-pkce", "a public client (no client secret) leaves out PKCE", func(b *Bugs) *bool { return &b.NoPKCE }},
	{"password-every-call", "uses the password grant instead of the refresh grant when the access token expires", func(b *Bugs) *bool { return &b.PasswordEveryCall }},
	{"forget-tokens", "never writes its tokens to the state directory, so a restarted client makes a new grant", func(b *Bugs) *bool { return &b.ForgetTokens }},
	{"wrong-grant", "connects with another grant than the configured one: password when a username and password are set, else client_credentials", func(b *Bugs) *bool { return &b.WrongGrant }},
}

// BugList describes every bug switch, sorted by name.
func BugList() []BugInfo {
	out := append([]BugInfo(nil), bugTable...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ParseBugs turns a comma-separated list of bug names into Bugs. The
// empty string is no bugs.
func ParseBugs(list string) (Bugs, error) {
	var b Bugs
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		found := false
		for _, info := range bugTable {
			if info.Name == name {
				*info.field(&b) = true
				found = true
				break
			}
		}
		if !found {
			return Bugs{}, fmt.Errorf("snclient: unknown bug %q (known: %s)", name, strings.Join(bugNames(), ", "))
		}
	}
	return b, nil
}

func bugNames() []string {
	var names []string
	for _, info := range BugList() {
		names = append(names, info.Name)
	}
	return names
}

// String lists the switched-on bugs, comma-separated.
func (b Bugs) String() string {
	var on []string
	for _, info := range bugTable {
		if *info.field(&b) {
			on = append(on, info.Name)
		}
	}
	return strings.Join(on, ",")
}
