package instance

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/suites"
)

// Expiry on the fake's clock (servicenow-spec §1.5, §3). x/oauth2 stamps
// expiry with the wall clock, so these specs move the fake's clock and
// assert the server's answers.

const day = 24 * time.Hour

func describeExpiry(s *suite) {
	Describe("expiry", func() {
		var ctl fakesn.Controller

		BeforeEach(func() {
			ctl = s.controller("clock")
			// The clock only moves forward: the cached tokens die with it.
			DeferCleanup(s.renewTokens)
		})

		advance := func(ctx context.Context, d time.Duration) {
			GinkgoHelper()
			_, err := ctl.AdvanceClock(ctx, d)
			Expect(err).NotTo(HaveOccurred(), "moving the fake's clock by %s", d)
		}

		checkExpiryAccess.It(func(ctx SpecContext) {
			ts := s.passwordGrant(ctx, "password grant").mustWork("the password grant", false)
			advance(ctx, 1799*time.Second)
			a := s.tableCall(ctx, http.MethodGet, incidents, "sysparm_limit=1", bearer(ts.access), nil, "at 1799 s")
			Expect(a).To(suites.HaveStatus(http.StatusOK), "the access token 1799 s after issue")
			advance(ctx, time.Second)
			a = s.tableCall(ctx, http.MethodGet, incidents, "sysparm_limit=1", bearer(ts.access), nil, "at 1800 s")
			Expect(a).To(suites.HaveSNError(http.StatusUnauthorized, "User Not Authenticated", "Required to provide Auth information"),
				"the access token 1800 s after issue")
		})

		checkExpiryRefresh.It(func(ctx SpecContext) {
			ts := s.passwordGrant(ctx, "password grant").mustWork("the password grant", true)
			advance(ctx, 100*day-time.Second)
			s.refreshGrant(ctx, ts.refresh, "refresh at 100 days - 1 s").mustWork("a refresh 100 days minus one second after issue", false)
		})

		checkExpiryNotExtended.It(func(ctx SpecContext) {
			ts := s.passwordGrant(ctx, "password grant").mustWork("the password grant", true)
			advance(ctx, 50*day)
			next := s.refreshGrant(ctx, ts.refresh, "refresh at 50 days").mustWork("a refresh 50 days after issue", true)
			advance(ctx, 50*day)
			// A client keeps the refresh token the last refresh returned.
			a := s.tokenRequest(ctx, s.clientForm("grant_type", "refresh_token", "refresh_token", next.refresh.Reveal()), "refresh at 100 days")
			Expect(a).To(suites.HaveOAuthFailure(), "a refresh 100 days after the refresh token was issued, 50 days after the last refresh")
		})
	})
}
