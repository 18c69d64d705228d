package suites

import (
	"net/http"
	"strings"
	"testing"

	"github.com/onsi/gomega/types"
)

func answer(status int, body string) *Answer {
	return &Answer{Status: status, Header: http.Header{"Content-Type": {"application/json;charset=UTF-8"}}, Body: []byte(body)}
}

func TestMatchers(t *testing.T) {
	t.Parallel()
	const notAuth = `{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}`
	tests := []struct {
		name    string
		matcher types.GomegaMatcher
		actual  any
		want    bool
	}{
		{name: "SN error", matcher: HaveSNError(401, "User Not Authenticated", "Required to provide Auth information"), actual: answer(401, notAuth), want: true},
		{name: "SN error, wrong status", matcher: HaveSNError(401, "User Not Authenticated", "Required to provide Auth information"), actual: answer(403, notAuth)},
		{name: "SN error, wrong detail", matcher: HaveSNError(401, "User Not Authenticated", nil), actual: answer(401, notAuth)},
		{name: "SN error, null detail", matcher: HaveSNError(400, "Invalid table x", nil),
			actual: answer(400, `{"error":{"message":"Invalid table x","detail":null},"status":"failure"}`), want: true},
		{name: "SN error, one of two details", matcher: HaveSNError(400, "Invalid table x", []any{nil, "Table x does not exist"}),
			actual: answer(400, `{"error":{"message":"Invalid table x","detail":"Table x does not exist"},"status":"failure"}`), want: true},
		{name: "SN error, extra key", matcher: HaveSNError(400, "Invalid table x", nil),
			actual: answer(400, `{"error":{"message":"Invalid table x","detail":null},"status":"failure","x":1}`)},
		{name: "SN error, HTML", matcher: HaveSNError(401, "User Not Authenticated", "Required to provide Auth information"),
			actual: &Answer{Status: 401, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte(notAuth)}},
		{name: "OAuth failure", matcher: HaveOAuthFailure(), actual: answer(401, `{"error_description":"access_denied","error":"server_error"}`), want: true},
		{name: "OAuth failure, other key order", matcher: HaveOAuthFailure(), actual: answer(401, `{"error":"server_error","error_description":"access_denied"}`), want: true},
		{name: "OAuth failure, RFC error", matcher: HaveOAuthFailure(), actual: answer(400, `{"error":"invalid_grant"}`)},
		{name: "OAuth failure, 403", matcher: HaveOAuthFailure(), actual: answer(403, `{"error_description":"access_denied","error":"server_error"}`)},
		{name: "status", matcher: HaveStatus(204), actual: answer(204, ""), want: true},
		{name: "opaque token", matcher: BeOpaqueToken(), actual: Secret(strings.Repeat("aZ0-_", 17) + "x"), want: true},
		{name: "short token", matcher: BeOpaqueToken(), actual: Secret(strings.Repeat("a", 75))},
		{name: "JWT", matcher: BeOpaqueToken(), actual: Secret(strings.Repeat("a", 40) + "." + strings.Repeat("b", 45))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.matcher.Match(tt.actual)
			if err != nil || got != tt.want {
				t.Errorf("Match = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestFailureMessagesHideSecrets checks the messages a failed match
// writes: what was seen and what should be, never a token.
func TestFailureMessagesHideSecrets(t *testing.T) {
	t.Parallel()
	token := strings.Repeat("T", 75)
	body := `{"access_token":"` + token + `","token_type":"Bearer","expires_in":"1799"}`
	a := answer(200, body)
	a.Secret = true
	msg := HaveOAuthFailure().FailureMessage(a)
	if strings.Contains(msg, token) {
		t.Errorf("the message shows the token: %s", msg)
	}
	for _, want := range []string{"200 (application/json;charset=UTF-8) with a body shaped", `"expires_in":"<string>"`, "401 " + GenericOAuthFailure} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message %q lacks %q", msg, want)
		}
	}
	msg = BeOpaqueToken().FailureMessage(Secret(token))
	if strings.Contains(msg, token) || !strings.Contains(msg, "75 characters") {
		t.Errorf("BeOpaqueToken message: %s", msg)
	}
	if s := Secret(token); strings.Contains(s.String()+s.GoString()+s.GomegaString(), token) {
		t.Error("a Secret prints its value")
	}
	msg = HaveSNError(401, "User Not Authenticated", "Required to provide Auth information").FailureMessage(answer(403, `{"error":{"message":"x","detail":null},"status":"failure"}`))
	for _, want := range []string{"403 (application/json;charset=UTF-8) with body", `"message":"x"`, `401 {"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}`} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message %q lacks %q", msg, want)
		}
	}
}
