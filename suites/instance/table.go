package instance

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sncheck/sncheck/suites"
)

// The Table API (servicenow-spec §0, §5): envelope, headers, pagination,
// record representation and errors. Every spec reads; answers several
// specs share are fetched once per run (memoGet).

const incidents = "/api/now/table/incident"

// Queries shared by several specs, byte for byte (the Link header repeats
// the request's query).
var (
	listQuery  = q("sysparm_limit", "2")
	firstQuery = "sysparm_limit=1&sysparm_offset=0"
	refQuery   = q("sysparm_query", "caller_idISNOTEMPTY^parentISEMPTY^ORDERBYnumber", "sysparm_limit", "1",
		"sysparm_fields", "sys_id,number,caller_id,parent,caller_id.name")
)

func describeTable(s *suite) {
	Describe("the Table API", func() {
		checkEnvelope.It(func(ctx SpecContext) {
			a := s.memoGet(ctx, incidents, listQuery)
			suites.Observe("list", a.Resp, a.Body)
			Expect(a).To(suites.HaveStatus(http.StatusOK), "a list of incidents")
			Expect(keys(a.Object())).To(ConsistOf("result"), "the answer's keys: %s", a.Summary())
			recs := results(a)
			Expect(recs).NotTo(BeEmpty(), "the list needs incidents to check")
			for _, rec := range recs {
				Expect(badValues(rec)).To(BeEmpty(), "fields whose value is neither a string nor a {link, value} reference")
			}
		})

		checkHeaders.It(func(ctx SpecContext) {
			a := s.memoGet(ctx, incidents, listQuery)
			suites.Observe("list", a.Resp, a.Body)
			Expect(a.Header.Get("Content-Type")).To(Equal("application/json;charset=UTF-8"), "Content-Type")
			Expect(a.Header.Get("Cache-Control")).To(Equal("no-cache,no-store,must-revalidate,max-age=-1"), "Cache-Control")
			Expect(a.Header.Get("X-Is-Logged-In")).To(Equal("true"), "X-Is-Logged-In")
		})

		checkTotalCount.It(func(ctx SpecContext) {
			first := s.memoGet(ctx, incidents, firstQuery)
			suites.Observe("first page, limit 1", first.Resp, first.Body)
			total := totalCount(first)
			three := s.get(ctx, incidents, q("sysparm_limit", "3", "sysparm_fields", "sys_id"), "first page, limit 3")
			Expect(totalCount(three)).To(Equal(total), "X-Total-Count with sysparm_limit=3 and =1")
			Expect(results(three)).To(HaveLen(min(3, total)), "records on a page of 3")
			nums := s.numbers(ctx)
			one := s.get(ctx, incidents, q("sysparm_query", "number="+nums[0], "sysparm_fields", "sys_id"), "one match")
			Expect(totalCount(one)).To(Equal(1), "X-Total-Count for a query matching one record")
		})

		checkLink.It(func(ctx SpecContext) {
			a := s.memoGet(ctx, incidents, firstQuery)
			suites.Observe("first page, limit 1", a.Resp, a.Body)
			total := totalCount(a)
			if total < 2 {
				Skip("needs at least two incidents")
			}
			Expect(a.Header.Get("Link")).To(Equal(s.links(incidents, "sysparm_limit=1&sysparm_offset=%d",
				0, "first", -1, "prev", 1, "next", total-1, "last")), "the Link header for %d records", total)
		})

		checkLinkLast.It(func(ctx SpecContext) {
			total := totalCount(s.memoGet(ctx, incidents, firstQuery))
			if total < 2 {
				Skip("needs at least two incidents")
			}
			limit := total - 1
			a := s.get(ctx, incidents, fmt.Sprintf("sysparm_limit=%d&sysparm_offset=%d&sysparm_fields=sys_id", limit, limit), "last page")
			Expect(a).To(suites.HaveStatus(http.StatusOK))
			Expect(a.Header.Get("Link")).To(Equal(s.links(incidents, fmt.Sprintf("sysparm_limit=%d&sysparm_offset=%%d&sysparm_fields=sys_id", limit),
				0, "first", 0, "prev", limit, "last")), "the Link header of the last page (limit %d, %d records)", limit, total)
		})

		checkLinkSingle.It(func(ctx SpecContext) {
			nums := s.numbers(ctx)
			a := s.get(ctx, incidents, q("sysparm_query", "numberIN"+nums[0]+","+nums[1], "sysparm_limit", "5", "sysparm_fields", "number"), "one page")
			Expect(results(a)).To(HaveLen(2), "records matching two numbers")
			Expect(a.Header.Values("Link")).To(BeEmpty(), "no Link header when every match fits on the page")
		})

		checkRefDefault.It(func(ctx SpecContext) {
			rec, a := s.refRecord(ctx)
			suites.Observe("reference, default", a.Resp, a.Body)
			ref, ok := rec["caller_id"].(map[string]any)
			Expect(ok).To(BeTrue(), "caller_id must be an object: %s", a.Summary())
			Expect(keys(ref)).To(ConsistOf("link", "value"), "a reference's keys")
			id, _ := ref["value"].(string)
			Expect(id).To(MatchRegexp(sysIDPattern.String()), "a reference's value is the sys_id")
			Expect(ref["link"]).To(Equal(s.base+"/api/now/table/sys_user/"+id), "a reference's link")
			Expect(rec).To(HaveKeyWithValue("parent", ""), "an empty reference")
		})

		checkRefExclude.It(func(ctx SpecContext) {
			rec, _ := s.refRecord(ctx)
			id := refValue(rec["caller_id"])
			a := s.get(ctx, incidents, refQuery+"&sysparm_exclude_reference_link=true", "reference, no link")
			recs := results(a)
			Expect(recs).To(HaveLen(1))
			Expect(recs[0]).To(HaveKeyWithValue("caller_id", id), "the reference as a plain sys_id")
			Expect(recs[0]).To(HaveKeyWithValue("parent", ""), "an empty reference")
		})

		checkDisplayTrue.It(func(ctx SpecContext) {
			rec, _ := s.refRecord(ctx)
			id, name := refValue(rec["caller_id"]), field(rec, "caller_id.name")
			a := s.get(ctx, incidents, refQuery+"&sysparm_display_value=true", "display values")
			recs := results(a)
			Expect(recs).To(HaveLen(1))
			Expect(recs[0]).To(HaveKeyWithValue("caller_id", map[string]any{
				"display_value": name, "link": s.base + "/api/now/table/sys_user/" + id,
			}), "a reference with display values")
			Expect(recs[0]).To(HaveKeyWithValue("number", field(rec, "number")), "a string field's display value")
		})

		checkDisplayAll.It(func(ctx SpecContext) {
			rec, _ := s.refRecord(ctx)
			id, name := refValue(rec["caller_id"]), field(rec, "caller_id.name")
			a := s.get(ctx, incidents, refQuery+"&sysparm_display_value=all", "display values, all")
			recs := results(a)
			Expect(recs).To(HaveLen(1))
			Expect(recs[0]).To(HaveKeyWithValue("caller_id", map[string]any{
				"display_value": name, "value": id, "link": s.base + "/api/now/table/sys_user/" + id,
			}), "a reference in display_value=all")
			Expect(recs[0]).To(HaveKeyWithValue("number", map[string]any{
				"display_value": field(rec, "number"), "value": field(rec, "number"),
			}), "a string field in display_value=all")
			for name, v := range recs[0] {
				m, ok := v.(map[string]any)
				Expect(ok).To(BeTrue(), "field %s must be an object", name)
				Expect(m).To(HaveKey("display_value"), "field %s", name)
				Expect(m).To(HaveKey("value"), "field %s", name)
			}
		})

		checkErr401.It(func(ctx SpecContext) {
			a := s.tableCall(ctx, http.MethodGet, incidents, "sysparm_limit=1", noAuth, nil, "no credentials")
			Expect(a).To(suites.HaveSNError(http.StatusUnauthorized, "User Not Authenticated", "Required to provide Auth information"))
			Expect(a.Header.Get("WWW-Authenticate")).To(MatchRegexp(`(?i)^basic realm="Service-now"$`), "WWW-Authenticate")
		})

		checkErrBadBearer.It(func(ctx SpecContext) {
			a := s.tableCall(ctx, http.MethodGet, incidents, "sysparm_limit=1", bearer(suites.Secret(randomToken())), nil, "unknown bearer token")
			Expect(a).To(suites.HaveSNError(http.StatusUnauthorized, "User Not Authenticated", "Required to provide Auth information"))
		})

		checkErrInvalidTable.It(func(ctx SpecContext) {
			name := "u_sncheck_no_such_table"
			a := s.get(ctx, "/api/now/table/"+name, "sysparm_limit=1", "unknown table")
			// The detail is null on most captures, a sentence on one.
			Expect(a).To(suites.HaveSNError(http.StatusBadRequest, "Invalid table "+name, []any{nil, "Table " + name + " does not exist"}))
		})

		checkErr404.It(func(ctx SpecContext) {
			a := s.get(ctx, incidents+"/"+random(32), "", "missing record")
			Expect(a).To(suites.HaveSNError(http.StatusNotFound, "No Record found", "Record doesn't exist or ACL restricts the record retrieval"))
		})

		checkEmptyList.It(func(ctx SpecContext) {
			a := s.get(ctx, incidents, q("sysparm_query", "number=SNCHECK-NONE-"+random(8)), "no match")
			Expect(a).To(suites.HaveStatus(http.StatusOK))
			Expect(a.Body).To(MatchJSON(`{"result":[]}`), "the body of an empty list")
		})

		checkV1Empty.It(func(ctx SpecContext) {
			a := s.get(ctx, "/api/now/v1/table/incident", q("sysparm_query", "number=SNCHECK-NONE-"+random(8)), "v1 no match")
			Expect(a).To(suites.HaveSNError(http.StatusNotFound, "No Record found",
				"Records matching query not found. Check query parameter or offset parameter"))
		})
	})
}

// totalCount reads X-Total-Count, failing the spec when it is missing.
func totalCount(a *suites.Answer) int {
	GinkgoHelper()
	v := a.Header.Get("X-Total-Count")
	Expect(v).NotTo(BeEmpty(), "X-Total-Count is missing from %s", a.Summary())
	n, err := strconv.Atoi(v)
	Expect(err).NotTo(HaveOccurred(), "X-Total-Count %q must be a number", v)
	return n
}

// links builds the Link header the instance sends: pairs of offset and
// rel, each URL the base plus path plus format with the offset filled in.
func (s *suite) links(path, format string, pairs ...any) string {
	out := ""
	for i := 0; i+1 < len(pairs); i += 2 {
		if out != "" {
			out += ","
		}
		out += fmt.Sprintf("<%s%s?"+format+`>;rel="%s"`, s.base, path, pairs[i], pairs[i+1])
	}
	return out
}

// badValues names the fields of a default-mode record whose value is
// neither a string nor a {link, value} reference, sorted.
func badValues(rec map[string]any) []string {
	var bad []string
	for name, v := range rec {
		switch x := v.(type) {
		case string:
		case map[string]any:
			_, linkOK := x["link"].(string)
			_, valueOK := x["value"].(string)
			if len(x) != 2 || !linkOK || !valueOK {
				bad = append(bad, name)
			}
		default:
			bad = append(bad, name)
		}
	}
	sort.Strings(bad)
	return bad
}

// refRecord is an incident with a caller and no parent, in the default
// representation, fetched once per run.
func (s *suite) refRecord(ctx SpecContext) (map[string]any, *suites.Answer) {
	GinkgoHelper()
	a := s.memoGet(ctx, incidents, refQuery)
	Expect(a).To(suites.HaveStatus(http.StatusOK), "incidents with a caller")
	recs := results(a)
	if len(recs) == 0 {
		Skip("needs an incident with a caller and no parent")
	}
	return recs[0], a
}

// refValue is a default-mode reference's sys_id.
func refValue(v any) string {
	GinkgoHelper()
	m, ok := v.(map[string]any)
	Expect(ok).To(BeTrue(), "the reference in the default representation must be an object")
	id, _ := m["value"].(string)
	return id
}

// numbers are the first three incident numbers, fetched once per run.
func (s *suite) numbers(ctx SpecContext) []string {
	GinkgoHelper()
	a := s.memoGet(ctx, incidents, q("sysparm_query", "ORDERBYnumber", "sysparm_fields", "number", "sysparm_limit", "3"))
	Expect(a).To(suites.HaveStatus(http.StatusOK), "the first incidents")
	var out []string
	for _, r := range results(a) {
		out = append(out, field(r, "number"))
	}
	if len(out) < 3 {
		Skip("needs at least three incidents")
	}
	return out
}
