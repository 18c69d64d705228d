package fakesn

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// Controller drives a fake: its clock, tokens, faults, journal and state.
// *Server implements it in process and *AdminClient over HTTP, so a test
// drives an in-process and a standalone fake the same way.
type Controller interface {
	Health(ctx context.Context) error
	Reset(ctx context.Context) error
	Now(ctx context.Context) (time.Time, error)
	AdvanceClock(ctx context.Context, d time.Duration) (time.Time, error)
	SetClock(ctx context.Context, t time.Time) (time.Time, error)
	ExpireTokens(ctx context.Context, req ExpireRequest) (int, error)
	Journal(ctx context.Context, f JournalFilter) ([]JournalEntry, error)
	ClearJournal(ctx context.Context) error
	Unexpected(ctx context.Context) ([]Unexpected, error)
	ClearUnexpected(ctx context.Context) error
	Faults(ctx context.Context) ([]Fault, error)
	AddFault(ctx context.Context, f Fault) (Fault, error)
	ClearFaults(ctx context.Context) error
	SetHibernating(ctx context.Context, on bool) error
	Snapshot(ctx context.Context) (*Snapshot, error)
	Restore(ctx context.Context, snap *Snapshot) error
}

var _ Controller = (*Server)(nil)

// ExpireRequest selects credentials to expire; the zero value expires every
// access and refresh token.
type ExpireRequest struct {
	Token    string `json:"token,omitempty"`     // one token (the secret itself)
	Kind     string `json:"kind,omitempty"`      // "access", "refresh" or "" for both
	ClientID string `json:"client_id,omitempty"` // only this application's
	UserName string `json:"user_name,omitempty"` // only this user's
}

// Snapshot is the whole state of the instance's tables.
type Snapshot struct {
	Version  int              `json:"version"`
	Taken    time.Time        `json:"taken"`
	Records  []SnapshotRecord `json:"records"`
	Counters map[string]int   `json:"counters"`
}

// SnapshotRecord is one row of a snapshot.
type SnapshotRecord struct {
	Table  string            `json:"table"`
	SysID  string            `json:"sys_id"`
	Values map[string]string `json:"values"`
}

// Health reports whether the fake can answer.
func (s *Server) Health(_ context.Context) error {
	return s.store.View(func(tx *store.Tx) error {
		if _, ok := tx.Table("sys_user"); !ok {
			return errors.New("fakesn: no sys_user table")
		}
		return nil
	})
}

// Reset returns the instance to its seed: tables, tokens, sessions,
// journal, faults, hibernation and rate-limit counters. The clock stays.
func (s *Server) Reset(_ context.Context) error {
	if err := s.store.Reset(s.seed); err != nil {
		return err
	}
	s.sessions.reset()
	s.journal.clear()
	s.faults.Clear()
	s.limits.reset()
	s.hibernating.Store(false)
	s.unexpectedMu.Lock()
	s.unexpected = nil
	s.unexpectedMu.Unlock()
	return nil
}

// Now is the fake's time.
func (s *Server) Now(_ context.Context) (time.Time, error) { return s.clock.Now(), nil }

func (s *Server) adjustable() (adjustableClock, error) {
	c, ok := s.clock.(adjustableClock)
	if !ok {
		return nil, errors.New("fakesn: the clock in Options.Clock cannot be moved; use a FakeClock")
	}
	return c, nil
}

// AdvanceClock moves the fake's time forward by d.
func (s *Server) AdvanceClock(_ context.Context, d time.Duration) (time.Time, error) {
	c, err := s.adjustable()
	if err != nil {
		return time.Time{}, err
	}
	if d < 0 {
		return time.Time{}, errors.New("fakesn: the clock only moves forward")
	}
	c.Advance(d)
	return c.Now(), nil
}

// SetClock moves the fake's time to t.
func (s *Server) SetClock(_ context.Context, t time.Time) (time.Time, error) {
	c, err := s.adjustable()
	if err != nil {
		return time.Time{}, err
	}
	c.Set(t)
	return c.Now(), nil
}

// ExpireTokens expires matching live credentials now and returns how many.
func (s *Server) ExpireTokens(_ context.Context, req ExpireRequest) (int, error) {
	kinds := map[string]bool{kindAccess: true, kindRefresh: true}
	switch req.Kind {
	case "":
	case "access", kindAccess:
		kinds = map[string]bool{kindAccess: true}
	case "refresh", kindRefresh:
		kinds = map[string]bool{kindRefresh: true}
	default:
		return 0, fmt.Errorf("fakesn: token kind %q is not access or refresh", req.Kind)
	}
	n := 0
	err := s.store.Update("system", func(tx *store.Tx) error {
		var rows []*store.Row
		if req.Token != "" {
			if r, ok := tx.Lookup("oauth_credential", "token", tokenKey(req.Token)); ok {
				rows = append(rows, r)
			}
		} else {
			_ = tx.Scan("oauth_credential", func(r *store.Row) bool { rows = append(rows, r); return true })
		}
		appID, userID := "", ""
		if req.ClientID != "" {
			a, ok := appByClientID(tx, req.ClientID)
			if !ok {
				return fmt.Errorf("fakesn: no OAuth application with client_id %q", req.ClientID)
			}
			appID = a.ID
		}
		if req.UserName != "" {
			u, ok := tx.Lookup("sys_user", "user_name", req.UserName)
			if !ok {
				return fmt.Errorf("fakesn: no user %q", req.UserName)
			}
			userID = u.ID()
		}
		now := tx.Now()
		for _, r := range rows {
			if !kinds[r.Get("type")] || !credLive(r, now) ||
				appID != "" && r.Get("client") != appID || userID != "" && r.Get("user") != userID {
				continue
			}
			if err := expireCredential(tx, r, credActive); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// Journal returns the journal entries matching f, oldest first.
func (s *Server) Journal(_ context.Context, f JournalFilter) ([]JournalEntry, error) {
	return s.journal.query(f), nil
}

// ClearJournal empties the journal.
func (s *Server) ClearJournal(_ context.Context) error {
	s.journal.clear()
	return nil
}

// Unexpected lists the requests the fake does not model.
func (s *Server) Unexpected(_ context.Context) ([]Unexpected, error) {
	s.unexpectedMu.Lock()
	defer s.unexpectedMu.Unlock()
	return append([]Unexpected(nil), s.unexpected...), nil
}

// ClearUnexpected empties the unexpected-request list.
func (s *Server) ClearUnexpected(_ context.Context) error {
	s.unexpectedMu.Lock()
	s.unexpected = nil
	s.unexpectedMu.Unlock()
	return nil
}

const snapshotVersion = 1

// Snapshot captures every table's rows.
func (s *Server) Snapshot(_ context.Context) (*Snapshot, error) {
	snap := &Snapshot{Version: snapshotVersion, Taken: s.clock.Now()}
	err := s.store.View(func(tx *store.Tx) error {
		for _, op := range tx.Snapshot() {
			snap.Records = append(snap.Records, SnapshotRecord{Table: op.Table, SysID: op.SysID, Values: op.Values})
		}
		snap.Counters = tx.Counters()
		return nil
	})
	return snap, err
}

// Restore replaces every table's rows with a snapshot's.
func (s *Server) Restore(_ context.Context, snap *Snapshot) error {
	if snap == nil || snap.Version != snapshotVersion {
		return fmt.Errorf("fakesn: snapshot version must be %d", snapshotVersion)
	}
	err := s.store.Update("system", func(tx *store.Tx) error {
		for _, rec := range snap.Records {
			if _, ok := tx.Table(rec.Table); !ok {
				return fmt.Errorf("fakesn: snapshot names unknown table %q", rec.Table)
			}
		}
		tx.Clear()
		for _, rec := range snap.Records {
			if err := tx.Apply(store.Op{Kind: "put", Table: rec.Table, SysID: rec.SysID, Values: rec.Values}); err != nil {
				return fmt.Errorf("fakesn: restoring %s %s: %w", rec.Table, rec.SysID, err)
			}
		}
		tx.SetCounters(snap.Counters)
		return nil
	})
	if err == nil {
		s.sessions.reset()
	}
	return err
}

// serveControl routes a control request after checking it may be served:
// with the admin token when one is set, else only from loopback.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if tok := s.opts.AdminToken; tok != "" {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get(AdminTokenHeader)), []byte(tok)) != 1 {
			writeError(w, &Error{Code: CodeControlNotAllowed, Message: "Control API refused", Detail: "missing or wrong " + AdminTokenHeader})
			return
		}
	} else if !isLoopback(r.RemoteAddr) {
		writeError(w, &Error{Code: CodeControlNotAllowed, Message: "Control API refused", Detail: "the fake listens beyond loopback: set an admin token"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, cmp.Or(s.maxControlBody, 256<<20))
	s.control.ServeHTTP(w, r)
}

// AdminTokenHeader carries the admin token on control API requests.
const AdminTokenHeader = "X-Fakesn-Admin-Token"

func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ctlReply writes a control answer: v as JSON, or err as an envelope.
func ctlReply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeError(w, errBadRequest("Control request failed", err.Error()))
		return
	}
	if v == nil {
		v = struct{}{}
	}
	writeJSON(w, http.StatusOK, v)
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("fakesn: bad control request body: %w", err)
	}
	return nil
}

type clockReply struct {
	Now time.Time `json:"now"`
}

func (s *Server) ctlHealth(w http.ResponseWriter, r *http.Request) {
	ctlReply(w, map[string]string{"status": "ok"}, s.Health(r.Context()))
}

func (s *Server) ctlReset(w http.ResponseWriter, r *http.Request) {
	ctlReply(w, nil, s.Reset(r.Context()))
}

func (s *Server) ctlClock(w http.ResponseWriter, r *http.Request) {
	now, err := s.Now(r.Context())
	ctlReply(w, clockReply{now}, err)
}

func (s *Server) ctlClockAdvance(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Seconds float64 `json:"seconds"`
	}
	if err := decodeBody(r, &req); err != nil {
		ctlReply(w, nil, err)
		return
	}
	now, err := s.AdvanceClock(r.Context(), time.Duration(req.Seconds*float64(time.Second)))
	ctlReply(w, clockReply{now}, err)
}

func (s *Server) ctlClockSet(w http.ResponseWriter, r *http.Request) {
	var req clockReply
	if err := decodeBody(r, &req); err != nil {
		ctlReply(w, nil, err)
		return
	}
	now, err := s.SetClock(r.Context(), req.Now)
	ctlReply(w, clockReply{now}, err)
}

func (s *Server) ctlExpireTokens(w http.ResponseWriter, r *http.Request) {
	var req ExpireRequest
	if err := decodeBody(r, &req); err != nil {
		ctlReply(w, nil, err)
		return
	}
	n, err := s.ExpireTokens(r.Context(), req)
	ctlReply(w, map[string]int{"expired": n}, err)
}

// journalFilterFromQuery reads a filter from URL parameters.
func journalFilterFromQuery(r *http.Request) (JournalFilter, error) {
	q := r.URL.Query()
	f := JournalFilter{Path: q.Get("path"), API: q.Get("api"), GrantType: q.Get("grant_type"), Token: q.Get("token")}
	var err error
	num := func(name string) int64 {
		v := q.Get(name)
		if v == "" || err != nil {
			return 0
		}
		n, e := strconv.ParseInt(v, 10, 64)
		if e != nil {
			err = fmt.Errorf("fakesn: journal filter %s=%q is not a number", name, v)
		}
		return n
	}
	f.Status = int(num("status"))
	f.SinceSeq = num("since_seq")
	f.Limit = int(num("limit"))
	if v := q.Get("since"); v != "" && err == nil {
		f.Since, err = time.Parse(time.RFC3339Nano, v)
	}
	return f, err
}

func (s *Server) ctlJournal(w http.ResponseWriter, r *http.Request) {
	f, err := journalFilterFromQuery(r)
	if err != nil {
		ctlReply(w, nil, err)
		return
	}
	entries, err := s.Journal(r.Context(), f)
	if entries == nil {
		entries = []JournalEntry{}
	}
	ctlReply(w, map[string]any{"entries": entries}, err)
}

func (s *Server) ctlClearJournal(w http.ResponseWriter, r *http.Request) {
	ctlReply(w, nil, s.ClearJournal(r.Context()))
}

func (s *Server) ctlUnexpected(w http.ResponseWriter, r *http.Request) {
	u, err := s.Unexpected(r.Context())
	if u == nil {
		u = []Unexpected{}
	}
	ctlReply(w, map[string]any{"unexpected": u}, err)
}

func (s *Server) ctlClearUnexpected(w http.ResponseWriter, r *http.Request) {
	ctlReply(w, nil, s.ClearUnexpected(r.Context()))
}

func (s *Server) ctlFaults(w http.ResponseWriter, r *http.Request) {
	f, err := s.Faults(r.Context())
	ctlReply(w, map[string]any{"faults": f}, err)
}

func (s *Server) ctlAddFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if err := decodeBody(r, &f); err != nil {
		ctlReply(w, nil, err)
		return
	}
	f, err := s.AddFault(r.Context(), f)
	ctlReply(w, f, err)
}

func (s *Server) ctlClearFaults(w http.ResponseWriter, r *http.Request) {
	ctlReply(w, nil, s.ClearFaults(r.Context()))
}

func (s *Server) ctlHibernate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		On bool `json:"on"`
	}
	if err := decodeBody(r, &req); err != nil {
		ctlReply(w, nil, err)
		return
	}
	ctlReply(w, nil, s.SetHibernating(r.Context(), req.On))
}

func (s *Server) ctlSnapshot(w http.ResponseWriter, r *http.Request) {
	snap, err := s.Snapshot(r.Context())
	ctlReply(w, snap, err)
}

func (s *Server) ctlRestore(w http.ResponseWriter, r *http.Request) {
	var snap Snapshot
	if err := decodeBody(r, &snap); err != nil {
		ctlReply(w, nil, err)
		return
	}
	ctlReply(w, nil, s.Restore(r.Context(), &snap))
}

func (s *Server) ctlNotFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, &Error{Code: CodeNotFound, Message: "No such control endpoint", Detail: r.Method + " " + strings.TrimPrefix(r.URL.Path, controlPrefix)})
}

// RecordField returns a field of the record of exactly table with sysID,
// as stored, and whether that record exists. Secret fields read as "".
// `sncheck serve` reads the seeded admin user and OAuth application with
// it, which unlike Snapshot costs nothing on a large instance.
func (s *Server) RecordField(table, sysID, field string) (string, bool) {
	var v string
	found := false
	_ = s.store.View(func(tx *store.Tx) error {
		r, err := tx.Get(table, sysID)
		if err != nil || r.Table.Name != table {
			return nil
		}
		found = true
		if f, ok := r.Table.Field(field); ok && !store.IsSecretType(f.Type) {
			v = r.At(f.Index)
		}
		return nil
	})
	return v, found
}

// CheckUserPassword reports whether password is userName's current
// password (compared in constant time). `sncheck serve` uses it to print
// the default credentials only while they still work.
func (s *Server) CheckUserPassword(userName, password string) bool {
	ok := false
	_ = s.store.View(func(tx *store.Tx) error {
		if u, found := tx.Lookup("sys_user", "user_name", userName); found {
			ok = verifySecret(u.Get("user_password"), password)
		}
		return nil
	})
	return ok
}

// CheckClientSecret reports whether secret is the client secret of the
// OAuth application clientID (compared in constant time).
func (s *Server) CheckClientSecret(clientID, secret string) bool {
	ok := false
	_ = s.store.View(func(tx *store.Tx) error {
		if a, found := appByClientID(tx, clientID); found {
			ok = verifySecret(a.Row.Get("client_secret"), secret)
		}
		return nil
	})
	return ok
}
