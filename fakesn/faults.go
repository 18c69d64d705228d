package fakesn

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Fault actions.
const (
	// FaultStatus answers with Status (and Body, Headers, RetryAfter)
	// instead of handling the request.
	FaultStatus = "status"
	// FaultStatusAfter handles the request (a write takes effect) and then
	// answers with Status as if it failed: the case where a client must not
	// replay a POST that may have succeeded.
	FaultStatusAfter = "status_after"
	// FaultHibernate answers with the hibernating-instance page.
	FaultHibernate = "hibernate"
	// FaultRevoke expires the access token the request presents (or, on a
	// refresh grant, the refresh token), then handles the request normally.
	FaultRevoke = "revoke"
	// FaultDrop closes the connection without an answer.
	FaultDrop = "drop"
)

// Fault is a scripted, deterministic failure tied to matching requests:
// "the next refresh returns 500", "429 twice with Retry-After: 2 on
// incident", "hibernate".
type Fault struct {
	ID string `json:"id,omitempty"` // assigned by AddFault

	// Which requests it applies to; empty fields match everything.
	Method    string `json:"method,omitempty"`
	Path      string `json:"path,omitempty"` // exact, or prefix ending in "*"
	API       string `json:"api,omitempty"`  // oauth_token, oauth_auth, oauth_revoke, table
	Table     string `json:"table,omitempty"`
	GrantType string `json:"grant_type,omitempty"`

	// After lets this many matching requests through first. Times is how
	// often it fires: 0 means once, -1 means every time.
	After int `json:"after,omitempty"`
	Times int `json:"times,omitempty"`

	Action string `json:"action,omitempty"` // FaultStatus (default), FaultStatusAfter, FaultHibernate, FaultRevoke, FaultDrop
	Status int    `json:"status,omitempty"`
	// Body replaces the default body, the instance's error envelope for
	// Status (Rate limit exceeded for 429, and so on).
	Body       string            `json:"body,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	RetryAfter int               `json:"retry_after,omitempty"` // seconds; sets Retry-After

	Seen  int `json:"seen"`  // matching requests so far
	Fired int `json:"fired"` // times it fired
}

func (f *Fault) matches(r *http.Request, api, table, grant string) bool {
	switch {
	case f.Method != "" && !strings.EqualFold(f.Method, r.Method),
		f.Path != "" && !matchPath(f.Path, r.URL.Path),
		f.API != "" && f.API != api,
		f.Table != "" && f.Table != table,
		f.GrantType != "" && f.GrantType != grant:
		return false
	}
	return true
}

func (f *Fault) exhausted() bool {
	limit := f.Times
	if limit == 0 {
		limit = 1
	}
	return limit > 0 && f.Fired >= limit
}

// FaultSet holds armed faults and decides which one fires on a request.
// The fake keeps one, and so does the recording proxy in front of a live
// instance (harness/proxy), so that faults fire the same way on both.
type FaultSet struct {
	mu     sync.Mutex // guards list, nextID
	list   []*Fault
	nextID int
}

// NewFaultSet returns an empty fault set.
func NewFaultSet() *FaultSet { return &FaultSet{} }

// Add checks and arms a fault and returns it with its ID.
func (fs *FaultSet) Add(f Fault) (Fault, error) {
	switch f.Action {
	case "":
		f.Action = FaultStatus
	case FaultStatus, FaultStatusAfter, FaultHibernate, FaultRevoke, FaultDrop:
	default:
		return Fault{}, fmt.Errorf("fakesn: unknown fault action %q", f.Action)
	}
	if (f.Action == FaultStatus || f.Action == FaultStatusAfter) && (f.Status < 100 || f.Status > 599) {
		return Fault{}, fmt.Errorf("fakesn: fault action %s needs a status between 100 and 599", f.Action)
	}
	if f.Times < -1 || f.After < 0 {
		return Fault{}, fmt.Errorf("fakesn: fault times must be >= -1 and after >= 0")
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.nextID++
	f.ID = "f" + strconv.Itoa(fs.nextID)
	f.Seen, f.Fired = 0, 0
	cp := f
	fs.list = append(fs.list, &cp)
	return f, nil
}

// List returns the armed faults with their counters.
func (fs *FaultSet) List() []Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]Fault, 0, len(fs.list))
	for _, f := range fs.list {
		out = append(out, *f)
	}
	return out
}

// Clear disarms every fault.
func (fs *FaultSet) Clear() {
	fs.mu.Lock()
	fs.list = nil
	fs.mu.Unlock()
}

// Armed reports whether any fault is armed, so that a request body is
// read for matching only then.
func (fs *FaultSet) Armed() bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return len(fs.list) > 0
}

// Pick returns (a copy of) the first armed fault that fires on this
// request, counting it. api, table and grant are the request's, as
// [APIOf] and [TableOf] and the grant_type form field give them.
func (fs *FaultSet) Pick(r *http.Request, api, table, grant string) *Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.list {
		if f.exhausted() || !f.matches(r, api, table, grant) {
			continue
		}
		f.Seen++
		if f.Seen <= f.After {
			continue
		}
		f.Fired++
		cp := *f
		return &cp
	}
	return nil
}

// AddFault arms a fault and returns it with its ID.
func (s *Server) AddFault(_ context.Context, f Fault) (Fault, error) { return s.faults.Add(f) }

// Faults lists the armed faults with their counters.
func (s *Server) Faults(_ context.Context) ([]Fault, error) { return s.faults.List(), nil }

// ClearFaults disarms every fault.
func (s *Server) ClearFaults(_ context.Context) error {
	s.faults.Clear()
	return nil
}

// TableOf is the table a Table API path names ("" for other paths), as
// fault matching reads it.
func TableOf(path string) string { return tableOf(path) }

// tableOf extracts the table name from a Table API path.
func tableOf(path string) string {
	for _, p := range []string{"/api/now/table/", "/api/now/v1/table/", "/api/now/v2/table/"} {
		if rest, ok := strings.CutPrefix(path, p); ok {
			t, _, _ := strings.Cut(rest, "/")
			return t
		}
	}
	return ""
}

// applyFault answers the request with a fault if one fires, and reports
// whether the request is finished.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request) bool {
	if !s.faults.Armed() {
		return false
	}
	api := apiOf(r.URL.Path)
	grant := ""
	if api == "oauth_token" && r.Method == http.MethodPost {
		// Reads the body into r.PostForm, which the token handler uses.
		_ = r.ParseForm()
		grant = r.PostForm.Get("grant_type")
	}
	f := s.faults.Pick(r, api, tableOf(r.URL.Path), grant)
	if f == nil {
		return false
	}
	entry := &infoFrom(r).Entry
	entry.Fault = f.ID
	switch f.Action {
	case FaultHibernate:
		writeHibernating(w)
	case FaultDrop:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
		// Either way ServeHTTP journals the drop with status 0.
		panic(http.ErrAbortHandler)
	case FaultRevoke:
		s.revokePresented(r, grant)
		return false
	case FaultStatusAfter:
		s.mux.ServeHTTP(&discardWriter{h: http.Header{}}, r)
		writeFault(w, f)
	default:
		writeFault(w, f)
	}
	return true
}

// revokePresented expires the credential a request carries.
func (s *Server) revokePresented(r *http.Request, grant string) {
	token, kind := "", kindAccess
	if grant == "refresh_token" {
		token, kind = r.PostForm.Get("refresh_token"), kindRefresh
	} else if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		token = strings.TrimSpace(h[7:])
	}
	if token == "" {
		return
	}
	_, _ = s.ExpireTokens(r.Context(), ExpireRequest{Token: token, Kind: strings.TrimSuffix(kind, "_token")})
}

// WriteFault answers with an injected fault as the fake does: Status with
// the instance's envelope for it (or Body), Headers and Retry-After.
func WriteFault(w http.ResponseWriter, f Fault) { writeFault(w, &f) }

func writeFault(w http.ResponseWriter, f *Fault) {
	for k, v := range f.Headers {
		w.Header().Set(k, v)
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	if f.Body != "" {
		ct := contentTypeJSON
		if !strings.HasPrefix(strings.TrimSpace(f.Body), "{") {
			ct = contentTypeHTML
		}
		if v, ok := f.Headers["Content-Type"]; ok {
			ct = v
		}
		writeRaw(w, f.Status, ct, []byte(f.Body))
		return
	}
	writeError(w, faultError(f.Status))
}

// faultError is the instance's envelope for an injected status.
func faultError(status int) *Error {
	switch status {
	case http.StatusTooManyRequests:
		return &Error{Code: CodeRateLimited, Message: "Rate limit exceeded", Detail: "Rate limit of 100 requests per hour for Table API exceeded"}
	case http.StatusUnauthorized:
		return errNotAuthenticated()
	case http.StatusForbidden:
		return &Error{Code: CodeOperationFailed, Message: "Operation Failed", Detail: "ACL Exception Insert Failed due to security constraints"}
	case http.StatusNotFound:
		return errNoRecord()
	case http.StatusServiceUnavailable:
		return &Error{Code: CodeUnavailable, Message: "Service Unavailable", Detail: "The instance is temporarily unavailable"}
	}
	if status >= 500 {
		return &Error{Code: CodeInternal, Status: status, Message: http.StatusText(status), Detail: "Injected fault"}
	}
	return &Error{Code: CodeBadRequest, Status: status, Message: http.StatusText(status), Detail: "Injected fault"}
}

// discardWriter runs a handler whose answer is replaced by a fault.
type discardWriter struct {
	h    http.Header
	body bytes.Buffer
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return d.body.Write(b) }
func (d *discardWriter) WriteHeader(int)             {}
