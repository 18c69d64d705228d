package reference_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sncheck/sncheck/examples/reference"
	"github.com/sncheck/sncheck/examples/reference/snclient"
	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
)

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// env is a fake instance and the configuration of an integration for it.
type env struct {
	t      *testing.T
	srv    *fakesn.Server
	clock  *fakesn.FakeClock
	cfg    harness.IntegrationConfig
	sleeps *sleepLog
	since  int64 // journal entries before this sequence number are ignored
}

// newEnv starts a fake on a fake clock; opts.Clock is replaced.
func newEnv(t *testing.T, opts fakesn.Options) *env {
	t.Helper()
	clock := fakesn.NewFakeClock(t0)
	opts.Clock = clock
	srv := harness.StartFake(t, opts)
	creds := harness.DefaultCredentials()
	return &env{
		t: t, srv: srv, clock: clock, sleeps: &sleepLog{},
		cfg: harness.IntegrationConfig{
			InstanceURL: srv.URL(), ClientID: creds.ClientID, ClientSecret: creds.ClientSecret,
			Username: creds.Username, Password: creds.Password, GrantType: harness.GrantPassword,
			RedirectURI: creds.RedirectURI, StateDir: t.TempDir(),
		},
	}
}

// start builds the reference integration with the env's configuration,
// recording (not sleeping through) its waits.
func (e *env) start(base snclient.Config) *reference.Integration {
	e.t.Helper()
	if base.Sleep == nil {
		base.Sleep = e.sleeps.sleep
	}
	integ, err := reference.New(e.cfg, base)
	if err != nil {
		e.t.Fatalf("reference.New: %v", err)
	}
	e.t.Cleanup(func() { _ = integ.Close() })
	return integ
}

// connect starts and connects an integration (not for authorization_code).
func (e *env) connect(base snclient.Config) *reference.Integration {
	e.t.Helper()
	integ := e.start(base)
	if u, err := integ.Connect(context.Background()); err != nil || u != "" {
		e.t.Fatalf("Connect = %q, %v", u, err)
	}
	return integ
}

// authorize runs the whole authorization-code flow for integ as user.
func (e *env) authorize(integ harness.Integration, user, password string) error {
	e.t.Helper()
	ctx := context.Background()
	u, err := integ.Connect(ctx)
	if err != nil {
		return err
	}
	if u == "" {
		e.t.Fatal("Connect gave no authorize URL for the authorization_code grant")
	}
	redirect, err := harness.AuthorizeAsUser(ctx, e.srv.Client(), u, user, password)
	if err != nil {
		e.t.Fatalf("AuthorizeAsUser: %v", err)
	}
	return integ.Callback(ctx, redirect)
}

func (e *env) journal(f fakesn.JournalFilter) []fakesn.JournalEntry {
	e.t.Helper()
	if f.SinceSeq == 0 {
		f.SinceSeq = e.since
	}
	j, err := e.srv.Journal(context.Background(), f)
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

func (e *env) count(f fakesn.JournalFilter) int { return len(e.journal(f)) }

// grants counts token requests of a grant type.
func (e *env) grants(grant string) int {
	return e.count(fakesn.JournalFilter{API: "oauth_token", GrantType: grant})
}

// tableCalls counts Table API requests.
func (e *env) tableCalls() int { return e.count(fakesn.JournalFilter{API: "table"}) }

// skipJournal makes the helpers ignore what the journal holds so far.
func (e *env) skipJournal() {
	e.t.Helper()
	all := e.journal(fakesn.JournalFilter{Limit: 1})
	if len(all) > 0 {
		e.since = all[0].Seq + 1
	}
}

// tableCallsBy counts one user's Table API requests.
func (e *env) tableCallsBy(user string) int {
	n := 0
	for _, j := range e.journal(fakesn.JournalFilter{API: "table"}) {
		if j.User == user {
			n++
		}
	}
	return n
}

// expire moves the fake's clock past the access token's 1800 s.
func (e *env) expire() { e.clock.Advance(31 * time.Minute) }

func (e *env) fault(f fakesn.Fault) {
	e.t.Helper()
	if _, err := e.srv.AddFault(context.Background(), f); err != nil {
		e.t.Fatal(err)
	}
}

// admin calls the Table API as admin with Basic auth, the way a setup
// script would.
func (e *env) admin(method, path string, body any) []byte {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL()+path, rd)
	req.SetBasicAuth("admin", "admin")
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		e.t.Fatalf("admin %s %s: %d %s", method, path, resp.StatusCode, out)
	}
	return out
}

// sleepLog records the waits an integration asked for.
type sleepLog struct {
	mu sync.Mutex // guards waits
	d  []time.Duration
}

func (s *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepLog) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// barrier holds Table API requests until n are in flight, once, so that n
// concurrent operations present the same (expired) token together.
type barrier struct {
	next    http.RoundTripper
	mu      sync.Mutex // guards waiting, open
	n       int
	waiting int
	open    chan struct{}
	done    bool
}

func newBarrier(n int) *barrier {
	return &barrier{next: http.DefaultTransport, n: n, open: make(chan struct{})}
}

func (b *barrier) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != "/oauth_token.do" {
		b.mu.Lock()
		if !b.done {
			b.waiting++
			if b.waiting == b.n {
				b.done = true
				close(b.open)
			}
			b.mu.Unlock()
			select {
			case <-b.open:
			case <-r.Context().Done():
				return nil, r.Context().Err()
			}
		} else {
			b.mu.Unlock()
		}
	}
	return b.next.RoundTrip(r)
}

func kindOf(err error) harness.ErrorKind { return harness.KindOf(err) }
