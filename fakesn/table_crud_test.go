package fakesn

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTableGetRecordWire(t *testing.T) {
	t.Parallel()
	forEachTransport(t, clockOpts, func(t *testing.T, s *Server, c *http.Client, base string) {
		w := send(t, c, "GET", base+"/api/now/table/incident/"+inc1ID, "")
		wantStatus(t, w, 200)
		for k, want := range map[string]string{
			"Content-Type":   contentTypeJSON,
			"Server":         "ServiceNow",
			"X-Is-Logged-In": "true",
			"Cache-Control":  "no-cache,no-store,must-revalidate,max-age=-1",
		} {
			if got := w.header.Get(k); got != want {
				t.Errorf("%s: got %q, want %q", k, got, want)
			}
		}
		if !slices.ContainsFunc(w.header.Values("Set-Cookie"), func(c string) bool { return strings.HasPrefix(c, "JSESSIONID=") }) {
			t.Errorf("Set-Cookie: no JSESSIONID in %q", w.header.Values("Set-Cookie"))
		}
		if w.header.Get("X-Total-Count") != "" || w.header.Get("Link") != "" {
			t.Errorf("a single record has no pagination headers: %v", w.header)
		}
		rec := decode[oneResult](t, w.body).Result
		want := map[string]any{
			"sys_id":         inc1ID,
			"number":         "INC0000001",
			"active":         "false",
			"priority":       "1",
			"state":          "7",
			"caller_id":      map[string]any{"link": base + "/api/now/table/sys_user/" + employeeID, "value": employeeID},
			"sys_domain":     map[string]any{"link": base + "/api/now/table/sys_user_group/global", "value": "global"},
			"parent":         "",
			"work_notes":     "",
			"sys_mod_count":  "6",
			"sys_class_name": "incident",
		}
		got := map[string]any{}
		for k := range want {
			got[k] = rec[k]
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("record (-want +got):\n%s", d)
		}
		if len(rec) < 50 {
			t.Errorf("record has %d fields, want every incident field", len(rec))
		}
		if _, ok := rec["session"]; ok {
			t.Error("record has a session key")
		}
	})
}

func TestTableListIncludesChildTables(t *testing.T) {
	t.Parallel()
	forEachTransport(t, clockOpts, func(t *testing.T, s *Server, c *http.Client, base string) {
		w := send(t, c, "GET", base+"/api/now/table/task?sysparm_fields=number,sys_class_name,caller_id", "")
		wantStatus(t, w, 200)
		if got, want := w.header.Get("X-Total-Count"), "77"; got != want {
			t.Errorf("X-Total-Count: got %s, want %s", got, want)
		}
		classes := map[string]int{}
		for _, r := range decode[listResult](t, w.body).Result {
			classes[r["sys_class_name"].(string)]++
			if _, ok := r["caller_id"]; ok {
				t.Fatalf("task record has incident's caller_id: %v", r)
			}
		}
		if d := cmp.Diff(map[string]int{"incident": seedIncidents, "problem": seedProblems}, classes); d != "" {
			t.Errorf("classes (-want +got):\n%s", d)
		}
		// A child record read through its parent table shows the parent's fields.
		one := decode[oneResult](t, send(t, c, "GET", base+"/api/now/table/task/"+inc1ID, "").body).Result
		if _, ok := one["caller_id"]; ok || one["sys_class_name"] != "incident" {
			t.Errorf("task/%s: got %v, want task fields with sys_class_name incident", inc1ID, one)
		}
	})
}

func TestTableCreate(t *testing.T) {
	t.Parallel()
	forEachTransport(t, clockOpts, func(t *testing.T, s *Server, c *http.Client, base string) {
		body := `{"short_description":"Printer on fire","caller_id":"` + employeeID + `","priority":2,"active":true,"u_bogus":"ignored","sys_created_by":"mallory","sys_class_name":"problem"}`
		w := send(t, c, "POST", base+"/api/now/table/incident", body, as("itil"))
		wantStatus(t, w, 201)
		rec := decode[oneResult](t, w.body).Result
		id, _ := rec["sys_id"].(string)
		if len(id) != 32 {
			t.Fatalf("sys_id %q is not 32 hex", id)
		}
		if got, want := w.header.Get("Location"), base+"/api/now/table/incident/"+id; got != want {
			t.Errorf("Location: got %q, want %q", got, want)
		}
		want := map[string]any{
			"number": "INC0010001", "short_description": "Printer on fire", "priority": "2", "active": "true",
			"opened_by":      map[string]any{"link": base + "/api/now/table/sys_user/681b365ec0a80164000fb0b05854a0cd", "value": "681b365ec0a80164000fb0b05854a0cd"},
			"caller_id":      map[string]any{"link": base + "/api/now/table/sys_user/" + employeeID, "value": employeeID},
			"sys_created_by": "itil", "sys_updated_by": "itil", "sys_mod_count": "0",
			"sys_created_on": "2026-03-02 10:00:00", "opened_at": "2026-03-02 10:00:00",
			"sys_class_name": "incident", "state": "1", "urgency": "3",
		}
		got := map[string]any{}
		for k := range want {
			got[k] = rec[k]
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("created record (-want +got):\n%s", d)
		}
		if _, ok := rec["u_bogus"]; ok {
			t.Error("unknown field came back")
		}
		again := decode[oneResult](t, send(t, c, "GET", base+"/api/now/table/incident/"+id, "").body).Result
		if again["number"] != "INC0010001" {
			t.Errorf("GET after POST: got %v", again["number"])
		}
		// Unknown fields are ignored silently: nothing is reported.
		if u, _ := s.Unexpected(t.Context()); len(u) != 0 {
			t.Errorf("unexpected: %+v", u)
		}
	})
}

func TestTableCreateArrayUsesFirstElement(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		w := send(t, c, "POST", base+"/api/now/table/incident", `[{"short_description":"first"},{"short_description":"second"}]`)
		wantStatus(t, w, 201)
		if got := decode[oneResult](t, w.body).Result["short_description"]; got != "first" {
			t.Errorf("short_description: got %v, want first", got)
		}
		n := decode[listResult](t, send(t, c, "GET", base+"/api/now/table/incident?sysparm_query=short_description=second", "").body)
		if len(n.Result) != 0 {
			t.Errorf("second element was inserted: %d records", len(n.Result))
		}
	})
}

func TestTableCreateDuplicateSysID(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		w := send(t, c, "POST", base+"/api/now/table/incident", `{"sys_id":"`+inc1ID+`","number":"INC9"}`)
		wantError(t, w, 403, "Operation Failed", ptr("Error during insert of incident (INC9)"))
	})
}

func TestTableUpdatePutAndPatch(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"PUT", "PATCH"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			forEachTransport(t, clockOpts, func(t *testing.T, s *Server, c *http.Client, base string) {
				url := base + "/api/now/table/incident/" + inc1ID
				s.clock.(*FakeClock).Advance(90 * time.Second)
				w := send(t, c, method, url, `{"short_description":"Changed","sys_mod_count":"99","number":"INC0000001"}`, as("itil"))
				wantStatus(t, w, 200)
				rec := decode[oneResult](t, w.body).Result
				want := map[string]any{
					"short_description": "Changed", "sys_mod_count": "7", "sys_updated_by": "itil",
					"description": "User reports: Can't read email. Started this morning; other users on the same floor may be affected.",
					"state":       "7", "sys_created_by": "beth.anglin", "sys_updated_on": "2026-03-02 10:01:30",
				}
				got := map[string]any{}
				for k := range want {
					got[k] = rec[k]
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("%s is a partial update (-want +got):\n%s", method, d)
				}
				// Nothing changes: nothing is written, as GlideRecord.update.
				w = send(t, c, method, url, `{"short_description":"Changed"}`)
				if rec := decode[oneResult](t, w.body).Result; rec["sys_mod_count"] != "7" || rec["sys_updated_by"] != "itil" {
					t.Errorf("no-op %s: sys_mod_count %v, sys_updated_by %v; want 7, itil", method, rec["sys_mod_count"], rec["sys_updated_by"])
				}
			})
		})
	}
}

func TestTableDelete(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		url := base + "/api/now/table/incident/" + inc1ID
		w := send(t, c, "DELETE", url, "")
		wantStatus(t, w, 204)
		if w.body != "" || w.header.Get("Content-Type") != "" {
			t.Errorf("204: body %q, Content-Type %q; want neither", w.body, w.header.Get("Content-Type"))
		}
		wantError(t, send(t, c, "GET", url, ""), 404, "No Record found", ptr("Record doesn't exist or ACL restricts the record retrieval"))
		wantError(t, send(t, c, "DELETE", url, ""), 404, "No Record found", ptr("Record doesn't exist or ACL restricts the record retrieval"))
	})
}

func TestTableHead(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		for _, path := range []string{"/api/now/table/incident?sysparm_limit=5", "/api/now/table/incident/" + inc1ID} {
			get := send(t, c, "GET", base+path, "")
			head := send(t, c, "HEAD", base+path, "")
			wantStatus(t, head, 200)
			if head.body != "" {
				t.Errorf("HEAD %s: body %q", path, head.body)
			}
			for _, k := range []string{"Content-Type", "Content-Length", "X-Total-Count", "Link"} {
				if g, h := get.header.Get(k), head.header.Get(k); g != h {
					t.Errorf("HEAD %s: %s %q, GET has %q", path, k, h, g)
				}
			}
		}
	})
}

func TestTableNoResponseBody(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		w := send(t, c, "POST", base+"/api/now/table/incident", `{"short_description":"quiet"}`, header("X-no-response-body", "true"))
		wantStatus(t, w, 201)
		if w.body != "" || w.header.Get("Location") == "" {
			t.Errorf("POST: body %q, Location %q; want no body and a Location", w.body, w.header.Get("Location"))
		}
		w = send(t, c, "PATCH", base+"/api/now/table/incident/"+inc1ID, `{"short_description":"quiet"}`, header("X-no-response-body", "TRUE"))
		wantStatus(t, w, 200)
		if w.body != "" {
			t.Errorf("PATCH: body %q, want none", w.body)
		}
	})
}

func TestTableMethodOverride(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		w := send(t, c, "POST", base+"/api/now/table/incident/"+inc1ID, `{"short_description":"tunnelled"}`,
			header("X-HTTP-Method-Override", "PATCH"))
		wantStatus(t, w, 200)
		if got := decode[oneResult](t, w.body).Result["short_description"]; got != "tunnelled" {
			t.Errorf("short_description: got %v", got)
		}
		wantStatus(t, send(t, c, "POST", base+"/api/now/table/incident/"+inc1ID, "", header("X-HTTP-Method-Override", "DELETE")), 204)
	})
}

func TestTableVersions(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		empty := "?sysparm_query=number=NOPE"
		for _, tc := range []struct {
			name   string
			prefix string
		}{
			{"latest", "/api/now/table"},
			{"v2", "/api/now/v2/table"},
		} {
			w := send(t, c, "GET", base+tc.prefix+"/incident"+empty, "")
			wantStatus(t, w, 200)
			if w.body != `{"result":[]}` || w.header.Get("X-Total-Count") != "0" {
				t.Errorf("%s empty list: %s, X-Total-Count %q", tc.name, w.body, w.header.Get("X-Total-Count"))
			}
		}
		wantError(t, send(t, c, "GET", base+"/api/now/v1/table/incident"+empty, ""), 404, "No Record found",
			ptr("Records matching query not found. Check query parameter or offset parameter"))
		wantError(t, send(t, c, "GET", base+"/api/now/v1/table/incident?sysparm_offset=1000", ""), 404, "No Record found",
			ptr("Records matching query not found. Check query parameter or offset parameter"))
		// v1 and v2 otherwise answer like the latest version, links unversioned.
		for _, prefix := range []string{"/api/now/v1/table", "/api/now/v2/table"} {
			w := send(t, c, "GET", base+prefix+"/incident/"+inc1ID, "")
			wantStatus(t, w, 200)
			rec := decode[oneResult](t, w.body).Result
			if d := cmp.Diff(map[string]any{"link": base + "/api/now/table/sys_user/" + employeeID, "value": employeeID}, rec["caller_id"]); d != "" {
				t.Errorf("%s caller_id (-want +got):\n%s", prefix, d)
			}
			w = send(t, c, "POST", base+prefix+"/incident", `{"short_description":"v"}`)
			wantStatus(t, w, 201)
			if loc := w.header.Get("Location"); !strings.HasPrefix(loc, base+"/api/now/table/incident/") {
				t.Errorf("%s Location %q is not absolute and unversioned", prefix, loc)
			}
		}
	})
}

func TestTableResponseHasNoSessionObject(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		for _, url := range []string{"/api/now/table/incident?sysparm_limit=1", "/api/now/table/incident/" + inc1ID} {
			w := send(t, c, "GET", base+url, "", header("X-WantSessionDebugMessages", "true"))
			if strings.Contains(w.body, `"session"`) {
				t.Errorf("%s: body has a session object: %s", url, w.body)
			}
		}
	})
}

func TestTableSessionCookieAuthenticates(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		wantStatus(t, send(t, c, "GET", base+"/api/now/table/sys_user?sysparm_limit=1", "", as("itil")), 200)
		// The jar sends the session cookies back; no credentials needed.
		w := send(t, c, "POST", base+"/api/now/table/incident", `{"short_description":"by cookie"}`, anonymous())
		wantStatus(t, w, 201)
		if got := decode[oneResult](t, w.body).Result["sys_created_by"]; got != "itil" {
			t.Errorf("sys_created_by: got %v, want itil", got)
		}
	})
}
