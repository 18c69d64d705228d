package fakesn

import (
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/sncheck/sncheck/fixtures"
)

// Configuration is data: what an admin changes through the Table API takes
// effect on the very next request, because everything reads the store.

// tableTokenAnswer is the token endpoint's success body.
type tableTokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

// passwordGrant gets a token for user from the seeded application.
func passwordGrant(t *testing.T, c *http.Client, base, user, pass string) tableTokenAnswer {
	t.Helper()
	resp, err := c.PostForm(base+"/oauth_token.do", url.Values{
		"grant_type": {"password"}, "client_id": {fixtures.OAuthClientID}, "client_secret": {fixtures.OAuthClientSecret},
		"username": {user}, "password": {pass},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("token for %s: %d %s", user, resp.StatusCode, body)
	}
	return decode[tableTokenAnswer](t, string(body))
}

// firstID is the sys_id of the first record a list query returns.
func firstID(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	ids := resultIDs(t, send(t, c, "GET", url, ""))
	if len(ids) == 0 {
		t.Fatalf("%s: no record", url)
	}
	return ids[0]
}

func TestTableConfigAccessTokenLifespan(t *testing.T) {
	t.Parallel()
	forEachTransport(t, clockOpts, func(t *testing.T, s *Server, c *http.Client, base string) {
		c = noJar(c)
		if got := passwordGrant(t, c, base, "admin", "admin").ExpiresIn; got != 1799 {
			t.Fatalf("expires_in before the change: %d, want 1799", got)
		}
		appID := firstID(t, c, base+"/api/now/table/oauth_entity?client_id="+fixtures.OAuthClientID)
		w := send(t, c, "PATCH", base+"/api/now/table/oauth_entity/"+appID, `{"access_token_lifespan":"3600"}`)
		wantStatus(t, w, 200)
		if got := decode[oneResult](t, w.body).Result["access_token_lifespan"]; got != "3600" {
			t.Fatalf("access_token_lifespan: %v", got)
		}
		// A new token (itil has none yet, so nothing is reused) gets the new lifespan.
		if got := passwordGrant(t, c, base, "itil", "itil").ExpiresIn; got != 3599 {
			t.Errorf("expires_in after the change: %d, want 3599", got)
		}
	})
}

func TestTableConfigDeactivateUser(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		itil := noJar(c)
		wantStatus(t, send(t, itil, "GET", base+"/api/now/table/incident?sysparm_limit=1", "", as("itil")), 200)
		// A session cookie, too, stops working (c keeps itil's cookies).
		wantStatus(t, send(t, c, "GET", base+"/api/now/table/incident?sysparm_limit=1", "", as("itil")), 200)

		admin := noJar(c)
		id := firstID(t, admin, base+"/api/now/table/sys_user?user_name=itil")
		wantStatus(t, send(t, admin, "PATCH", base+"/api/now/table/sys_user/"+id, `{"active":"false"}`), 200)

		wantError(t, send(t, itil, "GET", base+"/api/now/table/incident?sysparm_limit=1", "", as("itil")), 401,
			"User Not Authenticated", ptr("Required to provide Auth information"))
		wantError(t, send(t, c, "GET", base+"/api/now/table/incident?sysparm_limit=1", "", anonymous()), 401,
			"User Not Authenticated", ptr("Required to provide Auth information"))

		wantStatus(t, send(t, admin, "PATCH", base+"/api/now/table/sys_user/"+id, `{"active":"true"}`), 200)
		wantStatus(t, send(t, itil, "GET", base+"/api/now/table/incident?sysparm_limit=1", "", as("itil")), 200)
	})
}

func TestTableConfigACLAndRateLimitRules(t *testing.T) {
	t.Parallel()
	forEachTransport(t, clockOpts, func(t *testing.T, s *Server, c *http.Client, base string) {
		c = noJar(c)
		url := base + "/api/now/table/incident/" + inc1ID
		wantStatus(t, send(t, c, "GET", url, "", as("itil")), 200)

		w := send(t, c, "POST", base+"/api/now/table/sys_security_acl",
			`{"name":"incident","operation":"read","roles":"itil_admin","active":"true"}`)
		wantStatus(t, w, 201)
		aclID := decode[oneResult](t, w.body).Result["sys_id"].(string)
		wantStatus(t, send(t, c, "GET", url, "", as("itil")), 404)
		wantStatus(t, send(t, c, "DELETE", base+"/api/now/table/sys_security_acl/"+aclID, ""), 204)
		wantStatus(t, send(t, c, "GET", url, "", as("itil")), 200)

		w = send(t, c, "POST", base+"/api/now/table/sys_rate_limit_rules",
			`{"name":"itil cap","rest_api":"now/table","type":"all","max_requests":"2","active":"true"}`)
		wantStatus(t, w, 201)
		ruleID := decode[oneResult](t, w.body).Result["sys_id"].(string)
		w = send(t, c, "GET", url, "", as("itil"))
		if w.header.Get("X-RateLimit-Limit") != "2" || w.header.Get("X-RateLimit-Rule") != ruleID {
			t.Errorf("rate-limit headers: %v", w.header)
		}
		send(t, c, "GET", url, "", as("itil"))
		wantStatus(t, send(t, c, "GET", url, "", as("itil")), 429)
	})
}
