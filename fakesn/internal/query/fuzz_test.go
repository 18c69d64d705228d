package query

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fuzzRecords adds odd values (non-ASCII, malformed numbers and dates) to
// the incident fixtures.
var fuzzRecords = append(slices.Clone(incidents), rec{
	"id": "r5", "number": "ÉCOLE-\u212A", "short_description": "Straße ÅÄÖ 🚀", "active": "TRUE",
	"priority": "1.0", "state": "x", "category": "NETWORK ", "reassignment_count": "1e2", "reopen_count": "-0",
	"cost": "abc", "caller_id": "AAA", "assigned_to": "aaa", "caller_id.email": "@",
	"sys_created_on": "2024-02-30 00:00:00", "sys_updated_on": "not a date", "sla_due": "2024-03-15",
	"activity_due": "2024-03-15 25:00:00", "due_date": "2024-03-15 10:00:00", "made_sla": "yes", "u_INdex": "ß",
})

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"active=true^priority=1^ORDERBYDESCsys_updated_on",
		"active=true^priority=2^ORpriority=3^NQstate=7^EQ",
		"short_description*foo^short_description!*bar^short_description%baz^numberSTARTSWITHINC",
		"priorityIN1,2,3^categoryNOT INnetwork^reassignment_countBETWEEN1@3",
		"caller_idSAMEASassigned_to^ORreassignment_countGT_OR_EQUALS_FIELDreopen_count",
		"sys_created_onONToday@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()",
		"sys_created_onRELATIVEGT@hour@ago@3^due_dateNOTON2024-03-15",
		"sys_created_onDATEPARTMonday@javascript:gs.datePart('dayofweek','monday','GE')",
		"sla_dueMORETHANactivity_due@day@before@1^sla_dueSAMEASactivity_due@week",
		"sys_created_on>=javascript:gs.dateGenerate('2024-03-14','end')^sys_updated_on<javascript:gs.daysAgo(1)",
		"bogus=1^ORassigned_to=NULL^RLQUERYincident.parent,>=1^ENDRLQUERY^caller_idDYNAMICabc",
		"javascript:'active=true^'+x()",
		"123TEXTQUERY321=email^u_INdex=5^GROUPBYstate^ORDERBYcategory^ORDERBYbogus",
		"^^^OR^NQ^EQ^ORDERBY^ORDERBYDESC",
		"activeISEMPTY^assigned_toISNOTEMPTY^reassignment_countEMPTY^costNOTEMPTY^numberANYTHING",
		"assigned_toIN_HIERARCHYabc@aaa^number=ÉCOLE-k",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		opts := Options{Now: clock}
		q := Parse(encoded, incidentSchema, opts)
		got := exercise(t, q)

		normal := q.String()
		again := Parse(normal, incidentSchema, opts)
		if diff := cmp.Diff(got, exercise(t, again)); diff != "" {
			t.Errorf("Parse(%q) and its String() %q behave differently (-original +reparsed):\n%s", encoded, normal, diff)
		}
		if problems := append(again.Invalid(), again.Unsupported()...); len(problems) > 0 {
			t.Errorf("String() %q of Parse(%q) has problems: %v", normal, encoded, problems)
		}
		if s := again.String(); s != normal {
			t.Errorf("String() is not stable: %q, then %q", normal, s)
		}

		strict := Parse(encoded, incidentSchema, Options{Now: clock, InvalidReturnsNoRows: true})
		if strict.MatchesNothing() {
			for _, r := range fuzzRecords {
				if strict.Match(r) {
					t.Errorf("Parse(%q) MatchesNothing but matched %s", encoded, r["id"])
				}
			}
		}
	})
}

// behaviour is everything observable about a query over fuzzRecords.
type behaviour struct {
	Matches  []string
	Sorted   []string
	Order    []Order
	Fields   []string
	Compares []int
}

// exercise runs every method and checks that Compare and Sort agree.
func exercise(t *testing.T, q *Query) behaviour {
	t.Helper()
	b := behaviour{
		Matches: matching(q, fuzzRecords),
		Sorted:  sortedWithCompare(q, fuzzRecords),
		Order:   q.OrderBy(),
		Fields:  q.Fields(),
	}
	for _, x := range fuzzRecords {
		for _, y := range fuzzRecords {
			c := q.Compare(x, y)
			if c != -q.Compare(y, x) {
				t.Errorf("Compare(%s, %s) = %d is not antisymmetric", x["id"], y["id"], c)
			}
			b.Compares = append(b.Compares, c)
		}
	}
	byID := map[string]rec{}
	for _, r := range fuzzRecords {
		byID[r["id"]] = r
	}
	for i := 1; i < len(b.Sorted); i++ {
		if c := q.Compare(byID[b.Sorted[i-1]], byID[b.Sorted[i]]); c > 0 {
			t.Errorf("sorted %v is out of order at %d: Compare = %d", b.Sorted, i, c)
		}
	}
	if diff := cmp.Diff(b.Sorted, sortedWithSort(q, fuzzRecords)); diff != "" {
		t.Errorf("Sort and Compare disagree (-Compare +Sort):\n%s", diff)
	}
	_ = q.Invalid()
	_ = q.Unsupported()
	_ = q.MatchesNothing()
	return b
}
