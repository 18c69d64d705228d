package suites

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestShapeJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{name: "token answer", in: `{"access_token":"abc","refresh_token":"def","scope":"useraccount","token_type":"Bearer","expires_in":1799}`,
			want: `{"access_token":"<string>","expires_in":"<number>","refresh_token":"<string>","scope":"<string>","token_type":"Bearer"}`},
		{name: "expires_in as a string", in: `{"expires_in":"1799"}`, want: `{"expires_in":"<string>"}`},
		{name: "error envelope keeps its words", in: `{"error":{"message":"No Record found","detail":null},"status":"failure"}`,
			want: `{"error":{"detail":null,"message":"No Record found"},"status":"failure"}`},
		{name: "OAuth error", in: `{"error_description":"access_denied","error":"server_error"}`,
			want: `{"error":"server_error","error_description":"access_denied"}`},
		{name: "records: first element's shape", in: `{"result":[{"active":"true","caller_id":{"link":"https://x/y","value":"1"}},{"other":1}]}`,
			want: `{"result":[{"active":"<string>","caller_id":{"link":"<string>","value":"<string>"}}]}`},
		{name: "empty list", in: `{"result":[]}`, want: `{"result":[]}`},
		{name: "kept key with an object value is masked inside", in: `{"status":{"x":true}}`, want: `{"status":{"x":"<bool>"}}`},
		{name: "not JSON", in: `<html>`, want: ``},
		{name: "two documents", in: `{}{}`, want: ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(ShapeJSON([]byte(tt.in))); got != tt.want {
				t.Errorf("ShapeJSON(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestNewObservation(t *testing.T) {
	t.Parallel()
	req := &http.Request{Method: "GET", URL: &url.URL{Scheme: "https", Host: "dev1.service-now.com", Path: "/api/now/table/incident",
		RawQuery: "sysparm_limit=1&access_token=SECRET"}}
	tests := []struct {
		name   string
		header http.Header
		body   string
		want   Observation
	}{
		{
			name: "list with Link",
			header: http.Header{
				"Content-Type":  {"application/json;charset=UTF-8"},
				"Link":          {`<https://dev1.service-now.com/api/now/table/incident?sysparm_limit=1&sysparm_offset=0>;rel="first",<https://other.example/x?sysparm_offset=1>;rel="next"`},
				"X-Total-Count": {"65"}, "X-Ratelimit-Limit": {"100"}, "Set-Cookie": {"JSESSIONID=abc"}, "X-Transaction-Id": {"f242c5e647a5"},
			},
			body: `{"result":[{"number":"INC1"}]}`,
			want: Observation{Name: "n", Method: "GET", Path: "/api/now/table/incident", Query: "sysparm_limit=1&access_token=REDACTED", Status: 200,
				Headers: map[string]string{
					"Content-Type":      "application/json;charset=UTF-8",
					"Link":              `<{host}/api/now/table/incident?sysparm_limit=1&sysparm_offset=0>;rel="first",<https://other.example/x?sysparm_offset=1>;rel="next"`,
					"X-Total-Count":     "65",
					"X-Ratelimit-Limit": "100",
				},
				Body: "json", Shape: json.RawMessage(`{"result":[{"number":"<string>"}]}`)},
		},
		{
			name:   "redirect with a code",
			header: http.Header{"Location": {"http://localhost:8765/callback?code=SECRETCODE&state=abc123&error=access_denied"}},
			want: Observation{Name: "n", Method: "GET", Path: "/api/now/table/incident", Query: "sysparm_limit=1&access_token=REDACTED", Status: 200,
				Headers: map[string]string{"Location": "http://localhost:8765/callback?code=REDACTED&state=<value>&error=access_denied"},
				Body:    "empty"},
		},
		{
			name:   "created record",
			header: http.Header{"Location": {"https://dev1.service-now.com/api/now/table/incident/0123456789abcdef0123456789abcdef"}},
			body:   "<!DOCTYPE html><html>hibernating</html>",
			want: Observation{Name: "n", Method: "GET", Path: "/api/now/table/incident", Query: "sysparm_limit=1&access_token=REDACTED", Status: 200,
				Headers: map[string]string{"Location": "{host}/api/now/table/incident/<sys_id>"}, Body: "html"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := &http.Response{StatusCode: 200, Header: tt.header, Request: req}
			got := NewObservation("n", resp, []byte(tt.body))
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b json.RawMessage) bool { return string(a) == string(b) })); diff != "" {
				t.Errorf("NewObservation (-want +got):\n%s", diff)
			}
		})
	}
}
