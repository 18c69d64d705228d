package fakesn

import (
	"net/http"
	"strconv"
	"testing"
)

// Real clients' habits (servicenow-spec §10), one by one.

// TestTablePySNCPaging pages the way PySNC's GlideRecord does: display
// values "all", no reference links, no Link header, batches by
// sysparm_limit and sysparm_offset until X-Total-Count is reached.
func TestTablePySNCPaging(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		seen := map[string]int{}
		total := -1
		for offset := 0; total < 0 || offset < total; offset += 10 {
			url := base + "/api/now/table/incident?sysparm_query=active%3Dtrue%5EORDERBYnumber" +
				"&sysparm_display_value=all&sysparm_exclude_reference_link=true&sysparm_suppress_pagination_header=true" +
				"&sysparm_limit=10&sysparm_offset=" + strconv.Itoa(offset)
			w := send(t, c, "GET", url, "")
			wantStatus(t, w, 200)
			if _, ok := w.header["Link"]; ok {
				t.Fatalf("Link header despite sysparm_suppress_pagination_header: %s", w.header.Get("Link"))
			}
			n, err := strconv.Atoi(w.header.Get("X-Total-Count"))
			if err != nil {
				t.Fatalf("X-Total-Count %q: %v", w.header.Get("X-Total-Count"), err)
			}
			total = n
			for _, rec := range decode[listResult](t, w.body).Result {
				for k, v := range rec {
					obj, ok := v.(map[string]any)
					if !ok || len(obj) != 2 || obj["value"] == nil || obj["display_value"] == nil {
						t.Fatalf("field %s = %v, want {display_value, value}", k, v)
					}
				}
				seen[rec["sys_id"].(map[string]any)["value"].(string)]++
				if rec["active"].(map[string]any)["value"] != "true" {
					t.Errorf("inactive record in an active=true query: %v", rec["number"])
				}
			}
			if offset > 100 {
				t.Fatal("paging does not end")
			}
		}
		if total != 37 || len(seen) != 37 {
			t.Errorf("X-Total-Count %d, collected %d; want 37 and 37", total, len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s seen %d times", id, n)
			}
		}
	})
}

// TestTablePagingThroughShortPages follows rel="next" through pages that
// ACLs made short or empty: every readable record arrives exactly once, and
// a client that stopped at the first short page would have missed some.
func TestTablePagingThroughShortPages(t *testing.T) {
	t.Parallel()
	forEachTransport(t, pagedOpts, func(t *testing.T, s *Server, c *http.Client, base string) {
		insertRows(t, s, "u_page", 100, func(i int) map[string]string {
			return map[string]string{"u_name": strconv.Itoa(i), "u_n": strconv.Itoa(i)}
		})
		// itil cannot read rows 10..29: the second and third pages are empty.
		addACL(t, s, map[string]string{"name": "u_page", "operation": "read", "condition": "u_n<10^ORu_n>=30", "active": "true"})
		seen := map[string]int{}
		url := base + "/api/now/table/u_page?sysparm_query=ORDERBYu_n&sysparm_fields=sys_id,u_n&sysparm_limit=10"
		var sizes []int
		for url != "" {
			w := send(t, c, "GET", url, "", as("itil"))
			wantStatus(t, w, 200)
			if got := w.header.Get("X-Total-Count"); got != "100" {
				t.Errorf("X-Total-Count %s counts before ACLs: want 100", got)
			}
			ids := resultIDs(t, w)
			sizes = append(sizes, len(ids))
			for _, id := range ids {
				seen[id]++
			}
			url = ""
			if m := nextLink.FindStringSubmatch(w.header.Get("Link")); m != nil {
				url = m[1]
			}
		}
		if want := []int{10, 0, 0, 10, 10, 10, 10, 10, 10, 10}; !equalInts(sizes, want) {
			t.Errorf("page sizes %v, want %v", sizes, want)
		}
		if len(seen) != 80 {
			t.Errorf("collected %d records, want 80", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s seen %d times", id, n)
			}
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTableBearerToken covers the documented ?access_token= form
// and the Bearer header with a token from the instance's token endpoint.
func TestTableBearerToken(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		c = noJar(c)
		tok := passwordGrant(t, c, base, "itil", "itil")
		w := send(t, c, "GET", base+"/api/now/table/incident?sysparm_limit=1", "", anonymous(), header("Authorization", "Bearer "+tok.AccessToken))
		wantStatus(t, w, 200)
		w = send(t, c, "GET", base+"/api/now/table/incident?sysparm_limit=1&access_token="+tok.AccessToken, "", anonymous())
		wantStatus(t, w, 200)
		// access_token is authentication, not a name-value filter.
		if got := len(resultIDs(t, w)); got != 1 {
			t.Errorf("got %d records, want 1", got)
		}
		if r := unexpectedReasons(t, s); r != "" {
			t.Errorf("unexpected: %s", r)
		}
	})
}
