package fakesn

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzTokenEndpoint posts arbitrary bodies and headers to /oauth_token.do
// over the in-memory transport: never a panic, never a 5xx, and always one
// of the documented answers.
func FuzzTokenEndpoint(f *testing.F) {
	const basic = "Basic c25jaGVjay1jbGllbnQ6c25jaGVjay1zZWNyZXQ=" // sncheck-client:sncheck-secret
	form := "application/x-www-form-urlencoded"
	f.Add("POST", form, "grant_type=password&client_id=sncheck-client&client_secret=sncheck-secret&username=admin&password=admin", "", false)
	f.Add("POST", form, "grant_type=password&username=admin&password=admin", basic, false)
	f.Add("POST", form, "grant_type=password&username=admin&password=admin", basic, true)
	f.Add("POST", form, "grant_type=client_credentials&client_id=sncheck-client&client_secret=sncheck-secret", "", true)
	f.Add("POST", form, "grant_type=refresh_token&client_id=sncheck-client&client_secret=sncheck-secret&refresh_token=x", "", false)
	f.Add("POST", form, "grant_type=authorization_code&code=abc&redirect_uri=http%3A%2F%2Flocalhost&code_verifier=v", basic, true)
	f.Add("POST", form+"; charset=UTF-8", "grant_type=%zz&client_id=%", "", false)
	f.Add("POST", form, "grant_type=password&grant_type=refresh_token", "Basic %%%", true)
	f.Add("POST", "application/json", `{"grant_type":"password"}`, "", false)
	f.Add("GET", "", "", "Bearer x", true)
	f.Add("POST", "multipart/form-data; boundary=x", "--x--", "Basic Og==", false)
	f.Add("PUT", form, strings.Repeat("a=b&", 1000), "", true)

	servers := map[bool]*Server{}
	for _, rfc := range []bool{false, true} {
		s, err := New(Options{Clock: NewFakeClock(oaStart), RFCErrors: rfc})
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(s.Close)
		servers[rfc] = s
	}
	f.Fuzz(func(t *testing.T, method, contentType, body, authorization string, rfc bool) {
		req, err := http.NewRequest(method, "http://instance.test/oauth_token.do", strings.NewReader(body))
		if err != nil {
			return // not a request any client can send
		}
		req.Header.Set("Content-Type", contentType)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := servers[rfc].Transport().RoundTrip(req)
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "application/json;charset=UTF-8" {
			t.Fatalf("Content-Type %q; status %d body %s", ct, resp.StatusCode, b)
		}
		switch st := resp.StatusCode; {
		case st == http.StatusOK:
			var ok struct {
				AccessToken string `json:"access_token"`
				TokenType   string `json:"token_type"`
				ExpiresIn   *int   `json:"expires_in"`
				Scope       *string
			}
			if err := json.Unmarshal(b, &ok); err != nil || !tokenShape.MatchString(ok.AccessToken) ||
				ok.TokenType != "Bearer" || ok.ExpiresIn == nil || *ok.ExpiresIn != 1799 {
				t.Fatalf("200 with body %s", b)
			}
		case !rfc:
			if st != http.StatusUnauthorized || string(b) != `{"error_description":"access_denied","error":"server_error"}` {
				t.Fatalf("failure %d %s, want the generic 401", st, b)
			}
		default:
			var e rfcErrorBody
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("%d %s: %v", st, b, err)
			}
			switch Code(e.Error) {
			case CodeOAuthInvalidClient:
				if st != http.StatusUnauthorized {
					t.Fatalf("invalid_client with %d", st)
				}
			case CodeOAuthInvalidRequest, CodeOAuthInvalidGrant, CodeOAuthUnauthorizedClient, CodeOAuthUnsupportedGrant, CodeOAuthInvalidScope:
				if st != http.StatusBadRequest {
					t.Fatalf("%s with %d", e.Error, st)
				}
			default:
				t.Fatalf("undocumented answer %d %s", st, b)
			}
		}
	})
}
