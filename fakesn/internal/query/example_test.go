package query_test

import (
	"fmt"
	"slices"
	"time"

	"github.com/sncheck/sncheck/fakesn/internal/query"
)

type schema map[string]string

func (s schema) FieldType(path string) (string, bool) {
	t, ok := s[path]
	return t, ok
}

type record map[string]string

func (r record) Get(path string) string { return r[path] }

func Example() {
	incident := schema{
		"number":         "string",
		"active":         "boolean",
		"priority":       "integer",
		"sys_updated_on": "glide_date_time",
	}
	rows := []record{
		{"number": "INC001", "active": "true", "priority": "1", "sys_updated_on": "2024-03-15 09:00:00"},
		{"number": "INC002", "active": "false", "priority": "1", "sys_updated_on": "2024-03-15 10:00:00"},
		{"number": "INC003", "active": "true", "priority": "2", "sys_updated_on": "2024-03-15 11:00:00"},
		{"number": "INC004", "active": "true", "priority": "3", "sys_updated_on": "2024-03-15 12:00:00"},
	}
	now := func() time.Time { return time.Date(2024, 3, 15, 12, 30, 0, 0, time.UTC) }

	q := query.Parse("active=true^priority=1^ORpriority=2^ORDERBYDESCsys_updated_on^bogus=x", incident, query.Options{Now: now})
	var matched []record
	for _, r := range rows {
		if q.Match(r) {
			matched = append(matched, r)
		}
	}
	query.Sort(q, matched)
	for _, r := range matched {
		fmt.Println(r["number"])
	}
	fmt.Println("query:", q)
	fmt.Println("fields:", q.Fields())
	fmt.Println("invalid:", q.Invalid())

	recent := query.Parse("sys_updated_on>=javascript:gs.hoursAgo(1)", incident, query.Options{Now: now})
	fmt.Println("updated in the last hour:", slices.IndexFunc(rows, func(r record) bool { return recent.Match(r) }))
	// Output:
	// INC003
	// INC001
	// query: active=true^priority=1^ORpriority=2^ORDERBYDESCsys_updated_on
	// fields: [active priority]
	// invalid: [{bogus=x unknown field "bogus"}]
	// updated in the last hour: 3
}
