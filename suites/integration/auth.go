package integration

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/suites"
)

// The probe is the operation most checks use to make the integration call
// the Table API: reading the first active incident of the seed.
const probeTable = "incident"

func probeID() string {
	if s, err := defaultSeed(); err == nil {
		for _, rec := range s.Records(probeTable) {
			if rec["active"] != "false" {
				return rec["sys_id"]
			}
		}
	}
	return ""
}

func probe(ctx context.Context, integ harness.Integration) error {
	_, err := integ.Get(ctx, probeTable, probeID())
	return err
}

// tokenLife is the access token lifespan of the canary application (the
// instance default): advancing the clock by it expires the token.
const tokenLife = 1800 * time.Second

// connected starts and connects the integration and reads the probe once;
// the Result is set when that already failed.
func connected(ctx context.Context, env *Env) (harness.Integration, *Result) {
	integ, err := env.StartConnected(ctx)
	if err != nil {
		es, _ := env.Journal(ctx, fakesn.JournalFilter{})
		r := fail("The integration could not connect with the %s grant, so the check could not go on: %v. It sent: %s.",
			env.Grant, err, describeRequests(es))
		return nil, &r
	}
	if err := probe(ctx, integ); err != nil {
		es, _ := env.Journal(ctx, fakesn.JournalFilter{})
		r := fail("The integration connected with the %s grant, but reading one incident then %s, so the check could not go on. It sent: %s.",
			env.Grant, outcome(err), describeRequests(es))
		return nil, &r
	}
	return integ, nil
}

// useTableAPI connects the integration and has it read and list records,
// whether or not that works, and returns everything it sent. The Result is
// set when it could not connect or sent nothing to the Table API.
func useTableAPI(ctx context.Context, env *Env) ([]fakesn.JournalEntry, *Result) {
	integ, err := env.StartConnected(ctx)
	if err != nil {
		es, _ := env.Journal(ctx, fakesn.JournalFilter{})
		r := fail("The integration could not connect with the %s grant, so the check could not go on: %v. It sent: %s.",
			env.Grant, err, describeRequests(es))
		return nil, &r
	}
	_ = probe(ctx, integ)
	_, _ = integ.List(ctx, probeTable, "active=true^priority=1", []string{"sys_id", "number"})
	es, err := env.Journal(ctx, fakesn.JournalFilter{})
	if err != nil {
		r := fail("sncheck could not read the fake's journal: %v", err)
		return nil, &r
	}
	if len(tableRequests(es)) == 0 {
		r := fail("Asked to read and list incidents, the integration sent nothing to the Table API (it sent: %s).", describeRequests(es))
		return nil, &r
	}
	return es, nil
}

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "AUTH-GRANT",
		Statement: "gets an access token with its configured grant and uses it",
		Labels:    []string{"auth"},
		Hint:      "request a token from /oauth_token.do with the configured grant_type (form body), then call the Table API with it",
	},
	run: checkAuthGrant,
})

func checkAuthGrant(ctx context.Context, env *Env) Result {
	integ, err := env.StartIntegration(ctx)
	if err != nil {
		return fail("sncheck could not start the integration: %v", err)
	}
	connErr := env.Connect(ctx, integ)
	var opErr error
	if connErr == nil {
		opErr = probe(ctx, integ)
	}
	es, err := env.Journal(ctx, fakesn.JournalFilter{})
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	grants := filter(tokenRequests(es), func(e fakesn.JournalEntry) bool {
		return e.GrantType == env.Grant && e.Status == 200
	})
	other := filter(tokenRequests(es), func(e fakesn.JournalEntry) bool {
		return e.GrantType != env.Grant && e.GrantType != "refresh_token"
	})
	switch {
	case connErr != nil:
		return fail("Connecting with the %s grant %s. The integration sent: %s. It should have obtained a token from /oauth_token.do with grant_type=%s.",
			env.Grant, outcome(connErr), describeRequests(es), env.Grant)
	case len(grants) == 0:
		return fail("The integration reported it was connected, but the fake saw no successful grant_type=%s request; it sent: %s. It should obtain its token with the grant it is configured with.",
			env.Grant, describeRequests(es))
	case len(other) > 0:
		return fail("The integration is configured for the %s grant but also sent %s. It should use only its configured grant (and refresh_token).",
			env.Grant, describeRequests(other))
	case opErr != nil:
		return fail("The integration got a token with the %s grant, but reading one incident then %s. It sent: %s. It should call the Table API with the token it got.",
			env.Grant, outcome(opErr), describeRequests(es))
	}
	return pass()
}

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "AUTH-CREDS-TOKEN-ENDPOINT-ONLY",
		Statement: "sends its client credentials only to the token endpoint, never as Basic auth to the Table API",
		Labels:    []string{"auth", "secrets"},
		Hint:      "the client id and secret belong in the form body of POST /oauth_token.do; the Table API takes only Authorization: Bearer <access token>",
	},
	run: checkCredsTokenEndpointOnly,
})

func checkCredsTokenEndpointOnly(ctx context.Context, env *Env) Result {
	es, r := useTableAPI(ctx, env)
	if r != nil {
		return *r
	}
	basic := filter(tableRequests(es), func(e fakesn.JournalEntry) bool { return e.AuthKind == "basic" })
	if len(basic) > 0 {
		return fail("The integration sent %s to the Table API with HTTP Basic credentials instead of its access token: %s. Client credentials belong only in the token request to /oauth_token.do; the Table API takes Authorization: Bearer.",
			countOf(len(basic), "request"), describeRequests(basic))
	}
	return pass()
}

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "AUTH-NO-SECRET-IN-URL",
		Statement: "never puts a client secret, password or token in a URL",
		Labels:    []string{"auth", "secrets"},
		Hint:      "send client_secret, password and refresh_token in the POST body of /oauth_token.do and the access token in the Authorization header; URLs end up in proxy and server logs",
		Needs:     []string{"clock"},
	},
	run: checkNoSecretInURL,
})

func checkNoSecretInURL(ctx context.Context, env *Env) Result {
	integ, r := connected(ctx, env)
	if r != nil {
		return *r
	}
	// A renewal too, so that the refresh token has its chance to leak.
	if err := env.Advance(ctx, tokenLife); err != nil {
		return fail("sncheck could not move the fake's clock: %v", err)
	}
	_ = probe(ctx, integ)
	es, err := env.Journal(ctx, fakesn.JournalFilter{})
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	// Revocation is the one endpoint that takes its token in the query.
	leaks := filter(es, func(e fakesn.JournalEntry) bool { return len(e.SecretsInURL) > 0 && e.API != "oauth_revoke" })
	if len(leaks) > 0 {
		var parts []string
		for _, e := range leaks {
			parts = append(parts, fmt.Sprintf("%s %s with %s in its URL", e.Method, e.Path, strings.Join(e.SecretsInURL, " and ")))
		}
		return fail("The integration put secrets in URLs in %s: %s. URLs are written to proxy, server and browser logs; secrets belong in the POST body of /oauth_token.do and the access token in the Authorization header.",
			countOf(len(leaks), "request"), strings.Join(fold(parts), "; "))
	}
	return pass()
}

// fold counts repeats, keeping first-seen order: "2× a", "b".
func fold(s []string) []string {
	n := map[string]int{}
	var order []string
	for _, v := range s {
		if n[v] == 0 {
			order = append(order, v)
		}
		n[v]++
	}
	out := make([]string, len(order))
	for i, v := range order {
		out[i] = v
		if n[v] > 1 {
			out[i] = fmt.Sprintf("%d× %s", n[v], v)
		}
	}
	return out
}

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "AUTH-BEARER-HEADER",
		Statement: "uses Authorization: Bearer on the Table API",
		Labels:    []string{"auth"},
		Hint:      "send the access token as the header Authorization: Bearer <token>, never as ?access_token= or Basic credentials",
	},
	run: checkBearerHeader,
})

func checkBearerHeader(ctx context.Context, env *Env) Result {
	es, r := useTableAPI(ctx, env)
	if r != nil {
		return *r
	}
	table := tableRequests(es)
	other := filter(table, func(e fakesn.JournalEntry) bool { return e.AuthKind != "bearer" })
	if len(other) > 0 {
		kinds := map[string]int{}
		for _, e := range other {
			kinds[e.AuthKind]++
		}
		var parts []string
		for _, k := range []string{"bearer_query", "basic", "session", "none", "other"} {
			if n := kinds[k]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d authenticated with %s", n, authWords(k)))
			}
		}
		return fail("Of the integration's %s to the Table API, %s (%s). Every Table API request should carry Authorization: Bearer <access token>.",
			countOf(len(table), "request"), strings.Join(parts, ", "), describeRequests(other))
	}
	return pass()
}

func authWords(kind string) string {
	switch kind {
	case "bearer_query":
		return "the token in the URL (?access_token=)"
	case "basic":
		return "HTTP Basic credentials"
	case "session":
		return "only a session cookie"
	case "none":
		return "no credentials"
	}
	return "an unknown Authorization scheme"
}

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "AUTH-STATE-CHECKED",
		Statement: "rejects an authorization-code callback whose state was tampered with, and does not exchange its code",
		Labels:    []string{"auth"},
		Hint:      "keep the state sent to /oauth_auth.do and compare it with the callback's before exchanging the code (RFC 6749 §10.12, CSRF)",
	},
	Grants: []string{harness.GrantAuthorizationCode},
	NotFor: "state exists only in the authorization-code flow",
	run:    checkStateChecked,
})

func checkStateChecked(ctx context.Context, env *Env) Result {
	integ, err := env.StartIntegration(ctx)
	if err != nil {
		return fail("sncheck could not start the integration: %v", err)
	}
	authURL, err := integ.Connect(ctx)
	if err != nil || authURL == "" {
		return fail("Connecting with the authorization_code grant %s and returned no authorize URL, so the check could not go on.", outcome(err))
	}
	redirect, err := env.Authorize(ctx, authURL)
	if err != nil {
		return fail("sncheck could not complete the authorize flow in the browser, so the check could not go on: %v", err)
	}
	u, err := url.Parse(redirect)
	if err != nil {
		return fail("The fake redirected the browser to an unparsable URL: %v", err)
	}
	q := u.Query()
	if q.Get("state") == "" {
		return fail("The integration's authorize URL carried no state, so the callback has none to check (%s). It should send a random state and check it on the callback.", redactURL(u))
	}
	q.Set("state", randomSecret("forged-"))
	u.RawQuery = q.Encode()
	mark, err := env.Mark(ctx)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	cbErr := integ.Callback(ctx, u.String())
	es, err := env.Since(ctx, mark)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	exchanges := filter(tokenRequests(es), func(e fakesn.JournalEntry) bool { return e.GrantType == harness.GrantAuthorizationCode })
	switch {
	case cbErr == nil:
		return fail("Handed a callback whose state differs from the one it sent, the integration accepted it and sent %s (%s). It should compare the state with its own and refuse the callback, without exchanging the code: a forged redirect would otherwise connect it to an attacker's account.",
			countOf(len(exchanges), "code exchange"), describeRequests(es))
	case len(exchanges) > 0:
		return fail("Handed a callback whose state differs from the one it sent, the integration %s, but only after exchanging the code: %s. It should check the state first and never redeem the code of a forged redirect.",
			outcome(cbErr), describeRequests(exchanges))
	}
	return pass()
}

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "AUTH-PKCE-PUBLIC",
		Statement: "uses PKCE (code_challenge_method=S256) when it is a public client",
		Labels:    []string{"auth"},
		Hint:      "a client without a secret must send code_challenge and code_challenge_method=S256 to /oauth_auth.do and the code_verifier with the code exchange (RFC 7636)",
		Needs:     []string{"config"},
	},
	Grants: []string{harness.GrantAuthorizationCode},
	NotFor: "PKCE belongs to the authorization-code flow",
	spec:   instanceSpec{public: true},
	run:    checkPKCEPublic,
})

func checkPKCEPublic(ctx context.Context, env *Env) Result {
	integ, err := env.StartIntegration(ctx)
	if err != nil {
		return fail("sncheck could not start the integration: %v", err)
	}
	authURL, err := integ.Connect(ctx)
	if err != nil || authURL == "" {
		return fail("Connecting as a public client (no client secret) with the authorization_code grant %s and returned no authorize URL.", outcome(err))
	}
	u, err := url.Parse(authURL)
	if err != nil {
		return fail("The integration's authorize URL does not parse: %v", err)
	}
	q := u.Query()
	if m := q.Get("code_challenge_method"); m != "S256" || q.Get("code_challenge") == "" {
		got := "no code_challenge_method"
		if m != "" {
			got = "code_challenge_method=" + m
		}
		if q.Get("code_challenge") == "" {
			got += " and no code_challenge"
		}
		return fail("As a public client (no client secret), the integration sent the user to an authorize URL with %s (%s). A public client must use PKCE: code_challenge with code_challenge_method=S256, and the code_verifier in the code exchange.",
			got, redactURL(u))
	}
	redirect, err := env.Authorize(ctx, authURL)
	if err != nil {
		return fail("The integration's authorize URL carried a PKCE challenge, but the browser flow failed: %v", err)
	}
	if err := integ.Callback(ctx, redirect); err != nil {
		es, _ := env.Journal(ctx, fakesn.JournalFilter{API: "oauth_token"})
		return fail("The integration sent a PKCE challenge, but exchanging the code %s (%s). It should send the code_verifier that matches its code_challenge.",
			outcome(err), describeRequests(es))
	}
	es, err := env.Journal(ctx, fakesn.JournalFilter{API: "oauth_auth"})
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	for _, e := range es {
		if v, _ := url.ParseQuery(e.Query); v.Get("code_challenge_method") == "S256" {
			return pass()
		}
	}
	return fail("The fake's journal shows no authorize request with code_challenge_method=S256 (%s), although the integration's authorize URL carried one.", describeRequests(es))
}
