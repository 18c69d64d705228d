package integration

import (
	"context"
	"fmt"
	"sync"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/suites"
)

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "REFRESH-ON-EXPIRY",
		Statement: "after the access token expires, renews it once and the operation succeeds",
		Labels:    []string{"refresh", "expiry"},
		Hint:      "on a 401 from the Table API, run the refresh grant once and retry the request once with the new token; do not renew before the token expired",
		Needs:     []string{"clock"},
	},
	run: checkRefreshOnExpiry,
})

func checkRefreshOnExpiry(ctx context.Context, env *Env) Result {
	integ, mark, r := connectedThenExpired(ctx, env)
	if r != nil {
		return *r
	}
	var errs []error
	for range 2 {
		errs = append(errs, probe(ctx, integ))
	}
	es, err := env.Since(ctx, mark)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	tokens := tokenRequests(es)
	rejected := withStatus(tableRequests(es), 401)
	var failed error
	for _, e := range errs {
		if e != nil {
			failed = e
			break
		}
	}
	switch {
	case failed != nil && len(tokens) == 0:
		return fail("After the fake's clock moved %s (the access token's lifespan), the integration's Table API requests were answered 401 (%d of them) and it sent no token request: it never refreshed, and the operation %s. It sent: %s. It should have renewed the access token once with %s and retried the request.",
			seconds(tokenLife), len(rejected), outcome(failed), describeRequests(es), renewalWord(env.Grant))
	case failed != nil:
		return fail("After the fake's clock moved %s (the access token's lifespan), the integration tried to renew its token but the operation %s. It sent: %s. It should have renewed the access token once with %s and retried the request.",
			seconds(tokenLife), outcome(failed), describeRequests(es), renewalWord(env.Grant))
	case len(tokens) != 1:
		return fail("After the access token expired (the fake's clock moved %s), two reads succeeded, but the integration sent %s to renew it (%s). It should renew once and reuse the new token.",
			seconds(tokenLife), countOf(len(tokens), "token request"), describeRequests(es))
	}
	return pass()
}

// steady reads once more while the access token is valid; the Result is
// set when the integration renewed the token anyway, which would make
// counting renewals after the expiry meaningless.
// probeObserved runs one probe read and returns the integration's error
// (the thing under test) with the journal entries it caused; r is set when
// sncheck itself could not observe.
func probeObserved(ctx context.Context, env *Env, integ harness.Integration) (opErr error, es []fakesn.JournalEntry, r *Result) {
	mark, err := env.Mark(ctx)
	if err != nil {
		f := fail("sncheck could not read the fake's journal: %v", err)
		return nil, nil, &f
	}
	opErr = probe(ctx, integ)
	if es, err = env.Since(ctx, mark); err != nil {
		f := fail("sncheck could not read the fake's journal: %v", err)
		return nil, nil, &f
	}
	return opErr, es, nil
}

// connectedThenExpired connects, checks the integration renews nothing
// while its token is valid, then expires the access token: where the
// renewal checks start.
func connectedThenExpired(ctx context.Context, env *Env) (harness.Integration, int64, *Result) {
	integ, r := connected(ctx, env)
	if r != nil {
		return nil, 0, r
	}
	if r := steady(ctx, env, integ); r != nil {
		return nil, 0, r
	}
	mark, r := expireAccess(ctx, env)
	if r != nil {
		return nil, 0, r
	}
	return integ, mark, nil
}

// expireAccess moves the fake's clock past the access token's lifespan
// and returns the journal mark from which the renewal is judged.
func expireAccess(ctx context.Context, env *Env) (int64, *Result) {
	if err := env.Advance(ctx, tokenLife); err != nil {
		r := fail("sncheck could not move the fake's clock: %v", err)
		return 0, &r
	}
	mark, err := env.Mark(ctx)
	if err != nil {
		r := fail("sncheck could not read the fake's journal: %v", err)
		return 0, &r
	}
	return mark, nil
}

func steady(ctx context.Context, env *Env, integ harness.Integration) *Result {
	mark, err := env.Mark(ctx)
	if err != nil {
		r := fail("sncheck could not read the fake's journal: %v", err)
		return &r
	}
	opErr := probe(ctx, integ)
	es, err := env.Since(ctx, mark)
	if err != nil {
		r := fail("sncheck could not read the fake's journal: %v", err)
		return &r
	}
	if tokens := tokenRequests(es); len(tokens) > 0 {
		r := fail("While its access token was still valid, the integration sent %s for one read (%s). It should renew the token only when the instance refuses it (401), not before every call.",
			countOf(len(tokens), "token request"), describeRequests(es))
		return &r
	}
	if opErr != nil {
		r := fail("While its access token was valid, reading an incident %s (%s).", outcome(opErr), describeRequests(es))
		return &r
	}
	return nil
}

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "REFRESH-SINGLE-FLIGHT",
		Statement: "renews the token once, not N times, when N concurrent operations hit the expiry together",
		Labels:    []string{"refresh", "expiry"},
		Hint:      "serialise renewals (single-flight): the first caller that sees the 401 refreshes, the others wait for its result",
		Needs:     []string{"clock"},
	},
	run: checkSingleFlight,
})

// concurrentOps is how many operations hit the expiry together.
const concurrentOps = 8

func checkSingleFlight(ctx context.Context, env *Env) Result {
	integ, mark, r := connectedThenExpired(ctx, env)
	if r != nil {
		return *r
	}
	errs := make([]error, concurrentOps)
	var wg sync.WaitGroup
	for i := range concurrentOps {
		wg.Go(func() { errs[i] = probe(ctx, integ) })
	}
	wg.Wait()
	es, err := env.Since(ctx, mark)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	failedOps := 0
	var firstErr error
	for _, e := range errs {
		if e != nil {
			failedOps++
			if firstErr == nil {
				firstErr = e
			}
		}
	}
	tokens := tokenRequests(es)
	switch {
	case len(tokens) > 1:
		failures := ""
		if failedOps > 0 {
			failures = fmt.Sprintf(", and %d of the operations failed (the first %s)", failedOps, outcome(firstErr))
		}
		return fail("%d operations started together just after the access token expired; the integration sent %s for them (%s)%s. It should renew once (single-flight): the first caller refreshes, the others wait for it and use the new token.",
			concurrentOps, countOf(len(tokens), "token request"), describeRequests(tokens), failures)
	case failedOps > 0:
		return fail("%d operations started together just after the access token expired; %d failed (the first %s). The integration sent: %s. All of them should succeed after one renewal.",
			concurrentOps, failedOps, outcome(firstErr), describeRequests(es))
	case len(tokens) == 0:
		return fail("%d operations after the access token expired succeeded, but the fake saw no token request (%s), which cannot be.", concurrentOps, describeRequests(es))
	}
	return pass()
}

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "REFRESH-KEEPS-RETURNED-TOKEN",
		Statement: "keeps the refresh token the instance returns and never presents a superseded one",
		Labels:    []string{"refresh"},
		Hint:      "after every refresh grant, store the refresh_token of the answer (when there is one) and use it next time; an instance that rotates refresh tokens refuses the old one",
		Needs:     []string{"clock", "config"},
	},
	Grants: []string{harness.GrantPassword, harness.GrantAuthorizationCode},
	NotFor: "the client_credentials grant has no refresh token",
	spec:   instanceSpec{rotation: true},
	run:    checkKeepsReturnedToken,
})

func checkKeepsReturnedToken(ctx context.Context, env *Env) Result {
	integ, r := connected(ctx, env)
	if r != nil {
		return *r
	}
	var errs []error
	for range 2 {
		if err := env.Advance(ctx, tokenLife); err != nil {
			return fail("sncheck could not move the fake's clock: %v", err)
		}
		errs = append(errs, probe(ctx, integ))
	}
	es, err := env.Journal(ctx, fakesn.JournalFilter{API: "oauth_token"})
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	var grant *fakesn.JournalEntry
	var refreshes []fakesn.JournalEntry
	for _, e := range es {
		switch {
		case e.GrantType == "refresh_token":
			refreshes = append(refreshes, e)
		case e.Status == 200 && grant == nil:
			grant = &e
		}
	}
	for i, r := range refreshes {
		want := ""
		switch {
		case i == 0 && grant != nil:
			want = grant.IssuedRefresh
		case i > 0 && refreshes[i-1].Status == 200:
			want = refreshes[i-1].IssuedRefresh
		}
		if want != "" && r.Token != want {
			return fail("With an instance that rotates refresh tokens, the integration's refresh number %d presented the refresh token %s, not %s, which the instance had returned last (token requests: %s; the read after the first expiry %s, the read after the second %s). After every refresh the integration should keep the refresh_token of the answer and present that one next time.",
				i+1, r.Token, want, describeRequests(es), outcome(errs[0]), outcome(errs[1]))
		}
	}
	for i, e := range errs {
		if e != nil {
			return fail("With an instance that rotates refresh tokens, the read after the %s expiry of the access token %s. Token requests: %s. The integration should refresh with the refresh token it got last and carry on.",
				[]string{"first", "second"}[i], outcome(e), describeRequests(es))
		}
	}
	if len(refreshes) < 2 {
		return fail("The access token expired twice, but the integration sent %s (%s); it should have used the refresh grant each time.", countOf(len(refreshes), "refresh request"), describeRequests(es))
	}
	return pass()
}

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "REFRESH-NO-PASSWORD-RESEND",
		Statement: "renews an expired access token with the refresh grant, not by sending the password (or another grant) again",
		Labels:    []string{"refresh"},
		Hint:      "keep the refresh token from the first grant and use grant_type=refresh_token when the access token expires; the user's password should be needed once",
		Needs:     []string{"clock"},
	},
	Grants: []string{harness.GrantPassword, harness.GrantAuthorizationCode},
	NotFor: "the client_credentials grant has no refresh token, so a new grant is the right renewal",
	run:    checkNoPasswordResend,
})

func checkNoPasswordResend(ctx context.Context, env *Env) Result {
	integ, r := connected(ctx, env)
	if r != nil {
		return *r
	}
	mark, r := expireAccess(ctx, env)
	if r != nil {
		return *r
	}
	opErr := probe(ctx, integ)
	es, err := env.Since(ctx, mark)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	other := filter(tokenRequests(es), func(e fakesn.JournalEntry) bool { return e.GrantType != "refresh_token" })
	if len(other) > 0 {
		return fail("When its access token expired, the integration renewed it with %s instead of the refresh grant (the read then %s). It should keep the refresh token it was given and send grant_type=refresh_token; re-sending the user's password every half hour keeps a long-lived secret in play.",
			describeRequests(other), outcome(opErr))
	}
	return pass()
}

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "REFRESH-TOKENS-PERSISTED",
		Statement: "keeps its tokens across a restart: restarted with the same state directory, it makes no new grant",
		Labels:    []string{"refresh"},
		Hint:      "save the access and refresh tokens in the state directory (file mode 0600) and load them at start instead of asking for a new grant",
	},
	run: checkTokensPersisted,
})

func checkTokensPersisted(ctx context.Context, env *Env) Result {
	integ, r := connected(ctx, env)
	if r != nil {
		return *r
	}
	if err := integ.Close(); err != nil {
		return fail("Closing the integration failed: %v", err)
	}
	mark, err := env.Mark(ctx)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	again, err := env.RestartIntegration(ctx)
	if err != nil {
		return fail("sncheck could not restart the integration: %v", err)
	}
	authURL, connErr := again.Connect(ctx)
	var opErr error
	if connErr == nil && authURL == "" {
		opErr = probe(ctx, again)
	}
	es, err := env.Since(ctx, mark)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	tokens := tokenRequests(es)
	auth := filter(es, func(e fakesn.JournalEntry) bool { return e.API == "oauth_auth" })
	switch {
	case authURL != "":
		return fail("Restarted with the state directory of its first run, the integration asked the user to authorize it again (connect returned an authorize URL). It should have loaded the tokens it kept.")
	case connErr != nil:
		return fail("Restarted with the state directory of its first run, the integration's connect %s. It should load the tokens it kept and carry on.", outcome(connErr))
	case len(tokens) > 0 || len(auth) > 0:
		return fail("Restarted with the state directory of its first run, the integration sent %s (%s) although its tokens were still valid. It should keep its tokens in the state directory and reuse them.",
			countOf(len(tokens)+len(auth), "token or authorize request"), describeRequests(es))
	case opErr != nil:
		return fail("Restarted with the state directory of its first run, the integration made no new grant, but reading an incident %s (%s).", outcome(opErr), describeRequests(es))
	}
	return pass()
}
