package fakesn

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// Table API benchmarks: go test -bench TableAPI -benchmem -run '^$' ./fakesn/

// tableBenchServer is a fake whose incident table holds n rows in all,
// seeded through the store, built once per size.
func tableBenchServer(b *testing.B, n int) *Server {
	b.Helper()
	tableBenchMu.Lock()
	defer tableBenchMu.Unlock()
	if s, ok := tableBenchServers[n]; ok {
		return s
	}
	// The clock jumps around so that sys_updated_on, which the store sets,
	// gives the sort real work.
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := NewFakeClock(start)
	s, err := New(Options{Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	users := []string{adminID, employeeID, bethID}
	for i := range n - seedIncidents {
		// One transaction per row: a transaction is one instant.
		clock.Set(start.Add(time.Duration(rng.Int64N(int64(400 * 24 * time.Hour)))))
		err := s.store.Update("admin", func(tx *store.Tx) error {
			_, err := tx.Insert("incident", map[string]string{
				"short_description": fmt.Sprintf("Synthetic incident %d", i),
				"active":            []string{"true", "false"}[rng.IntN(2)],
				"priority":          fmt.Sprint(1 + rng.IntN(5)),
				"state":             fmt.Sprint(1 + rng.IntN(7)),
				"caller_id":         users[rng.IntN(len(users))],
				"assignment_group":  serviceDeskID,
			})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	tableBenchServers[n] = s
	return s
}

var (
	tableBenchMu      sync.Mutex
	tableBenchServers = map[int]*Server{}
)

// tableBenchGet runs one GET through the in-memory transport.
func tableBenchGet(b *testing.B, c *http.Client, url string) int {
	req, _ := http.NewRequest("GET", url, nil)
	req.SetBasicAuth("admin", "admin")
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d", resp.StatusCode)
	}
	return int(n)
}

// BenchmarkTableAPIList100 lists 100 incidents, every field, references as
// links, over the in-memory transport (session cookie after the first call).
func BenchmarkTableAPIList100(b *testing.B) {
	s := tableBenchServer(b, 100)
	c := &http.Client{Transport: s.Transport(), Jar: newJar()}
	var size int
	b.ReportAllocs()
	cpu := tableProcessCPU()
	for b.Loop() {
		size = tableBenchGet(b, c, "http://instance.test/api/now/table/incident?sysparm_limit=100")
	}
	reportCPU(b, cpu)
	b.ReportMetric(float64(size), "B/resp")
}

// BenchmarkTableAPIQuery100k is the filtered, ordered query on a
// 100,000-record incident table (target: 20 ms/op at most).
func BenchmarkTableAPIQuery100k(b *testing.B) {
	s := tableBenchServer(b, 100_000)
	c := &http.Client{Transport: s.Transport(), Jar: newJar()}
	url := "http://instance.test/api/now/table/incident?sysparm_query=active%3Dtrue%5Epriority%3D1%5EORDERBYDESCsys_updated_on&sysparm_limit=100"
	b.ReportAllocs()
	cpu := tableProcessCPU()
	for b.Loop() {
		tableBenchGet(b, c, url)
	}
	reportCPU(b, cpu)
}

// reportCPU adds cpu-ms/op: the process's CPU time per operation since
// start, which other processes on a busy machine do not inflate as they do
// ns/op.
func reportCPU(b *testing.B, start int64) {
	if end := tableProcessCPU(); end > 0 && b.N > 0 {
		b.ReportMetric(float64(end-start)/float64(b.N)/1e6, "cpu-ms/op")
	}
}

// BenchmarkTableAPIEncode encodes one incident in each display mode.
func BenchmarkTableAPIEncode(b *testing.B) {
	s := tableBenchServer(b, 100)
	for _, tc := range []struct {
		name       string
		mode       displayMode
		excludeRef bool
	}{
		{"display=false", displayFalse, false},
		{"display=false/exclude_links", displayFalse, true},
		{"display=true", displayTrue, false},
		{"display=all", displayAll, false},
		{"display=all/exclude_links", displayAll, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			_ = s.store.View(func(tx *store.Tx) error {
				t, _ := tx.Table("incident")
				row, err := tx.Get("incident", inc1ID)
				if err != nil {
					b.Fatal(err)
				}
				enc := &recordEncoder{tx: tx, table: t, base: "https://dev1.service-now.com", mode: tc.mode, excludeRef: tc.excludeRef}
				for _, f := range t.Fields {
					enc.addColumn(f.Name, f, f.Index)
				}
				buf := make([]byte, 0, 16<<10)
				b.ReportAllocs()
				for b.Loop() {
					buf = enc.appendRecord(buf[:0], row)
				}
				b.ReportMetric(float64(len(buf)), "B/record")
				return nil
			})
		})
	}
}
