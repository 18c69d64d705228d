// Package instance is the instance suite: Ginkgo specs of what a
// ServiceNow instance does on the wire (servicenow-spec.md: the OAuth
// endpoints of RFC 6749 as ServiceNow implements them, and the Table API),
// run against the fake and against a live instance alike.
//
// Against a live instance the suite tells whether the instance and its
// OAuth application are set up right, each failure with a hint naming the
// setup step; against the fake it proves the fake behaves like the real
// thing. Every check is in the catalogue (checks.go, docs/checks.md).
//
// Against a live instance the suite is safe: it only reads unless writes
// are allowed (SNCHECK_ALLOW_WRITES=true), the records it writes carry the
// run marker and are deleted, it stays within the target's request budget,
// and it never prints a secret.
package instance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/suites"
)

// Register declares the instance suite against newTarget. Call it once, at
// the top level of a Ginkgo suite (it declares a BeforeSuite); one target
// serves the whole run, so that a live instance's request budget is the
// run's.
func Register(newTarget harness.Maker) {
	s := &suite{newTarget: newTarget}
	BeforeSuite(s.setUp)
	Describe("ServiceNow instance", func() {
		describeTokenEndpoint(s)
		describeTokenFailures(s)
		describeAuthorize(s)
		describeTable(s)
		describeQueries(s)
		describeScopes(s)
		describeExpiry(s)
		describeWrites(s)
	})
}

// suite is one run's shared state: the target, the request counter, the
// run marker and the user's tokens.
type suite struct {
	newTarget harness.Maker

	target      harness.Target
	creds       harness.Credentials
	base        string
	client      *http.Client
	requests    atomic.Int64
	marker      string
	allowWrites bool

	mu     sync.Mutex // guards tokens, memo
	tokens *tokenSet
	memo   map[string]*suites.Answer
}

// markerPattern keeps the marker usable inside an encoded query.
var markerPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{6,64}$`)

// NewMarker returns a fresh run marker: "sncheck-" and 12 random hex digits.
func NewMarker() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "sncheck-" + hex.EncodeToString(b[:])
}

func (s *suite) setUp(ctx SpecContext) {
	t, err := s.newTarget(ctx)
	Expect(err).NotTo(HaveOccurred(), "setting up the target")
	DeferCleanup(t.Close)
	DeferCleanup(suites.AttachTargetJournal, t) // report hook: the fake's journal for the report's timeline (suites/timeline.go)
	s.target, s.creds, s.base = t, t.Credentials(), t.BaseURL()
	s.client = countingClient(t.HTTPClient(ctx), &s.requests)
	s.memo = map[string]*suites.Answer{}
	s.marker = os.Getenv(suites.EnvRunMarker)
	if s.marker == "" {
		s.marker = NewMarker()
	}
	Expect(markerPattern.MatchString(s.marker)).To(BeTrue(),
		"%s=%q must be 6 to 64 letters, digits, '.', '_' or '-'", suites.EnvRunMarker, s.marker)
	s.allowWrites = !t.Live() || os.Getenv(suites.EnvAllowWrites) == "true"
	// Cleanups run in reverse: the sweep first, then the count, then Close.
	DeferCleanup(func() { suites.ReportRequests(s.requests.Load()) })
	DeferCleanup(func(ctx SpecContext) {
		if !s.allowWrites {
			return
		}
		_, err := sweep(ctx, s.client, s.base, s.userTokens(ctx).access.Reveal(), s.marker)
		Expect(err).NotTo(HaveOccurred(), "deleting the records marked %s", s.marker)
	})
}

// countingClient is hc with every request counted and no redirect
// followed: the suite asserts on redirects themselves.
func countingClient(hc *http.Client, n *atomic.Int64) *http.Client {
	c := *hc
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = countingTransport{next: next, n: n}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.Jar = nil
	return &c
}

type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.next.RoundTrip(r)
}

// controller returns the fake's controller, or skips the spec with why it
// needs one.
func (s *suite) controller(why string) fakesn.Controller {
	GinkgoHelper()
	ctl, ok := s.target.Controller()
	if !ok {
		Skip("needs the fake's " + why + ": not available against a live instance")
	}
	return ctl
}

// requireWrites skips a spec that writes unless writes are allowed.
func (s *suite) requireWrites() {
	GinkgoHelper()
	if !s.allowWrites {
		Skip("writes records: the run is read-only; allow writes with --allow-writes or " + suites.EnvAllowWrites + "=true")
	}
}

// auth sets a request's credentials.
type auth func(*http.Request)

func bearer(tok suites.Secret) auth {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok.Reveal()) }
}

func basicAuth(user string, pass suites.Secret) auth {
	return func(r *http.Request) { r.SetBasicAuth(user, pass.Reveal()) }
}

func noAuth(*http.Request) {}

// userBasic is Basic auth as the configured user.
func (s *suite) userBasic() auth {
	return basicAuth(s.creds.Username, suites.Secret(s.creds.Password))
}

// send sends a request and reads the answer; observe names the
// observation ("" for none). A transport error fails the spec without
// the URL, which may hold a token.
func (s *suite) send(ctx context.Context, req *http.Request, observe string) *suites.Answer {
	GinkgoHelper()
	return sendWith(ctx, s.client, req, observe)
}

func sendWith(ctx context.Context, client *http.Client, req *http.Request, observe string) *suites.Answer {
	GinkgoHelper()
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		Fail(fmt.Sprintf("%s %s: no answer: %v", req.Method, req.URL.Path, unwrapURLError(err)))
	}
	a, err := suites.ReadAnswer(resp)
	Expect(err).NotTo(HaveOccurred())
	if observe != "" {
		suites.Observe(observe, resp, a.Body)
	}
	if hibernating(a) {
		Fail("the instance answered its hibernation page (200, HTML) instead of " + req.Method + " " + req.URL.Path +
			": wake it at https://developer.servicenow.com and run again")
	}
	return a
}

// hibernating reports whether an answer is a sleeping PDI's page.
func hibernating(a *suites.Answer) bool {
	return a.Status == http.StatusOK && strings.Contains(strings.ToLower(a.Header.Get("Content-Type")), "html") &&
		bytes.Contains(bytes.ToLower(a.Body), []byte("hibernating"))
}

// tableCall calls the Table API: path under the base URL with a raw
// query (kept byte for byte: the Link header repeats it), and a JSON body
// when body is not nil.
func (s *suite) tableCall(ctx context.Context, method, path, rawQuery string, a auth, body any, observe string) *suites.Answer {
	GinkgoHelper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		Expect(err).NotTo(HaveOccurred())
		rd = bytes.NewReader(data)
	}
	u := s.base + path
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	req, err := http.NewRequest(method, u, rd)
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	a(req)
	return s.send(ctx, req, observe)
}

// get is a Table API GET with the user's token.
func (s *suite) get(ctx context.Context, path, rawQuery, observe string) *suites.Answer {
	GinkgoHelper()
	return s.tableCall(ctx, http.MethodGet, path, rawQuery, bearer(s.userTokens(ctx).access), nil, observe)
}

// memoGet is get, answered once per run: several checks assert on the same
// answer, and a live run's requests are budgeted.
func (s *suite) memoGet(ctx context.Context, path, rawQuery string) *suites.Answer {
	GinkgoHelper()
	key := path + "?" + rawQuery
	s.mu.Lock()
	a, ok := s.memo[key]
	s.mu.Unlock()
	if ok {
		return a
	}
	a = s.get(ctx, path, rawQuery, "")
	if a.Status == http.StatusOK {
		s.mu.Lock()
		s.memo[key] = a
		s.mu.Unlock()
	}
	return a
}

// q builds a raw query from name/value pairs, in order.
func q(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[i+1]))
	}
	return b.String()
}

// results decodes a list answer's records.
func results(a *suites.Answer) []map[string]any {
	GinkgoHelper()
	var env struct {
		Result []map[string]any `json:"result"`
	}
	dec := json.NewDecoder(bytes.NewReader(a.Body))
	dec.UseNumber()
	Expect(dec.Decode(&env)).To(Succeed(), "a list answer's body: %s", a.Summary())
	return env.Result
}

// record decodes a single-record answer.
func record(a *suites.Answer) map[string]any {
	GinkgoHelper()
	var env struct {
		Result map[string]any `json:"result"`
	}
	dec := json.NewDecoder(bytes.NewReader(a.Body))
	dec.UseNumber()
	Expect(dec.Decode(&env)).To(Succeed(), "a record answer's body: %s", a.Summary())
	Expect(env.Result).NotTo(BeNil(), "%s has no result object", a.Summary())
	return env.Result
}

// field reads a record's field as a string ("" if it is not one).
func field(rec map[string]any, name string) string {
	v, _ := rec[name].(string)
	return v
}

// random returns n random hex digits, for names that must not collide.
func random(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

var sysIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

func readCloser(data []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(data)) }
