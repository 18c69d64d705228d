package fakesn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// The concurrency soak: many clients at once mixing password grants,
// refreshes, revocations, Table API CRUD on incident and clock moves, under
// -race. Each client owns its records, so "the last acknowledged update" is
// well defined, and at the end the store must agree with every
// acknowledged operation.

const (
	soakClients       = 64
	soakSocketEvery   = 4 // every 4th client uses the loopback socket
	soakOps           = 100
	soakOpsShort      = 25
	soakAccessLife    = 2 * time.Minute // short: clock moves expire tokens now and then
	soakMaxClockStep  = 10              // seconds
	soakWatchdog      = 4 * time.Minute
	soakClientID      = "soak-client"
	soakClientSecret  = "soak-secret-3d1f"
	soakRecordPrefix  = "soak-"
	soakRecordsFields = "sys_id,short_description,description,urgency,sys_mod_count"
)

func TestSoakConcurrentClients(t *testing.T) {
	ops := soakOps
	if testing.Short() {
		ops = soakOpsShort
	}
	opts := Options{
		Clock: NewFakeClock(tableStart),
		Apps: []App{{ClientID: soakClientID, ClientSecret: soakClientSecret, AccessTokenLifespan: soakAccessLife,
			RedirectURLs: []string{"http://localhost/cb"}}},
	}
	for i := range soakClients {
		opts.Users = append(opts.Users, User{UserName: soakUser(i), Password: soakPassword(i), Roles: []string{"itil"}})
	}
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clients := make([]*soakClient, soakClients)
	for i := range clients {
		c := &soakClient{id: i, srv: srv, rng: rand.New(rand.NewPCG(uint64(i), 0x50a4)), records: map[string]*soakRecord{}}
		if i%soakSocketEvery == 0 {
			tr := &http.Transport{MaxIdleConnsPerHost: 2}
			t.Cleanup(tr.CloseIdleConnections)
			c.http, c.base = &http.Client{Transport: tr}, srv.URL()
		} else {
			c.http, c.base = &http.Client{Transport: srv.Transport()}, "http://instance.test"
		}
		c.ctl = NewAdminClient(c.base, "", c.http)
		clients[i] = c
	}

	// An observer reads the journal, faults and a snapshot while the
	// clients work, so the race detector sees those paths too.
	observed := make(chan error, 1)
	go func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				observed <- nil
				return
			case <-tick.C:
			}
			if _, err := srv.Journal(ctx, JournalFilter{API: "table", Limit: 20}); err != nil {
				observed <- err
				return
			}
			if _, err := srv.Snapshot(ctx); err != nil {
				observed <- err
				return
			}
			if _, err := srv.Unexpected(ctx); err != nil {
				observed <- err
				return
			}
		}
	}()

	start := time.Now()
	errs := make([]error, soakClients)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() { errs[i] = c.run(ctx, ops) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	watchdog := soakWatchdog
	if dl, ok := t.Deadline(); ok && time.Until(dl)-30*time.Second < watchdog {
		watchdog = max(time.Until(dl)-30*time.Second, 10*time.Second)
	}
	select {
	case <-done:
	case <-time.After(watchdog):
		var buf bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 2)
		cancel()
		t.Fatalf("soak did not finish within %v (deadlock?); goroutines:\n%s", watchdog, buf.String())
	}
	elapsed := time.Since(start)
	cancel()
	if err := <-observed; err != nil {
		t.Errorf("observer: %v", err)
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	var stats soakStats
	for _, c := range clients {
		stats.add(c.stats)
	}
	t.Logf("%d clients × %d operations (%d HTTP requests: %+v) in %v",
		soakClients, ops, stats.requests.Load(), stats.summary(), elapsed.Round(time.Millisecond))
	soakVerify(t, srv, clients)
}

func soakUser(i int) string     { return fmt.Sprintf("soak.user%02d", i) }
func soakPassword(i int) string { return fmt.Sprintf("soak-pw-%02d-e8c1", i) }

// soakRecord is what a client knows of a record it created: the values of
// its last acknowledged write.
type soakRecord struct {
	id, marker, description, urgency string
	updates                          int
	deleted                          bool
}

type soakStats struct {
	requests                                                    atomic.Int64
	passwordGrants, refreshes, revokes, clockMoves              int
	creates, reads, updates, deletes, expiredRetries, revokeChk int
}

func (s *soakStats) add(o *soakStats) {
	s.requests.Add(o.requests.Load())
	s.passwordGrants += o.passwordGrants
	s.refreshes += o.refreshes
	s.revokes += o.revokes
	s.clockMoves += o.clockMoves
	s.creates += o.creates
	s.reads += o.reads
	s.updates += o.updates
	s.deletes += o.deletes
	s.expiredRetries += o.expiredRetries
	s.revokeChk += o.revokeChk
}

func (s *soakStats) summary() string {
	return fmt.Sprintf("password=%d refresh=%d revoke=%d (checked %d) clock=%d create=%d read=%d update=%d delete=%d expired-retries=%d",
		s.passwordGrants, s.refreshes, s.revokes, s.revokeChk, s.clockMoves, s.creates, s.reads, s.updates, s.deletes, s.expiredRetries)
}

// soakClient is one client; only its own goroutine touches it.
type soakClient struct {
	id    int
	srv   *Server
	http  *http.Client
	base  string
	ctl   Controller
	rng   *rand.Rand
	stats *soakStats

	access, refresh string
	// The access token expires somewhere in [issuedLo, issuedHi] + life:
	// the clock readings around the grant that returned it.
	issuedLo, issuedHi time.Time

	records map[string]*soakRecord // by sys_id
	order   []string               // sys_ids in creation order
	created int
}

func (c *soakClient) run(ctx context.Context, ops int) error {
	c.stats = &soakStats{}
	for n := range ops {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var err error
		switch r := c.rng.IntN(100); {
		case r < 10:
			err = c.passwordGrant(ctx)
		case r < 20:
			err = c.refreshGrant(ctx)
		case r < 25:
			err = c.revoke(ctx)
		case r < 30:
			c.stats.clockMoves++
			_, err = c.ctl.AdvanceClock(ctx, time.Duration(1+c.rng.IntN(soakMaxClockStep))*time.Second)
		case r < 50:
			err = c.create(ctx)
		case r < 70:
			err = c.read(ctx)
		case r < 90:
			err = c.update(ctx)
		default:
			err = c.delete(ctx)
		}
		if err != nil {
			return fmt.Errorf("client %d (%s), op %d: %w", c.id, c.transportName(), n, err)
		}
	}
	return nil
}

func (c *soakClient) transportName() string {
	if c.base == "http://instance.test" {
		return "memory"
	}
	return "socket"
}

func (c *soakClient) now() time.Time { t, _ := c.srv.Now(context.Background()); return t }

// do sends one request and returns status and body.
func (c *soakClient) do(ctx context.Context, method, path, contentType, body string, auth func(*http.Request)) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if auth != nil {
		auth(req)
	}
	c.stats.requests.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (c *soakClient) token(ctx context.Context, form url.Values) (int, []byte, error) {
	form.Set("client_id", soakClientID)
	form.Set("client_secret", soakClientSecret)
	return c.do(ctx, http.MethodPost, "/oauth_token.do", "application/x-www-form-urlencoded", form.Encode(), nil)
}

// adopt takes the tokens of a successful grant.
func (c *soakClient) adopt(body []byte, lo, hi time.Time) error {
	var ans struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
		Expires int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || !tokenShape.MatchString(ans.Access) || !tokenShape.MatchString(ans.Refresh) {
		return fmt.Errorf("grant answer %s: not two 86-character tokens", body)
	}
	if want := int(soakAccessLife/time.Second) - 1; ans.Expires > want {
		return fmt.Errorf("grant answer: expires_in %d, want at most %d", ans.Expires, want)
	}
	c.access, c.refresh, c.issuedLo, c.issuedHi = ans.Access, ans.Refresh, lo, hi
	return nil
}

func (c *soakClient) passwordGrant(ctx context.Context) error {
	c.stats.passwordGrants++
	lo := c.now()
	status, body, err := c.token(ctx, url.Values{"grant_type": {"password"}, "username": {soakUser(c.id)}, "password": {soakPassword(c.id)}})
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("password grant: %d %s", status, body)
	}
	return c.adopt(body, lo, c.now())
}

// refreshGrant refreshes, or falls back to a password grant when the client
// holds no refresh token (after revoking it).
func (c *soakClient) refreshGrant(ctx context.Context) error {
	if c.refresh == "" {
		return c.passwordGrant(ctx)
	}
	c.stats.refreshes++
	lo := c.now()
	status, body, err := c.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.refresh}})
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("refresh grant with a live refresh token: %d %s", status, body)
	}
	return c.adopt(body, lo, c.now())
}

// revoke revokes the access token (or, one time in three, the refresh
// token, which ends its access tokens too) and checks that it is refused.
func (c *soakClient) revoke(ctx context.Context) error {
	if c.access == "" {
		return c.passwordGrant(ctx)
	}
	c.stats.revokes++
	tok := c.access
	refreshToo := c.rng.IntN(3) == 0
	if refreshToo {
		tok = c.refresh
	}
	status, body, err := c.do(ctx, http.MethodPost, "/oauth_revoke_token.do", "application/x-www-form-urlencoded",
		url.Values{"token": {tok}}.Encode(), nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK || len(body) != 0 {
		return fmt.Errorf("revoke: %d %q, want 200 and no body", status, body)
	}
	revoked := c.access
	if refreshToo {
		status, body, err := c.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.refresh}})
		if err != nil {
			return err
		}
		if status != http.StatusUnauthorized || string(body) != string(genericTokenFailure) {
			return fmt.Errorf("refresh with a revoked refresh token: %d %s, want the generic 401", status, body)
		}
		c.refresh = ""
	}
	c.access = ""
	if c.rng.IntN(2) == 0 {
		c.stats.revokeChk++
		status, body, err := c.do(ctx, http.MethodGet, "/api/now/table/incident?sysparm_limit=1&sysparm_fields=sys_id", "", "", soakBearer(revoked))
		if err != nil {
			return err
		}
		if status != http.StatusUnauthorized {
			return fmt.Errorf("Table API with a revoked access token: %d %s, want 401", status, body)
		}
	}
	return nil
}

func soakBearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

// table sends a Table API request with the current access token. A 401 is
// accepted only when the token may have expired by the fake's clock; the
// client then refreshes and retries once (a 401 is answered before any
// write, so the retry cannot double a write).
func (c *soakClient) table(ctx context.Context, method, path, body string) (int, []byte, error) {
	if c.access == "" {
		if err := c.refreshGrant(ctx); err != nil {
			return 0, nil, err
		}
	}
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	for attempt := 0; ; attempt++ {
		lo := c.now()
		status, b, err := c.do(ctx, method, path, ct, body, soakBearer(c.access))
		if err != nil {
			return 0, nil, err
		}
		if status != http.StatusUnauthorized {
			if !lo.Before(c.issuedHi.Add(soakAccessLife)) {
				return 0, nil, fmt.Errorf("%s %s: %d with an access token that had expired (issued by %v, sent at %v)", method, path, status, c.issuedHi, lo)
			}
			return status, b, nil
		}
		if hi := c.now(); hi.Before(c.issuedLo.Add(soakAccessLife)) {
			return 0, nil, fmt.Errorf("%s %s: 401 with an access token that cannot have expired (issued in [%v, %v], answered by %v): %s",
				method, path, c.issuedLo, c.issuedHi, hi, b)
		}
		if attempt == 3 {
			return 0, nil, fmt.Errorf("%s %s: 401 after %d fresh grants: %s", method, path, attempt, b)
		}
		c.stats.expiredRetries++
		if err := c.refreshGrant(ctx); err != nil {
			return 0, nil, err
		}
	}
}

func (c *soakClient) recordJSON(r *soakRecord) string {
	return fmt.Sprintf(`{"result":{"sys_id":%q,"short_description":%q,"description":%q,"urgency":%q,"sys_mod_count":"%d"}}`,
		r.id, r.marker, r.description, r.urgency, r.updates)
}

func (c *soakClient) create(ctx context.Context) error {
	c.stats.creates++
	c.created++
	r := &soakRecord{marker: fmt.Sprintf("%sc%02d-n%03d", soakRecordPrefix, c.id, c.created), description: "v0",
		urgency: fmt.Sprint(1 + c.rng.IntN(3))}
	body := fmt.Sprintf(`{"short_description":%q,"description":%q,"urgency":%q}`, r.marker, r.description, r.urgency)
	status, b, err := c.table(ctx, http.MethodPost, "/api/now/table/incident?sysparm_fields="+soakRecordsFields, body)
	if err != nil {
		return err
	}
	var got oneResult
	if status != http.StatusCreated || json.Unmarshal(b, &got) != nil {
		return fmt.Errorf("create: %d %s", status, b)
	}
	r.id, _ = got.Result["sys_id"].(string)
	if want := c.recordJSON(r); string(b) != want {
		return fmt.Errorf("create answer:\n got %s\nwant %s", b, want)
	}
	c.records[r.id] = r
	c.order = append(c.order, r.id)
	return nil
}

// pick returns one of the client's records, live or deleted, or nil.
func (c *soakClient) pick(live bool) *soakRecord {
	var ids []string
	for _, id := range c.order {
		if !live || !c.records[id].deleted {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return c.records[ids[c.rng.IntN(len(ids))]]
}

func (c *soakClient) read(ctx context.Context) error {
	r := c.pick(false)
	if r == nil {
		return c.create(ctx)
	}
	c.stats.reads++
	status, b, err := c.table(ctx, http.MethodGet, "/api/now/table/incident/"+r.id+"?sysparm_fields="+soakRecordsFields, "")
	if err != nil {
		return err
	}
	if r.deleted {
		if status != http.StatusNotFound {
			return fmt.Errorf("read of deleted %s: %d %s, want 404", r.id, status, b)
		}
		return nil
	}
	if want := c.recordJSON(r); status != http.StatusOK || string(b) != want {
		return fmt.Errorf("read %s: %d\n got %s\nwant %s", r.id, status, b, want)
	}
	return nil
}

func (c *soakClient) update(ctx context.Context) error {
	r := c.pick(true)
	if r == nil {
		return c.create(ctx)
	}
	c.stats.updates++
	desc := fmt.Sprintf("c%02d-u%d", c.id, r.updates+1) // always a change, so sys_mod_count moves
	urg := fmt.Sprint(1 + c.rng.IntN(3))
	method := http.MethodPatch
	if c.rng.IntN(2) == 0 {
		method = http.MethodPut
	}
	status, b, err := c.table(ctx, method, "/api/now/table/incident/"+r.id+"?sysparm_fields="+soakRecordsFields,
		fmt.Sprintf(`{"description":%q,"urgency":%q}`, desc, urg))
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, r.id, status, b)
	}
	r.description, r.urgency = desc, urg
	r.updates++
	if want := c.recordJSON(r); string(b) != want {
		return fmt.Errorf("%s answer:\n got %s\nwant %s", method, b, want)
	}
	return nil
}

func (c *soakClient) delete(ctx context.Context) error {
	r := c.pick(true)
	if r == nil {
		return c.create(ctx)
	}
	c.stats.deletes++
	status, b, err := c.table(ctx, http.MethodDelete, "/api/now/table/incident/"+r.id, "")
	if err != nil {
		return err
	}
	if status != http.StatusNoContent || len(b) != 0 {
		return fmt.Errorf("delete %s: %d %q, want 204 and no body", r.id, status, b)
	}
	r.deleted = true
	return nil
}

// soakVerify compares the store with what the clients were told: every
// acknowledged create exists unless deleted, no record exists twice or
// without an acknowledged create, sys_mod_count is the number of
// acknowledged updates and the fields are the last update's.
func soakVerify(t *testing.T, srv *Server, clients []*soakClient) {
	t.Helper()
	type stored struct{ sysID, description, urgency, modCount string }
	byMarker := map[string][]stored{}
	_ = srv.store.View(func(tx *store.Tx) error {
		return tx.Scan("incident", func(r *store.Row) bool {
			if m := r.Get("short_description"); strings.HasPrefix(m, soakRecordPrefix) {
				byMarker[m] = append(byMarker[m], stored{r.ID(), r.Get("description"), r.Get("urgency"), r.Get("sys_mod_count")})
			}
			return true
		})
	})
	want := map[string]bool{}
	live, deleted := 0, 0
	for _, c := range clients {
		for _, id := range c.order {
			r := c.records[id]
			want[r.marker] = true
			got := byMarker[r.marker]
			if r.deleted {
				deleted++
				if len(got) != 0 {
					t.Errorf("%s (%s): deleted with 204 but still stored: %+v", r.marker, r.id, got)
				}
				continue
			}
			live++
			if len(got) != 1 {
				t.Errorf("%s (%s): stored %d times, want once: %+v", r.marker, r.id, len(got), got)
				continue
			}
			w := stored{r.id, r.description, r.urgency, fmt.Sprint(r.updates)}
			if got[0] != w {
				t.Errorf("%s: stored %+v, want %+v", r.marker, got[0], w)
			}
		}
	}
	for m, rows := range byMarker {
		if !want[m] {
			t.Errorf("%s: stored %d times without an acknowledged create", m, len(rows))
		}
	}
	t.Logf("verified %d live and %d deleted records against the store", live, deleted)
}
