package fakesn

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzTableRequest sends arbitrary Table API requests (method, path after
// /api/now/table/, query, headers, body, credentials) through the in-memory
// transport. Whatever comes in, the fake must answer without a panic or a
// 5xx, with the instance's JSON (a result, an error envelope, or 204 with
// no body), and must still serve a normal request afterwards.
//
// method may be "POST|PATCH": POST with X-HTTP-Method-Override: PATCH.
// auth picks the credentials: admin, itil, none, a bad bearer token, a bad
// access_token parameter.
func FuzzTableRequest(f *testing.F) {
	for _, s := range []struct {
		method, suffix, query, contentType, accept, body string
		auth                                             byte
	}{
		{"GET", "incident", "sysparm_limit=2&sysparm_fields=number,caller_id.email", "", "application/json", "", 0},
		{"GET", "incident/" + inc1ID, "sysparm_display_value=all&sysparm_exclude_reference_link=true", "", "", "", 1},
		{"GET", "incident", "sysparm_query=active=true^ORDERBYDESCnumber^NQpriority=1&sysparm_offset=3&sysparm_limit=5", "", "*/*", "", 0},
		{"HEAD", "problem", "sysparm_limit=1&sysparm_limit=2", "", "", "", 0},
		{"POST", "incident", "", "application/json", "", `{"short_description":"fuzz","priority":1,"active":true,"impact":null}`, 0},
		{"POST", "incident", "sysparm_input_display_value=true", "application/json; charset=utf-8", "", `[{"caller_id":"Abel Tuter","state":"In Progress"}]`, 1},
		{"POST|PATCH", "incident/" + inc1ID, "", "application/json", "", `{"short_description":"override"}`, 0},
		{"PUT", "incident/" + inc1ID, "", "text/xml", "", `<xml/>`, 0},
		{"PATCH", "sys_user/" + adminID, "", "", "", `{"name":{"a":1},"email":[1,2]}`, 0},
		{"DELETE", "incident/" + inc1ID, "", "", "", "", 2},
		{"DELETE", "../sys_user", "", "", "", "", 0},
		{"GET", "%2e%2e/sys_user", "", "", "", "", 0},
		{"GET", "sys_user;drop", "sysparm_query=%zz", "", "", "", 3},
		{"GET", "incident", "access_token=nope&sysparm_fields=\xff", "", "", "", 4},
		{"TRACE", "incident", "", "", "application/xml", "", 0},
		{"POST", "incident", "", "application/json", "", `{"short_description":"trailing"} {}`, 0},
		{"POST", "incident", "", "multipart/form-data; boundary=", "", "\xff\xfe", 0},
	} {
		f.Add(s.method, s.suffix, s.query, s.contentType, s.accept, []byte(s.body), s.auth)
	}

	srv, err := New(Options{
		Clock:       NewFakeClock(tableStart),
		JournalSize: 64,
		MaxSessions: 64,
		Properties:  map[string]string{"glide.rest.max_content_length": "1"},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(srv.Close)
	rt := srv.Transport()

	f.Fuzz(func(t *testing.T, method, suffix, rawQuery, contentType, accept string, body []byte, auth byte) {
		req, routed := fuzzTableReq(method, suffix, rawQuery, contentType, accept, body, auth)
		if strings.HasPrefix(routed, controlPrefix) {
			return // the control API may hibernate the fake or arm faults, as asked
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s: status %d, body %s", req.Method, req.URL, resp.StatusCode, got)
		}
		if strings.HasPrefix(routed, "/api/") {
			if msg := snShapeProblem(req.Method, resp.StatusCode, resp.Header, got); msg != "" {
				t.Fatalf("%s %s: %s; status %d, body %q", req.Method, req.URL, msg, resp.StatusCode, got)
			}
		}
		if resp.StatusCode < 300 && isWriteMethod(req) {
			// Undo the write: a fuzzed PATCH of admin's password or a new
			// deny-all ACL would make every later request fail for a reason
			// that is no bug.
			if err := srv.Reset(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if msg := healthProblem(rt); msg != "" {
			t.Fatalf("after %s %s: %s", req.Method, req.URL, msg)
		}
	})
}

// fuzzTableReq builds the fuzzed request and returns the path the fake
// routes it by (".." may lead out of /api/, where the instance answers
// HTML, or into the control API).
func fuzzTableReq(method, suffix, rawQuery, contentType, accept string, body []byte, auth byte) (*http.Request, string) {
	method, override, _ := strings.Cut(method, "|")
	if method == "" {
		method = http.MethodGet
	}
	u, err := url.Parse("http://instance.test/api/now/table/" + suffix)
	if err != nil || u.Host != "instance.test" {
		u = &url.URL{Scheme: "http", Host: "instance.test", Path: "/api/now/table/" + suffix}
	}
	if rawQuery != "" {
		u.RawQuery = rawQuery
	}
	req := &http.Request{
		Method: method, URL: u, Host: u.Host, Header: http.Header{},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
	}
	if override != "" {
		req.Header.Set("X-HTTP-Method-Override", override)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	switch auth % 5 {
	case 0:
		req.SetBasicAuth("admin", "admin")
	case 1:
		req.SetBasicAuth("itil", "itil")
	case 3:
		req.Header.Set("Authorization", "Bearer "+strings.Repeat("x", int(auth)))
	case 4:
		u.RawQuery += "&access_token=not-a-token"
	}
	// Where the fake routes it: the path as cleanRequestPath leaves it.
	probe := &http.Request{URL: &url.URL{Path: u.Path, RawPath: u.RawPath}}
	cleanRequestPath(probe)
	return req, probe.URL.Path
}

func isWriteMethod(r *http.Request) bool {
	m := r.Method
	if o := r.Header.Get("X-HTTP-Method-Override"); o != "" && m == http.MethodPost {
		m = strings.ToUpper(o)
	}
	switch m {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// snShapeProblem says how an answer of the REST API differs from the
// instance's shapes, or "" when it has one: 204 or HEAD with no body, a
// 2xx {"result":…}, or the error envelope with message and detail.
func snShapeProblem(method string, status int, h http.Header, body []byte) string {
	if h.Get("Server") != "ServiceNow" {
		return "no Server: ServiceNow header"
	}
	if status == http.StatusNoContent || method == http.MethodHead {
		if len(body) != 0 {
			return "a body on a 204 or HEAD answer"
		}
		return ""
	}
	if ct := h.Get("Content-Type"); ct != contentTypeJSON {
		return "Content-Type " + ct
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return "body is not a JSON object: " + err.Error()
	}
	if status < 300 {
		if _, ok := top["result"]; !ok || len(top) != 1 {
			return "a 2xx body other than {\"result\":…}"
		}
		return ""
	}
	var errObj map[string]json.RawMessage
	if len(top) != 2 || string(top["status"]) != `"failure"` || json.Unmarshal(top["error"], &errObj) != nil || len(errObj) != 2 {
		return "not the error envelope"
	}
	var msg string
	if err := json.Unmarshal(errObj["message"], &msg); err != nil {
		return "error.message is not a string"
	}
	if d := string(errObj["detail"]); d != "null" && !strings.HasPrefix(d, `"`) {
		return "error.detail is neither a string nor null"
	}
	return ""
}

// healthProblem sends a normal request and says what is wrong with the
// answer, or "" when the fake served it.
func healthProblem(rt http.RoundTripper) string {
	req, _ := http.NewRequest(http.MethodGet, "http://instance.test/api/now/table/incident/"+inc1ID+"?sysparm_fields=number", nil)
	req.SetBasicAuth("admin", "admin")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return "health request: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if want := `{"result":{"number":"INC0000001"}}`; resp.StatusCode != http.StatusOK || string(b) != want {
		return "health request: got " + resp.Status + " " + string(b) + ", want 200 " + want
	}
	return ""
}
