package query

import (
	"slices"
	"time"
)

// testSchema is a slice of the incident table plus a few dot-walks.
type testSchema map[string]string

func (s testSchema) FieldType(path string) (string, bool) {
	t, ok := s[path]
	return t, ok
}

var incidentSchema = testSchema{
	"sys_id":             "GUID",
	"number":             "string",
	"short_description":  "string",
	"active":             "boolean",
	"made_sla":           "boolean",
	"priority":           "choice",
	"state":              "choice",
	"category":           "choice",
	"reassignment_count": "integer",
	"reopen_count":       "integer",
	"cost":               "decimal",
	"caller_id":          "reference",
	"assigned_to":        "reference",
	"caller_id.email":    "string",
	"sys_created_on":     "glide_date_time",
	"sys_updated_on":     "glide_date_time",
	"sla_due":            "glide_date_time",
	"activity_due":       "glide_date_time",
	"due_date":           "glide_date",
	"u_INdex":            "string", // upper case letters that spell IN
}

// rec is a stored record; "id" names it in test expectations.
type rec map[string]string

func (r rec) Get(path string) string { return r[path] }

// fixedNow is a Friday.
var fixedNow = time.Date(2024, 3, 15, 12, 34, 56, 0, time.UTC)

func clock() time.Time { return fixedNow }

var incidents = []rec{
	{
		"id": "r1", "number": "INC001", "short_description": "Email server down", "active": "true",
		"priority": "1", "state": "1", "category": "network", "reassignment_count": "0", "reopen_count": "0",
		"cost": "10.5", "caller_id": "aaa", "assigned_to": "aaa", "caller_id.email": "fred@example.com",
		"sys_created_on": "2024-03-10 08:00:00", "sys_updated_on": "2024-03-15 09:30:00",
		"sla_due": "2024-03-15 12:00:00", "activity_due": "2024-03-17 12:00:00", "due_date": "2024-03-15",
		"made_sla": "true", "u_INdex": "5",
	},
	{
		"id": "r2", "number": "INC002", "short_description": "VPN not working", "active": "false",
		"priority": "2", "state": "2", "category": "Network", "reassignment_count": "3", "reopen_count": "1",
		"cost": "2", "caller_id": "bbb", "assigned_to": "", "caller_id.email": "ann@example.com",
		"sys_created_on": "2024-03-14 23:59:59", "sys_updated_on": "2024-03-15 00:00:00",
		"sla_due": "2024-03-10 00:00:00", "activity_due": "2024-03-10 18:00:00", "due_date": "2024-03-14",
		"made_sla": "false",
	},
	{
		"id": "r3", "number": "INC003", "short_description": "Printer jam", "active": "",
		"priority": "3", "state": "7", "category": "hardware", "reassignment_count": "10", "reopen_count": "10",
		"cost": "", "caller_id": "", "assigned_to": "ccc", "caller_id.email": "",
		"sys_created_on": "2024-03-15 10:00:00", "sys_updated_on": "2024-03-15 11:59:00",
		"sla_due": "", "activity_due": "2024-03-15 00:00:00", "due_date": "",
		"made_sla": "",
	},
	{
		"id": "r4", "number": "INC004", "short_description": "", "active": "1",
		"priority": "5", "state": "10", "category": "", "reassignment_count": "", "reopen_count": "2",
		"cost": "100", "caller_id": "ddd", "assigned_to": "ddd", "caller_id.email": "BOB@Example.com",
		"sys_created_on": "2023-12-31 23:00:00", "sys_updated_on": "2024-01-01 00:00:00",
		"sla_due": "2024-03-15 23:59:59", "activity_due": "", "due_date": "2024-03-16",
		"made_sla": "0",
	},
}

var allIDs = []string{"r1", "r2", "r3", "r4"}

// matching returns the ids of the records q matches, in input order.
func matching(q *Query, records []rec) []string {
	ids := []string{}
	for _, r := range records {
		if q.Match(r) {
			ids = append(ids, r["id"])
		}
	}
	return ids
}

func ids(records []rec) []string {
	out := make([]string, len(records))
	for i, r := range records {
		out[i] = r["id"]
	}
	return out
}

func sortedWithCompare(q *Query, records []rec) []string {
	rs := slices.Clone(records)
	slices.SortStableFunc(rs, func(a, b rec) int { return q.Compare(a, b) })
	return ids(rs)
}

func sortedWithSort(q *Query, records []rec) []string {
	rs := slices.Clone(records)
	Sort(q, rs)
	return ids(rs)
}
