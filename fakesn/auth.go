package fakesn

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// principal is who a REST request acts as.
type principal struct {
	UserID   string
	UserName string
	Roles    map[string]bool
	// Auth is basic, bearer, bearer_query, or session.
	Auth string
	// AppID is the OAuth application behind a bearer token; scope checks
	// apply only then (servicenow-spec §4).
	AppID string
	// Session is the session the request used or started.
	Session *session
}

// IsAdmin reports whether the caller has the admin role, which overrides
// ACLs on a real instance.
func (p *principal) IsAdmin() bool { return p.Roles["admin"] }

// HasRole reports whether the caller has role (admin has every role).
func (p *principal) HasRole(role string) bool { return p.Roles[role] || p.Roles["admin"] }

// OAuth reports whether the request used an OAuth token.
func (p *principal) OAuth() bool { return p.AppID != "" }

// userCanLogIn reports whether a sys_user may authenticate at all.
func userCanLogIn(u *store.Row) bool {
	return u.Get("active") != "false" && u.Get("locked_out") != "true"
}

// userRoles returns the role names granted to a user.
func userRoles(tx *store.Tx, userID string) map[string]bool {
	roles := map[string]bool{}
	_ = tx.Scan("sys_user_has_role", func(r *store.Row) bool {
		if r.Get("user") == userID && r.Get("state") != "inactive" {
			if role, err := tx.Get("sys_user_role", r.Get("role")); err == nil {
				roles[role.Get("name")] = true
			}
		}
		return true
	})
	return roles
}

// authenticate finds who a REST request acts as: the Authorization header
// (Basic or Bearer) first, then an access_token query parameter, then a
// live session cookie. It journals how the request authenticated.
func (s *Server) authenticate(tx *store.Tx, r *http.Request) (*principal, *Error) {
	entry := &infoFrom(r).Entry
	p, err := s.resolvePrincipal(tx, r, entry)
	if err != nil {
		if entry.AuthKind == "" {
			entry.AuthKind = "none"
		}
		return nil, err
	}
	p.Roles = userRoles(tx, p.UserID)
	entry.User = p.UserName
	entry.AuthKind = p.Auth
	return p, nil
}

func (s *Server) resolvePrincipal(tx *store.Tx, r *http.Request, entry *JournalEntry) (*principal, *Error) {
	now := s.clock.Now()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		switch strings.ToLower(scheme) {
		case "basic":
			entry.AuthKind = "basic"
			user, pass, ok := r.BasicAuth()
			if !ok {
				return nil, errNotAuthenticated()
			}
			u, found := tx.Lookup("sys_user", "user_name", user)
			if !found || !verifySecret(u.Get("user_password"), pass) || !userCanLogIn(u) {
				return nil, errNotAuthenticated()
			}
			return &principal{UserID: u.ID(), UserName: u.Get("user_name"), Auth: "basic"}, nil
		case "bearer":
			entry.AuthKind = "bearer"
			return s.bearerPrincipal(tx, strings.TrimSpace(cred), "bearer", entry)
		}
		entry.AuthKind = "other"
		return nil, errNotAuthenticated()
	}
	if tok := r.URL.Query().Get("access_token"); tok != "" {
		entry.AuthKind = "bearer_query"
		return s.bearerPrincipal(tx, tok, "bearer_query", entry)
	}
	if sess := s.sessions.fromRequest(r, now); sess != nil {
		entry.AuthKind = "session"
		if s.opts.RequireUserToken && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-UserToken")), []byte(sess.UserToken)) != 1 {
			return nil, errNotAuthenticated()
		}
		u, err := tx.Get("sys_user", sess.UserID)
		if err != nil || !userCanLogIn(u) {
			return nil, errNotAuthenticated()
		}
		return &principal{UserID: u.ID(), UserName: u.Get("user_name"), Auth: "session", Session: sess}, nil
	}
	return nil, errNotAuthenticated()
}

func (s *Server) bearerPrincipal(tx *store.Tx, token, kind string, entry *JournalEntry) (*principal, *Error) {
	entry.Token = Fingerprint(token)
	c, ok := findCredential(tx, token, kindAccess)
	if !ok || !credLive(c, s.clock.Now()) {
		return nil, errNotAuthenticated()
	}
	a, ok := appByID(tx, c.Get("client"))
	if !ok || !a.Active {
		return nil, errNotAuthenticated()
	}
	u, err := tx.Get("sys_user", c.Get("user"))
	if err != nil || !userCanLogIn(u) {
		return nil, errNotAuthenticated()
	}
	entry.ClientID = a.ClientID
	return &principal{UserID: u.ID(), UserName: u.Get("user_name"), Auth: kind, AppID: a.ID}, nil
}

// establishSession binds an authenticated answer to a session: the one the
// request came with, or a new one, whose cookies are set on w.
func (s *Server) establishSession(w http.ResponseWriter, r *http.Request, p *principal) {
	if p.Session == nil {
		p.Session = s.sessions.create(p.UserID, p.UserName, s.clock.Now())
	}
	setSessionCookies(w, r, p.Session)
	w.Header().Set("X-Is-Logged-In", "true")
}
