package fakesn

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The bad-input catalogue: malformed, oversized, hostile and merely odd
// requests. Each entry asserts the instance's answer (a ServiceNow-shaped
// error, or the answer the instance gives to input it tolerates), and
// after every entry a normal request must still succeed.

// badInput is one catalogue entry. Either method/path/body/opts describe
// a request whose answer is compared with want*, or check does the whole
// exchange itself.
type badInput struct {
	name   string
	socket bool // only over the loopback socket (header limits, timeouts)
	rfc    bool // against a fake with Options.RFCErrors

	method, path, body string
	opts               []reqOpt

	wantStatus int
	wantMsg    string  // the error envelope's message ("" to skip)
	wantDetail *string // and its detail (nil: null)
	wantBody   string  // or the exact body ("" to skip)
	// after checks more: headers, the journal, the unexpected list.
	after func(t *testing.T, s *Server, w wire)

	check func(t *testing.T, s *Server, c *http.Client, base string)
}

// badMaxBody is glide.rest.max_content_length in the catalogue: 1 MB, the
// smallest the instance accepts.
const badMaxBody = 1 << 20

var (
	detailNoRecord = ptr("Record doesn't exist or ACL restricts the record retrieval")
	detailBadJSON  = ptr("The payload is not valid JSON.")
	detailAuth     = ptr("Required to provide Auth information")
)

func unsupported(ct string) *string {
	return ptr("Content-Type " + ct + " is not supported; supported request formats: application/json")
}

func tooLarge(n int) *string {
	return ptr(fmt.Sprintf("Rejected large REST payload with content-length = %d bytes. Max allowed: %d bytes.", n, badMaxBody))
}

// streamed makes the request body of unknown length (chunked on a socket).
func streamed() reqOpt {
	return func(r *http.Request) {
		if r.Body != nil {
			r.Body = io.NopCloser(io.MultiReader(r.Body))
			r.ContentLength = -1
		}
	}
}

func contentType(ct string) reqOpt { return header("Content-Type", ct) }

// formBody posts a form to the token endpoint without Basic credentials.
func formBody() reqOpt {
	return func(r *http.Request) {
		r.Header.Del("Authorization")
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
}

// passwordGrantForm is a valid password grant for the seeded application,
// with extra appended.
func passwordGrantForm(extra string) string {
	return oaPasswordForm("admin", "admin").Encode() + extra
}

func manyParams(n int) string { return strings.Repeat("&x=1", n) }

// wantJournalReason checks why the newest token request was refused.
func wantJournalReason(reason string) func(*testing.T, *Server, wire) {
	return func(t *testing.T, s *Server, _ wire) {
		t.Helper()
		if e := oaLast(t, s, "oauth_token"); e.ErrMessage != reason {
			t.Errorf("journal reason: got %q, want %q", e.ErrMessage, reason)
		}
	}
}

// wantTokens checks a successful token answer.
func wantTokens(t *testing.T, _ *Server, w wire) {
	t.Helper()
	wantTokenSuccess(t, oaResp(w), "useraccount", true, 1799)
}

// wantAll checks that a list answer holds every record (X-Total-Count):
// no sysparm_limit applied.
func wantAll(t *testing.T, _ *Server, w wire) {
	t.Helper()
	got := len(decode[listResult](t, w.body).Result)
	if total := w.header.Get("X-Total-Count"); fmt.Sprint(got) != total || got < seedIncidents {
		t.Errorf("got %d records, X-Total-Count %s; want every record", got, total)
	}
}

// wantUnexpected checks that the fake reported input it ignores.
func wantUnexpected(reason string) func(*testing.T, *Server, wire) {
	return func(t *testing.T, s *Server, _ wire) {
		t.Helper()
		u, _ := s.Unexpected(context.Background())
		for _, x := range u {
			if x.Reason == reason {
				return
			}
		}
		t.Errorf("unexpected list %+v lacks %q", u, reason)
	}
}

func badInputs() []badInput {
	big := strings.Repeat("x", badMaxBody)
	bigJSON := `{"short_description":"` + big + `"}` // over the limit by its quotes and key
	nested := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	inc := "/api/now/table/incident"
	one := inc + "/" + inc1ID
	first := `{"result":[{"number":"INC0000001"}]}`
	return []badInput{
		// Malformed JSON.
		{name: "json truncated", method: "POST", path: inc, body: `{"short_description":`, wantStatus: 400, wantMsg: "Exception while reading request", wantDetail: detailBadJSON},
		{name: "json trailing data", method: "POST", path: inc, body: `{"short_description":"a"} {}`, wantStatus: 400, wantMsg: "Exception while reading request", wantDetail: detailBadJSON},
		{name: "json scalar body", method: "POST", path: inc, body: `"just a string"`, wantStatus: 400, wantMsg: "Exception while reading request", wantDetail: detailBadJSON},
		{name: "json null body", method: "PATCH", path: one, body: `null`, wantStatus: 400, wantMsg: "Exception while reading request", wantDetail: detailBadJSON},
		{name: "json nested 20000 deep", method: "POST", path: inc, body: nested, wantStatus: 400, wantMsg: "Exception while reading request", wantDetail: detailBadJSON},
		{name: "json single quotes", method: "PUT", path: one, body: `{'short_description':'x'}`, wantStatus: 400, wantMsg: "Exception while reading request", wantDetail: detailBadJSON},
		{name: "json array of scalars", method: "POST", path: inc, body: `[1,2]`, wantStatus: 400, wantMsg: "Exception while reading request", wantDetail: detailBadJSON},

		// Wrong content types.
		{name: "content type text/plain", method: "POST", path: inc, body: `{}`, opts: []reqOpt{contentType("text/plain")}, wantStatus: 415, wantMsg: "Requested request content type is not supported", wantDetail: unsupported("text/plain")},
		{name: "content type form", method: "PATCH", path: one, body: `a=b`, opts: []reqOpt{contentType("application/x-www-form-urlencoded")}, wantStatus: 415, wantMsg: "Requested request content type is not supported", wantDetail: unsupported("application/x-www-form-urlencoded")},
		{name: "content type xml", method: "POST", path: inc, body: `<x/>`, opts: []reqOpt{contentType("application/xml")}, wantStatus: 415, wantMsg: "Requested request content type is not supported", wantDetail: unsupported("application/xml"),
			after: wantUnexpected("XML request bodies are not modelled")},
		{name: "content type unparsable", method: "POST", path: inc, body: `{}`, opts: []reqOpt{contentType("application/json;;=;")}, wantStatus: 415, wantMsg: "Requested request content type is not supported", wantDetail: unsupported("application/json;;=;")},
		{name: "accept xml only", method: "GET", path: one, opts: []reqOpt{header("Accept", "application/xml")}, wantStatus: 406, wantMsg: "Requested response content type is not supported", wantDetail: ptr("Supported response formats: application/json")},

		// Bodies over glide.rest.max_content_length.
		{name: "body over limit with content-length", method: "POST", path: inc, body: bigJSON, wantStatus: 413, wantMsg: "Exception while reading request", wantDetail: tooLarge(len(bigJSON))},
		{name: "body over limit streamed", method: "PATCH", path: one, body: bigJSON, opts: []reqOpt{streamed()}, wantStatus: 413, wantMsg: "Exception while reading request", wantDetail: tooLarge(badMaxBody + 1)},
		{name: "body at the limit", method: "POST", path: inc + "?sysparm_fields=sys_mod_count", body: `{"description":"` + big[:badMaxBody-18] + `"}`, wantStatus: 201, wantBody: `{"result":{"sys_mod_count":"0"}}`},

		// Invalid sys_id.
		{name: "sys_id not hex", method: "GET", path: inc + "/not-a-sys-id", wantStatus: 404, wantMsg: "No Record found", wantDetail: detailNoRecord},
		{name: "sys_id path-like encoded", method: "GET", path: inc + "/..%2F..%2Fsys_user", wantStatus: 404, wantMsg: "No Record found", wantDetail: detailNoRecord},
		{name: "sys_id NUL", method: "PATCH", path: inc + "/%00", body: `{}`, wantStatus: 404, wantMsg: "No Record found", wantDetail: detailNoRecord},
		{name: "sys_id 4 KB", method: "DELETE", path: inc + "/" + strings.Repeat("a", 4096), wantStatus: 404, wantMsg: "No Record found", wantDetail: detailNoRecord},
		{name: "sys_id of another table", method: "GET", path: "/api/now/table/problem/" + inc1ID, wantStatus: 404, wantMsg: "No Record found", wantDetail: detailNoRecord},
		{name: "sys_id with extra segment", method: "GET", path: one + "/x", wantStatus: 400, wantMsg: "Requested URI does not represent any resource"},

		// Unknown and path-like table names.
		{name: "table unknown", method: "GET", path: "/api/now/table/u_nope", wantStatus: 400, wantMsg: "Invalid table u_nope"},
		{name: "table dot-dot", method: "GET", path: "/api/now/table/../sys_user", wantStatus: 400, wantMsg: "Requested URI does not represent any resource"},
		{name: "table dot-dot escaping /api", method: "DELETE", path: "/api/now/table/../../../sys_user/" + adminID, wantStatus: 404,
			wantBody: "<html><head><title>ServiceNow</title></head><body>Page not found</body></html>"},
		{name: "table encoded dot-dot", method: "GET", path: "/api/now/table/%2e%2e", wantStatus: 400, wantMsg: "Invalid table .."},
		{name: "table encoded dot-dot and slash", method: "GET", path: "/api/now/table/%2e%2e%2fsys_user", wantStatus: 400, wantMsg: "Invalid table ../sys_user"},
		{name: "table semicolon", method: "GET", path: "/api/now/table/sys_user;drop", wantStatus: 400, wantMsg: "Invalid table sys_user;drop"},
		{name: "table NUL", method: "POST", path: "/api/now/table/sys_user%00", body: `{}`, wantStatus: 400, wantMsg: "Invalid table sys_user\x00"},
		{name: "table double slash", method: "GET", path: "/api/now/table//incident/" + inc1ID + "?sysparm_fields=number", wantStatus: 200, wantBody: `{"result":{"number":"INC0000001"}}`},

		// Encoded queries the instance tolerates: invalid conditions are
		// dropped, undecodable pairs ignored.
		{name: "query unknown field", method: "GET", path: inc + "?sysparm_query=u_nope=1&sysparm_limit=1&sysparm_fields=number", wantStatus: 200, wantBody: first},
		{name: "query operators only", method: "GET", path: inc + "?sysparm_query=%5E%5EOR%5ENQ%5EORDERBY&sysparm_limit=1&sysparm_fields=number", wantStatus: 200, wantBody: first},
		{name: "query bad escape", method: "GET", path: inc + "?sysparm_query=%zz&sysparm_limit=1&sysparm_fields=number", wantStatus: 200, wantBody: first},
		{name: "query javascript", method: "GET", path: inc + "?sysparm_query=sys_id=javascript:gs.getUserID()%3Bwhile(1)%7B%7D&sysparm_limit=1&sysparm_fields=number", wantStatus: 200, wantBody: first},
		{name: "query invalid UTF-8", method: "GET", path: inc + "?sysparm_query=short_description=%ff%fe&sysparm_fields=number", wantStatus: 200, wantBody: `{"result":[]}`},
		{name: "query over 10000 parameters", method: "GET", path: inc + "?sysparm_limit=1" + manyParams(10000), wantStatus: 200,
			after: wantAll}, // Go's parser drops every parameter then: no limit applies

		// Non-UTF-8 in bodies and headers.
		{name: "body invalid UTF-8", method: "POST", path: inc + "?sysparm_fields=short_description", body: "{\"short_description\":\"a\xff\xfeb\"}", wantStatus: 201, wantBody: "{\"result\":{\"short_description\":\"a\ufffd\ufffdb\"}}"},
		{name: "body UTF-16", method: "POST", path: inc, body: "\xff\xfe{\x00}\x00", wantStatus: 400, wantMsg: "Exception while reading request", wantDetail: detailBadJSON},
		{name: "accept invalid UTF-8", method: "GET", path: one, opts: []reqOpt{header("Accept", "\xff")}, wantStatus: 406, wantMsg: "Requested response content type is not supported", wantDetail: ptr("Supported response formats: application/json")},
		{name: "content type invalid UTF-8", method: "POST", path: inc, body: `{}`, opts: []reqOpt{contentType("application/json\xff")}, wantStatus: 415, wantMsg: "Requested request content type is not supported", wantDetail: unsupported("application/json\xff")},
		{name: "basic credentials invalid UTF-8", method: "GET", path: one, opts: []reqOpt{func(r *http.Request) { r.SetBasicAuth("admin\xff", "\xfe") }}, wantStatus: 401, wantMsg: "User Not Authenticated", wantDetail: detailAuth},
		{name: "bearer invalid UTF-8", method: "GET", path: one, opts: []reqOpt{header("Authorization", "Bearer \xff\xfe")}, wantStatus: 401, wantMsg: "User Not Authenticated", wantDetail: detailAuth},
		{name: "method override unknown", method: "POST", path: inc, body: `{}`, opts: []reqOpt{header("X-HTTP-Method-Override", "drop table")}, wantStatus: 405, wantMsg: "Method not Supported", wantDetail: ptr("DROP TABLE method not supported for API")},

		// Numbers, booleans, null, objects and arrays where strings belong.
		{name: "record number boolean null", method: "POST", path: inc + "?sysparm_fields=short_description,active,description,urgency", body: `{"short_description":12.50,"active":false,"description":null,"urgency":1e999}`,
			wantStatus: 201, wantBody: `{"result":{"short_description":"12.50","active":"false","description":"","urgency":"1e999"}}`},
		{name: "record object and array", method: "POST", path: inc + "?sysparm_fields=short_description,description,work_notes", body: `{"short_description":"obj","description":{"a":1},"work_notes":[1,"x"]}`,
			wantStatus: 201, wantBody: `{"result":{"short_description":"obj","description":"","work_notes":""}}`, after: wantUnexpected("object or array value for field description ignored")},
		{name: "record duplicate keys", method: "PATCH", path: inc + "/" + inc1ID + "?sysparm_fields=short_description", body: `{"short_description":"first","short_description":"second"}`,
			wantStatus: 200, wantBody: `{"result":{"short_description":"second"}}`},
		{name: "record system fields", method: "PATCH", path: inc + "/" + inc1ID + "?sysparm_fields=sys_id,sys_class_name,sys_created_by", body: `{"sys_id":"00000000000000000000000000000000","sys_created_by":"mallory","sys_class_name":"problem"}`,
			wantStatus: 200, wantBody: `{"result":{"sys_id":"` + inc1ID + `","sys_class_name":"incident","sys_created_by":"beth.anglin"}}`},

		// Duplicate parameters: the first counts.
		{name: "duplicate sysparm_limit", method: "GET", path: inc + "?sysparm_limit=1&sysparm_limit=2&sysparm_fields=number", wantStatus: 200, wantBody: first},
		{name: "duplicate sysparm_fields", method: "GET", path: one + "?sysparm_fields=number&sysparm_fields=sys_id", wantStatus: 200, wantBody: `{"result":{"number":"INC0000001"}}`},
		{name: "garbage sysparm_limit and offset", method: "GET", path: inc + "?sysparm_limit=99999999999999999999&sysparm_offset=-5&sysparm_limit=x&sysparm_fields=number,number", wantStatus: 200,
			after: wantAll},
		{name: "offset beyond the end", method: "GET", path: inc + "?sysparm_offset=2147483647&sysparm_fields=number", wantStatus: 200, wantBody: `{"result":[]}`},

		// The token endpoint: every refusal is the instance's generic 401.
		{name: "token empty body", method: "POST", path: "/oauth_token.do", opts: []reqOpt{formBody()}, wantStatus: 401, wantBody: string(genericTokenFailure),
			after: wantJournalReason("grant_type is missing from the form body")},
		{name: "token JSON body", method: "POST", path: "/oauth_token.do", body: `{"grant_type":"password"}`, opts: []reqOpt{formBody(), contentType("application/json")}, wantStatus: 401, wantBody: string(genericTokenFailure),
			after: wantJournalReason("body is not application/x-www-form-urlencoded")},
		{name: "token huge form", method: "POST", path: "/oauth_token.do", body: passwordGrantForm("&pad=" + strings.Repeat("p", maxTokenBody)), opts: []reqOpt{formBody()}, wantStatus: 401, wantBody: string(genericTokenFailure),
			after: wantJournalReason("malformed or oversized form body")},
		{name: "token huge form streamed", method: "POST", path: "/oauth_token.do", body: passwordGrantForm("&pad=" + strings.Repeat("p", 4*maxTokenBody)), opts: []reqOpt{formBody(), streamed()}, wantStatus: 401, wantBody: string(genericTokenFailure),
			after: wantJournalReason("malformed or oversized form body")},
		{name: "token 9990 extra params", method: "POST", path: "/oauth_token.do", body: passwordGrantForm(manyParams(9990)), opts: []reqOpt{formBody()}, wantStatus: 200, after: wantTokens},
		{name: "token 10000 extra params", method: "POST", path: "/oauth_token.do", body: passwordGrantForm(manyParams(10000)), opts: []reqOpt{formBody()}, wantStatus: 401, wantBody: string(genericTokenFailure),
			after: wantJournalReason("malformed or oversized form body")},
		{name: "token duplicate grant_type", method: "POST", path: "/oauth_token.do", body: passwordGrantForm("&grant_type=client_credentials"), opts: []reqOpt{formBody()}, wantStatus: 200, after: wantTokens},
		{name: "token duplicate grant_type rfc", rfc: true, method: "POST", path: "/oauth_token.do", body: passwordGrantForm("&grant_type=client_credentials"), opts: []reqOpt{formBody()},
			wantStatus: 400, wantBody: `{"error":"invalid_request","error_description":"a parameter is repeated"}`},
		{name: "token bad escape", method: "POST", path: "/oauth_token.do", body: passwordGrantForm("&x=%zz"), opts: []reqOpt{formBody()}, wantStatus: 401, wantBody: string(genericTokenFailure),
			after: wantJournalReason("malformed or oversized form body")},
		{name: "token invalid UTF-8 password", method: "POST", path: "/oauth_token.do", body: oaPasswordForm("admin", "\xff\xfe").Encode(), opts: []reqOpt{formBody()}, wantStatus: 401, wantBody: string(genericTokenFailure),
			after: wantJournalReason("wrong password")},
		{name: "token NUL in username", method: "POST", path: "/oauth_token.do", body: oaPasswordForm("admin\x00", "admin").Encode(), opts: []reqOpt{formBody()}, wantStatus: 401, wantBody: string(genericTokenFailure),
			after: wantJournalReason("no such user")},
		{name: "token malformed basic", method: "POST", path: "/oauth_token.do", body: "grant_type=client_credentials", opts: []reqOpt{formBody(), header("Authorization", "Basic !!!")}, wantStatus: 401, wantBody: string(genericTokenFailure),
			after: wantJournalReason("malformed Basic Authorization header")},
		{name: "token GET with secrets in the URL", method: "GET", path: "/oauth_token.do?" + oaPasswordForm("admin", "admin").Encode(), opts: []reqOpt{formBody()}, wantStatus: 401, wantBody: string(genericTokenFailure),
			after: wantJournalReason("method GET is not POST")},

		// Revocation and the control API.
		{name: "revoke huge body", method: "POST", path: "/oauth_revoke_token.do", body: "token=" + strings.Repeat("t", 2*maxTokenBody), opts: []reqOpt{formBody()}, wantStatus: 200, wantBody: ""},
		{name: "control body over limit", method: "POST", path: "/_fakesn/clock/advance", body: `{"seconds":1` + strings.Repeat(" ", 4<<10) + `}`, wantStatus: 400,
			wantMsg: "Control request failed", wantDetail: ptr("fakesn: bad control request body: http: request body too large")},
		{name: "control malformed JSON", method: "POST", path: "/_fakesn/faults", body: `{"action":`, wantStatus: 400,
			wantMsg: "Control request failed", wantDetail: ptr("fakesn: bad control request body: unexpected EOF")},
		{name: "control unknown field", method: "POST", path: "/_fakesn/hibernate", body: `{"on":true,"forever":true}`, wantStatus: 400,
			wantMsg: "Control request failed", wantDetail: ptr(`fakesn: bad control request body: json: unknown field "forever"`)},

		// What only a socket has: header limits and slow clients.
		{name: "headers over MaxHeaderBytes", socket: true, check: checkHugeHeaders},
		{name: "slow headers", socket: true, check: checkSlowHeaders},
		{name: "slow Table API body", socket: true, check: checkSlowBody("/api/now/table/incident", "application/json", 400,
			envelope("Exception while reading request", detailBadJSON))},
		{name: "slow token body", socket: true, check: checkSlowBody("/oauth_token.do", "application/x-www-form-urlencoded", 401,
			string(genericTokenFailure))},
	}
}

// envelope is the instance's error body.
func envelope(message string, detail *string) string {
	var w bytes.Buffer
	writeError(&bufferWriter{h: http.Header{}, b: &w}, &Error{Code: CodeBadRequest, Message: message, Detail: deref(detail)})
	return w.String()
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

type bufferWriter struct {
	h http.Header
	b *bytes.Buffer
}

func (w *bufferWriter) Header() http.Header         { return w.h }
func (w *bufferWriter) Write(p []byte) (int, error) { return w.b.Write(p) }
func (w *bufferWriter) WriteHeader(int)             {}

// Timeouts of the catalogue's socket server, short so slow clients are cut
// off in well under a second.
const (
	badReadHeaderTimeout = 300 * time.Millisecond
	badReadTimeout       = 500 * time.Millisecond
	badDrip              = 100 * time.Millisecond // one byte per badDrip
	badCutoff            = 5 * time.Second        // generous, for a loaded machine
)

func badInputOptions(rfc bool) Options {
	return Options{
		Clock:      NewFakeClock(tableStart),
		RFCErrors:  rfc,
		Properties: map[string]string{"glide.rest.max_content_length": "1"},
	}
}

// startBadInputServer starts a fake with the catalogue's limits.
func startBadInputServer(t *testing.T, socket, rfc bool) (*Server, *http.Client, string) {
	t.Helper()
	s, err := New(badInputOptions(rfc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.maxControlBody = 1 << 10
	if !socket {
		return s, &http.Client{Transport: s.Transport(), CheckRedirect: noRedirects}, "http://instance.test"
	}
	s.readHeaderTimeout, s.readTimeout = badReadHeaderTimeout, badReadTimeout
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s, &http.Client{Transport: s.transport(), CheckRedirect: noRedirects}, s.URL()
}

func TestBadInputCatalogue(t *testing.T) {
	t.Parallel()
	entries := badInputs()
	t.Logf("%d catalogue entries", len(entries))
	for _, tc := range transports {
		socket := tc.name == "socket"
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			type fake struct {
				s    *Server
				c    *http.Client
				base string
			}
			fakes := map[bool]*fake{} // by RFCErrors, started when first needed
			server := func(rfc bool) (*Server, *http.Client, string) {
				if fakes[rfc] == nil {
					s, c, base := startBadInputServer(t, socket, rfc)
					fakes[rfc] = &fake{s, c, base}
				}
				f := fakes[rfc]
				return f.s, f.c, f.base
			}
			for _, e := range entries {
				t.Run(e.name, func(t *testing.T) {
					if e.socket && !socket {
						t.Skip("needs a socket")
					}
					s, c, base := server(e.rfc)
					if e.check != nil {
						e.check(t, s, c, base)
					} else {
						w := send(t, c, e.method, base+e.path, e.body, e.opts...)
						switch {
						case e.wantMsg != "":
							wantError(t, w, e.wantStatus, e.wantMsg, e.wantDetail)
						case e.wantBody != "" || e.wantStatus == http.StatusOK && e.after == nil: // a 200 with nothing else to check has an empty body
							wantStatus(t, w, e.wantStatus)
							if w.body != e.wantBody {
								t.Errorf("body:\n got %.300q\nwant %.300q", w.body, e.wantBody)
							}
						default:
							wantStatus(t, w, e.wantStatus)
						}
						if w.header.Get("Server") != "ServiceNow" {
							t.Errorf("Server header: got %q, want ServiceNow", w.header.Get("Server"))
						}
						if e.after != nil {
							e.after(t, s, w)
						}
					}
					wantHealthy(t, s, c, base)
				})
			}
		})
	}
}

// wantHealthy checks that the fake still serves a normal request, on a new
// connection and on the same client.
func wantHealthy(t *testing.T, s *Server, c *http.Client, base string) {
	t.Helper()
	clients := []*http.Client{c}
	if strings.HasPrefix(base, "http://127.0.0.1:") {
		clients = append(clients, noJar(s.Client())) // a new connection too
	}
	for _, cl := range clients {
		w := send(t, cl, "GET", base+"/api/now/table/incident/"+inc1ID+"?sysparm_fields=number", "")
		if w.status != http.StatusOK || w.body != `{"result":{"number":"INC0000001"}}` {
			t.Fatalf("not healthy afterwards: %d %s", w.status, w.body)
		}
	}
	if err := s.Health(context.Background()); err != nil {
		t.Fatalf("not healthy afterwards: %v", err)
	}
}

// checkHugeHeaders sends a header block over MaxHeaderBytes: the server
// answers 431 before any handler runs.
func checkHugeHeaders(t *testing.T, s *Server, c *http.Client, base string) {
	req, _ := http.NewRequest(http.MethodGet, base+"/api/now/table/incident", nil)
	req.SetBasicAuth("admin", "admin")
	req.Header.Set("X-Padding", strings.Repeat("p", 80<<10))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("huge headers: %v, want a 431 answer", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("huge headers: got %d, want 431", resp.StatusCode)
	}
}

// drip writes data one byte per badDrip until the server answers or closes
// the connection, and returns what it answered and how much was written.
func drip(t *testing.T, conn net.Conn, data []byte) (answer []byte, written int) {
	t.Helper()
	buf := make([]byte, 4096)
	for written < len(data) {
		if _, err := conn.Write(data[written : written+1]); err != nil {
			return nil, written
		}
		written++
		// The read deadline paces the drip and notices a server that gave up.
		_ = conn.SetReadDeadline(time.Now().Add(badDrip))
		n, err := conn.Read(buf)
		if n > 0 {
			_ = conn.SetReadDeadline(time.Now().Add(badCutoff))
			rest, _ := io.ReadAll(conn)
			return append(buf[:n:n], rest...), written
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			continue
		}
		return nil, written // closed
	}
	return nil, written
}

// checkSlowHeaders sends request headers one byte per 100 ms: the server
// must close the connection after ReadHeaderTimeout, long before the
// headers are complete.
func checkSlowHeaders(t *testing.T, s *Server, c *http.Client, base string) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := []byte("GET /api/now/table/incident HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWRtaW46YWRtaW4=\r\nAccept: application/json\r\n\r\n")
	start := time.Now()
	answer, written := drip(t, conn, head)
	if written == len(head) || time.Since(start) > badCutoff {
		t.Fatalf("slow headers: the server read all %d bytes over %v without cutting the client off", written, time.Since(start))
	}
	// net/http closes the connection, with its own plain-text 400 or not.
	if len(answer) != 0 && !bytes.HasPrefix(answer, []byte("HTTP/1.1 400 Bad Request\r\n")) {
		t.Errorf("slow headers: got an answer %q, want net/http's 400 or the connection closed", answer)
	}
}

// checkSlowBody sends full headers, then the body one byte per 100 ms: the
// read fails at ReadTimeout and the handler answers as for a broken body,
// or the connection closes, long before the body is complete.
func checkSlowBody(path, ct string, status int, body string) func(*testing.T, *Server, *http.Client, string) {
	return func(t *testing.T, s *Server, c *http.Client, base string) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		payload := []byte(strings.Repeat(" ", 100))
		head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWRtaW46YWRtaW4=\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", path, ct, len(payload))
		if _, err := conn.Write([]byte(head)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		answer, written := drip(t, conn, payload)
		if written == len(payload) || time.Since(start) > badCutoff {
			t.Fatalf("slow body: the server read all %d bytes over %v without cutting the client off", written, time.Since(start))
		}
		t.Logf("cut off after %d of %d body bytes, %v", written, len(payload), time.Since(start).Round(time.Millisecond))
		if len(answer) == 0 {
			return // closed without an answer: also a cut-off
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(answer)), nil)
		if err != nil {
			t.Fatalf("slow body: answer %q: %v", answer, err)
		}
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != status || string(got) != body {
			t.Errorf("slow body: got %d %s, want %d %s", resp.StatusCode, got, status, body)
		}
	}
}
