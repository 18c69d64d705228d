package fakesn

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sncheck/sncheck/fixtures"
)

// linkCases are the captured data points of servicenow-spec §5.5 (and the
// edges of its best-fit rules); rels lists "rel(offset)" in header order.
var linkCases = []struct {
	name                 string
	limit, offset, total int
	rels                 []string
}{
	{"limit 1 total 628", 1, 0, 628, []string{"first(0)", "prev(-1)", "next(1)", "last(627)"}},
	{"limit 1 total 73", 1, 0, 73, []string{"first(0)", "prev(-1)", "next(1)", "last(72)"}},
	{"limit 500 offset 0 total 626", 500, 0, 626, []string{"first(0)", "next(500)", "last(500)"}},
	{"limit 500 offset 500 total 626", 500, 500, 626, []string{"first(0)", "prev(0)", "last(500)"}},
	{"limit 500 total 46", 500, 0, 46, nil},
	{"limit 500 total 67", 500, 0, 67, nil},
	{"limit 500 total 89", 500, 0, 89, nil},
	{"limit 3000 total 40", 3000, 0, 40, nil},
	{"exactly one page", 40, 0, 40, nil},
	{"one more than a page", 40, 0, 41, []string{"first(0)", "next(40)", "last(40)"}},
	{"limit 2 first page", 2, 0, 5, []string{"first(0)", "next(2)", "last(4)"}},
	{"middle page", 10, 20, 45, []string{"first(0)", "prev(10)", "next(30)", "last(40)"}},
	{"odd offset", 10, 5, 45, []string{"first(0)", "next(15)", "last(40)"}},
	{"offset past the end", 10, 100, 45, []string{"first(0)", "prev(90)", "last(40)"}},
	{"offset on a small table", 10, 5, 8, []string{"first(0)", "last(0)"}},
	{"offset on an empty table", 10, 10, 0, []string{"first(0)", "prev(0)", "last(0)"}},
}

// wantLink renders the expected header for rels over url (a path with its
// own query, where {o} stands for the offset).
func wantLink(base, url string, rels []string) string {
	var parts []string
	for _, r := range rels {
		name, off, _ := strings.Cut(strings.TrimSuffix(r, ")"), "(")
		parts = append(parts, "<"+base+strings.ReplaceAll(url, "{o}", off)+`>;rel="`+name+`"`)
	}
	return strings.Join(parts, ",")
}

func TestLinkHeaderRules(t *testing.T) {
	t.Parallel()
	for _, tc := range linkCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := linkHeader("https://dev215226.service-now.com", "/api/now/table/sys_user",
				"sysparm_limit="+strconv.Itoa(tc.limit), tc.limit, tc.offset, tc.total)
			want := wantLink("https://dev215226.service-now.com", "/api/now/table/sys_user?sysparm_limit="+strconv.Itoa(tc.limit)+"&sysparm_offset={o}", tc.rels)
			if got != want {
				t.Errorf("Link:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestLinkHeaderCapturedBytes(t *testing.T) {
	t.Parallel()
	// The 2024 PDI capture of servicenow-spec §5.5, byte for byte.
	want := `<https://dev215226.service-now.com/api/now/table/sys_user?sysparm_limit=1&sysparm_offset=0>;rel="first",<https://dev215226.service-now.com/api/now/table/sys_user?sysparm_limit=1&sysparm_offset=-1>;rel="prev",<https://dev215226.service-now.com/api/now/table/sys_user?sysparm_limit=1&sysparm_offset=1>;rel="next",<https://dev215226.service-now.com/api/now/table/sys_user?sysparm_limit=1&sysparm_offset=627>;rel="last"`
	if got := linkHeader("https://dev215226.service-now.com", "/api/now/table/sys_user", "sysparm_limit=1", 1, 0, 628); got != want {
		t.Errorf("Link:\n got %s\nwant %s", got, want)
	}
}

func TestWithOffset(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, raw, want string }{
		{"appended", "sysparm_limit=500", "sysparm_limit=500&sysparm_offset=7"},
		{"replaced in place", "sysparm_offset=500&sysparm_limit=500&active=true", "sysparm_offset=7&sysparm_limit=500&active=true"},
		{"encoding kept", "sysparm_query=active%3Dtrue%5EORDERBYnumber&sysparm_offset=0", "sysparm_query=active%3Dtrue%5EORDERBYnumber&sysparm_offset=7"},
		{"repeats dropped", "sysparm_offset=1&a=b&sysparm_offset=2", "sysparm_offset=7&a=b"},
		{"empty", "", "sysparm_offset=7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := withOffset(tc.raw, 7); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// pagedOpts adds u_page, an empty table the pagination tests fill.
func pagedOpts() Options {
	return Options{Config: &fixtures.Seed{Tables: []fixtures.Table{{
		Name: "u_page", Label: "Page", Display: "u_name",
		Fields: []fixtures.Field{{Name: "u_name", Label: "Name", Type: fixtures.TypeString}, {Name: "u_n", Label: "N", Type: fixtures.TypeInteger}},
	}}}}
}

func TestTableLinkHeaderDataPoints(t *testing.T) {
	t.Parallel()
	forEachTransport(t, pagedOpts, func(t *testing.T, s *Server, c *http.Client, base string) {
		// u_n counts down so that "u_n<N" selects exactly N rows.
		insertRows(t, s, "u_page", 628, func(i int) map[string]string {
			return map[string]string{"u_name": "row " + strconv.Itoa(i), "u_n": strconv.Itoa(i)}
		})
		for _, tc := range linkCases {
			t.Run(tc.name, func(t *testing.T) {
				path := "/api/now/table/u_page"
				if tc.total != 628 {
					path += "?sysparm_query=u_n%3C" + strconv.Itoa(tc.total) + "&sysparm_limit=" + strconv.Itoa(tc.limit)
				} else {
					path += "?sysparm_limit=" + strconv.Itoa(tc.limit)
				}
				url := path
				if tc.offset != 0 {
					url += "&sysparm_offset=" + strconv.Itoa(tc.offset)
				}
				w := send(t, c, "GET", base+url, "")
				wantStatus(t, w, 200)
				if got := w.header.Get("X-Total-Count"); got != strconv.Itoa(tc.total) {
					t.Errorf("X-Total-Count: got %s, want %d", got, tc.total)
				}
				want := wantLink(base, path+"&sysparm_offset={o}", tc.rels)
				if _, present := w.header["Link"]; present != (want != "") || w.header.Get("Link") != want {
					t.Errorf("Link:\n got %q\nwant %q", w.header.Get("Link"), want)
				}
			})
		}
	})
}

func TestTableLinkUsesCalledSchemeAndHost(t *testing.T) {
	t.Parallel()
	forEachTransport(t, nil, func(t *testing.T, s *Server, c *http.Client, base string) {
		w := send(t, c, "GET", base+"/api/now/table/incident?sysparm_limit=30&sysparm_fields=caller_id", "",
			header("X-Forwarded-Proto", "https"))
		host := strings.TrimPrefix(base, "http://")
		if link := w.header.Get("Link"); !strings.HasPrefix(link, "<https://"+host+"/api/now/table/incident?") {
			t.Errorf("Link %q does not use https://%s", link, host)
		}
		if !strings.Contains(w.body, `"link":"https://`+host+`/api/now/table/sys_user/`) {
			t.Errorf("reference links do not use https://%s: %.200s", host, w.body)
		}
	})
}

var nextLink = regexp.MustCompile(`<([^>]*)>;rel="next"`)

func TestTableFollowNextCollectsEveryRecordOnce(t *testing.T) {
	t.Parallel()
	forEachTransport(t, pagedOpts, func(t *testing.T, s *Server, c *http.Client, base string) {
		insertRows(t, s, "u_page", 253, func(i int) map[string]string { return map[string]string{"u_name": strconv.Itoa(i)} })
		for _, limit := range []int{1, 7, 100, 253, 1000} {
			seen := map[string]int{}
			url := base + "/api/now/table/u_page?sysparm_fields=sys_id&sysparm_limit=" + strconv.Itoa(limit)
			pages := 0
			for url != "" && pages < 300 {
				w := send(t, c, "GET", url, "")
				wantStatus(t, w, 200)
				for _, id := range resultIDs(t, w) {
					seen[id]++
				}
				url = ""
				if m := nextLink.FindStringSubmatch(w.header.Get("Link")); m != nil {
					url = m[1]
				}
				pages++
			}
			if len(seen) != 253 {
				t.Errorf("limit %d: %d distinct records, want 253", limit, len(seen))
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("limit %d: %s seen %d times", limit, id, n)
				}
			}
			if want := (253 + limit - 1) / limit; pages != want {
				t.Errorf("limit %d: %d pages, want %d", limit, pages, want)
			}
		}
	})
}
