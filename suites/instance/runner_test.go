package instance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/suites"
	"github.com/sncheck/sncheck/suites/instance"
)

// TestMain lets this test binary stand in for sncheck as the suite's
// child process: RunSuite re-executes it with `__suite instance`.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == suites.ChildCommand {
		os.Exit(suites.SuiteMain(os.Args[2:], os.Stderr, map[string]suites.Registrar{"instance": instance.Register}))
	}
	os.Exit(m.Run())
}

// doctor rewrites an answer of the fake: a deliberately non-conformant
// instance.
type doctor func(r *http.Request, a *answer)

// answer is a response being doctored.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// startFake starts a fake with opts behind fix (nil: none) and returns it
// and the URL the suite should use.
func startFake(t *testing.T, opts fakesn.Options, fix doctor) (*fakesn.Server, string) {
	t.Helper()
	srv, err := fakesn.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	h := http.Handler(srv)
	if fix != nil {
		h = doctored(srv, fix)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return srv, ts.URL
}

// doctored answers through h, then lets fix rewrite the answer.
func doctored(h http.Handler, fix doctor) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		a := &answer{status: rec.Code, header: rec.Header().Clone(), body: rec.Body.Bytes()}
		if !strings.HasPrefix(r.URL.Path, "/_fakesn/") {
			fix(r, a)
		}
		for k, v := range a.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
	})
}

func isTable(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/now/") }
func isToken(r *http.Request) bool { return r.URL.Path == "/oauth_token.do" }

var (
	expiresIn  = regexp.MustCompile(`"expires_in":(\d+)`)
	lastOffset = regexp.MustCompile(`sysparm_offset=(\d+)([^>]*)>;rel="last"`)
)

// The deliberately broken instances, and the checks that must catch each.
var variants = []struct {
	name string
	opts fakesn.Options
	fix  doctor
	want []string
}{
	{
		name: "expires_in as a string",
		fix: func(r *http.Request, a *answer) {
			if isToken(r) {
				a.body = expiresIn.ReplaceAll(a.body, []byte(`"expires_in":"$1"`))
			}
		},
		want: []string{"OAUTH-EXPIRES-IN", "OAUTH-TOKEN-SHAPE"},
	},
	{
		name: "RFC 6749 token errors instead of the generic 401",
		fix: func(r *http.Request, a *answer) {
			if isToken(r) && a.status == http.StatusUnauthorized {
				a.status = http.StatusBadRequest
				a.body = []byte(`{"error":"invalid_grant","error_description":"the grant is invalid"}`)
			}
		},
		want: []string{"EXPIRY-REFRESH-NOT-EXTENDED", "OAUTH-AUTHZ-ALLOW", "OAUTH-ERR-BAD-PASSWORD", "OAUTH-ERR-BAD-REFRESH",
			"OAUTH-ERR-BAD-SECRET", "OAUTH-ERR-MISSING-PARAMS", "OAUTH-ERR-QUERY-PARAMS", "OAUTH-ERR-UNKNOWN-CLIENT",
			"OAUTH-ERR-UNSUPPORTED-GRANT"},
	},
	{
		name: "X-Total-Count missing",
		fix: func(r *http.Request, a *answer) {
			if isTable(r) {
				a.header.Del("X-Total-Count")
			}
		},
		want: []string{"TABLE-LINK-HEADER", "TABLE-LINK-LAST-PAGE", "TABLE-TOTAL-COUNT"},
	},
	{
		name: "Link last off by one",
		fix: func(r *http.Request, a *answer) {
			if l := a.header.Get("Link"); l != "" {
				a.header.Set("Link", lastOffset.ReplaceAllStringFunc(l, func(m string) string {
					sub := lastOffset.FindStringSubmatch(m)
					n, _ := strconv.Atoi(sub[1])
					return fmt.Sprintf(`sysparm_offset=%d%s>;rel="last"`, n+1, sub[2])
				}))
			}
		},
		want: []string{"TABLE-LINK-HEADER", "TABLE-LINK-LAST-PAGE"},
	},
	{
		name: "refresh tokens rotated",
		opts: fakesn.Options{RefreshTokenRotation: true},
		want: []string{"EXPIRY-REFRESH-NOT-EXTENDED", "OAUTH-REFRESH-SAME-TOKEN"},
	},
	{
		name: "403 where a 401 belongs",
		fix: func(r *http.Request, a *answer) {
			if isTable(r) && a.status == http.StatusUnauthorized {
				a.status = http.StatusForbidden
			}
		},
		want: []string{"EXPIRY-ACCESS-LIFESPAN", "OAUTH-REVOKE", "TABLE-ERR-401", "TABLE-ERR-BAD-BEARER"},
	},
	{
		name: "404 with a null detail",
		fix: func(r *http.Request, a *answer) {
			if isTable(r) && a.status == http.StatusNotFound {
				a.body = bytes.Replace(a.body, []byte(`"detail":"Record doesn't exist or ACL restricts the record retrieval"`), []byte(`"detail":null`), 1)
			}
		},
		want: []string{"TABLE-ERR-404", "WRITE-DELETE"},
	},
}

// runChild runs the instance suite in a child process (this binary)
// against the fake at url, through the runner sncheck uses. It returns nil
// (the test failed) when the run could not happen.
func runChild(t *testing.T, ctx context.Context, url string, vars map[string]string, opts suites.RunOptions) *suites.Run {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{suites.EnvFakeURL: url}
	for k, v := range vars {
		env[k] = v
	}
	opts.Suite = "instance"
	opts.Command = []string{exe, suites.ChildCommand, "instance"}
	opts.Env = suites.ChildEnv(os.Environ(), env)
	opts.Meta = suites.RunMeta{Tool: "sncheck-test", Target: suites.TargetInfo{Name: "fake-url", URL: url}}
	var out bytes.Buffer
	if opts.Output == nil {
		opts.Output = &syncBuffer{b: &out}
	}
	run, err := suites.RunSuite(ctx, opts)
	if err != nil {
		// Errorf, not Fatalf: runChild may run on another goroutine.
		t.Errorf("RunSuite: %v\n%s", err, out.String())
		return nil
	}
	return run
}

type syncBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSuiteAgainstFakeURL runs the whole suite through the runner against
// a fake at a URL: every check passes, and the progress lines match the
// run.
func TestSuiteAgainstFakeURL(t *testing.T) {
	t.Parallel()
	srv, url := startFake(t, fakesn.Options{}, nil)
	var mu sync.Mutex
	var progress []string
	run := runChild(t, context.Background(), url, nil, suites.RunOptions{Progress: func(p suites.Progress) {
		mu.Lock()
		progress = append(progress, p.ID+" "+p.State)
		mu.Unlock()
	}})
	if run == nil {
		return
	}
	if len(run.Errors) > 0 || run.Summary.Failed > 0 || run.Summary.Skipped > 0 {
		t.Fatalf("run against the fake: %+v errors %v failed %v", run.Summary, run.Errors, failures(run))
	}
	var want []string
	for _, c := range suites.Catalogue() {
		if c.Suite == "instance" {
			want = append(want, c.ID+" passed")
		}
	}
	slices.Sort(progress)
	if diff := cmp.Diff(want, progress); diff != "" {
		t.Errorf("progress lines (-want +got):\n%s", diff)
	}
	if len(run.Results) != len(want) {
		t.Errorf("run has %d results, want %d", len(run.Results), len(want))
	}
	// The suite stays within what the fake models (house style H-8).
	unexpected, err := srv.Unexpected(context.Background())
	if err != nil || len(unexpected) > 0 {
		t.Errorf("the fake saw requests it does not model: %+v %v", unexpected, err)
	}
}

// TestBrokenInstancesAreCaught runs the suite against each deliberately
// broken instance and checks exactly which checks fail.
func TestBrokenInstancesAreCaught(t *testing.T) {
	t.Parallel()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			_, url := startFake(t, v.opts, v.fix)
			run := runChild(t, context.Background(), url, nil, suites.RunOptions{})
			if run == nil {
				return
			}
			if len(run.Errors) > 0 {
				t.Fatalf("run errors: %v", run.Errors)
			}
			if diff := cmp.Diff(v.want, run.FailedIDs()); diff != "" {
				t.Errorf("failed checks (-want +got):\n%s\nmessages:\n%s", diff, failures(run))
			}
			for _, r := range run.Failed() {
				if r.Message == "" || r.Hint == "" || strings.Contains(r.Message, "\n") {
					t.Errorf("%s: a failure needs a one-paragraph message and a hint, got message %q hint %q", r.ID, r.Message, r.Hint)
				}
			}
		})
	}
}

func failures(run *suites.Run) string {
	var b strings.Builder
	for _, r := range run.Failed() {
		fmt.Fprintf(&b, "  %s: %s\n", r.ID, r.Message)
	}
	return b.String()
}

// TestDiffFindsExactlyTheDoctoredDifferences compares a run against the
// fake with one against a doctored fake: the differences are the doctored
// header and the checks it breaks, nothing else.
func TestDiffFindsExactlyTheDoctoredDifferences(t *testing.T) {
	t.Parallel()
	_, good := startFake(t, fakesn.Options{}, nil)
	_, bad := startFake(t, fakesn.Options{}, variants[2].fix) // X-Total-Count missing
	var a, b *suites.Run
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a = runChild(t, context.Background(), good, nil, suites.RunOptions{}) }()
	go func() { defer wg.Done(); b = runChild(t, context.Background(), bad, nil, suites.RunOptions{}) }()
	wg.Wait()
	if a == nil || b == nil {
		t.FailNow()
	}
	// Saved and read back, as sncheck diff sees them.
	a, b = roundTrip(t, a), roundTrip(t, b)
	failedIDs := map[string]bool{}
	for _, id := range b.FailedIDs() {
		failedIDs[id] = true
	}
	for _, d := range suites.Diff(a, b) {
		switch {
		case d.Field == "state" && failedIDs[d.ID] && d.A == "passed" && d.B == "failed":
			delete(failedIDs, d.ID)
		case d.Field == "header X-Total-Count" && d.B == "(absent)" && d.A != "(absent)":
		case d.Field == "presence" && d.Observation != "" && d.B == "(absent)" && slices.Contains(b.FailedIDs(), d.ID):
			// A failed check stopped before its later requests.
		default:
			t.Errorf("unexpected difference: %s", d)
		}
	}
	for id := range failedIDs {
		t.Errorf("no state difference reported for %s", id)
	}
	if t.Failed() {
		t.Logf("A failed: %s\nB failed: %s", failures(a), failures(b))
	}
	if len(suites.Diff(a, a)) != 0 {
		t.Errorf("a run differs from itself: %v", suites.Diff(a, a))
	}
}

func roundTrip(t *testing.T, r *suites.Run) *suites.Run {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	out, err := suites.ReadRun(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestInterruptedRunLeavesNoRecord interrupts a run while its first write
// is in flight (the record exists, the spec never saw the answer and could
// not register its deletion) and checks that the suite's own cleanup
// removed it: the runner's sweep is left out on purpose.
func TestInterruptedRunLeavesNoRecord(t *testing.T) {
	t.Parallel()
	marker := instance.NewMarker()
	created := make(chan struct{})
	var once sync.Once
	srv, url := startFake(t, fakesn.Options{}, nil)
	// Hold the answer to the first marked POST until the client gives up.
	hold := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/now/table/incident" {
			first := false
			once.Do(func() { first = true })
			if first {
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, r)
				close(created)
				<-r.Context().Done()
				return
			}
		}
		srv.ServeHTTP(w, r)
	})
	ts := httptest.NewServer(hold)
	t.Cleanup(ts.Close)
	url = ts.URL

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-created:
			cancel() // the runner sends the child SIGINT
		case <-time.After(60 * time.Second):
		}
	}()
	run := runChild(t, ctx, url, map[string]string{suites.EnvRunMarker: marker}, suites.RunOptions{LabelFilter: "writes"})
	if run == nil {
		return
	}
	select {
	case <-created:
	default:
		t.Fatal("no write reached the fake")
	}
	if !run.Interrupted {
		t.Errorf("run.Interrupted = false, want true")
	}
	if n := markedRecords(t, srv, marker); n != 0 {
		t.Errorf("%d records marked %s remain after the interrupted run", n, marker)
	}
	if len(run.Errors) > 0 {
		t.Errorf("run errors: %v", run.Errors)
	}
}

// TestSweepDeletesMarkedRecords is the runner's sweep after a killed run:
// marked records go, others stay.
func TestSweepDeletesMarkedRecords(t *testing.T) {
	t.Parallel()
	srv, url := startFake(t, fakesn.Options{}, nil)
	marker := instance.NewMarker()
	for _, sd := range []string{marker + " left behind", marker + " also", "not sncheck's"} {
		body := fmt.Sprintf(`{"short_description":%q}`, sd)
		req, _ := http.NewRequest(http.MethodPost, url+"/api/now/table/incident", strings.NewReader(body))
		req.SetBasicAuth("admin", "admin")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("creating a record: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	maker, _, err := suites.TargetFromEnv(func(k string) string {
		return map[string]string{suites.EnvFakeURL: url}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	target, err := maker(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	requests, err := instance.Sweep(context.Background(), target, marker)
	if err != nil {
		t.Fatal(err)
	}
	if n := markedRecords(t, srv, marker); n != 0 {
		t.Errorf("%d marked records remain after the sweep", n)
	}
	if n := markedRecords(t, srv, "not sncheck"); n != 1 {
		t.Errorf("the sweep touched an unmarked record: %d left, want 1", n)
	}
	if requests != 4 { // token, list, two deletes
		t.Errorf("the sweep sent %d requests, want 4", requests)
	}
	if _, err := instance.Sweep(context.Background(), target, "x^y"); err == nil {
		t.Error("a marker that could change the query was accepted")
	}
}

// markedRecords counts incidents whose short_description starts with
// prefix, asking the fake directly.
func markedRecords(t *testing.T, srv *fakesn.Server, prefix string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/api/now/table/incident?sysparm_fields=sys_id&sysparm_query=short_descriptionSTARTSWITH"+
		strings.ReplaceAll(prefix, " ", "%20"), nil)
	req.SetBasicAuth("admin", "admin")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var body struct {
		Result []json.RawMessage `json:"result"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
		t.Fatalf("listing marked records: %d %s", rec.Code, rec.Body.String())
	}
	return len(body.Result)
}

// TestSecretsNeverPrinted runs the suite with distinctive credentials
// against an instance broken in many ways at once, so that failure
// messages are written, and scans everything the run produced (Ginkgo's
// verbose output, progress, the saved run) for the client secret, the
// password and every token and code the instance issued.
func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	password, secret := "pw-"+instance.NewMarker(), "cs-"+instance.NewMarker()
	var mu sync.Mutex
	issued := map[string]bool{}
	tokenValue := regexp.MustCompile(`"(?:access_token|refresh_token)":"([^"]+)"`)
	codeValue := regexp.MustCompile(`[?&](?:code|access_token)=([^&]+)`)
	refreshValue := regexp.MustCompile(`"refresh_token":"([^"]{75})[^"]*"`)
	record := func(a *answer) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range tokenValue.FindAllSubmatch(a.body, -1) {
			issued[string(m[1])] = true
		}
		for _, m := range codeValue.FindAllStringSubmatch(a.header.Get("Location"), -1) {
			issued[m[1]] = true
		}
	}
	broken := func(r *http.Request, a *answer) {
		record(a)
		for _, v := range variants {
			if v.fix != nil {
				v.fix(r, a)
			}
		}
		// A short refresh token makes OAUTH-TOKEN-OPAQUE describe one.
		a.body = refreshValue.ReplaceAll(a.body, []byte(`"refresh_token":"$1"`))
		record(a)
	}
	_, url := startFake(t, fakesn.Options{
		// Checks that compare tokens fail too.
		RefreshTokenRotation: true, NoAccessTokenReuse: true,
		Users: []fakesn.User{{UserName: "leak.check", Password: password, Roles: []string{"admin"}}},
		Apps: []fakesn.App{{ClientID: "leak-check-client", ClientSecret: secret,
			RedirectURLs: []string{"http://localhost:8765/callback"}, ApplicationUser: "leak.check"}},
	}, broken)
	var out, progress syncBuffer
	out.b, progress.b = &bytes.Buffer{}, &bytes.Buffer{}
	run := runChild(t, context.Background(), url, map[string]string{
		"SN_CLIENT_ID": "leak-check-client", "SN_CLIENT_SECRET": secret,
		"SN_USERNAME": "leak.check", "SN_PASSWORD": password, "SN_REDIRECT_URI": "http://localhost:8765/callback",
	}, suites.RunOptions{Output: &out, Verbose: true, Progress: func(p suites.Progress) {
		fmt.Fprintf(&progress, "%+v\n", p)
	}})
	if run == nil {
		return
	}
	if run.Summary.Failed < 10 {
		t.Fatalf("only %d checks failed; the scan needs failure messages", run.Summary.Failed)
	}
	var saved bytes.Buffer
	if err := run.WriteJSON(&saved); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(issued) < 3 {
		t.Fatalf("saw only %d tokens issued", len(issued))
	}
	secrets := map[string]string{"password": password, "client secret": secret}
	for tok := range issued {
		secrets["token "+tok[:6]+"…"] = tok
	}
	for where, text := range map[string]string{"output": out.String(), "progress": progress.String(), "saved run": saved.String()} {
		for what, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("the %s holds the %s", where, what)
			}
		}
	}
}

// TestHibernatingInstance: a sleeping PDI answers every request with an
// HTML page; every check fails saying so.
func TestHibernatingInstance(t *testing.T) {
	t.Parallel()
	srv, url := startFake(t, fakesn.Options{}, nil)
	if err := srv.SetHibernating(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	run := runChild(t, context.Background(), url, nil, suites.RunOptions{Checks: []string{"OAUTH-TOKEN-SHAPE", "TABLE-ERR-401"}})
	if run == nil {
		return
	}
	if diff := cmp.Diff([]string{"OAUTH-TOKEN-SHAPE", "TABLE-ERR-401"}, run.FailedIDs()); diff != "" {
		t.Errorf("failed checks (-want +got):\n%s", diff)
	}
	for _, r := range run.Failed() {
		if !strings.Contains(r.Message, "hibernation page") {
			t.Errorf("%s: message %q does not say the instance hibernates", r.ID, r.Message)
		}
	}
}
