package fakesn

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseTableParams(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		raw  string
		want tableParams
	}{
		{"defaults", "", tableParams{Limit: 10000}},
		{"empty values are defaults", "sysparm_limit=&sysparm_offset=&sysparm_display_value=&sysparm_fields=&sysparm_no_count=",
			tableParams{Limit: 10000}},
		{"booleans in any case", "sysparm_exclude_reference_link=TRUE&sysparm_no_count=True&sysparm_suppress_pagination_header=tRuE&sysparm_input_display_value=true&sysparm_query_no_domain=true",
			tableParams{Limit: 10000, ExcludeRef: true, NoCount: true, NoLink: true, InputDV: true, NoDomain: true}},
		{"other boolean words are false", "sysparm_exclude_reference_link=1&sysparm_no_count=yes&sysparm_suppress_pagination_header=on",
			tableParams{Limit: 10000}},
		{"display true", "sysparm_display_value=TRUE", tableParams{Limit: 10000, Display: displayTrue}},
		{"display all", "sysparm_display_value=All", tableParams{Limit: 10000, Display: displayAll}},
		{"display garbage", "sysparm_display_value=both", tableParams{Limit: 10000}},
		{"numbers", "sysparm_limit=25&sysparm_offset=50", tableParams{Limit: 25, Offset: 50}},
		{"garbage numbers", "sysparm_limit=ten&sysparm_offset=1.5", tableParams{Limit: 10000}},
		{"zero and negative", "sysparm_limit=0&sysparm_offset=-5", tableParams{Limit: 10000}},
		{"negative limit", "sysparm_limit=-1", tableParams{Limit: 10000}},
		{"spaces around numbers", "sysparm_limit=%2020%20", tableParams{Limit: 20}},
		{"fields", "sysparm_fields=number,+short_description+,,caller_id.email",
			tableParams{Limit: 10000, HasFields: true, Fields: []string{"number", "short_description", "caller_id.email"}}},
		{"fields of only commas", "sysparm_fields=,+,", tableParams{Limit: 10000}},
		{"first value counts", "sysparm_limit=5&sysparm_limit=7", tableParams{Limit: 5}},
		{"filters in order", "priority=1&active=true&sysparm_limit=2&access_token=secret",
			tableParams{Limit: 2, Filters: []nameValue{{"priority", "1"}, {"active", "true"}}}},
		{"unknown sysparm", "sysparm_foo=1&sysparm_ck=abc", tableParams{Limit: 10000, Unknown: []string{"sysparm_foo", "sysparm_ck"}}},
		{"accepted without effect", "sysparm_query_category=cat&sysparm_view=mobile", tableParams{Limit: 10000, View: "mobile"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q, _ := url.ParseQuery(tc.raw)
			got := parseTableParams(q, queryOrder(tc.raw))
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(tableParams{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// listNumbers lists the number field of a list answer.
func listNumbers(t *testing.T, w wire) []string {
	t.Helper()
	var out []string
	for _, r := range decode[listResult](t, w.body).Result {
		out = append(out, r["number"].(string))
	}
	return out
}

func TestTableSysparmQuery(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		for _, tc := range []struct {
			name  string
			query string
			total int
			first []string
		}{
			{"filter", "active=true^priority=1", 7, nil},
			{"or", "priority=1^ORpriority=2", 27, nil},
			{"order", "active=true^priority=1^ORDERBYnumber", 7, []string{"INC0000002", "INC0000003", "INC0000007"}},
			{"order desc", "ORDERBYDESCnumber", 65, []string{"INC0000065", "INC0000064"}},
			{"dot-walk", "caller_id.user_name=employee^ORDERBYnumber", 5, []string{"INC0000001", "INC0000017"}},
			{"invalid condition dropped", "u_typo=1^priority=1", 16, nil},
			{"all invalid returns everything", "u_typo=1", 65, nil},
			{"empty", "", 65, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w := send(t, c, "GET", base+"/api/now/table/incident?sysparm_fields=number&sysparm_query="+url.QueryEscape(tc.query), "")
				wantStatus(t, w, 200)
				if got := w.header.Get("X-Total-Count"); got != strconv.Itoa(tc.total) {
					t.Errorf("X-Total-Count: got %s, want %d", got, tc.total)
				}
				if got := listNumbers(t, w); len(tc.first) > 0 && !slices.Equal(got[:len(tc.first)], tc.first) {
					t.Errorf("order: got %v, want it to start with %v", got, tc.first)
				}
			})
		}
		if r := unexpectedReasons(t, s); r != "" {
			t.Errorf("unexpected: %s", r)
		}
		// A form the fake does not model is dropped like an invalid term and reported.
		w := send(t, c, "GET", base+"/api/now/table/incident?sysparm_query="+url.QueryEscape("123TEXTQUERY321=email^priority=1"), "")
		if got := w.header.Get("X-Total-Count"); got != "16" {
			t.Errorf("X-Total-Count: got %s, want 16", got)
		}
		if r := unexpectedReasons(t, s); !strings.Contains(r, "sysparm_query:") {
			t.Errorf("unsupported term not reported: %q", r)
		}
	})
}

func TestTableInvalidQueryReturnsNoRows(t *testing.T) {
	t.Parallel()
	opts := func() Options {
		return Options{Properties: map[string]string{"glide.invalid_query.returns_no_rows": "true"}}
	}
	forEachTransport(t, opts, func(t *testing.T, s *Server, c *http.Client, base string) {
		w := send(t, c, "GET", base+"/api/now/table/incident?sysparm_query=u_typo=1^priority=1", "")
		if w.body != `{"result":[]}` || w.header.Get("X-Total-Count") != "0" {
			t.Errorf("got %s, X-Total-Count %s; want no rows", w.body, w.header.Get("X-Total-Count"))
		}
		// The property is read per request: an admin can switch it back.
		var propID string
		for _, r := range decode[listResult](t, send(t, c, "GET", base+"/api/now/table/sys_properties?name=glide.invalid_query.returns_no_rows", "").body).Result {
			propID = r["sys_id"].(string)
		}
		wantStatus(t, send(t, c, "PATCH", base+"/api/now/table/sys_properties/"+propID, `{"value":"false"}`), 200)
		w = send(t, c, "GET", base+"/api/now/table/incident?sysparm_query=u_typo=1^priority=1", "")
		if got := w.header.Get("X-Total-Count"); got != "16" {
			t.Errorf("after the change: X-Total-Count %s, want 16", got)
		}
	})
}

func TestTableNameValueFilters(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		for _, tc := range []struct {
			name  string
			query string
			total string
		}{
			{"anded", "active=true&priority=1", "7"},
			{"boolean any case", "active=TRUE&priority=1", "7"},
			{"choice label", "state=closed", "25"},
			{"choice value", "state=7", "25"},
			{"reference by sys_id", "caller_id=" + employeeID, "5"},
			{"reference by display value", "caller_id=" + url.QueryEscape("Joe Employee"), "5"},
			{"dot-walk", "caller_id.user_name=employee", "5"},
			{"combined with sysparm_query", "sysparm_query=priority=1&active=true", "7"},
			{"unknown field ignored", "u_nope=1&priority=1", "16"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w := send(t, c, "GET", base+"/api/now/table/incident?sysparm_fields=number&"+tc.query, "")
				wantStatus(t, w, 200)
				if got := w.header.Get("X-Total-Count"); got != tc.total {
					t.Errorf("X-Total-Count: got %s, want %s", got, tc.total)
				}
			})
		}
		if r := unexpectedReasons(t, s); r != "name-value filter on unknown field u_nope ignored\n" {
			t.Errorf("unexpected: %q", r)
		}
	})
}

func TestTableSysparmFields(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		for _, tc := range []struct {
			name, fields, want string
		}{
			{"subset in request order", "short_description,number", `{"result":{"short_description":"Can't read email","number":"INC0000001"}}`},
			{"unknown dropped", "number,u_nope,caller_id.u_nope", `{"result":{"number":"INC0000001"}}`},
			{"all unknown", "u_nope", `{"result":{}}`},
			{"dot-walk flat key", "caller_id.email,caller_id.manager", `{"result":{"caller_id.email":"employee@example.com","caller_id.manager":{"link":"` + base + `/api/now/table/sys_user/46c6f9efa9fe198101ddf5eed9adf6e7","value":"46c6f9efa9fe198101ddf5eed9adf6e7"}}}`},
			{"duplicates once", "number,number", `{"result":{"number":"INC0000001"}}`},
			{"spaces trimmed", " number , active ", `{"result":{"number":"INC0000001","active":"false"}}`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w := send(t, c, "GET", base+"/api/now/table/incident/"+inc1ID+"?sysparm_fields="+url.QueryEscape(tc.fields), "")
				wantStatus(t, w, 200)
				if w.body != tc.want {
					t.Errorf("body:\n got %s\nwant %s", w.body, tc.want)
				}
			})
		}
		// Writes honour sysparm_fields in their answer.
		w := send(t, c, "POST", base+"/api/now/table/incident?sysparm_fields=number,short_description", `{"short_description":"f"}`)
		if w.body != `{"result":{"number":"INC0010001","short_description":"f"}}` {
			t.Errorf("POST: %s", w.body)
		}
	})
}

func TestTableSysparmLimitOffset(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		page := func(q string) []string {
			return listNumbers(t, send(t, c, "GET", base+"/api/now/table/incident?sysparm_fields=number&sysparm_query=ORDERBYnumber&"+q, ""))
		}
		if got := page("sysparm_limit=2&sysparm_offset=3"); !slices.Equal(got, []string{"INC0000004", "INC0000005"}) {
			t.Errorf("limit 2 offset 3: %v", got)
		}
		if got := page("sysparm_limit=2&sysparm_offset=-4"); !slices.Equal(got, []string{"INC0000001", "INC0000002"}) {
			t.Errorf("negative offset: %v, want the first page", got)
		}
		if got := page("sysparm_limit=abc&sysparm_offset=xyz"); len(got) != 65 || got[0] != "INC0000001" {
			t.Errorf("garbage limit and offset: %d rows from %v, want all from the start", len(got), got[:1])
		}
		if got := page("sysparm_offset=64"); !slices.Equal(got, []string{"INC0000065"}) {
			t.Errorf("offset 64: %v", got)
		}
		if got := page("sysparm_offset=500"); len(got) != 0 {
			t.Errorf("offset past the end: %v", got)
		}
	})
}

func TestTableSysparmLimitDefault(t *testing.T) {
	t.Parallel()
	forEachTransport(t, pagedOpts, func(t *testing.T, s *Server, c *http.Client, base string) {
		// Big enough for the parallel scan (parallelScanRows).
		const n = 20001
		insertRows(t, s, "u_page", n, func(i int) map[string]string { return map[string]string{"u_name": strconv.Itoa(i)} })
		w := send(t, c, "GET", base+"/api/now/table/u_page?sysparm_fields=u_name", "")
		if got := len(decode[listResult](t, w.body).Result); got != 10000 || w.header.Get("X-Total-Count") != "20001" {
			t.Errorf("got %d rows, X-Total-Count %s; want 10000 of 20001", got, w.header.Get("X-Total-Count"))
		}
		want := `<` + base + `/api/now/table/u_page?sysparm_fields=u_name&sysparm_offset=0>;rel="first",` +
			`<` + base + `/api/now/table/u_page?sysparm_fields=u_name&sysparm_offset=10000>;rel="next",` +
			`<` + base + `/api/now/table/u_page?sysparm_fields=u_name&sysparm_offset=20000>;rel="last"`
		if got := w.header.Get("Link"); got != want {
			t.Errorf("Link:\n got %s\nwant %s", got, want)
		}
		// Matches from every part of the table come back in the store's order.
		w = send(t, c, "GET", base+"/api/now/table/u_page?sysparm_fields=u_name&sysparm_query=u_nameENDSWITH7", "")
		var got []string
		for _, r := range decode[listResult](t, w.body).Result {
			got = append(got, r["u_name"].(string))
		}
		var wantNames []string
		for i := 7; i < n; i += 10 {
			wantNames = append(wantNames, strconv.Itoa(i))
		}
		if !slices.Equal(got, wantNames) {
			t.Errorf("got %d names, want %d in insertion order", len(got), len(wantNames))
		}
	})
}

func TestTableSysparmCountAndPaginationHeaders(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		for _, tc := range []struct {
			name, query string
			count, link bool
		}{
			{"default", "sysparm_limit=10", true, true},
			{"no count", "sysparm_limit=10&sysparm_no_count=true", false, false},
			{"no count false", "sysparm_limit=10&sysparm_no_count=false", true, true},
			{"suppress pagination header", "sysparm_limit=10&sysparm_suppress_pagination_header=true", true, false},
			{"both", "sysparm_limit=10&sysparm_no_count=TRUE&sysparm_suppress_pagination_header=TRUE", false, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w := send(t, c, "GET", base+"/api/now/table/incident?"+tc.query, "")
				wantStatus(t, w, 200)
				if got := len(resultIDs(t, w)); got != 10 {
					t.Errorf("%d rows, want 10", got)
				}
				_, hasCount := w.header["X-Total-Count"]
				_, hasLink := w.header["Link"]
				if hasCount != tc.count || hasLink != tc.link {
					t.Errorf("X-Total-Count present %v (want %v), Link present %v (want %v)", hasCount, tc.count, hasLink, tc.link)
				}
			})
		}
	})
}

func TestTableSysparmAcceptedWithoutEffect(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		plain := send(t, c, "GET", base+"/api/now/table/incident?sysparm_limit=3", "")
		for _, q := range []string{"sysparm_query_category=reporting", "sysparm_query_no_domain=true"} {
			w := send(t, c, "GET", base+"/api/now/table/incident?sysparm_limit=3&"+q, "")
			if w.status != 200 || w.body != plain.body {
				t.Errorf("%s changed the answer: %d %s", q, w.status, w.body)
			}
		}
		if r := unexpectedReasons(t, s); r != "" {
			t.Errorf("documented parameters reported as unexpected: %s", r)
		}
		// sysparm_view needs UI views the fake does not have: every field, reported.
		w := send(t, c, "GET", base+"/api/now/table/incident?sysparm_limit=3&sysparm_view=mobile", "")
		if w.body != plain.body {
			t.Errorf("sysparm_view changed the answer")
		}
		if r := unexpectedReasons(t, s); r != "sysparm_view is not modelled: every field returned\n" {
			t.Errorf("unexpected: %q", r)
		}
		// sysparm_fields wins over sysparm_view, and then nothing is missing.
		_ = s.ClearUnexpected(t.Context())
		send(t, c, "GET", base+"/api/now/table/incident?sysparm_limit=3&sysparm_view=mobile&sysparm_fields=number", "")
		if r := unexpectedReasons(t, s); r != "" {
			t.Errorf("unexpected: %q", r)
		}
		// Unknown sysparm_* are accepted, ignored and reported.
		w = send(t, c, "GET", base+"/api/now/table/incident?sysparm_limit=3&sysparm_foo=bar", "")
		if w.status != 200 || w.body != plain.body {
			t.Errorf("sysparm_foo: %d", w.status)
		}
		if r := unexpectedReasons(t, s); r != "unknown Table API parameter sysparm_foo ignored\n" {
			t.Errorf("unexpected: %q", r)
		}
	})
}

func TestTableSysparmInputDisplayValue(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		body := `{"short_description":"by display","caller_id":"Joe Employee","assignment_group":"service desk","state":"In Progress","priority":"2 - High","user_password":"x"}`
		w := send(t, c, "POST", base+"/api/now/table/incident?sysparm_input_display_value=true&sysparm_exclude_reference_link=true", body)
		wantStatus(t, w, 201)
		rec := decode[oneResult](t, w.body).Result
		want := map[string]any{"caller_id": employeeID, "assignment_group": serviceDeskID, "state": "2", "priority": "2"}
		got := map[string]any{}
		for k := range want {
			got[k] = rec[k]
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("with input display values (-want +got):\n%s", d)
		}
		// Without it, values are stored as given.
		w = send(t, c, "PATCH", base+"/api/now/table/incident/"+rec["sys_id"].(string)+"?sysparm_exclude_reference_link=true", `{"caller_id":"Joe Employee","state":"In Progress"}`)
		rec = decode[oneResult](t, w.body).Result
		if rec["caller_id"] != "Joe Employee" || rec["state"] != "In Progress" {
			t.Errorf("raw values: caller_id %v, state %v", rec["caller_id"], rec["state"])
		}
		// An unknown display value is kept as given.
		w = send(t, c, "PATCH", base+"/api/now/table/incident/"+rec["sys_id"].(string)+"?sysparm_input_display_value=true&sysparm_exclude_reference_link=true", `{"caller_id":"Nobody Here"}`)
		if got := decode[oneResult](t, w.body).Result["caller_id"]; got != "Nobody Here" {
			t.Errorf("unknown display value: %v", got)
		}
	})
}

func TestTablePasswordFields(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		c = noJar(c)
		// Without sysparm_input_display_value the password is not saved.
		w := send(t, c, "POST", base+"/api/now/table/sys_user", `{"user_name":"svc","user_password":"Secret-1"}`)
		wantStatus(t, w, 201)
		id := decode[oneResult](t, w.body).Result["sys_id"].(string)
		wantStatus(t, send(t, c, "GET", base+"/api/now/table/incident?sysparm_limit=1", "",
			func(r *http.Request) { r.SetBasicAuth("svc", "Secret-1") }), 401)
		w = send(t, c, "PATCH", base+"/api/now/table/sys_user/"+id+"?sysparm_input_display_value=true", `{"user_password":"Secret-2"}`)
		wantStatus(t, w, 200)
		wantStatus(t, send(t, c, "GET", base+"/api/now/table/incident?sysparm_limit=1", "",
			func(r *http.Request) { r.SetBasicAuth("svc", "Secret-2") }), 200)
		// Never returned, in any mode: not the password, not its hash.
		for _, dv := range []string{"false", "true", "all"} {
			w := send(t, c, "GET", base+"/api/now/table/sys_user/"+id+"?sysparm_fields=user_password&sysparm_display_value="+dv, "")
			want := `{"result":{"user_password":""}}`
			if dv == "all" {
				want = `{"result":{"user_password":{"display_value":"","value":""}}}`
			}
			if w.body != want {
				t.Errorf("display %s: got %s, want %s", dv, w.body, want)
			}
		}
		w = send(t, c, "GET", base+"/api/now/table/oauth_entity?sysparm_fields=client_secret", "")
		if strings.Contains(w.body, "sncheck-secret") || strings.Contains(w.body, hashedPrefix) {
			t.Errorf("client secret leaked: %s", w.body)
		}
		// Nor can a query probe the stored hash.
		w = send(t, c, "GET", base+"/api/now/table/sys_user?sysparm_query=user_passwordSTARTSWITHsha256", "")
		if w.body != `{"result":[]}` {
			t.Errorf("query on a hash matched: %s", w.body)
		}
	})
}
