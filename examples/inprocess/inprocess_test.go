// This example is a user's Go test with the fake in process: the code under
// test uses golang.org/x/oauth2 with the password grant, and the test moves
// the fake's clock past the access token's lifespan instead of sleeping.
package inprocess_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
)

func TestRefreshAfterTheFakesClockMoves(t *testing.T) {
	clock := fakesn.NewFakeClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	srv := harness.StartFake(t, fakesn.Options{Clock: clock})
	ctx := context.Background()

	conf := &oauth2.Config{
		ClientID: "sncheck-client", ClientSecret: "sncheck-secret",
		Endpoint: oauth2.Endpoint{TokenURL: srv.URL() + "/oauth_token.do", AuthStyle: oauth2.AuthStyleInParams},
	}
	tok, err := conf.PasswordCredentialsToken(ctx, "admin", "admin")
	if err != nil {
		t.Fatalf("password grant: %v", err)
	}
	get := func(tok *oauth2.Token) int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/api/now/table/incident?sysparm_limit=1", nil)
		tok.SetAuthHeader(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Result []json.RawMessage `json:"result"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode
	}
	if got := get(tok); got != http.StatusOK {
		t.Fatalf("fresh token: status %d, want 200", got)
	}

	// Half an hour later, by the fake's clock: the instance refuses the
	// token, although x/oauth2 (on wall time) still thinks it is valid.
	clock.Advance(30 * time.Minute)
	if got := get(tok); got != http.StatusUnauthorized {
		t.Fatalf("expired token: status %d, want 401", got)
	}

	// Refresh, as an integration must; ServiceNow returns the same
	// refresh token.
	tok.Expiry = time.Now().Add(-time.Minute)
	fresh, err := conf.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.RefreshToken != tok.RefreshToken {
		t.Error("the refresh returned another refresh token; ServiceNow returns the same one")
	}
	if got := get(fresh); got != http.StatusOK {
		t.Fatalf("refreshed token: status %d, want 200", got)
	}
}
