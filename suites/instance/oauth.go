package instance

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sncheck/sncheck/suites"
)

// The token endpoint, /oauth_token.do (servicenow-spec §1, §3).

// tokenShape is the shape (suites.ShapeJSON) of a password grant's answer.
const tokenShape = `{"access_token":"<string>","refresh_token":"<string>","scope":"<string>","token_type":"Bearer","expires_in":"<number>"}`

func describeTokenEndpoint(s *suite) {
	Describe("the token endpoint", func() {
		var ts *tokenSet

		BeforeEach(func(ctx SpecContext) {
			ts = s.userTokens(ctx)
		})

		checkTokenShape.It(func() {
			suites.Observe("password grant", ts.answer.Resp, ts.answer.Body)
			Expect(ts.answer.Header.Get("Content-Type")).To(HavePrefix("application/json"),
				"the token answer's Content-Type")
			Expect(string(suites.ShapeJSON(ts.answer.Body))).To(MatchJSON(tokenShape),
				"the token answer's keys and JSON types (values masked)")
		})

		checkTokenOpaque.It(func() {
			Expect(ts.access).To(suites.BeOpaqueToken(), "the access token")
			Expect(ts.refresh).To(suites.BeOpaqueToken(), "the refresh token")
		})

		checkExpiresIn.It(func(ctx SpecContext) {
			suites.Observe("password grant", ts.answer.Resp, ts.answer.Body)
			n, ok := ts.fields["expires_in"].(json.Number)
			Expect(ok).To(BeTrue(), "expires_in must be a JSON number; the answer is shaped %s", suites.ShapeJSON(ts.answer.Body))
			got, err := n.Int64()
			Expect(err).NotTo(HaveOccurred(), "expires_in %s must be a whole number of seconds", n)
			lifespan, known := s.accessLifespan(ctx)
			if !known {
				Skip("cannot read the application's access_token_lifespan (oauth_entity needs admin): expires_in is " + n.String())
			}
			Expect(got).To(Equal(lifespan-1), "expires_in for an access token lifespan of %d s", lifespan)
		})

		checkPasswordReuse.It(func(ctx SpecContext) {
			// Two grants of its own: a refresh elsewhere in the run makes
			// another token the current one.
			first := s.passwordGrant(ctx, "password grant").mustWork("a password grant", false)
			again := s.passwordGrant(ctx, "second password grant").mustWork("a second password grant", false)
			Expect(again.access.Fingerprint()).To(Equal(first.access.Fingerprint()),
				"the second grant's access token (fingerprints) must be the current one")
		})

		checkRefreshSame.It(func(ctx SpecContext) {
			next := s.refreshGrant(ctx, ts.refresh, "refresh grant").mustWork("the refresh grant", false)
			Expect(next.refresh.Fingerprint()).To(Equal(ts.refresh.Fingerprint()),
				"the refresh answer's refresh_token (fingerprints) must be the one sent")
			Expect(next.access.Fingerprint()).NotTo(Equal(ts.access.Fingerprint()),
				"the refresh answer's access_token (fingerprints) must be a new one")
			a := s.tableCall(ctx, http.MethodGet, "/api/now/table/incident", q("sysparm_limit", "1", "sysparm_fields", "sys_id"),
				bearer(next.access), nil, "table call with the refreshed token")
			Expect(a).To(suites.HaveStatus(http.StatusOK), "the refreshed access token must work on the Table API")
		})

		checkClientCredentials.It(func(ctx SpecContext) {
			a := s.tokenRequest(ctx, s.clientForm("grant_type", "client_credentials"), "client credentials grant")
			if s.target.Live() && a.Status == http.StatusUnauthorized {
				Skip("the instance answered the generic 401: client credentials is not enabled. Create the system property " +
					"glide.oauth.inbound.client.credential.grant_type.enabled=true and set an OAuth Application User on the application")
			}
			Expect(a).To(suites.HaveStatus(http.StatusOK), "the client credentials grant")
			cc := parseTokens(a)
			Expect(cc.access).To(suites.BeOpaqueToken(), "the client credentials access token")
			Expect(keys(cc.fields)).To(ConsistOf("access_token", "scope", "token_type", "expires_in"),
				"a client credentials answer has no refresh_token")
		})

		checkRevoke.It(func(ctx SpecContext) {
			DeferCleanup(s.renewTokens)
			req, err := http.NewRequest(http.MethodGet, s.base+"/oauth_revoke_token.do?"+q("token", ts.access.Reveal()), nil)
			Expect(err).NotTo(HaveOccurred())
			a := s.send(ctx, req, "revoke")
			Expect(a.Status).To(BeNumerically("<", 300), "revocation must succeed: %s", a.Summary())
			after := s.tableCall(ctx, http.MethodGet, "/api/now/table/incident", q("sysparm_limit", "1", "sysparm_fields", "sys_id"),
				bearer(ts.access), nil, "table call with the revoked token")
			Expect(after).To(suites.HaveSNError(http.StatusUnauthorized, "User Not Authenticated", "Required to provide Auth information"),
				"the revoked access token on the Table API")
		})
	})
}

// failureCase is a token request the instance must refuse with its
// generic 401.
type failureCase struct {
	check suites.Check
	// form returns the request's form.
	form func(s *suite) url.Values
	// modify changes the request before it is sent.
	modify func(s *suite, r *http.Request)
	// liveSkip, when set, is why the case does not run against a live
	// instance.
	liveSkip string
}

func describeTokenFailures(s *suite) {
	Describe("token endpoint failures", func() {
		DescribeTable("the generic 401",
			func(ctx SpecContext, c failureCase) {
				if c.liveSkip != "" && s.target.Live() {
					Skip(c.liveSkip)
				}
				var mods []func(*http.Request)
				if c.modify != nil {
					mods = append(mods, func(r *http.Request) { c.modify(s, r) })
				}
				a := s.tokenRequest(ctx, c.form(s), "token failure", mods...)
				if c.check.ID == checkErrJSONBody.ID {
					// The docs promise only "an unspecified error".
					Expect(a.Status).To(BeNumerically(">=", 400), "a JSON body must be refused: %s", a.Summary())
					Expect(a.Object()).NotTo(HaveKey("access_token"), "a JSON body must not buy a token")
					return
				}
				Expect(a).To(suites.HaveOAuthFailure())
			},
			entry(checkErrBadSecret, failureCase{form: func(s *suite) url.Values {
				f := s.passwordForm()
				f.Set("client_secret", "wrong-"+random(16))
				return f
			}}),
			entry(checkErrBadPassword, failureCase{form: func(s *suite) url.Values {
				f := s.passwordForm()
				f.Set("password", "wrong-"+random(16))
				return f
			}}),
			entry(checkErrUnknownClient, failureCase{form: func(s *suite) url.Values {
				f := s.passwordForm()
				f.Set("client_id", "sncheck-unknown-"+random(12))
				return f
			}}),
			entry(checkErrBadRefresh, failureCase{form: func(s *suite) url.Values {
				return s.clientForm("grant_type", "refresh_token", "refresh_token", randomToken())
			}}),
			entry(checkErrUnsupportedGrant, failureCase{form: func(s *suite) url.Values {
				return s.clientForm("grant_type", "sncheck_unsupported")
			}}),
			entry(checkErrMissingParams, failureCase{form: func(s *suite) url.Values {
				return s.clientForm("grant_type", "password")
			}}),
			entry(checkErrQueryParams, failureCase{
				form: func(*suite) url.Values { return url.Values{} },
				modify: func(s *suite, r *http.Request) {
					r.URL.RawQuery = s.passwordForm().Encode()
				},
				liveSkip: "would put the real client secret and password in a URL, which the instance logs",
			}),
			entry(checkErrJSONBody, failureCase{
				form: func(*suite) url.Values { return url.Values{} },
				modify: func(s *suite, r *http.Request) {
					body := map[string]string{}
					for k, v := range s.passwordForm() {
						body[k] = v[0]
					}
					data, _ := json.Marshal(body)
					r.Body = readCloser(data)
					r.ContentLength = int64(len(data))
					r.Header.Set("Content-Type", "application/json")
				},
			}),
		)
	})
}

// entry is a DescribeTable entry for a check: its title and labels.
func entry(c suites.Check, params failureCase) TableEntry {
	params.check = c
	return Entry(c.Title(), Label(c.Labels...), params)
}

// accessLifespan reads the application's access token lifespan from
// oauth_entity, as the user; known is false when the user may not.
func (s *suite) accessLifespan(ctx SpecContext) (int64, bool) {
	GinkgoHelper()
	a := s.get(ctx, "/api/now/table/oauth_entity", q("sysparm_query", "client_id="+s.creds.ClientID,
		"sysparm_fields", "access_token_lifespan", "sysparm_limit", "1"), "")
	if a.Status != http.StatusOK {
		return 0, false
	}
	recs := results(a)
	if len(recs) != 1 {
		return 0, false
	}
	n, err := strconv.ParseInt(field(recs[0], "access_token_lifespan"), 10, 64)
	if err != nil || n <= 0 {
		return 1800, true // the field's default
	}
	return n, true
}

// randomToken is a well-formed token no instance issued.
func randomToken() string {
	return (random(64) + random(64))[:suites.OpaqueTokenLength]
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
