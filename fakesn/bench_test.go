package fakesn

// Benchmarks of the fake's hot paths and of how its costs grow; `make
// bench` runs them, and docs/performance.md records the numbers. Each one
// calls the handler directly (no socket), so it measures the fake's own
// work; internal/loadrun measures it over loopback against a bare net/http
// ceiling.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sncheck/sncheck/fakesn/internal/store"
	"github.com/sncheck/sncheck/fixtures"
)

// benchWriter is a ResponseWriter that keeps only the status and size, so
// that the benchmarks measure the fake and not a recorder.
type benchWriter struct {
	h      http.Header
	status int
	n      int
	body   []byte // kept only when keep is set
	keep   bool
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	if w.keep {
		w.body = append(w.body, p...)
	}
	return len(p), nil
}

func (w *benchWriter) reset() {
	clear(w.h)
	w.status, w.n, w.body = 0, 0, w.body[:0]
}

// benchDo serves one request and returns the writer.
func benchDo(s *Server, w *benchWriter, method, target, contentType, body string, hdr ...string) *benchWriter {
	w.reset()
	var req *http.Request
	if body != "" {
		req, _ = http.NewRequest(method, "http://instance.test"+target, strings.NewReader(body))
	} else {
		req, _ = http.NewRequest(method, "http://instance.test"+target, http.NoBody)
	}
	req.RemoteAddr = "127.0.0.1:1"
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	s.ServeHTTP(w, req)
	return w
}

func newBenchWriter() *benchWriter { return &benchWriter{h: http.Header{}} }

const benchFormType = "application/x-www-form-urlencoded"

var benchPasswordForm = url.Values{"grant_type": {"password"}, "client_id": {fixtures.OAuthClientID},
	"client_secret": {fixtures.OAuthClientSecret}, "username": {"admin"}, "password": {"admin"}}.Encode()

// benchToken runs a password grant and returns the access and refresh tokens.
func benchToken(tb testing.TB, s *Server) (access, refresh string) {
	tb.Helper()
	w := newBenchWriter()
	w.keep = true
	benchDo(s, w, http.MethodPost, "/oauth_token.do", benchFormType, benchPasswordForm)
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(w.body, &tok); err != nil || w.status != http.StatusOK || tok.AccessToken == "" {
		tb.Fatalf("password grant: status %d, body %s", w.status, w.body)
	}
	return tok.AccessToken, tok.RefreshToken
}

func newBenchServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// TestDefaultSeedValidates checks what buildSeed skips at run time for
// zero Options: the embedded seed plus the internal tables validates.
func TestDefaultSeedValidates(t *testing.T) {
	t.Parallel()
	seed, err := buildSeed(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := seed.Validate(); err != nil {
		t.Errorf("the default seed with the internal tables: %v", err)
	}
}

// BenchmarkTokenPassword is the password grant as the load run sends it.
// With the instance's default the current access token is reused (and its
// expiry pushed); new-token issues a fresh pair each time, so the
// credential table grows by two rows per request.
func BenchmarkTokenPassword(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts Options
	}{
		{"reuse", Options{}},
		{"new-token", Options{NoAccessTokenReuse: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := newBenchServer(b, bc.opts)
			benchToken(b, s)
			w := newBenchWriter()
			b.ReportAllocs()
			cpu0 := selfCPUTime()
			for b.Loop() {
				if benchDo(s, w, http.MethodPost, "/oauth_token.do", benchFormType, benchPasswordForm).status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
			cpuPerOp(b, cpu0)
		})
	}
}

// BenchmarkTokenRefresh is the refresh grant: every request issues a new
// access token for the same refresh token.
func BenchmarkTokenRefresh(b *testing.B) {
	s := newBenchServer(b, Options{})
	_, refresh := benchToken(b, s)
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {fixtures.OAuthClientID},
		"client_secret": {fixtures.OAuthClientSecret}, "refresh_token": {refresh}}.Encode()
	w := newBenchWriter()
	b.ReportAllocs()
	cpu0 := selfCPUTime()
	for b.Loop() {
		if benchDo(s, w, http.MethodPost, "/oauth_token.do", benchFormType, form).status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
	cpuPerOp(b, cpu0)
}

// benchIncidents returns n synthetic incidents that pass seed validation,
// deterministically, with sys_ids that never clash with the seed's.
func benchIncidents(n int) []map[string]string {
	rng := rand.New(rand.NewPCG(7, 11))
	users := []string{adminID, employeeID, bethID}
	categories := []string{"inquiry", "software", "hardware", "network", "database"}
	words := []string{"Email", "server", "down", "VPN", "not", "working", "printer", "jam", "password", "reset", "SAP", "outage"}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	recs := make([]map[string]string, n)
	for i := range recs {
		created := start.Add(time.Duration(rng.Int64N(int64(400 * 24 * time.Hour))))
		updated := created.Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
		desc := words[rng.IntN(len(words))] + " " + words[rng.IntN(len(words))] + " " + words[rng.IntN(len(words))]
		recs[i] = map[string]string{
			"sys_id":            fmt.Sprintf("be%030x", i),
			"number":            fmt.Sprintf("INC%07d", 1000000+i),
			"short_description": desc,
			"active":            []string{"true", "false"}[rng.IntN(2)],
			"priority":          strconv.Itoa(1 + rng.IntN(5)),
			"state":             strconv.Itoa(1 + rng.IntN(7)),
			"category":          categories[rng.IntN(len(categories))],
			"caller_id":         users[rng.IntN(len(users))],
			"assigned_to":       users[rng.IntN(len(users))],
			"opened_by":         users[rng.IntN(len(users))],
			"opened_at":         created.Format(store.TimeLayout),
			"sys_created_on":    created.Format(store.TimeLayout),
			"sys_updated_on":    updated.Format(store.TimeLayout),
			"sys_created_by":    "admin",
			"sys_updated_by":    "admin",
		}
	}
	return recs
}

// incidentConfig is a Config adding n synthetic incidents.
func incidentConfig(n int) *fixtures.Seed {
	return &fixtures.Seed{Rows: []fixtures.Rows{{Table: "incident", Records: benchIncidents(n)}}}
}

// sizedServer is a fake with extra incidents, built once per size and
// shared by the benchmarks that read it.
type sizedServer struct {
	s      *Server
	token  string
	build  time.Duration
	heapMB float64 // live heap the server added, after a GC
}

var (
	sizedMu      sync.Mutex
	sizedServers = map[int]*sizedServer{}
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func serverWithIncidents(tb testing.TB, n int) *sizedServer {
	tb.Helper()
	sizedMu.Lock()
	defer sizedMu.Unlock()
	if ss, ok := sizedServers[n]; ok {
		return ss
	}
	cfg := incidentConfig(n)
	before := heapInUse()
	start := time.Now()
	s, err := New(Options{Config: cfg})
	if err != nil {
		tb.Fatal(err)
	}
	build := time.Since(start)
	cfg = nil
	ss := &sizedServer{s: s, build: build, heapMB: float64(heapInUse()-before) / (1 << 20)}
	ss.token, _ = benchToken(tb, s)
	sizedServers[n] = ss
	return ss
}

// BenchmarkTableList100 is the load run's Table API request: a page of 100
// incidents, every field, references as links, with a bearer token.
func BenchmarkTableList100(b *testing.B) {
	ss := serverWithIncidents(b, 100)
	w := newBenchWriter()
	auth := "Bearer " + ss.token
	b.ReportAllocs()
	cpu0 := selfCPUTime()
	for b.Loop() {
		benchDo(ss.s, w, http.MethodGet, "/api/now/table/incident?sysparm_limit=100", "", "", "Authorization", auth, "Accept", "application/json")
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
	cpuPerOp(b, cpu0)
	b.ReportMetric(float64(w.n), "B/resp")
}

// largeQuery is the issue's filtered, ordered query on a large table.
const largeQuery = "/api/now/table/incident?sysparm_query=active%3Dtrue%5Epriority%3D1%5EORDERBYDESCsys_updated_on&sysparm_limit=100"

// BenchmarkTableQuery runs largeQuery on incident tables of growing size,
// and reports the heap the records take and how long building the fake
// took (ms-build).
func BenchmarkTableQuery(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("records=%dk", n/1000), func(b *testing.B) {
			ss := serverWithIncidents(b, n)
			w := newBenchWriter()
			auth := "Bearer " + ss.token
			b.ReportAllocs()
			cpu0 := selfCPUTime()
			for b.Loop() {
				benchDo(ss.s, w, http.MethodGet, largeQuery, "", "", "Authorization", auth, "Accept", "application/json")
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
			cpuPerOp(b, cpu0)
			b.ReportMetric(ss.heapMB, "MB-heap")
			b.ReportMetric(float64(ss.build.Milliseconds()), "ms-build")
		})
	}
}

// BenchmarkTableGetOne reads one record by sys_id from tables of growing
// size: it should not grow.
func BenchmarkTableGetOne(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("records=%dk", n/1000), func(b *testing.B) {
			ss := serverWithIncidents(b, n)
			w := newBenchWriter()
			auth := "Bearer " + ss.token
			target := "/api/now/table/incident/" + fmt.Sprintf("be%030x", n/2)
			b.ReportAllocs()
			cpu0 := selfCPUTime()
			for b.Loop() {
				benchDo(ss.s, w, http.MethodGet, target, "", "", "Authorization", auth, "Accept", "application/json")
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
			cpuPerOp(b, cpu0)
		})
	}
}

// BenchmarkSeed100k builds a fake with 100,000 extra incidents from a
// Config, as `sncheck serve --config` does (the config already parsed). On
// a shared machine wall time swings with the load; cpu-ms/op (this
// process's user+system time, GC included) is steadier.
func BenchmarkSeed100k(b *testing.B) {
	cfg := incidentConfig(100_000)
	b.ReportAllocs()
	cpu0 := selfCPUTime()
	for b.Loop() {
		s, err := New(Options{Config: cfg})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(float64((selfCPUTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
}

// cpuPerOp reports this process's CPU time per iteration since cpu0, GC
// included: steadier than ns/op when the machine is shared.
func cpuPerOp(b *testing.B, cpu0 time.Duration) {
	if cpu := selfCPUTime() - cpu0; cpu > 0 && b.N > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	}
}

// selfCPUTime is this process's user+system time on Linux, 0 elsewhere.
func selfCPUTime() time.Duration {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 > len(data) {
		return 0
	}
	fields := strings.Fields(string(data[i+2:]))
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// BenchmarkNew is the fake's start-up with the default seed.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		s, err := New(Options{})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkEncode writes 100 incidents in each sysparm_display_value mode,
// every field, as admin sees them.
func BenchmarkEncode(b *testing.B) {
	ss := serverWithIncidents(b, 100)
	admin := &principal{UserID: adminID, UserName: "admin", Roles: map[string]bool{"admin": true}}
	for _, mode := range []struct {
		name       string
		mode       displayMode
		excludeRef bool
	}{
		{"false", displayFalse, false},
		{"false-exclude-ref", displayFalse, true},
		{"true", displayTrue, false},
		{"all", displayAll, false},
	} {
		b.Run("display="+mode.name, func(b *testing.B) {
			_ = ss.s.store.View(func(tx *store.Tx) error {
				t, _ := tx.Table("incident")
				var rows []*store.Row
				_ = tx.Scan("incident", func(r *store.Row) bool {
					rows = append(rows, r)
					return len(rows) < 100
				})
				tr := &tableRequest{s: ss.s, p: admin, table: "incident", base: "http://instance.test",
					params: tableParams{Display: mode.mode, ExcludeRef: mode.excludeRef}}
				enc := tr.encoder(tx, t)
				var buf []byte
				b.ReportAllocs()
				for b.Loop() {
					buf = buf[:0]
					for _, r := range rows {
						buf = enc.appendRecord(buf, r)
					}
				}
				b.ReportMetric(float64(len(buf)), "B/100rec")
				return nil
			})
		})
	}
}

// benchEntry is a typical journal entry of a Table API request.
func benchEntry() JournalEntry {
	now := time.Now().UTC()
	return JournalEntry{Time: now, WallTime: now, Method: "GET", Path: "/api/now/table/incident",
		Query: "sysparm_limit=100", API: "table", Table: "incident", User: "admin", AuthKind: "bearer",
		Token: "0123456789ab", ClientID: fixtures.OAuthClientID, Status: 200, UserAgent: "wrk", Duration: time.Millisecond}
}

// BenchmarkJournalAppend is one journal append, alone and from every core
// at once (the journal has one lock).
func BenchmarkJournalAppend(b *testing.B) {
	e := benchEntry()
	b.Run("serial", func(b *testing.B) {
		j := newJournal(10000)
		b.ReportAllocs()
		for b.Loop() {
			j.add(e)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		j := newJournal(10000)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				j.add(e)
			}
		})
	})
}

// BenchmarkJournalSize fills journals of growing size and reports the
// memory a full one holds and the cost of querying it (a filtered read,
// as a suite asserting on one token does).
func BenchmarkJournalSize(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("entries=%dk", n/1000), func(b *testing.B) {
			before := heapInUse()
			j := newJournal(n)
			for i := range n {
				e := benchEntry()
				e.Token = fmt.Sprintf("%012x", i) // distinct strings, as live entries have
				j.add(e)
			}
			mb := float64(heapInUse()-before) / (1 << 20)
			f := JournalFilter{Token: fmt.Sprintf("%012x", n/2)}
			b.ReportAllocs()
			for b.Loop() {
				if got := j.query(f); len(got) != 1 {
					b.Fatalf("query found %d entries, want 1", len(got))
				}
			}
			b.ReportMetric(mb, "MB-heap")
			runtime.KeepAlive(j)
		})
	}
}

// BenchmarkTableListJournalFull is the 100-record list with a full
// journal of the given size, to show that request cost does not grow with
// it.
func BenchmarkTableListJournalFull(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("entries=%dk", n/1000), func(b *testing.B) {
			s := newBenchServer(b, Options{Config: incidentConfig(100), JournalSize: n})
			token, _ := benchToken(b, s)
			e := benchEntry()
			for range n {
				s.journal.add(e)
			}
			w := newBenchWriter()
			auth := "Bearer " + token
			b.ReportAllocs()
			for b.Loop() {
				benchDo(s, w, http.MethodGet, "/api/now/table/incident?sysparm_limit=100", "", "", "Authorization", auth, "Accept", "application/json")
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}

// BenchmarkSessionCreate starts a session, as every Table API request
// without a session cookie does, in an empty and in a full session table
// (MaxSessions, default 10000), where each new one evicts the least
// recently used.
func BenchmarkSessionCreate(b *testing.B) {
	for _, full := range []bool{false, true} {
		b.Run(fmt.Sprintf("full=%v", full), func(b *testing.B) {
			ss := newSessions(10000)
			now := time.Now()
			if full {
				for i := range 10000 {
					ss.create(adminID, "admin", now.Add(time.Duration(i)))
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				ss.create(adminID, "admin", now.Add(time.Duration(10000+i)))
				if !full && i%10000 == 0 {
					ss.reset()
				}
			}
		})
	}
}

// BenchmarkTokenPasswordCredentials is the password grant (token reuse on)
// with n live credentials of another user in the store: finding the
// current token scans oauth_credential, so its cost grows with n.
func BenchmarkTokenPasswordCredentials(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("credentials=%dk", n/1000), func(b *testing.B) {
			s := newBenchServer(b, Options{})
			err := s.store.Update("system", func(tx *store.Tx) error {
				for range n {
					if _, _, err := issueCredential(tx, credSpec{Kind: kindAccess, AppID: fixtures.OAuthEntitySysID,
						UserID: employeeID, Life: time.Hour, GrantType: grantRefresh}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			benchToken(b, s)
			w := newBenchWriter()
			b.ReportAllocs()
			cpu0 := selfCPUTime()
			for b.Loop() {
				if benchDo(s, w, http.MethodPost, "/oauth_token.do", benchFormType, benchPasswordForm).status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
			cpuPerOp(b, cpu0)
		})
	}
}
