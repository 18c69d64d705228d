package fakesn

import (
	"net/http"
	"strings"
	"testing"
)

// The rows of servicenow-spec §5.6 the Table API answers itself, on the raw
// wire. (429 belongs to ratelimit_test.go, the scope 403 to scope_test.go.)

func TestTableErrorNotAuthenticated(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		c = noJar(c)
		for _, tc := range []struct {
			name string
			opts []reqOpt
		}{
			{"no credentials", []reqOpt{anonymous()}},
			{"wrong password", []reqOpt{func(r *http.Request) { r.SetBasicAuth("admin", "nope") }}},
			{"unknown user", []reqOpt{func(r *http.Request) { r.SetBasicAuth("nobody", "x") }}},
			{"bad bearer", []reqOpt{header("Authorization", "Bearer not-a-token")}},
			{"bad access_token param", []reqOpt{anonymous()}},
			{"unknown scheme", []reqOpt{header("Authorization", "Digest abc")}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				url := base + "/api/now/table/incident"
				if tc.name == "bad access_token param" {
					url += "?access_token=nope"
				}
				for _, method := range []string{"GET", "POST", "DELETE"} {
					u := url
					if method == "DELETE" {
						u = base + "/api/now/table/incident/" + inc1ID
					}
					w := send(t, c, method, u, `{"short_description":"x"}`, tc.opts...)
					wantError(t, w, 401, "User Not Authenticated", ptr("Required to provide Auth information"))
					if got := w.header.Get("WWW-Authenticate"); got != `Basic realm="Service-now"` {
						t.Errorf("WWW-Authenticate: got %q", got)
					}
					if w.header.Get("X-Is-Logged-In") != "" {
						t.Errorf("X-Is-Logged-In on a 401: %q", w.header.Get("X-Is-Logged-In"))
					}
					cleared := false
					for _, ck := range w.header.Values("Set-Cookie") {
						cleared = cleared || strings.HasPrefix(ck, "glide_user_session=; Max-Age=0")
					}
					if !cleared {
						t.Errorf("Set-Cookie: got %q, want the cleared glide_user_session", w.header.Values("Set-Cookie"))
					}
				}
			})
		}
		// Nothing was written by the refused POSTs.
		w := send(t, c, "GET", base+"/api/now/table/incident?sysparm_query=short_description=x", "")
		if w.body != `{"result":[]}` {
			t.Errorf("a refused POST wrote a record: %s", w.body)
		}
	})
}

func TestTableErrorInvalidTable(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		for _, tc := range []struct {
			name, method, path, body string
		}{
			{"list", "GET", "/api/now/table/u_nope", ""},
			{"list v1", "GET", "/api/now/v1/table/u_nope", ""},
			{"one", "GET", "/api/now/table/u_nope/" + inc1ID, ""},
			{"create", "POST", "/api/now/table/u_nope", `{"a":"b"}`},
			{"update", "PATCH", "/api/now/table/u_nope/" + inc1ID, `{"a":"b"}`},
			{"delete", "DELETE", "/api/now/v2/table/u_nope/" + inc1ID, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantError(t, send(t, c, tc.method, base+tc.path, tc.body), 400, "Invalid table u_nope", nil)
			})
		}
	})
}

func TestTableErrorNoRecord(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		missing := "/api/now/table/incident/00000000000000000000000000000000"
		for _, method := range []string{"GET", "PUT", "PATCH", "DELETE"} {
			t.Run(method, func(t *testing.T) {
				body := ""
				if method == "PUT" || method == "PATCH" {
					body = `{"short_description":"x"}`
				}
				wantError(t, send(t, c, method, base+missing, body), 404, "No Record found",
					ptr("Record doesn't exist or ACL restricts the record retrieval"))
			})
		}
	})
}

// unreadableIncidents hides INC0000001 from everyone but admin through a
// read ACL whose condition it fails.
func unreadableIncidents(t *testing.T, s *Server) {
	addACL(t, s, map[string]string{"name": "incident", "operation": "read", "condition": "number!=INC0000001", "active": "true"})
}

func TestTableErrorUnreadableRecord(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		unreadableIncidents(t, s)
		url := base + "/api/now/table/incident/" + inc1ID
		for _, method := range []string{"GET", "PUT", "PATCH", "DELETE"} {
			body := ""
			if method == "PUT" || method == "PATCH" {
				body = `{"short_description":"x"}`
			}
			wantError(t, send(t, c, method, url, body, as("itil")), 404, "No Record found",
				ptr("Record doesn't exist or ACL restricts the record retrieval"))
		}
		wantStatus(t, send(t, c, "GET", url, "", as("admin")), 200)
		// In a list the row is dropped after the limit: a short page.
		w := send(t, c, "GET", base+"/api/now/table/incident?sysparm_limit=3&sysparm_query=ORDERBYnumber", "", as("itil"))
		if got := len(resultIDs(t, w)); got != 2 || w.header.Get("X-Total-Count") != "65" {
			t.Errorf("page: got %d rows and X-Total-Count %s, want 2 and 65", got, w.header.Get("X-Total-Count"))
		}
	})
}

func TestTableErrorV1EmptyList(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		unreadableIncidents(t, s)
		// The only match is unreadable: v1 sees an empty page, v2 an empty result.
		q := "/incident?sysparm_query=number=INC0000001"
		wantError(t, send(t, c, "GET", base+"/api/now/v1/table"+q, "", as("itil")), 404, "No Record found",
			ptr("Records matching query not found. Check query parameter or offset parameter"))
		w := send(t, c, "GET", base+"/api/now/v2/table"+q, "", as("itil"))
		wantStatus(t, w, 200)
		if w.body != `{"result":[]}` || w.header.Get("X-Total-Count") != "1" {
			t.Errorf("v2: %s with X-Total-Count %q, want an empty result counting 1", w.body, w.header.Get("X-Total-Count"))
		}
	})
}

func TestTableErrorWriteACLs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, op, method, path, body, detail string
	}{
		{"insert", "create", "POST", "/api/now/table/incident", `{"short_description":"x"}`, "ACL Exception Insert Failed due to security constraints"},
		{"update put", "write", "PUT", "/api/now/table/incident/" + inc1ID, `{"short_description":"x"}`, "ACL Exception Update Failed due to security constraints"},
		{"update patch", "write", "PATCH", "/api/now/table/incident/" + inc1ID, `{"short_description":"x"}`, "ACL Exception Update Failed due to security constraints"},
		{"delete", "delete", "DELETE", "/api/now/table/incident/" + inc1ID, "", "ACL Exception Delete Failed due to security constraints"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
				addACL(t, s, map[string]string{"name": "incident", "operation": tc.op, "roles": "itil_admin", "active": "true"})
				wantError(t, send(t, c, tc.method, base+tc.path, tc.body, as("itil")), 403, "Operation Failed", ptr(tc.detail))
				// Validated before writing: the record is unchanged.
				w := send(t, c, "GET", base+"/api/now/table/incident?sysparm_query=short_description=x", "")
				if w.body != `{"result":[]}` {
					t.Errorf("a refused %s wrote: %s", tc.method, w.body)
				}
				wantStatus(t, send(t, c, "GET", base+"/api/now/table/incident/"+inc1ID, ""), 200)
				// Admin overrides the rule.
				if got := send(t, c, tc.method, base+tc.path, tc.body).status; got >= 300 {
					t.Errorf("admin %s: status %d", tc.method, got)
				}
			})
		})
	}
}

func TestTableErrorQueryACL(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		addACL(t, s, map[string]string{"name": "sys_user.email", "operation": "read", "roles": "admin", "active": "true"})
		for _, q := range []string{
			"/api/now/table/sys_user?sysparm_query=emailLIKEexample",
			"/api/now/table/sys_user?sysparm_query=active=true^ORemailISNOTEMPTY",
			"/api/now/table/sys_user?email=admin@example.com",
			"/api/now/table/incident?sysparm_query=caller_id.email=employee@example.com",
		} {
			wantError(t, send(t, c, "GET", base+q, "", as("itil")), 403, "Insufficient rights to query records",
				ptr("Field(s) present in the query do not have permission to be read"))
		}
		// The field is omitted from records, and querying other fields works.
		w := send(t, c, "GET", base+"/api/now/table/sys_user?sysparm_query=user_name=itil", "", as("itil"))
		wantStatus(t, w, 200)
		recs := decode[listResult](t, w.body).Result
		if len(recs) != 1 {
			t.Fatalf("got %d users, want 1", len(recs))
		}
		if _, ok := recs[0]["email"]; ok {
			t.Errorf("unreadable email returned: %v", recs[0]["email"])
		}
		w = send(t, c, "GET", base+"/api/now/table/incident/"+inc1ID+"?sysparm_fields=number,caller_id.email", "", as("itil"))
		if w.body != `{"result":{"number":"INC0000001"}}` {
			t.Errorf("dot-walk to an unreadable field: got %s", w.body)
		}
	})
}

func TestTableErrorMethodNotAllowed(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		for _, tc := range []struct{ method, path string }{
			{"POST", "/api/now/table/incident/" + inc1ID},
			{"PUT", "/api/now/table/incident"},
			{"PATCH", "/api/now/table/incident"},
			{"DELETE", "/api/now/table/incident"},
			{"OPTIONS", "/api/now/table/incident"},
			{"TRACE", "/api/now/table/incident/" + inc1ID},
		} {
			wantError(t, send(t, c, tc.method, base+tc.path, ""), 405, "Method not Supported",
				ptr(tc.method+" method not supported for API"))
		}
	})
}

func TestTableErrorContentNegotiation(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		url := base + "/api/now/table/incident?sysparm_limit=1"
		for _, accept := range []string{"", "*/*", "application/json", "application/json;charset=UTF-8",
			"text/html, application/json;q=0.9", "application/vnd.api+json", "application/*"} {
			if w := send(t, c, "GET", url, "", header("Accept", accept)); w.status != 200 {
				t.Errorf("Accept %q: status %d, want 200", accept, w.status)
			}
		}
		for _, accept := range []string{"application/xml", "text/html", "text/plain", "application/json;q=0"} {
			wantError(t, send(t, c, "GET", url, "", header("Accept", accept)), 406,
				"Requested response content type is not supported", ptr("Supported response formats: application/json"))
		}
		post := base + "/api/now/table/incident"
		for _, ct := range []string{"application/xml", "text/plain", "application/x-www-form-urlencoded"} {
			wantError(t, send(t, c, "POST", post, `{"short_description":"x"}`, header("Content-Type", ct)), 415,
				"Requested request content type is not supported",
				ptr("Content-Type "+ct+" is not supported; supported request formats: application/json"))
		}
		for _, ct := range []string{"", "application/json; charset=utf-8", "application/merge-patch+json"} {
			if w := send(t, c, "POST", post, `{"short_description":"y"}`, header("Content-Type", ct)); w.status != 201 {
				t.Errorf("Content-Type %q: status %d, want 201", ct, w.status)
			}
		}
		reasons := unexpectedReasons(t, s)
		if !strings.Contains(reasons, "XML responses are not modelled") || !strings.Contains(reasons, "XML request bodies are not modelled") {
			t.Errorf("XML not reported as unexpected: %s", reasons)
		}
	})
}

func TestTableErrorMalformedJSON(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		for _, body := range []string{`{`, `{"a":}`, `"text"`, `42`, `[1,2]`, `{"a":"b"} trailing`, `nul`} {
			for _, tc := range []struct{ method, path string }{
				{"POST", "/api/now/table/incident"},
				{"PATCH", "/api/now/table/incident/" + inc1ID},
			} {
				wantError(t, send(t, c, tc.method, base+tc.path, body), 400, "Exception while reading request",
					ptr("The payload is not valid JSON."))
			}
		}
	})
}

func TestTableErrorPayloadTooLarge(t *testing.T) {
	t.Parallel()
	opts := func() Options { return Options{Properties: map[string]string{"glide.rest.max_content_length": "1"}} }
	forEachTransport(t, opts, func(t *testing.T, s *Server, c *http.Client, base string) {
		big := `{"description":"` + strings.Repeat("x", 1<<20) + `"}`
		wantError(t, send(t, c, "POST", base+"/api/now/table/incident", big), 413, "Exception while reading request",
			ptr("Rejected large REST payload with content-length = 1048594 bytes. Max allowed: 1048576 bytes."))
		// Just under the limit is fine.
		ok := `{"description":"` + strings.Repeat("x", 1<<20-18) + `"}`
		wantStatus(t, send(t, c, "POST", base+"/api/now/table/incident", ok), 201)
	})
}

// unexpectedReasons joins the reasons of the fake's unexpected-request log.
func unexpectedReasons(t *testing.T, s *Server) string {
	t.Helper()
	u, err := s.Unexpected(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, x := range u {
		b.WriteString(x.Reason)
		b.WriteByte('\n')
	}
	return b.String()
}
