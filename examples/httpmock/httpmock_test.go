// This example is a user's unit test: the code under test uses
// http.DefaultClient, and the test routes it to an in-process fake through
// httpmock, so no socket is opened.
package httpmock_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
)

// countActiveIncidents is "the code under test": it knows nothing of the
// fake and uses the default client.
func countActiveIncidents(instance, clientID, clientSecret, user, password string) (int, error) {
	form := url.Values{"grant_type": {"password"}, "client_id": {clientID}, "client_secret": {clientSecret},
		"username": {user}, "password": {password}}
	resp, err := http.Post(instance+"/oauth_token.do", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return 0, fmt.Errorf("token request failed: status %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, instance+"/api/now/table/incident?sysparm_query=active=true&sysparm_fields=number", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var body struct {
		Result []map[string]string `json:"result"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return 0, err
	}
	return len(body.Result), nil
}

func TestCountActiveIncidentsAgainstTheFake(t *testing.T) {
	// New, not NewServer: the fake never listens.
	srv, err := fakesn.New(fakesn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if srv.URL() != "" {
		t.Fatalf("the fake listens at %s; this example must not open a socket", srv.URL())
	}
	harness.MockDefaultTransport(t, srv)

	n, err := countActiveIncidents("https://dev00000.service-now.com", "sncheck-client", "sncheck-secret", "admin", "admin")
	if err != nil {
		t.Fatalf("countActiveIncidents: %v", err)
	}
	if n == 0 {
		t.Fatalf("got 0 active incidents, want the seed's active ones")
	}
	entries, err := srv.Journal(t.Context(), fakesn.JournalFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("journal has %d requests, want 2 (token + table)", len(entries))
	}
}
