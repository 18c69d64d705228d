package fakesn

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// JournalEntry is one request as the fake saw it. It never holds a secret:
// tokens appear only as fingerprints, and secret parameters found in a URL
// are named, not copied.
type JournalEntry struct {
	Seq      int64     `json:"seq"`
	Time     time.Time `json:"time"`      // the fake's clock
	WallTime time.Time `json:"wall_time"` // real time
	Method   string    `json:"method"`
	Path     string    `json:"path"`
	// Query is the URL query with every secret value replaced by "REDACTED".
	Query string `json:"query,omitempty"`
	// API names the endpoint: oauth_token, oauth_auth, oauth_revoke, table, other.
	API   string `json:"api"`
	Table string `json:"table,omitempty"`
	SysID string `json:"sys_id,omitempty"`

	GrantType string `json:"grant_type,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	// ClientAuth is how the client authenticated to the token endpoint:
	// form, basic, none (public client).
	ClientAuth string `json:"client_auth,omitempty"`
	User       string `json:"user,omitempty"` // user_name of the caller
	// AuthKind is how a Table API request authenticated: basic, bearer,
	// bearer_query (access_token in the URL), session, none.
	AuthKind string `json:"auth_kind,omitempty"`
	// Token is the fingerprint of the access token presented (Table API) or
	// of the refresh token presented (refresh grant).
	Token string `json:"token,omitempty"`
	// IssuedAccess and IssuedRefresh fingerprint the tokens a grant returned.
	IssuedAccess  string `json:"issued_access,omitempty"`
	IssuedRefresh string `json:"issued_refresh,omitempty"`
	// SecretsInURL names secret parameters that appeared in the URL query
	// (client_secret, password, access_token, refresh_token, code_verifier).
	SecretsInURL []string `json:"secrets_in_url,omitempty"`

	Status     int    `json:"status"`
	ErrCode    Code   `json:"err_code,omitempty"`
	ErrMessage string `json:"err_message,omitempty"`
	// Fault is the ID of the injected fault that answered, if any.
	Fault     string        `json:"fault,omitempty"`
	UserAgent string        `json:"user_agent,omitempty"`
	Duration  time.Duration `json:"duration_ns"`
}

// JournalFilter selects journal entries; zero fields match everything.
type JournalFilter struct {
	Path      string    `json:"path,omitempty"` // exact path, or a prefix ending in "*"
	API       string    `json:"api,omitempty"`
	GrantType string    `json:"grant_type,omitempty"`
	Status    int       `json:"status,omitempty"`
	Token     string    `json:"token,omitempty"` // fingerprint, presented or issued
	Since     time.Time `json:"since,omitempty"` // virtual time, inclusive
	SinceSeq  int64     `json:"since_seq,omitempty"`
	Limit     int       `json:"limit,omitempty"` // newest N; 0 means all
}

// Match reports whether e passes the filter.
func (f JournalFilter) Match(e *JournalEntry) bool {
	switch {
	case f.Path != "" && !matchPath(f.Path, e.Path),
		f.API != "" && f.API != e.API,
		f.GrantType != "" && f.GrantType != e.GrantType,
		f.Status != 0 && f.Status != e.Status,
		f.Token != "" && f.Token != e.Token && f.Token != e.IssuedAccess && f.Token != e.IssuedRefresh,
		!f.Since.IsZero() && e.Time.Before(f.Since),
		f.SinceSeq != 0 && e.Seq < f.SinceSeq:
		return false
	}
	return true
}

func matchPath(pattern, path string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(path, p)
	}
	return pattern == path
}

// journal is a bounded ring of entries.
type journal struct {
	size int

	mu sync.Mutex // guards entries, next, full, seq
	// entries grows to size as requests come (a full-size ring up front is
	// megabytes that most fakes never use), then wraps.
	entries []JournalEntry
	next    int // ring position of the next write, once full
	full    bool
	seq     int64
}

func newJournal(size int) *journal {
	if size <= 0 {
		size = 10000
	}
	return &journal{size: size}
}

func (j *journal) add(e JournalEntry) {
	j.mu.Lock()
	j.seq++
	e.Seq = j.seq
	if !j.full {
		if len(j.entries) == cap(j.entries) {
			grown := make([]JournalEntry, len(j.entries), min(j.size, max(64, 2*cap(j.entries))))
			copy(grown, j.entries)
			j.entries = grown
		}
		j.entries = append(j.entries, e)
		j.full = len(j.entries) == j.size
		j.mu.Unlock()
		return
	}
	j.entries[j.next] = e
	j.next++
	if j.next == len(j.entries) {
		j.next = 0
	}
	j.mu.Unlock()
}

func (j *journal) query(f JournalFilter) []JournalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []JournalEntry
	visit := func(e *JournalEntry) {
		if f.Match(e) {
			out = append(out, *e)
		}
	}
	// Oldest first: once full, the ring starts at next.
	for i := j.next; i < len(j.entries); i++ {
		visit(&j.entries[i])
	}
	for i := 0; i < j.next; i++ {
		visit(&j.entries[i])
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out
}

func (j *journal) clear() {
	j.mu.Lock()
	j.entries = nil
	j.next, j.full = 0, false
	j.mu.Unlock()
}

// JournalLog is a bounded journal with the fake's numbering and filters.
// The fake keeps one, and so does the recording proxy in front of a live
// instance (harness/proxy), so that checks read both the same way.
type JournalLog struct{ j *journal }

// NewJournalLog returns an empty journal of size entries; 0 means 10000.
// Once full, the oldest entries are dropped.
func NewJournalLog(size int) *JournalLog { return &JournalLog{j: newJournal(size)} }

// Add appends e, numbering it with the next Seq.
func (l *JournalLog) Add(e JournalEntry) { l.j.add(e) }

// Query returns the entries matching f, oldest first.
func (l *JournalLog) Query(f JournalFilter) []JournalEntry { return l.j.query(f) }

// Clear empties the journal; numbering goes on.
func (l *JournalLog) Clear() { l.j.clear() }

// RequestEntry starts the journal entry of r as the fake does: the path
// with "." and ".." resolved, the API, the query with its secret values
// redacted and their names in SecretsInURL, the method (after
// X-HTTP-Method-Override on a POST) and the User-Agent. It leaves r as it
// is; the times and the answer are the caller's to fill in.
func RequestEntry(r *http.Request) JournalEntry {
	u := *r.URL
	cleanRequestPath(&http.Request{URL: &u})
	e := JournalEntry{Method: r.Method, Path: u.Path, API: apiOf(u.Path), UserAgent: r.UserAgent()}
	if o := r.Header.Get("X-HTTP-Method-Override"); o != "" && r.Method == http.MethodPost {
		e.Method = strings.ToUpper(o)
	}
	e.Query, e.SecretsInURL = redactQuery(r.URL.RawQuery)
	return e
}

// APIOf names the endpoint of a path as the journal does: oauth_token,
// oauth_auth, oauth_revoke, table, api or other.
func APIOf(path string) string { return apiOf(path) }

// Fingerprint identifies a token in the journal without revealing it: the
// first 12 hex characters of its SHA-256. Tests compute it from the token
// they hold to find its entries.
func Fingerprint(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:6])
}

// secretParams are parameter names whose values never leave the fake.
var secretParams = map[string]bool{
	"client_secret": true, "password": true, "access_token": true,
	"refresh_token": true, "code_verifier": true, "code": true,
	"assertion": true, "token": true, "user_password": true,
}

// redactQuery returns the query with secret values replaced, and the names
// of the secret parameters it held.
func redactQuery(raw string) (string, []string) {
	if raw == "" {
		return "", nil
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return "REDACTED-UNPARSABLE", nil
	}
	var found []string
	for k, vs := range vals {
		if secretParams[strings.ToLower(k)] {
			found = append(found, k)
			for i := range vs {
				vs[i] = "REDACTED"
			}
		}
	}
	slices.Sort(found) // map order would make journals differ run to run
	return vals.Encode(), found
}
