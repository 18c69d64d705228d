package instance

import (
	"net/http"
	"net/url"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sncheck/sncheck/suites"
)

// REST API auth scopes (servicenow-spec §4). The specs change the
// instance's security configuration through the Table API as the admin
// user, so they run only against a fake, and undo every change.

func describeScopes(s *suite) {
	Describe("REST API auth scopes", func() {
		var (
			scopeName string
			scopeID   string
			appID     string
			token     suites.Secret
		)

		BeforeEach(func(ctx SpecContext) {
			s.controller("configuration (the checks change the instance's API access scopes)")
			admin := s.userBasic()
			// A fixed name: the 403's detail names it, and runs are compared.
			scopeName = "sncheck_scope_check"
			scopeID = field(s.create(ctx, admin, "sys_auth_scope", "", map[string]string{
				"name": scopeName, "short_description": s.marker + " scope",
			}), "sys_id")
			clientID, secret := "sncheck-scope-"+random(8), random(32)
			// The client secret is a password2 field: the Table API saves
			// it only as an input display value.
			appID = field(s.create(ctx, admin, "oauth_entity", "sysparm_input_display_value=true", map[string]string{
				"name": s.marker + " scope check", "client_id": clientID, "client_secret": secret,
				"active": "true", "access_token_lifespan": "1800", "refresh_token_lifespan": "8640000",
			}), "sys_id")
			s.create(ctx, admin, "sys_api_access_scope", "", map[string]string{
				"rest_api": "now/table", "http_method": "GET", "table_name": "incident",
				"auth_scope": scopeID, "active": "true",
			})
			form := url.Values{"grant_type": {"password"}, "client_id": {clientID}, "client_secret": {secret},
				"username": {s.creds.Username}, "password": {s.creds.Password}}
			token = parseTokens(s.tokenRequest(ctx, form, "")).mustWork("a password grant for the scope check's application", false).access
		})

		checkScopeMissing.It(func(ctx SpecContext) {
			a := s.tableCall(ctx, http.MethodGet, incidents, "sysparm_limit=1", bearer(token), nil, "missing scope")
			Expect(a).To(suites.HaveSNError(http.StatusForbidden, "User Not Authorized", "Missing required api access scope: "+scopeName))
		})

		checkScopeRuntime.It(func(ctx SpecContext) {
			s.create(ctx, s.userBasic(), "oauth_entity_auth_scope", "", map[string]string{"oauth_entity": appID, "auth_scope": scopeID})
			a := s.tableCall(ctx, http.MethodGet, incidents, "sysparm_limit=1", bearer(token), nil, "scope added")
			Expect(a).To(suites.HaveStatus(http.StatusOK), "the same token once its application has the scope")
		})

		checkScopeBasic.It(func(ctx SpecContext) {
			a := s.tableCall(ctx, http.MethodGet, incidents, "sysparm_limit=1", s.userBasic(), nil, "basic auth")
			Expect(a).To(suites.HaveStatus(http.StatusOK), "Basic auth on an API that requires a scope")
		})
	})
}
