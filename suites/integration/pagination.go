package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/fixtures"
	"github.com/sncheck/sncheck/suites"
)

// pageRecords is how many marked incidents the pagination checks create:
// several pages at any usual page size, and not a multiple of one.
const pageRecords = 250

// hiddenEvery hides one record in hiddenEvery from the integration's user
// (an ACL on inactive incidents), so that pages come back short.
const hiddenEvery = 7

// pageMarker starts the short_description of every page record.
const pageMarker = "sncheck-page-"

type pageSet struct {
	marker  string
	visible map[string]string // sys_id → short_description
	hidden  map[string]string
	// live: the instance's own records of table matching q, which the
	// check lists instead of marked incidents (live.go)
	table, q string
}

// pageRecord is the i-th record: its short_description and whether the
// ACL hides it.
func pageRecord(i int, hide bool) (string, bool) {
	return fmt.Sprintf("%s%03d", pageMarker, i), hide && i%hiddenEvery == 3
}

// hideACL hides inactive incidents from everyone but admins.
var hideACL = map[string]string{
	"name": probeTable, "operation": "read", "type": "record", "condition": "active=true", "active": "true",
	"description": "sncheck: inactive incidents are hidden",
}

// seedPages returns the page records as seed rows for a fresh fake.
func seedPages(hide bool) (*pageSet, *fixtures.Seed) {
	ps := &pageSet{marker: pageMarker, visible: map[string]string{}, hidden: map[string]string{}}
	recs := make([]map[string]string, 0, pageRecords)
	for i := range pageRecords {
		desc, hidden := pageRecord(i, hide)
		id := newSysID()
		recs = append(recs, map[string]string{"sys_id": id, "short_description": desc, "active": strconv.FormatBool(!hidden)})
		if hidden {
			ps.hidden[id] = desc
		} else {
			ps.visible[id] = desc
		}
	}
	seed := &fixtures.Seed{Rows: []fixtures.Rows{{Table: probeTable, Records: recs}}}
	if hide {
		acl := maps.Clone(hideACL)
		acl["sys_id"] = newSysID()
		seed.Rows = append(seed.Rows, fixtures.Rows{Table: "sys_security_acl", Records: []map[string]string{acl}})
	}
	return ps, seed
}

func newSysID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// createPages returns the marked incidents: seeded in a fresh fake, or
// created as admin in a fake at a URL. With hide, one in hiddenEvery is
// inactive and an ACL hides inactive incidents from everyone but admins.
func createPages(ctx context.Context, env *Env, hide bool) (*pageSet, error) {
	if env.pages != nil {
		return env.pages, nil
	}
	if env.Live != nil { // live: never creates records (live.go)
		return livePages(ctx, env)
	}
	ps := &pageSet{marker: pageMarker + randomSecret("")[:8] + "-", visible: map[string]string{}, hidden: map[string]string{}}
	if hide {
		if _, err := env.createRecord(ctx, "sys_security_acl", hideACL); err != nil {
			return nil, err
		}
	}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan int)
	)
	for range 4 {
		wg.Go(func() {
			for i := range next {
				desc, hidden := pageRecord(i, hide)
				desc = ps.marker + strings.TrimPrefix(desc, pageMarker)
				id, err := env.createRecord(ctx, probeTable, map[string]string{
					"short_description": desc, "active": strconv.FormatBool(!hidden),
				})
				mu.Lock()
				switch {
				case err != nil && firstErr == nil:
					firstErr = err
				case err != nil:
				case hidden:
					ps.hidden[id] = desc
				default:
					ps.visible[id] = desc
				}
				mu.Unlock()
			}
		})
	}
	for i := range pageRecords {
		next <- i
	}
	close(next)
	wg.Wait()
	return ps, firstErr
}

func (ps *pageSet) query() string {
	if ps.table != "" { // live
		return ps.q
	}
	return "short_descriptionSTARTSWITH" + ps.marker
}

// listed is the table the integration lists, the fields it asks for, and
// how the explanations name n of its records.
func (ps *pageSet) listed(n int) (table string, fields []string, what string) {
	if ps.table != "" { // live
		return ps.table, []string{"sys_id"}, fmt.Sprintf("Listing %d %s records", n, ps.table)
	}
	return probeTable, []string{"sys_id", "number"}, fmt.Sprintf("Listing %d incidents", n)
}

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "PAGE-ALL-RECORDS",
		Statement: "returns every record exactly once across pages, including pages made short by ACL filtering",
		Labels:    []string{"pagination", "acl"},
		Hint:      "page with sysparm_limit and follow the Link header's rel=\"next\" (or sysparm_offset+limit while below X-Total-Count); a page shorter than the limit is not the last one, because ACLs drop rows after the limit is applied",
		Needs:     []string{"config", "writes"},
	},
	spec: instanceSpec{pages: true, hidePages: true},
	run:  checkAllRecords,
})

func checkAllRecords(ctx context.Context, env *Env) Result {
	ps, err := createPages(ctx, env, true)
	if err != nil {
		return fail("sncheck could not create the records to page through: %v", err)
	}
	integ, r := connected(ctx, env)
	if r != nil {
		return *r
	}
	mark, err := env.Mark(ctx)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	recs, opErr := integ.List(ctx, probeTable, ps.query(), []string{"sys_id", "short_description"})
	es, err := env.Since(ctx, mark)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	lists := tableRequests(es)
	what := fmt.Sprintf("Listing %d incidents of which an ACL hides %d from the integration's user (so pages come back short)", pageRecords, len(ps.hidden))
	if opErr != nil {
		return fail("%s, the operation %s (the integration sent %s).", what, outcome(opErr), describeRequests(lists))
	}
	seen := map[string]int{}
	var extra []string
	for _, rec := range recs {
		id, _ := rec["sys_id"].(string)
		seen[id]++
		if _, ok := ps.visible[id]; !ok {
			extra = append(extra, fmt.Sprint(rec["short_description"]))
		}
	}
	var missing, dup []string
	for id, desc := range ps.visible {
		switch n := seen[id]; {
		case n == 0:
			missing = append(missing, strings.TrimPrefix(desc, ps.marker))
		case n > 1:
			dup = append(dup, strings.TrimPrefix(desc, ps.marker))
		}
	}
	sort.Strings(missing)
	sort.Strings(dup)
	switch {
	case len(missing) > 0:
		return fail("%s, the integration returned %d of the %d records its user can read: %d are missing (numbers %s). It made %s (%s). A page shorter than the limit is not the last: it should follow the Link header's rel=\"next\" (or page on while the offset is below X-Total-Count) to the end.",
			what, len(recs), len(ps.visible), len(missing), sample(missing), countOf(len(lists), "list request"), describeRequests(lists))
	case len(dup) > 0:
		return fail("%s, the integration returned %d records, %d of them more than once (numbers %s); it made %s (%s). Every record should come back exactly once.",
			what, len(recs), len(dup), sample(dup), countOf(len(lists), "list request"), describeRequests(lists))
	case len(extra) > 0:
		return fail("%s, the integration returned %d records that do not match the query (%s).", what, len(extra), sample(extra))
	}
	return pass()
}

func sample(s []string) string {
	if len(s) > 8 {
		return strings.Join(s[:8], ", ") + ", …"
	}
	return strings.Join(s, ", ")
}

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "PAGE-STOPS-AT-LAST",
		Statement: "stops on the last page: no request past the end, no more list requests than pages",
		Labels:    []string{"pagination"},
		Hint:      "stop when the Link header has no rel=\"next\" (or the next offset reaches X-Total-Count); do not probe for an empty page",
		Needs:     []string{"writes"},
	},
	spec: instanceSpec{pages: true},
	run:  checkStopsAtLast,
	// live.go
	liveWithoutWrites: "lists the instance's own " + livePageTable + " records (more than a page on a developer instance) instead of creating any",
})

// defaultLimit is the Table API's page size when sysparm_limit is absent.
const defaultLimit = 10000

func checkStopsAtLast(ctx context.Context, env *Env) Result {
	ps, err := createPages(ctx, env, false)
	if err != nil {
		return fail("sncheck could not create the records to page through: %v", err)
	}
	integ, r := connected(ctx, env)
	if r != nil {
		return *r
	}
	mark, err := env.Mark(ctx)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	n := len(ps.visible) // pageRecords, or on a live instance its own records
	table, fields, what := ps.listed(n)
	recs, opErr := integ.List(ctx, table, ps.query(), fields)
	es, err := env.Since(ctx, mark)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	lists := filter(tableRequests(es), func(e fakesn.JournalEntry) bool { return e.Method == "GET" && e.SysID == "" })
	if opErr != nil {
		return fail("%s, the operation %s (the integration sent %s).", what, outcome(opErr), describeRequests(lists))
	}
	if len(lists) == 0 {
		return fail("%s, the integration returned %d records without a list request the fake saw.", what, len(recs))
	}
	limit := paramInt(lists[0], "sysparm_limit", defaultLimit)
	pages := (n + limit - 1) / limit
	var past []string
	for _, e := range lists {
		if off := paramInt(e, "sysparm_offset", 0); off >= n {
			past = append(past, describeEntry(e))
		}
	}
	switch {
	case len(past) > 0:
		return fail("%s at %d a page (%d pages), the integration asked for pages past the end: %s (all its requests: %s). It should stop when the Link header has no rel=\"next\" or the next offset reaches X-Total-Count.",
			what, limit, pages, strings.Join(past, "; "), describeRequests(lists))
	case len(lists) > pages:
		return fail("%s at %d a page takes %d list requests; the integration made %d (%s).", what, limit, pages, len(lists), describeRequests(lists))
	}
	return pass()
}

func paramInt(e fakesn.JournalEntry, name string, def int) int {
	q, err := url.ParseQuery(e.Query)
	if err != nil {
		return def
	}
	n, err := strconv.Atoi(q.Get(name))
	if err != nil || n <= 0 && name == "sysparm_limit" {
		return def
	}
	return n
}
