package integration

import (
	"context"
	"time"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/suites"
)

// refreshLife is the canary application's refresh token lifespan (the
// instance default, 100 days).
const refreshLife = 100 * 24 * time.Hour

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "EXPIRY-REAUTH-REQUIRED",
		Statement: "when the refresh token has expired or been revoked, reports reauth_required and stops: at most one token request and no further Table API call for that operation",
		Labels:    []string{"expiry", "refresh"},
		Hint:      "when the refresh grant is refused (401 from /oauth_token.do), stop: report that the user must connect again, do not retry the grant or call the Table API with the dead token",
		Needs:     []string{"clock", "revocation"},
	},
	Grants: []string{harness.GrantPassword, harness.GrantAuthorizationCode},
	NotFor: "the client_credentials grant has no refresh token: a new grant is the right recovery",
	run:    checkReauthRequired,
})

func checkReauthRequired(ctx context.Context, env *Env) Result {
	scenarios := []struct {
		what        string
		breakTokens func() error
	}{
		{"after the refresh token expired (the fake's clock moved 100 days)", func() error { return env.Advance(ctx, refreshLife) }},
		{"after its access and refresh tokens were revoked", func() error {
			_, err := env.Controller().ExpireTokens(ctx, fakesn.ExpireRequest{ClientID: env.Config().ClientID})
			return err
		}},
	}
	for _, sc := range scenarios {
		integ, r := connected(ctx, env)
		if r != nil {
			return *r
		}
		if err := sc.breakTokens(); err != nil {
			return fail("sncheck could not break the integration's tokens: %v", err)
		}
		opErr, es, r := probeObserved(ctx, env, integ)
		if r != nil {
			return *r
		}
		tokens := tokenRequests(es)
		var after []fakesn.JournalEntry // Table API calls after the first refused token request
		refused := false
		for _, e := range es {
			switch {
			case e.API == "oauth_token" && e.Status != 200:
				refused = true
			case refused && e.API == "table":
				after = append(after, e)
			}
		}
		switch {
		case len(tokens) > 1:
			return fail("Reading an incident %s, the integration sent %s (%s) and the operation %s. Once the instance refuses the refresh grant it will keep refusing it: the integration should make at most one token request, then report reauth_required and stop.",
				sc.what, countOf(len(tokens), "token request"), describeRequests(es), outcome(opErr))
		case len(after) > 0:
			return fail("Reading an incident %s, the instance refused the refresh grant, and the integration then still sent %s to the Table API (%s); the operation %s. After a refused refresh it should report reauth_required and make no further Table API call.",
				sc.what, countOf(len(after), "request"), describeRequests(es), outcome(opErr))
		case harness.KindOf(opErr) != harness.KindReauthRequired:
			return fail("Reading an incident %s, the operation %s. The integration sent: %s. It should report reauth_required, so that its user knows to connect it again.",
				sc.what, outcome(opErr), describeRequests(es))
		}
	}
	return pass()
}
