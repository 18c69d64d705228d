package fakesn

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// Seeded records the Table API tests rely on (fixtures/seed).
const (
	adminID       = "6816f79cc0a8016401c5a33be04be441"
	employeeID    = "681ccaf9c0a8016400b98a06818d57c7"
	bethID        = "46d44a23a9fe19810012d100cca80666"
	serviceDeskID = "d625dccec0a8016700a222a0f7900d06"
	inc1ID        = "9c573169c611228700193229fff72400" // INC0000001
	seedIncidents = 65
	seedProblems  = 12
)

// tableStart is the fake clock's start in Table API tests.
var tableStart = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func clockOpts() Options { return Options{Clock: NewFakeClock(tableStart)} }

// wire is a raw response.
type wire struct {
	status int
	header http.Header
	body   string
}

// reqOpt changes a request before it is sent.
type reqOpt func(*http.Request)

// as sends Basic credentials of user (password = user name, as seeded).
func as(user string) reqOpt {
	return func(r *http.Request) { r.SetBasicAuth(user, user) }
}

// anonymous sends no credentials.
func anonymous() reqOpt { return func(r *http.Request) { r.Header.Del("Authorization") } }

func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

// send makes one request, by default as admin with JSON headers.
func send(t *testing.T, c *http.Client, method, url, body string, opts ...reqOpt) wire {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", "admin")
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return wire{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// noJar is c without cookies, so a request carries only what it says.
func noJar(c *http.Client) *http.Client {
	return &http.Client{Transport: c.Transport, CheckRedirect: c.CheckRedirect}
}

// decode unmarshals a body, failing the test on bad JSON.
func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decoding %q: %v", body, err)
	}
	return v
}

// listResult is a list answer.
type listResult struct {
	Result []map[string]any `json:"result"`
}

// oneResult is a single-record answer.
type oneResult struct {
	Result map[string]any `json:"result"`
}

// wantStatus fails unless w has the status.
func wantStatus(t *testing.T, w wire, status int) {
	t.Helper()
	if w.status != status {
		t.Fatalf("status: got %d, want %d; body %s", w.status, status, w.body)
	}
}

// wantError checks the instance's error envelope byte for byte.
func wantError(t *testing.T, w wire, status int, message string, detail *string) {
	t.Helper()
	wantStatus(t, w, status)
	d := "null"
	if detail != nil {
		b, _ := json.Marshal(*detail)
		d = string(b)
	}
	m, _ := json.Marshal(message)
	want := fmt.Sprintf(`{"error":{"message":%s,"detail":%s},"status":"failure"}`, m, d)
	if w.body != want {
		t.Errorf("body:\n got %s\nwant %s", w.body, want)
	}
	if ct := w.header.Get("Content-Type"); ct != contentTypeJSON {
		t.Errorf("Content-Type: got %q, want %q", ct, contentTypeJSON)
	}
}

func ptr(s string) *string { return &s }

// insertRows adds n records to table through the store, as admin; fill
// gives each one's values.
func insertRows(t testing.TB, s *Server, table string, n int, fill func(i int) map[string]string) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for start := 0; start < n; start += 1000 {
		err := s.store.Update("admin", func(tx *store.Tx) error {
			for i := start; i < min(start+1000, n); i++ {
				row, err := tx.Insert(table, fill(i))
				if err != nil {
					return err
				}
				ids = append(ids, row.ID())
			}
			return nil
		})
		if err != nil {
			t.Fatalf("inserting into %s: %v", table, err)
		}
	}
	return ids
}

// addACL adds a sys_security_acl rule through the store.
func addACL(t testing.TB, s *Server, rule map[string]string) {
	t.Helper()
	insertRows(t, s, "sys_security_acl", 1, func(int) map[string]string { return rule })
}

// resultIDs lists the sys_id of each record of a list answer.
func resultIDs(t *testing.T, w wire) []string {
	t.Helper()
	var ids []string
	for _, r := range decode[listResult](t, w.body).Result {
		id, _ := r["sys_id"].(string)
		ids = append(ids, id)
	}
	return ids
}
