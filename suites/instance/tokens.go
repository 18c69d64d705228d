package instance

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sncheck/sncheck/suites"
)

// tokenSet is a token endpoint answer and the tokens in it. The answer is
// marked secret, so that no failure message shows its body.
type tokenSet struct {
	answer  *suites.Answer
	fields  map[string]any
	access  suites.Secret
	refresh suites.Secret
}

// tokenRequest posts a form to /oauth_token.do; modify, when set, changes
// the request before it is sent (a JSON body, parameters in the URL).
func (s *suite) tokenRequest(ctx context.Context, form url.Values, observe string, modify ...func(*http.Request)) *suites.Answer {
	GinkgoHelper()
	req, err := http.NewRequest(http.MethodPost, s.base+"/oauth_token.do", strings.NewReader(form.Encode()))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	for _, m := range modify {
		m(req)
	}
	a := s.send(ctx, req, observe)
	a.Secret = true
	return a
}

// parseTokens reads the tokens of an answer, leniently: a wrong type is
// for OAUTH-TOKEN-SHAPE to report, not every check that needs a token.
func parseTokens(a *suites.Answer) *tokenSet {
	ts := &tokenSet{answer: a, fields: a.Object()}
	if ts.fields != nil {
		if v, ok := ts.fields["access_token"].(string); ok {
			ts.access = suites.Secret(v)
		}
		if v, ok := ts.fields["refresh_token"].(string); ok {
			ts.refresh = suites.Secret(v)
		}
	}
	return ts
}

// clientForm is the configured client's id and secret, plus kv.
func (s *suite) clientForm(kv ...string) url.Values {
	f := url.Values{"client_id": {s.creds.ClientID}, "client_secret": {s.creds.ClientSecret}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// passwordForm is a password grant for the configured user.
func (s *suite) passwordForm() url.Values {
	return s.clientForm("grant_type", "password", "username", s.creds.Username, "password", s.creds.Password)
}

// passwordGrant runs a password grant now, not from the cache.
func (s *suite) passwordGrant(ctx context.Context, observe string) *tokenSet {
	GinkgoHelper()
	return parseTokens(s.tokenRequest(ctx, s.passwordForm(), observe))
}

// refreshGrant runs a refresh grant with tok.
func (s *suite) refreshGrant(ctx context.Context, tok suites.Secret, observe string) *tokenSet {
	GinkgoHelper()
	return parseTokens(s.tokenRequest(ctx, s.clientForm("grant_type", "refresh_token", "refresh_token", tok.Reveal()), observe))
}

// mustWork fails the spec unless a grant answered 200 with an access
// token (and a refresh token when withRefresh).
func (ts *tokenSet) mustWork(what string, withRefresh bool) *tokenSet {
	GinkgoHelper()
	Expect(ts.answer).To(suites.HaveStatus(http.StatusOK), "%s must succeed", what)
	Expect(ts.access).NotTo(BeEmpty(), "%s answered no access_token: %s", what, ts.answer.Summary())
	if withRefresh {
		Expect(ts.refresh).NotTo(BeEmpty(), "%s answered no refresh_token: %s", what, ts.answer.Summary())
	}
	return ts
}

// userTokens returns the configured user's tokens from a password grant,
// made once per run (a live run's requests are budgeted). The spec fails
// when the grant does: nothing that needs a token can be checked.
func (s *suite) userTokens(ctx context.Context) *tokenSet {
	GinkgoHelper()
	s.mu.Lock()
	ts := s.tokens
	s.mu.Unlock()
	if ts != nil {
		return ts
	}
	ts = s.passwordGrant(ctx, "").mustWork("the password grant for "+s.creds.Username, true)
	s.mu.Lock()
	s.tokens = ts
	s.mu.Unlock()
	return ts
}

// renewTokens drops the cached tokens (revoked, or expired on the fake's
// clock) and gets new ones at once, so that the number of requests a run
// makes does not depend on the order of its specs.
func (s *suite) renewTokens(ctx context.Context) {
	GinkgoHelper()
	s.mu.Lock()
	s.tokens = nil
	s.mu.Unlock()
	s.userTokens(ctx)
}
