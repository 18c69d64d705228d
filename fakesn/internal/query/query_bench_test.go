package query

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

const benchRecords = 100_000

// syntheticIncidents builds n incident-like records with a fixed seed.
func syntheticIncidents(n int) []rec {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"Email", "server", "down", "VPN", "not", "working", "printer", "jam", "password", "reset", "SAP", "outage"}
	categories := []string{"network", "hardware", "software", "inquiry", "database"}
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]rec, n)
	for i := range out {
		created := start.Add(time.Duration(rng.Int64N(int64(440 * 24 * time.Hour))))
		updated := created.Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
		desc := ""
		for range 4 {
			desc += words[rng.IntN(len(words))] + " "
		}
		out[i] = rec{
			"sys_id":             fmt.Sprintf("%032x", i),
			"number":             fmt.Sprintf("INC%07d", i),
			"short_description":  desc,
			"active":             []string{"true", "false"}[rng.IntN(2)],
			"priority":           fmt.Sprint(1 + rng.IntN(5)),
			"state":              fmt.Sprint(1 + rng.IntN(8)),
			"category":           categories[rng.IntN(len(categories))],
			"reassignment_count": fmt.Sprint(rng.IntN(6)),
			"caller_id":          fmt.Sprintf("%032x", rng.IntN(500)),
			"assigned_to":        fmt.Sprintf("%032x", rng.IntN(50)),
			"sys_created_on":     formatDateTime(created),
			"sys_updated_on":     formatDateTime(updated),
		}
	}
	return out
}

// benchData is built on first use so that plain test runs don't pay for it.
var benchData = sync.OnceValue(func() []rec { return syntheticIncidents(benchRecords) })

func BenchmarkParse(b *testing.B) {
	const query = "active=true^priority=1^ORpriority=2^short_descriptionLIKEemail^categoryINnetwork,hardware" +
		"^sys_created_on>=javascript:gs.daysAgoStart(30)^NQassigned_toISEMPTY^ORDERBYDESCsys_updated_on^ORDERBYnumber"
	b.ReportAllocs()
	for b.Loop() {
		Parse(query, incidentSchema, Options{Now: clock})
	}
}

// rowRecord models a store that keeps values in a slice with one column map
// per table: the map stays in cache, unlike one map per record.
type rowRecord struct {
	cols map[string]int
	vals []string
}

func (r rowRecord) Get(path string) string {
	if i, ok := r.cols[path]; ok {
		return r.vals[i]
	}
	return ""
}

func toRows(records []rec) []Record {
	cols := map[string]int{}
	for name := range records[0] {
		cols[name] = len(cols)
	}
	out := make([]Record, len(records))
	for i, r := range records {
		vals := make([]string, len(cols))
		for name, v := range r {
			vals[cols[name]] = v
		}
		out[i] = rowRecord{cols, vals}
	}
	return out
}

func asRecords(records []rec) []Record {
	out := make([]Record, len(records))
	for i, r := range records {
		out[i] = r
	}
	return out
}

// BenchmarkMatch is one pass of Match over 100,000 records, stored either as
// one map per record or as rows sharing a column map. Record.Get dominates
// with maps (each record's map is a cache miss); rows show the engine's cost.
func BenchmarkMatch(b *testing.B) {
	stores := []struct {
		name    string
		records []Record
	}{
		{"maps", asRecords(benchData())},
		{"rows", toRows(benchData())},
	}
	queries := []struct {
		name, query string
	}{
		{"equals", "active=true^priority=1^ORDERBYDESCsys_updated_on"},
		{"or group", "priority=1^ORpriority=2^ORcategory=network"},
		{"like", "short_descriptionLIKEoutage"},
		{"in", "categoryINnetwork,database^stateNOT IN6,7,8"},
		{"integer compare", "reassignment_count>=3"},
		{"date javascript", "sys_created_on>=javascript:gs.dateGenerate('2024-01-01','start')"},
		{"sameas", "caller_idSAMEASassigned_to"},
		{"new query", "active=false^priority=5^NQcategory=inquiry^short_descriptionSTARTSWITHsap"},
	}
	for _, store := range stores {
		for _, bq := range queries {
			q := Parse(bq.query, incidentSchema, Options{Now: clock})
			b.Run(store.name+"/"+bq.name, func(b *testing.B) {
				b.ReportAllocs()
				matched := 0
				for b.Loop() {
					matched = 0
					for _, r := range store.records {
						if q.Match(r) {
							matched++
						}
					}
				}
				b.ReportMetric(float64(matched), "matches")
			})
		}
	}
}

// BenchmarkMatchAndSort is the server's list path: filter 100,000 records,
// then order the matches.
func BenchmarkMatchAndSort(b *testing.B) {
	for _, store := range []struct {
		name    string
		records []Record
	}{
		{"maps", asRecords(benchData())},
		{"rows", toRows(benchData())},
	} {
		q := Parse("active=true^priority=1^ORDERBYDESCsys_updated_on", incidentSchema, Options{Now: clock})
		filter := func() []Record {
			out := make([]Record, 0, 1024)
			for _, r := range store.records {
				if q.Match(r) {
					out = append(out, r)
				}
			}
			return out
		}
		b.Run(store.name+"/Sort", func(b *testing.B) {
			for b.Loop() {
				Sort(q, filter())
			}
		})
		b.Run(store.name+"/Compare", func(b *testing.B) {
			for b.Loop() {
				slices.SortStableFunc(filter(), q.Compare)
			}
		})
		all := Parse("ORDERBYDESCsys_updated_on^ORDERBYnumber", incidentSchema, Options{Now: clock})
		b.Run(store.name+"/Sort all 100k", func(b *testing.B) {
			for b.Loop() {
				Sort(all, slices.Clone(store.records))
			}
		})
	}
}
