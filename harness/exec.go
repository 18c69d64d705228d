package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Exec returns a Starter for an adapter process speaking sncheck-driver/1
// (docs/driver-protocol.md) on its stdin and stdout. Each start runs
// command with args in a fresh environment: the SN_* configuration,
// SNCHECK_DRIVER_PROTOCOL, and only PATH, HOME and TMPDIR of the parent's.
//
// Calls may be concurrent; each carries its own id and the adapter may
// answer in any order. An adapter that dies, hangs (past the call's ctx) or
// breaks the protocol makes calls fail with KindTransport and a message
// that says what happened. Its stderr is captured (see [OutputCapturer]).
func Exec(command string, args ...string) Starter {
	s := &execStarter{command: command, args: args, grace: 10 * time.Second}
	return s.start
}

type execStarter struct {
	command string
	args    []string
	// grace is how long Close waits for the shutdown answer, and then for
	// the process to exit, before killing it.
	grace time.Duration
}

// maxStderr bounds the stderr kept per process.
const maxStderr = 16 << 20

func (s *execStarter) start(ctx context.Context, cfg IntegrationConfig) (Integration, error) {
	if err := ctx.Err(); err != nil {
		return nil, transportError(err, "adapter %q not started: %v", s.command, err)
	}
	if cfg.StateDir != "" {
		if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
			return nil, transportError(err, "cannot create the state directory: %v", err)
		}
	}
	cmd := exec.Command(s.command, s.args...)
	cmd.Env = append(cfg.environ(), parentEnv()...)
	e := &execIntegration{
		cmd:     cmd,
		grace:   s.grace,
		pending: map[int64]chan callResult{},
		dropped: map[int64]bool{},
		sendq:   make(chan outLine),
		done:    make(chan struct{}),
		exited:  make(chan struct{}),
	}
	cmd.Stderr = &e.stderr
	// Wait stops waiting for stderr this long after the process exits, in
	// case a child of the adapter keeps the pipe open.
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, transportError(err, "adapter %q: %v", s.command, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, transportError(err, "adapter %q: %v", s.command, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, transportError(err, "cannot start adapter %q: %v", s.command, err)
	}
	go e.writeLoop(stdin)
	go e.readLoop(stdout)
	return e, nil
}

// parentEnv is what an adapter inherits: enough to find programs and a
// home directory, nothing that could hold the parent's secrets.
func parentEnv() []string {
	names := []string{"PATH", "HOME", "TMPDIR"}
	if runtime.GOOS == "windows" {
		names = append(names, "SYSTEMROOT", "USERPROFILE", "TEMP", "TMP")
	}
	var env []string
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok {
			env = append(env, n+"="+v)
		}
	}
	return env
}

type outLine struct {
	id   int64
	line []byte
}

type callResult struct {
	result json.RawMessage
	err    error
}

// execIntegration is a running adapter.
type execIntegration struct {
	cmd    *exec.Cmd
	grace  time.Duration
	nextID atomic.Int64
	stderr capBuffer

	sendq  chan outLine
	done   chan struct{} // closed when the adapter can no longer answer
	exited chan struct{} // closed when the process has been waited for

	mu      sync.Mutex // guards pending, dropped, broken, closed
	pending map[int64]chan callResult
	dropped map[int64]bool // ids whose callers gave up; late answers are ignored
	broken  *DriverError   // why the adapter can no longer answer
	closed  bool

	exitErr   error // set before exited is closed
	closeOnce sync.Once
	closeErr  error
}

// Output returns everything the adapter wrote to stderr so far (at most
// 16 MiB, then a note of what was dropped).
func (e *execIntegration) Output() []byte { return e.stderr.Bytes() }

func (e *execIntegration) writeLoop(stdin io.WriteCloser) {
	defer stdin.Close()
	for {
		select {
		case out := <-e.sendq:
			if _, err := stdin.Write(out.line); err != nil {
				e.deliver(out.id, callResult{err: transportError(err, "cannot write request %d to the adapter: %v", out.id, err)})
			}
		case <-e.done:
			return
		}
	}
}

func (e *execIntegration) readLoop(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineSize)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		a, err := decodeAnswer(sc.Bytes())
		if err != nil && a.ID == 0 {
			e.violation(fmt.Sprintf("line %d of its stdout: %v: %q", lineNo, err, clip(sc.Text(), 120)))
			break
		}
		if !e.known(a.ID) {
			e.violation(fmt.Sprintf("line %d of its stdout answers id %d, which no pending request has", lineNo, a.ID))
			break
		}
		switch {
		case err != nil:
			e.deliver(a.ID, callResult{err: transportError(nil, "adapter broke %s: %v", ProtocolVersion, err)})
		case !a.OK:
			e.deliver(a.ID, callResult{err: &DriverError{Kind: a.Error.Kind, Message: a.Error.Message}})
		default:
			e.deliver(a.ID, callResult{result: a.Result})
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			e.violation(fmt.Sprintf("line %d of its stdout is longer than %d bytes", lineNo+1, MaxLineSize))
		} else {
			e.fail(transportError(err, "reading the adapter's stdout: %v", err))
		}
	}
	// Wait only after the last read: it closes the stdout pipe.
	waited := make(chan struct{})
	go func() {
		e.exitErr = e.cmd.Wait()
		close(waited)
	}()
	select {
	case <-waited:
		e.fail(transportError(e.exitErr, "adapter %s; its stderr is in Output()", exitDescription(e.exitErr)))
	case <-time.After(2 * time.Second):
		e.fail(transportError(nil, "adapter closed its stdout but kept running"))
		<-waited
	}
	close(e.exited)
}

func exitDescription(err error) string {
	if err == nil {
		return "exited with status 0"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return "exited (" + ee.String() + ")"
	}
	return "ended: " + err.Error()
}

// violation ends an adapter that broke the protocol.
func (e *execIntegration) violation(what string) {
	e.fail(transportError(nil, "adapter broke %s, stopped: %s", ProtocolVersion, what))
	_ = e.cmd.Process.Kill()
}

// fail makes every pending and future call return err; the first reason
// wins.
func (e *execIntegration) fail(err *DriverError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.broken != nil {
		return
	}
	e.broken = err
	close(e.done)
	for id, ch := range e.pending {
		ch <- callResult{err: err}
		delete(e.pending, id)
	}
}

// known reports whether id is pending or was given up on (and forgets the
// latter, so a second answer to it is unknown).
func (e *execIntegration) known(id int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dropped[id] {
		delete(e.dropped, id)
		return true
	}
	_, ok := e.pending[id]
	return ok
}

func (e *execIntegration) deliver(id int64, r callResult) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ch, ok := e.pending[id]; ok {
		ch <- r
		delete(e.pending, id)
	}
}

// abandon forgets a call whose caller stopped waiting.
func (e *execIntegration) abandon(id int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.pending[id]; ok {
		delete(e.pending, id)
		e.dropped[id] = true
	}
}

// call sends req and waits for its answer, ctx or the adapter's end.
func (e *execIntegration) call(ctx context.Context, req request, internal bool) (json.RawMessage, error) {
	req.ID = e.nextID.Add(1)
	line, err := json.Marshal(req)
	if err != nil {
		return nil, &DriverError{Kind: KindInvalidRequest, Message: fmt.Sprintf("%s request cannot be encoded: %v", req.Op, err), cause: err}
	}
	line = append(line, '\n')
	if len(line) > MaxLineSize {
		return nil, &DriverError{Kind: KindInvalidRequest, Message: fmt.Sprintf("%s request is longer than %d bytes", req.Op, MaxLineSize)}
	}
	ch := make(chan callResult, 1)
	e.mu.Lock()
	switch {
	case e.closed && !internal:
		e.mu.Unlock()
		return nil, transportError(nil, "%s: the integration is closed", req.Op)
	case e.broken != nil:
		err := e.broken
		e.mu.Unlock()
		return nil, err
	}
	e.pending[req.ID] = ch
	e.mu.Unlock()

	gaveUp := func() error {
		e.abandon(req.ID)
		return transportError(ctx.Err(), "no answer to %s (id %d) from the adapter: %v", req.Op, req.ID, ctx.Err())
	}
	select {
	case e.sendq <- outLine{id: req.ID, line: line}:
	case r := <-ch: // the adapter ended before the request was sent
		return r.result, r.err
	case <-ctx.Done():
		return nil, gaveUp()
	}
	select {
	case r := <-ch:
		return r.result, r.err
	case <-ctx.Done():
		return nil, gaveUp()
	}
}

// resultInto decodes a successful answer's result, which must be a JSON
// value of the shape the op promises.
func resultInto(op string, raw json.RawMessage, want byte, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != want {
		return transportError(nil, "adapter broke %s: the result of %s is not a JSON %s: %q", ProtocolVersion, op, shapeName(want), clip(string(raw), 120))
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return transportError(err, "adapter broke %s: the result of %s: %v", ProtocolVersion, op, err)
	}
	return nil
}

func shapeName(b byte) string {
	if b == '[' {
		return "array"
	}
	return "object"
}

func (e *execIntegration) Connect(ctx context.Context) (string, error) {
	raw, err := e.call(ctx, request{Op: opConnect}, false)
	if err != nil {
		return "", err
	}
	var res struct {
		AuthorizeURL string `json:"authorize_url"`
	}
	if err := resultInto(opConnect, raw, '{', &res); err != nil {
		return "", err
	}
	return res.AuthorizeURL, nil
}

func (e *execIntegration) Callback(ctx context.Context, redirectURL string) error {
	_, err := e.call(ctx, request{Op: opCallback, URL: redirectURL}, false)
	return err
}

func (e *execIntegration) List(ctx context.Context, table, query string, fields []string) ([]Record, error) {
	raw, err := e.call(ctx, request{Op: opList, Table: table, Query: query, Fields: fields}, false)
	if err != nil {
		return nil, err
	}
	var recs []Record
	if err := resultInto(opList, raw, '[', &recs); err != nil {
		return nil, err
	}
	return recs, nil
}

func (e *execIntegration) record(ctx context.Context, req request) (Record, error) {
	raw, err := e.call(ctx, req, false)
	if err != nil {
		return nil, err
	}
	var rec Record
	if err := resultInto(req.Op, raw, '{', &rec); err != nil {
		return nil, err
	}
	return rec, nil
}

func (e *execIntegration) Get(ctx context.Context, table, sysID string) (Record, error) {
	return e.record(ctx, request{Op: opGet, Table: table, SysID: sysID})
}

func (e *execIntegration) Create(ctx context.Context, table string, rec Record) (Record, error) {
	return e.record(ctx, request{Op: opCreate, Table: table, Record: rec})
}

func (e *execIntegration) Update(ctx context.Context, table, sysID string, rec Record) (Record, error) {
	return e.record(ctx, request{Op: opUpdate, Table: table, SysID: sysID, Record: rec})
}

func (e *execIntegration) Delete(ctx context.Context, table, sysID string) error {
	_, err := e.call(ctx, request{Op: opDelete, Table: table, SysID: sysID}, false)
	return err
}

// Close asks the adapter to shut down, waits for it to exit, and kills it
// if it does not within the grace period. Calling it again returns the
// first result.
func (e *execIntegration) Close() error {
	e.closeOnce.Do(func() { e.closeErr = e.shutdown() })
	return e.closeErr
}

func (e *execIntegration) shutdown() error {
	e.mu.Lock()
	e.closed = true
	before := e.broken // an earlier failure is the better explanation
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), e.grace)
	defer cancel()
	_, callErr := e.call(ctx, request{Op: opShutdown}, true)
	// Closing stdin tells an adapter that ignored shutdown to stop.
	e.fail(transportError(nil, "the integration is closed"))
	timer := time.NewTimer(e.grace)
	defer timer.Stop()
	select {
	case <-e.exited:
	case <-timer.C:
		_ = e.cmd.Process.Kill()
		<-e.exited
		return transportError(nil, "adapter did not exit within %v of shutdown; killed", e.grace)
	}
	if before != nil {
		return before
	}
	if callErr != nil {
		var de *DriverError
		if errors.As(callErr, &de) && de.Kind != KindTransport {
			return callErr // the adapter answered shutdown with an error
		}
		if e.exitErr != nil {
			return transportError(e.exitErr, "adapter %s before answering shutdown", exitDescription(e.exitErr))
		}
		return callErr
	}
	if e.exitErr != nil {
		return transportError(e.exitErr, "adapter %s after shutdown", exitDescription(e.exitErr))
	}
	return nil
}

// capBuffer keeps the first maxStderr bytes written to it.
type capBuffer struct {
	mu      sync.Mutex // guards buf, dropped
	buf     bytes.Buffer
	dropped int64
}

func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := maxStderr - c.buf.Len()
	if room >= len(p) {
		c.buf.Write(p)
	} else {
		if room > 0 {
			c.buf.Write(p[:room])
		}
		c.dropped += int64(len(p) - max(room, 0))
	}
	return len(p), nil
}

func (c *capBuffer) Bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := bytes.Clone(c.buf.Bytes())
	if c.dropped > 0 {
		out = fmt.Appendf(out, "\n[harness: %d more bytes of stderr dropped]\n", c.dropped)
	}
	return out
}
