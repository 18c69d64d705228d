package query

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestMatchOperators(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		// = and != on each kind of field
		{"boolean true", "active=true", []string{"r1", "r4"}},
		{"boolean 1", "active=1", []string{"r1", "r4"}},
		{"boolean false matches empty", "active=false", []string{"r2", "r3"}},
		{"boolean 0", "active=0", []string{"r2", "r3"}},
		{"boolean not true includes empty", "active!=true", []string{"r2", "r3"}},
		{"boolean not false", "active!=false", []string{"r1", "r4"}},
		{"choice equals", "priority=1", []string{"r1"}},
		{"choice not equals", "priority!=1", []string{"r2", "r3", "r4"}},
		{"equals ignores case", "category=NETWORK", []string{"r1", "r2"}},
		{"equals ignores case in stored value", "short_description=printer JAM", []string{"r3"}},
		{"not equals skips empty", "category!=network", []string{"r3"}},
		{"reference not equals skips empty", "assigned_to!=aaa", []string{"r3", "r4"}},
		{"equals NULL", "assigned_to=NULL", []string{"r2"}},
		{"not equals NULL", "assigned_to!=NULL", []string{"r1", "r3", "r4"}},
		{"equals nothing", "assigned_to=", []string{"r2"}},
		{"not equals nothing", "assigned_to!=", []string{"r1", "r3", "r4"}},
		{"integer equals", "reassignment_count=3", []string{"r2"}},
		{"integer equals numerically", "reassignment_count=03", []string{"r2"}},
		{"integer equals decimal form", "reassignment_count=3.0", []string{"r2"}},
		{"integer not equals skips empty", "reassignment_count!=3", []string{"r1", "r3"}},
		{"decimal equals", "cost=10.50", []string{"r1"}},
		{"equals no match", "number=INC999", []string{}},
		{"dot-walked field", "caller_id.email=BOB@example.com", []string{"r4"}},

		// ordered comparisons
		{"integer greater is numeric", "reassignment_count>2", []string{"r2", "r3"}},
		{"integer less skips empty", "reassignment_count<3", []string{"r1"}},
		{"integer at least", "reassignment_count>=3", []string{"r2", "r3"}},
		{"integer at most", "reassignment_count<=3", []string{"r1", "r2"}},
		{"choice less numeric", "priority<3", []string{"r1", "r2"}},
		{"choice at least numeric", "priority>=3", []string{"r3", "r4"}},
		{"choice greater compares 10 above 6", "state>6", []string{"r3", "r4"}},
		{"decimal greater", "cost>9.99", []string{"r1", "r4"}},
		{"string greater ignores case", "short_description>q", []string{"r2"}},
		{"string at least ignores case", "short_description>=P", []string{"r2", "r3"}},
		{"string at most", "short_description<=f", []string{"r1"}},
		{"datetime greater", "sys_created_on>2024-03-14 23:59:59", []string{"r3"}},
		{"datetime at least", "sys_created_on>=2024-03-14 23:59:59", []string{"r2", "r3"}},
		{"datetime less than bare date", "sys_created_on<2024-01-01", []string{"r4"}},
		{"datetime after bare date means after midnight", "sys_created_on>2024-03-14", []string{"r2", "r3"}},
		{"date at least midnight", "due_date>=2024-03-15 00:00:00", []string{"r1", "r4"}},
		{"date before a time that day", "due_date<2024-03-15 10:00:00", []string{"r1", "r2"}},
		{"date less or equal", "due_date<=2024-03-15", []string{"r1", "r2"}},

		// BETWEEN
		{"between integers", "reassignment_countBETWEEN1@3", []string{"r2"}},
		{"between is inclusive", "reassignment_countBETWEEN0@10", []string{"r1", "r2", "r3"}},
		{"between strings", "short_descriptionBETWEENa@f", []string{"r1"}},
		{"between datetimes", "sys_created_onBETWEEN2024-03-10 08:00:00@2024-03-14 23:59:59", []string{"r1", "r2"}},
		{"between choices", "stateBETWEEN2@9", []string{"r2", "r3"}},

		// text operators
		{"like", "short_descriptionLIKEserver", []string{"r1"}},
		{"like star ignores case", "short_description*SERVER", []string{"r1"}},
		{"like on dot-walk", "caller_id.emailLIKEexample.COM", []string{"r1", "r2", "r4"}},
		{"like in the middle", "short_descriptionLIKEnot work", []string{"r2"}},
		{"not like skips empty", "short_descriptionNOT LIKEserver", []string{"r2", "r3"}},
		{"not like bang star", "short_description!*SERVER", []string{"r2", "r3"}},
		{"starts with", "short_descriptionSTARTSWITHvpn", []string{"r2"}},
		{"starts with whole value", "numberSTARTSWITHINC001", []string{"r1"}},
		{"ends with", "short_descriptionENDSWITHJAM", []string{"r3"}},
		{"ends with percent", "short_description%jam", []string{"r3"}},
		{"ends with longer than value", "short_descriptionENDSWITHa printer jam", []string{}},

		// IN and NOT IN
		{"in", "priorityIN1,2", []string{"r1", "r2"}},
		{"not in", "priorityNOT IN1,2", []string{"r3", "r4"}},
		{"in ignores case", "categoryINNETWORK,hardware", []string{"r1", "r2", "r3"}},
		{"not in skips empty", "categoryNOT INnetwork", []string{"r3"}},
		{"in integers", "reassignment_countIN3,10", []string{"r2", "r3"}},
		{"in integers numerically", "reassignment_countIN03", []string{"r2"}},
		{"in empty item does not match empty", "assigned_toIN,aaa", []string{"r1"}},
		{"in booleans", "activeINtrue", []string{"r1", "r4"}},
		{"not in booleans includes empty", "activeNOT INtrue", []string{"r2", "r3"}},
		{"in sys_ids", "caller_idINaaa,ddd,zzz", []string{"r1", "r4"}},

		// emptiness
		{"isempty", "assigned_toISEMPTY", []string{"r2"}},
		{"isnotempty", "assigned_toISNOTEMPTY", []string{"r1", "r3", "r4"}},
		{"numeric empty", "reassignment_countEMPTY", []string{"r4"}},
		{"numeric notempty", "reassignment_countNOTEMPTY", []string{"r1", "r2", "r3"}},
		{"emptystring", "assigned_toEMPTYSTRING", []string{"r2"}},
		{"boolean isempty sees the raw value", "activeISEMPTY", []string{"r3"}},
		{"anything", "assigned_toANYTHING", allIDs},

		// field to field
		{"sameas", "caller_idSAMEASassigned_to", []string{"r1", "r4"}},
		{"nsameas skips empty on either side", "caller_idNSAMEASassigned_to", []string{}},
		{"sameas numbers", "reassignment_countSAMEASreopen_count", []string{"r1", "r3"}},
		{"nsameas numbers", "reassignment_countNSAMEASreopen_count", []string{"r2"}},
		{"sameas by day", "sla_dueSAMEASactivity_due@day", []string{"r2"}},
		{"nsameas by day", "sla_dueNSAMEASactivity_due@day", []string{"r1"}},
		{"sameas by month", "sla_dueSAMEASactivity_due@month", []string{"r1", "r2"}},
		{"gt_field", "reassignment_countGT_FIELDreopen_count", []string{"r2"}},
		{"lt_field", "reopen_countLT_FIELDreassignment_count", []string{"r2"}},
		{"gt_or_equals_field", "reassignment_countGT_OR_EQUALS_FIELDreopen_count", []string{"r1", "r2", "r3"}},
		{"lt_or_equals_field", "reassignment_countLT_OR_EQUALS_FIELDreopen_count", []string{"r1", "r3"}},
		{"gt_field on dates", "activity_dueGT_FIELDsla_due", []string{"r1", "r2"}},
		{"morethan days before", "sla_dueMORETHANactivity_due@day@before@1", []string{"r1"}},
		{"lessthan days before", "sla_dueLESSTHANactivity_due@day@before@1", []string{"r2"}},
		{"morethan hours after", "activity_dueMORETHANsla_due@hour@after@2", []string{"r1", "r2"}},
		{"lessthan hours after", "activity_dueLESSTHANsla_due@hour@after@49", []string{"r1", "r2"}},

		// hierarchy
		{"in_hierarchy matches the start record", "assigned_toIN_HIERARCHYfdd0fa0f93f5d2505bd0bd886cba1015@ccc", []string{"r3"}},
		{"in_hierarchy without hierarchy id", "assigned_toIN_HIERARCHYaaa", []string{"r1"}},

		// dates relative to Now (2024-03-15 12:34:56, a Friday)
		{"on today", "sys_created_onONToday@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()", []string{"r3"}},
		{"noton today", "sys_created_onNOTONToday@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()", []string{"r1", "r2", "r4"}},
		{"on yesterday", "sys_created_onONYesterday@javascript:gs.beginningOfYesterday()@javascript:gs.endOfYesterday()", []string{"r2"}},
		{"on date field", "due_dateONToday@javascript:gs.daysAgoStart(0)@javascript:gs.daysAgoEnd(0)", []string{"r1"}},
		{"noton skips empty", "due_dateNOTONToday@javascript:gs.daysAgoStart(0)@javascript:gs.daysAgoEnd(0)", []string{"r2", "r4"}},
		{"on bare date", "sys_created_onON2024-03-14", []string{"r2"}},
		{"on literal bounds", "sys_created_onONMarch@2024-03-01 00:00:00@2024-03-31 23:59:59", []string{"r1", "r2", "r3"}},
		{"on this week", "sys_created_onONThis week@javascript:gs.beginningOfThisWeek()@javascript:gs.endOfThisWeek()", []string{"r2", "r3"}},
		{"on last week", "sys_created_onONLast week@javascript:gs.beginningOfLastWeek()@javascript:gs.endOfLastWeek()", []string{"r1"}},
		{"on this year", "sys_created_onONThis year@javascript:gs.beginningOfThisYear()@javascript:gs.endOfThisYear()", []string{"r1", "r2", "r3"}},
		{"on last quarter", "sys_created_onONLast quarter@javascript:gs.beginningOfLastQuarter()@javascript:gs.endOfLastQuarter()", []string{"r4"}},
		{"relative after hours ago", "sys_created_onRELATIVEGT@hour@ago@3", []string{"r3"}},
		{"relative before days ago", "sys_created_onRELATIVELT@day@ago@1", []string{"r1", "r4"}},
		{"relative dayofweek unit", "sys_created_onRELATIVEGT@dayofweek@ago@1", []string{"r2", "r3"}},
		{"relative ahead", "sla_dueRELATIVEGT@minute@ahead@30", []string{"r4"}},
		{"relative months", "sys_created_onRELATIVEGT@month@ago@2", []string{"r1", "r2", "r3"}},
		{"relative on a date field", "due_dateRELATIVEGE@day@ago@0", []string{"r4"}},
		{"datepart on", "sys_created_onDATEPARTSunday@javascript:gs.datePart('dayofweek','sunday','EE')", []string{"r1", "r4"}},
		{"datepart on or before monday", "sys_created_onDATEPARTMonday@javascript:gs.datePart('dayofweek','monday','LE')", []string{"r1", "r4"}},
		{"datepart after wednesday", "sys_created_onDATEPARTWednesday@javascript:gs.datePart('dayofweek','wednesday','GT')", []string{"r2", "r3"}},
		{"datepart month", "sys_created_onDATEPARTDecember@javascript:gs.datePart('month','december','EE')", []string{"r4"}},
		{"datepart hour", "sys_created_onDATEPART@javascript:gs.datePart('hour','10','GE')", []string{"r2", "r3", "r4"}},
		{"javascript at least", "sys_created_on>=javascript:gs.beginningOfToday()", []string{"r3"}},
		{"javascript before", "sys_created_on<javascript:gs.daysAgoStart(1)", []string{"r1", "r4"}},
		{"javascript dateGenerate end", "sys_created_on>javascript:gs.dateGenerate('2024-03-14','end')", []string{"r3"}},
		{"javascript dateGenerate time", "sys_created_on>=javascript:gs.dateGenerate('2024-03-14','23:59:59')", []string{"r2", "r3"}},
		{"javascript between", "sys_created_onBETWEENjavascript:gs.daysAgoStart(5)@javascript:gs.daysAgoEnd(1)", []string{"r1", "r2"}},
		{"javascript hours ago", "sys_updated_on>javascript:gs.hoursAgo(1)", []string{"r3"}},
		{"javascript months ago", "sys_created_on<javascript:gs.monthsAgoStart(2)", []string{"r4"}},

		// field names that contain operator letters
		{"field with IN in its name", "u_INdex=5", []string{"r1"}},
		{"operator after dot-walk", "caller_id.emailSTARTSWITHann", []string{"r2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := Parse(tt.query, incidentSchema, Options{Now: clock})
			if diff := cmp.Diff(tt.want, matching(q, incidents)); diff != "" {
				t.Errorf("Parse(%q).Match mismatch (-want +got):\n%s", tt.query, diff)
			}
			if got := q.Invalid(); len(got) > 0 {
				t.Errorf("Parse(%q).Invalid() = %v, want none", tt.query, got)
			}
			if got := q.Unsupported(); len(got) > 0 {
				t.Errorf("Parse(%q).Unsupported() = %v, want none", tt.query, got)
			}
		})
	}
}

func TestMatchPrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"empty query matches everything", "", allIDs},
		{"and", "active=true^priority=5", []string{"r4"}},
		{"or binds to the condition before it", "active=true^priority=2^ORpriority=3", []string{}},
		{"or group then and", "priority=3^ORpriority=1^active=true", []string{"r1"}},
		{"and then or group", "active=true^priority=1^ORpriority=5", []string{"r1", "r4"}},
		{"or group of three", "priority=1^ORpriority=2^ORpriority=3", []string{"r1", "r2", "r3"}},
		{"two or groups", "priority=1^ORpriority=2^category=network^ORcategory=hardware", []string{"r1", "r2"}},
		{"new query", "priority=1^active=true^NQpriority=3", []string{"r1", "r3"}},
		{"new query with or group", "priority=1^NQpriority=2^ORpriority=3^active=false", []string{"r1", "r2", "r3"}},
		{"new query blocks are independent", "priority=1^active=false^NQpriority=2^active=false", []string{"r2"}},
		{"end of query marker", "active=true^EQ", []string{"r1", "r4"}},
		{"empty terms", "^^active=true^^", []string{"r1", "r4"}},
		{"trailing new query", "active=true^NQ", []string{"r1", "r4"}},
		{"trailing or", "active=true^OR", []string{"r1", "r4"}},
		{"end marker after new query", "active=true^NQEQ", []string{"r1", "r4"}},
		{"or at the start of a new query", "priority=1^NQ^ORpriority=2", []string{"r1", "r2"}},
		{"order terms between or members", "priority=1^ORDERBYnumber^ORpriority=2", []string{"r1", "r2"}},
		{"group by is ignored", "active=true^GROUPBYpriority", []string{"r1", "r4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := Parse(tt.query, incidentSchema, Options{Now: clock})
			if diff := cmp.Diff(tt.want, matching(q, incidents)); diff != "" {
				t.Errorf("Parse(%q).Match mismatch (-want +got):\n%s", tt.query, diff)
			}
			if got := q.Invalid(); len(got) > 0 {
				t.Errorf("Parse(%q).Invalid() = %v, want none", tt.query, got)
			}
		})
	}
}

func TestInvalidConditions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		query       string
		want        []string // matches by default
		wantInvalid []Problem
		wantNothing bool // under InvalidReturnsNoRows
	}{
		{
			name:        "unknown field returns the whole table",
			query:       "bogus=1",
			want:        allIDs,
			wantInvalid: []Problem{{"bogus=1", `unknown field "bogus"`}},
			wantNothing: true,
		},
		{
			name:        "field names are case-sensitive",
			query:       "Active=true",
			want:        allIDs,
			wantInvalid: []Problem{{"Active=true", `unknown field "Active"`}},
			wantNothing: true,
		},
		{
			name:        "the rest still runs",
			query:       "active=true^bogus=1",
			want:        []string{"r1", "r4"},
			wantInvalid: []Problem{{"bogus=1", `unknown field "bogus"`}},
			wantNothing: true,
		},
		{
			name:        "dropped first member of an or group",
			query:       "bogus=1^ORpriority=2",
			want:        []string{"r2"},
			wantInvalid: []Problem{{"bogus=1", `unknown field "bogus"`}},
			wantNothing: true,
		},
		{
			name:        "dropped later member of an or group",
			query:       "priority=2^ORbogus=1^active=false",
			want:        []string{"r2"},
			wantInvalid: []Problem{{"bogus=1", `unknown field "bogus"`}},
			wantNothing: true,
		},
		{
			name:  "a fully dropped or group disappears",
			query: "bogus=1^ORbogus2=3^active=false",
			want:  []string{"r2", "r3"},
			wantInvalid: []Problem{
				{"bogus=1", `unknown field "bogus"`},
				{"bogus2=3", `unknown field "bogus2"`},
			},
			wantNothing: true,
		},
		{
			name:        "a fully dropped new query block disappears",
			query:       "active=true^NQbogus=1",
			want:        []string{"r1", "r4"},
			wantInvalid: []Problem{{"bogus=1", `unknown field "bogus"`}},
			wantNothing: true,
		},
		{
			name:        "no operator",
			query:       "active",
			want:        allIDs,
			wantInvalid: []Problem{{"active", "no operator found"}},
			wantNothing: true,
		},
		{
			name:        "spaces are not allowed around operators",
			query:       "active = true",
			want:        allIDs,
			wantInvalid: []Problem{{"active = true", "no operator found"}},
			wantNothing: true,
		},
		{
			name:        "lower-case operator",
			query:       "short_descriptionlikeserver",
			want:        allIDs,
			wantInvalid: []Problem{{"short_descriptionlikeserver", "no operator found"}},
			wantNothing: true,
		},
		{
			name:        "between without a high bound",
			query:       "reassignment_countBETWEEN1",
			want:        allIDs,
			wantInvalid: []Problem{{"reassignment_countBETWEEN1", "BETWEEN needs low@high"}},
			wantNothing: true,
		},
		{
			name:        "sameas an unknown field",
			query:       "caller_idSAMEASbogus",
			want:        allIDs,
			wantInvalid: []Problem{{"caller_idSAMEASbogus", `unknown field "bogus"`}},
			wantNothing: true,
		},
		{
			name:        "bad relative unit",
			query:       "sys_created_onRELATIVEGT@fortnight@ago@1",
			want:        allIDs,
			wantInvalid: []Problem{{"sys_created_onRELATIVEGT@fortnight@ago@1", `unknown unit "fortnight"`}},
			wantNothing: true,
		},
		{
			name:        "bad javascript argument",
			query:       "sys_created_on>javascript:gs.daysAgo(abc)",
			want:        allIDs,
			wantInvalid: []Problem{{"sys_created_on>javascript:gs.daysAgo(abc)", `bad number "abc"`}},
			wantNothing: true,
		},
		{
			name:        "on without bounds",
			query:       "sys_created_onONToday",
			want:        allIDs,
			wantInvalid: []Problem{{"sys_created_onONToday", "ON needs label@start@end"}},
			wantNothing: true,
		},
		{
			name:        "order by an unknown field is ignored but does not empty the result",
			query:       "active=true^ORDERBYbogus",
			want:        []string{"r1", "r4"},
			wantInvalid: []Problem{{"ORDERBYbogus", `unknown field "bogus"`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := Parse(tt.query, incidentSchema, Options{Now: clock})
			if diff := cmp.Diff(tt.want, matching(q, incidents)); diff != "" {
				t.Errorf("Match mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantInvalid, q.Invalid()); diff != "" {
				t.Errorf("Invalid() mismatch (-want +got):\n%s", diff)
			}
			if q.MatchesNothing() {
				t.Errorf("MatchesNothing() = true without InvalidReturnsNoRows")
			}

			strict := Parse(tt.query, incidentSchema, Options{Now: clock, InvalidReturnsNoRows: true})
			if got := strict.MatchesNothing(); got != tt.wantNothing {
				t.Errorf("with InvalidReturnsNoRows, MatchesNothing() = %v, want %v", got, tt.wantNothing)
			}
			want := tt.want
			if tt.wantNothing {
				want = []string{}
			}
			if diff := cmp.Diff(want, matching(strict, incidents)); diff != "" {
				t.Errorf("with InvalidReturnsNoRows, Match mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnsupported(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		query           string
		want            []string
		wantUnsupported []Problem
	}{
		{
			name:            "dynamic",
			query:           "caller_idDYNAMIC90d1921e5f510100a9ad2572f2b477fe^active=true",
			want:            []string{"r1", "r4"},
			wantUnsupported: []Problem{{"caller_idDYNAMIC90d1921e5f510100a9ad2572f2b477fe", "operator DYNAMIC not supported"}},
		},
		{
			name:            "in_hierarchy_dynamic is not in_hierarchy",
			query:           "assigned_toIN_HIERARCHY_DYNAMICabc@def",
			want:            allIDs,
			wantUnsupported: []Problem{{"assigned_toIN_HIERARCHY_DYNAMICabc@def", "operator IN_HIERARCHY_DYNAMIC not supported"}},
		},
		{
			name:            "related list query",
			query:           "active=true^RLQUERYincident.problem_id,>=1,priority=1^ENDRLQUERY^priority=5",
			want:            []string{"r4"},
			wantUnsupported: []Problem{{"RLQUERYincident.problem_id,>=1,priority=1^ENDRLQUERY", "related list query not supported"}},
		},
		{
			name:            "related list query spanning terms",
			query:           "RLQUERYsys_user_grmember.user,>=1,m2m^group=abc^ENDRLQUERY^active=true",
			want:            []string{"r1", "r4"},
			wantUnsupported: []Problem{{"RLQUERYsys_user_grmember.user,>=1,m2m^group=abc^ENDRLQUERY", "related list query not supported"}},
		},
		{
			name:            "related list query as a new query",
			query:           "priority=1^NQRLQUERYincident.parent,>=1^ENDRLQUERY",
			want:            []string{"r1"},
			wantUnsupported: []Problem{{"RLQUERYincident.parent,>=1^ENDRLQUERY", "related list query not supported"}},
		},
		{
			name:            "javascript outside the whitelist",
			query:           "assigned_to=javascript:gs.getUserID()",
			want:            allIDs,
			wantUnsupported: []Problem{{"assigned_to=javascript:gs.getUserID()", "javascript function gs.getUserID not supported"}},
		},
		{
			name:            "javascript that is not a gs call",
			query:           "sys_created_on>javascript:new GlideDateTime().getValue()",
			want:            allIDs,
			wantUnsupported: []Problem{{"sys_created_on>javascript:new GlideDateTime().getValue()", "javascript expression not supported"}},
		},
		{
			name:            "javascript in list",
			query:           "assigned_toINjavascript:getMyAssignments()",
			want:            allIDs,
			wantUnsupported: []Problem{{"assigned_toINjavascript:getMyAssignments()", "javascript expression not supported"}},
		},
		{
			name:            "whole-query javascript",
			query:           "javascript:'active=true^'+getGroupQualifier()",
			want:            allIDs,
			wantUnsupported: []Problem{{"javascript:'active=true^'+getGroupQualifier()", "javascript query not supported"}},
		},
		{
			name:            "text search",
			query:           "123TEXTQUERY321=email^priority=1",
			want:            []string{"r1"},
			wantUnsupported: []Problem{{"123TEXTQUERY321=email", "text search not supported"}},
		},
		{
			name:            "valchanges",
			query:           "stateVALCHANGES",
			want:            allIDs,
			wantUnsupported: []Problem{{"stateVALCHANGES", "operator VALCHANGES not supported"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := Parse(tt.query, incidentSchema, Options{Now: clock, InvalidReturnsNoRows: true})
			if diff := cmp.Diff(tt.want, matching(q, incidents)); diff != "" {
				t.Errorf("Match mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantUnsupported, q.Unsupported()); diff != "" {
				t.Errorf("Unsupported() mismatch (-want +got):\n%s", diff)
			}
			if got := q.Invalid(); len(got) > 0 {
				t.Errorf("Invalid() = %v, want none", got)
			}
			if q.MatchesNothing() {
				t.Errorf("MatchesNothing() = true, want false: unsupported is not invalid")
			}
		})
	}
}

func TestOrderBy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		query     string
		wantOrder []Order
		want      []string
	}{
		{"no order keeps input order", "active=true", []Order{}, allIDs},
		{"integer ascending, empty first", "ORDERBYreassignment_count", []Order{{"reassignment_count", false}}, []string{"r4", "r1", "r2", "r3"}},
		{"integer descending, empty last", "ORDERBYDESCreassignment_count", []Order{{"reassignment_count", true}}, []string{"r3", "r2", "r1", "r4"}},
		{"numeric choice", "ORDERBYstate", []Order{{"state", false}}, []string{"r1", "r2", "r3", "r4"}},
		{"decimal descending", "ORDERBYDESCcost", []Order{{"cost", true}}, []string{"r4", "r1", "r2", "r3"}},
		{"datetime descending", "ORDERBYDESCsys_created_on", []Order{{"sys_created_on", true}}, []string{"r3", "r2", "r1", "r4"}},
		{"string ignores case", "ORDERBYcaller_id.email", []Order{{"caller_id.email", false}}, []string{"r3", "r2", "r4", "r1"}},
		{
			"multi-key: case-insensitive tie broken by second key",
			"ORDERBYcategory^ORDERBYDESCnumber",
			[]Order{{"category", false}, {"number", true}},
			[]string{"r4", "r3", "r2", "r1"},
		},
		{"boolean: empty, false, true", "ORDERBYactive^ORDERBYnumber", []Order{{"active", false}, {"number", false}}, []string{"r3", "r2", "r1", "r4"}},
		{"ties keep input order", "ORDERBYDESCactive", []Order{{"active", true}}, []string{"r1", "r4", "r2", "r3"}},
		{"order terms anywhere", "ORDERBYDESCpriority^active=true^ORDERBYnumber", []Order{{"priority", true}, {"number", false}}, []string{"r4", "r3", "r2", "r1"}},
		{"unknown order field skipped", "ORDERBYbogus^ORDERBYDESCnumber", []Order{{"number", true}}, []string{"r4", "r3", "r2", "r1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := Parse(tt.query, incidentSchema, Options{Now: clock})
			if diff := cmp.Diff(tt.wantOrder, q.OrderBy(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("OrderBy() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, sortedWithCompare(q, incidents)); diff != "" {
				t.Errorf("sorted with Compare mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, sortedWithSort(q, incidents)); diff != "" {
				t.Errorf("sorted with Sort mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"none", "", []string{}},
		{"order fields are not conditions", "ORDERBYnumber", []string{}},
		{
			"deduplicated in order, with compared fields, without dropped ones",
			"active=true^caller_id.email=x^ORassigned_toSAMEAScaller_id^active=false^bogus=1^ORDERBYnumber",
			[]string{"active", "caller_id.email", "assigned_to", "caller_id"},
		},
		{"morethan names the other field", "sla_dueMORETHANactivity_due@day@before@1", []string{"sla_due", "activity_due"}},
		{"unsupported conditions are not listed", "caller_idDYNAMICabc^priority=1", []string{"priority"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := Parse(tt.query, incidentSchema, Options{Now: clock})
			if diff := cmp.Diff(tt.want, q.Fields(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Fields() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		query string
		want  string
	}{
		{"empty", "", ""},
		{
			"already normal",
			"active=true^priority=1^ORpriority=2^NQstate=3^ORDERBYDESCsys_updated_on",
			"active=true^priority=1^ORpriority=2^NQstate=3^ORDERBYDESCsys_updated_on",
		},
		{
			"aliases spelled out, noise dropped",
			"short_description*foo^short_description!*bar^short_description%baz^reassignment_countEMPTY^^bogus=1^EQ^GROUPBYstate",
			"short_descriptionLIKEfoo^short_descriptionNOT LIKEbar^short_descriptionENDSWITHbaz^reassignment_countISEMPTY",
		},
		{"order terms last", "ORDERBYnumber^active=true", "active=true^ORDERBYnumber"},
		{"only order terms", "ORDERBYnumber^ORDERBYDESCpriority", "ORDERBYnumber^ORDERBYDESCpriority"},
		{"dropped or member", "bogus=1^ORpriority=2^active=true", "priority=2^active=true"},
		{"javascript kept as written", "sys_created_on>javascript:gs.daysAgo(1)", "sys_created_on>javascript:gs.daysAgo(1)"},
		{"unary operator drops trailing text", "activeISEMPTYjunk", "activeISEMPTY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := Parse(tt.query, incidentSchema, Options{Now: clock})
			got := q.String()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("String() mismatch (-want +got):\n%s", diff)
			}
			again := Parse(got, incidentSchema, Options{Now: clock})
			if diff := cmp.Diff(matching(q, incidents), matching(again, incidents)); diff != "" {
				t.Errorf("re-parsed String() matches differently (-original +reparsed):\n%s", diff)
			}
		})
	}
}

func TestNilSchemaAndDefaultClock(t *testing.T) {
	t.Parallel()
	q := Parse("active=true^sys_created_on>javascript:gs.daysAgo(1)", nil, Options{})
	if got := len(q.Invalid()); got != 2 {
		t.Errorf("with a nil schema, len(Invalid()) = %d, want 2", got)
	}
	q = Parse("sys_created_on>javascript:gs.daysAgo(1)", incidentSchema, Options{})
	if diff := cmp.Diff([]string{}, matching(q, incidents)); diff != "" {
		t.Errorf("with the real clock, Match mismatch (-want +got):\n%s", diff)
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	queries := []string{
		"active=true^priority=1^ORDERBYDESCsys_updated_on",
		"short_descriptionLIKEserver^ORshort_descriptionSTARTSWITHvpn",
		"categoryINnetwork,hardware^reassignment_count>2",
		"sys_created_on>=javascript:gs.beginningOfToday()^caller_idSAMEASassigned_to",
	}
	for _, query := range queries {
		q := Parse(query, incidentSchema, Options{Now: clock})
		allocs := testing.AllocsPerRun(100, func() {
			for _, r := range incidents {
				q.Match(r)
			}
		})
		if allocs != 0 {
			t.Errorf("Parse(%q).Match allocates %v times per run, want 0", query, allocs)
		}
	}
}
