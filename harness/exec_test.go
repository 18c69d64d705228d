package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The exec tests run this test binary as the adapter: Exec passes a clean
// environment, so the mode travels as a flag.
var execHelper = flag.String("exec-helper", "", "run as a fake sncheck-driver/1 adapter in this mode (exec tests only)")

// helperStarter starts this binary as an adapter in mode.
func helperStarter(mode string, grace time.Duration) Starter {
	s := &execStarter{
		command: os.Args[0],
		args:    []string{"-test.run=^TestExecHelperProcess$", "-exec-helper=" + mode},
		grace:   grace,
	}
	return s.start
}

func startHelper(t *testing.T, mode string) (Integration, IntegrationConfig) {
	t.Helper()
	cfg := IntegrationConfig{
		InstanceURL: "http://127.0.0.1:1", ClientID: "cid", ClientSecret: "csecret",
		Username: "admin", Password: "pw", GrantType: GrantPassword,
		RedirectURI: "http://localhost:8765/callback", StateDir: t.TempDir(),
	}
	integ, err := helperStarter(mode, 5*time.Second)(context.Background(), cfg)
	if err != nil {
		t.Fatalf("starting the %s adapter: %v", mode, err)
	}
	t.Cleanup(func() { _ = integ.Close() })
	return integ, cfg
}

// TestExecHelperProcess is not a test: it is the fake adapter.
func TestExecHelperProcess(t *testing.T) {
	if *execHelper == "" {
		return
	}
	os.Exit(runHelperAdapter(*execHelper, os.Stdin, os.Stdout, os.Stderr))
}

func runHelperAdapter(mode string, in io.Reader, out, errw io.Writer) int {
	if mode == "mem" {
		integ := &memIntegration{dir: os.Getenv(EnvStateDir)}
		if err := ServeDriver(context.Background(), integ, in, out); err != nil {
			fmt.Fprintln(errw, "adapter:", err)
			return 1
		}
		return 0
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, MaxLineSize)
	send := func(v any) {
		b, _ := json.Marshal(v)
		_, _ = out.Write(append(b, '\n'))
	}
	var held []request
	for sc.Scan() {
		var req request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			return 2
		}
		if req.Op == opShutdown && mode != "hang" {
			send(map[string]any{"id": req.ID, "ok": true, "result": map[string]any{}})
			return 0
		}
		switch mode {
		case "ooo": // hold three requests, answer them last first
			held = append(held, req)
			if len(held) == 3 {
				for i := len(held) - 1; i >= 0; i-- {
					send(map[string]any{"id": held[i].ID, "ok": true, "result": map[string]any{"sys_id": held[i].SysID}})
				}
				held = nil
			}
		case "crash":
			fmt.Fprintln(errw, "adapter: fatal: boom while serving", req.Op)
			return 3
		case "hang":
		case "garbage":
			_, _ = io.WriteString(out, "starting up...\n")
		case "unknown-id":
			send(map[string]any{"id": req.ID + 1000, "ok": true, "result": map[string]any{}})
		case "bad-kind":
			send(map[string]any{"id": req.ID, "ok": false, "error": map[string]any{"kind": "teapot", "message": "short and stout"}})
		case "bad-shape":
			send(map[string]any{"id": req.ID, "ok": true, "result": map[string]any{"not": "a list"}})
		case "long":
			_, _ = out.Write([]byte(`{"id":` + fmt.Sprint(req.ID) + `,"ok":true,"result":"` + strings.Repeat("x", MaxLineSize) + "\"}\n"))
		case "env":
			env := Record{}
			for _, kv := range os.Environ() {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			send(map[string]any{"id": req.ID, "ok": true, "result": env})
		default:
			fmt.Fprintln(errw, "adapter: unknown mode", mode)
			return 2
		}
	}
	if mode == "hang" {
		time.Sleep(time.Hour) // ignores even the end of its input
	}
	return 0
}

// memIntegration keeps records in memory and in its state directory, so a
// restarted adapter finds them again.
type memIntegration struct {
	dir    string
	mu     sync.Mutex // guards recs, closed
	recs   map[string]Record
	closed bool
}

func (m *memIntegration) loadLocked() {
	if m.recs != nil {
		return
	}
	m.recs = map[string]Record{}
	if m.dir == "" {
		return
	}
	if b, err := os.ReadFile(filepath.Join(m.dir, "records.json")); err == nil {
		_ = json.Unmarshal(b, &m.recs)
	}
}

func (m *memIntegration) saveLocked() error {
	if m.dir == "" {
		return nil
	}
	b, err := json.Marshal(m.recs)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(m.dir, "records.json"), b, 0o600)
}

func (m *memIntegration) Connect(context.Context) (string, error) { return "", nil }

func (m *memIntegration) Callback(_ context.Context, u string) error {
	if u == "" {
		return &DriverError{Kind: KindInvalidRequest, Message: "no url"}
	}
	return nil
}

func (m *memIntegration) List(_ context.Context, table, query string, fields []string) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loadLocked()
	var out []Record
	for k, r := range m.recs {
		if strings.HasPrefix(k, table+"/") {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]["sys_id"]) < fmt.Sprint(out[j]["sys_id"]) })
	return out, nil
}

func (m *memIntegration) Get(_ context.Context, table, sysID string) (Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loadLocked()
	r, ok := m.recs[table+"/"+sysID]
	if !ok {
		return nil, &DriverError{Kind: KindNotFound, Message: "No Record found"}
	}
	return r, nil
}

func (m *memIntegration) Create(_ context.Context, table string, rec Record) (Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loadLocked()
	r := Record{}
	for k, v := range rec {
		r[k] = v
	}
	id := fmt.Sprintf("%032x", len(m.recs)+1)
	r["sys_id"] = id
	m.recs[table+"/"+id] = r
	return r, m.saveLocked()
}

func (m *memIntegration) Update(_ context.Context, table, sysID string, rec Record) (Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loadLocked()
	r, ok := m.recs[table+"/"+sysID]
	if !ok {
		return nil, &DriverError{Kind: KindNotFound, Message: "No Record found"}
	}
	for k, v := range rec {
		r[k] = v
	}
	return r, m.saveLocked()
}

func (m *memIntegration) Delete(_ context.Context, table, sysID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loadLocked()
	if _, ok := m.recs[table+"/"+sysID]; !ok {
		return &DriverError{Kind: KindNotFound, Message: "No Record found"}
	}
	delete(m.recs, table+"/"+sysID)
	return m.saveLocked()
}

func (m *memIntegration) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return nil
}

func wantKind(t *testing.T, err error, want ErrorKind) *DriverError {
	t.Helper()
	var de *DriverError
	if !errors.As(err, &de) {
		t.Fatalf("error = %v (%T), want a *DriverError of kind %s", err, err, want)
	}
	if de.Kind != want {
		t.Fatalf("error kind = %s (%v), want %s", de.Kind, de, want)
	}
	return de
}

func TestExecRoundTrip(t *testing.T) {
	t.Parallel()
	integ, _ := startHelper(t, "mem")
	ctx := context.Background()
	if u, err := integ.Connect(ctx); err != nil || u != "" {
		t.Fatalf("Connect = %q, %v; want \"\", nil", u, err)
	}
	created, err := integ.Create(ctx, "incident", Record{"short_description": "disk full"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	id, _ := created["sys_id"].(string)
	if len(id) != 32 {
		t.Fatalf("Create returned sys_id %q", id)
	}
	if _, err := integ.Update(ctx, "incident", id, Record{"state": "2"}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got, err := integ.Get(ctx, "incident", id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	want := Record{"sys_id": id, "short_description": "disk full", "state": "2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
	list, err := integ.List(ctx, "incident", "active=true", []string{"number"})
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v; want one record", list, err)
	}
	if err := integ.Delete(ctx, "incident", id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err = integ.Get(ctx, "incident", id)
	de := wantKind(t, err, KindNotFound)
	if got, want := de.Error(), "harness: not_found: No Record found"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if err := integ.Callback(ctx, ""); KindOf(err) != KindInvalidRequest {
		t.Errorf("Callback(\"\") = %v, want invalid_request", err)
	}
	if err := integ.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := integ.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, err = integ.Get(ctx, "incident", id)
	wantKind(t, err, KindTransport)
}

func TestExecConcurrentCalls(t *testing.T) {
	t.Parallel()
	integ, _ := startHelper(t, "mem")
	ctx := context.Background()
	const n = 40
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec, err := integ.Create(ctx, "incident", Record{"n": fmt.Sprint(i)})
			if err != nil {
				errs[i] = err
				return
			}
			got, err := integ.Get(ctx, "incident", rec["sys_id"].(string))
			if err == nil && got["n"] != fmt.Sprint(i) {
				err = fmt.Errorf("record %v came back for call %d", got, i)
			}
			ids[i], errs[i] = rec["sys_id"].(string), err
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if seen[ids[i]] {
			t.Fatalf("sys_id %s returned twice", ids[i])
		}
		seen[ids[i]] = true
	}
	list, err := integ.List(ctx, "incident", "", nil)
	if err != nil || len(list) != n {
		t.Fatalf("List = %d records, %v; want %d", len(list), err, n)
	}
}

func TestExecOutOfOrderAnswers(t *testing.T) {
	t.Parallel()
	integ, _ := startHelper(t, "ooo")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	got := make([]Record, 3)
	errs := make([]error, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = integ.Get(ctx, "incident", fmt.Sprintf("id-%d", i))
		}()
	}
	wg.Wait()
	for i := range 3 {
		if errs[i] != nil {
			t.Fatalf("Get %d: %v", i, errs[i])
		}
		if diff := cmp.Diff(Record{"sys_id": fmt.Sprintf("id-%d", i)}, got[i]); diff != "" {
			t.Errorf("Get %d (-want +got):\n%s", i, diff)
		}
	}
}

func TestExecAdapterCrash(t *testing.T) {
	t.Parallel()
	integ, _ := startHelper(t, "crash")
	_, err := integ.List(context.Background(), "incident", "", nil)
	de := wantKind(t, err, KindTransport)
	if !strings.Contains(de.Message, "exit status 3") {
		t.Errorf("message %q does not give the exit status", de.Message)
	}
	out := integ.(OutputCapturer).Output()
	if !strings.Contains(string(out), "adapter: fatal: boom while serving list") {
		t.Errorf("Output() = %q, want the adapter's stderr", out)
	}
	// Every later call fails the same way, at once.
	_, err = integ.Get(context.Background(), "incident", "x")
	wantKind(t, err, KindTransport)
	if err := integ.Close(); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("Close = %v, want the exit status", err)
	}
}

func TestExecHungAdapter(t *testing.T) {
	t.Parallel()
	cfg := IntegrationConfig{InstanceURL: "http://127.0.0.1:1", GrantType: GrantPassword, StateDir: t.TempDir()}
	integ, err := helperStarter("hang", 300*time.Millisecond)(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = integ.Get(ctx, "incident", "x")
	de := wantKind(t, err, KindTransport)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(de.Message, "no answer to get") {
		t.Errorf("error = %v, want a deadline naming the op", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the call took %v; the deadline was 200ms", d)
	}
	err = integ.Close()
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("Close = %v, want the adapter killed", err)
	}
}

func TestExecProtocolViolations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mode string
		call func(Integration) error
		want string
	}{
		{name: "not JSON", mode: "garbage", want: `not a valid JSON answer`},
		{name: "unknown id", mode: "unknown-id", want: "which no pending request has"},
		{name: "unknown error kind", mode: "bad-kind", want: `unknown error kind "teapot"`},
		{name: "line too long", mode: "long", want: "longer than 16777216 bytes"},
		{name: "result of the wrong shape", mode: "bad-shape", want: "the result of list is not a JSON array"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			integ, _ := startHelper(t, tc.mode)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := integ.List(ctx, "incident", "", nil)
			de := wantKind(t, err, KindTransport)
			if !strings.Contains(de.Message, tc.want) || !strings.Contains(de.Message, ProtocolVersion) {
				t.Errorf("message = %q, want it to contain %q and the protocol version", de.Message, tc.want)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("the harness waited for the deadline instead of seeing the violation")
			}
		})
	}
}

func TestExecEnvironment(t *testing.T) {
	t.Setenv("SNCHECK_TEST_PARENT_SECRET", "do-not-pass")
	integ, cfg := startHelper(t, "env")
	env, err := integ.Get(context.Background(), "env", "x")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"SNCHECK_DRIVER_PROTOCOL": "sncheck-driver/1",
		"SN_INSTANCE_URL":         cfg.InstanceURL,
		"SN_CLIENT_ID":            "cid",
		"SN_CLIENT_SECRET":        "csecret",
		"SN_USERNAME":             "admin",
		"SN_PASSWORD":             "pw",
		"SN_GRANT_TYPE":           "password",
		"SN_REDIRECT_URI":         "http://localhost:8765/callback",
		"SN_STATE_DIR":            cfg.StateDir,
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("adapter saw %s=%v, want %q", k, env[k], v)
		}
	}
	allowed := map[string]bool{"PATH": true, "HOME": true, "TMPDIR": true}
	for k := range env {
		if _, ok := want[k]; !ok && !allowed[k] {
			t.Errorf("adapter inherited %s from the parent", k)
		}
	}
}

func TestExecRestartKeepsState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := IntegrationConfig{InstanceURL: "http://127.0.0.1:1", GrantType: GrantPassword, StateDir: filepath.Join(t.TempDir(), "state")}
	start := helperStarter("mem", 5*time.Second)
	first, err := start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := first.Create(ctx, "incident", Record{"short_description": "kept"})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	second, err := start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Close() })
	got, err := second.Get(ctx, "incident", rec["sys_id"].(string))
	if err != nil {
		t.Fatalf("Get after restart: %v", err)
	}
	if got["short_description"] != "kept" {
		t.Errorf("after restart got %v", got)
	}
}

func TestExecStartFailure(t *testing.T) {
	t.Parallel()
	_, err := Exec(filepath.Join(t.TempDir(), "no-such-adapter"))(context.Background(), IntegrationConfig{})
	de := wantKind(t, err, KindTransport)
	if !strings.Contains(de.Message, "cannot start adapter") {
		t.Errorf("message = %q", de.Message)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Exec("true")(ctx, IntegrationConfig{})
	wantKind(t, err, KindTransport)
}

func TestCapBuffer(t *testing.T) {
	t.Parallel()
	var c capBuffer
	big := strings.Repeat("a", maxStderr-2)
	_, _ = c.Write([]byte(big))
	n, err := c.Write([]byte("bcdef"))
	if n != 5 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	out := string(c.Bytes())
	if !strings.HasPrefix(out, big+"bc") || !strings.HasSuffix(out, "[harness: 3 more bytes of stderr dropped]\n") {
		t.Errorf("Bytes() ends %q", out[len(out)-60:])
	}
}

func TestDecodeAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		line    string
		want    answer
		wantErr string
	}{
		{name: "ok", line: `{"id":3,"ok":true,"result":[{"number":"INC1"}]}`, want: answer{ID: 3, OK: true, Result: json.RawMessage(`[{"number":"INC1"}]`)}},
		{name: "error", line: `{"id":4,"ok":false,"error":{"kind":"not_found","message":"gone"}}`, want: answer{ID: 4, Error: &wireError{Kind: KindNotFound, Message: "gone"}}},
		{name: "not JSON", line: `hello`, wantErr: "not a valid JSON answer"},
		{name: "array", line: `[1]`, wantErr: "not a valid JSON answer"},
		{name: "null", line: `null`, wantErr: `no "id"`},
		{name: "no id", line: `{"ok":true}`, wantErr: `no "id"`},
		{name: "string id", line: `{"id":"1","ok":true}`, wantErr: "not a positive integer"},
		{name: "exponent id", line: `{"id":1e2,"ok":true}`, wantErr: "not a positive integer"},
		{name: "string ok", line: `{"id":1,"ok":"yes"}`, wantErr: "not a valid JSON answer"},
		{name: "fractional id", line: `{"id":1.5,"ok":true}`, wantErr: "not a positive integer"},
		{name: "zero id", line: `{"id":0,"ok":true}`, wantErr: "not a positive integer"},
		{name: "huge id", line: `{"id":1e400,"ok":true}`, wantErr: "not a positive integer"},
		{name: "no ok", line: `{"id":2}`, want: answer{ID: 2}, wantErr: `has no "ok"`},
		{name: "ok and error", line: `{"id":2,"ok":true,"error":{"kind":"transport"}}`, want: answer{ID: 2, OK: true}, wantErr: `"ok":true and an "error"`},
		{name: "failure without kind", line: `{"id":2,"ok":false,"error":{}}`, want: answer{ID: 2}, wantErr: `no "error" with a "kind"`},
		{name: "unknown kind", line: `{"id":2,"ok":false,"error":{"kind":"teapot","message":"m"}}`, want: answer{ID: 2, Error: &wireError{Kind: "teapot", Message: "m"}}, wantErr: `unknown error kind "teapot"`},
		{name: "trailing value", line: `{"id":2,"ok":true} {}`, wantErr: "more than one JSON value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeAnswer([]byte(tc.line))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("decodeAnswer(%s) error = %v, want %q", tc.line, err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatalf("decodeAnswer(%s): %v", tc.line, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decodeAnswer(%s) (-want +got):\n%s", tc.line, diff)
			}
		})
	}
}

func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"ok":true,"result":{}}`,
		`{"id":2,"ok":true,"result":[{"sys_id":"x","n":1}]}`,
		`{"id":3,"ok":false,"error":{"kind":"reauth_required","message":"refresh token expired"}}`,
		`{"id":4,"ok":false,"error":{"kind":"nope"}}`,
		`{"id":-1,"ok":true}`,
		`{"id":9223372036854775808,"ok":true}`,
		`{"id":1,"ok":"yes"}`,
		`{"id":1,"ok":true,"result":` + strings.Repeat("[", 200) + `}`,
		"\xff\xfe",
		``,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		a, err := decodeAnswer(line)
		if err != nil {
			return
		}
		if a.ID <= 0 {
			t.Fatalf("accepted id %d", a.ID)
		}
		if !a.OK && (a.Error == nil || !a.Error.Kind.Valid()) {
			t.Fatalf("accepted a failure without a valid kind: %+v", a)
		}
		if a.OK && a.Error != nil {
			t.Fatalf("accepted ok with an error: %+v", a)
		}
	})
}
