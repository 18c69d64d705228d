package fakesn

import (
	"container/list"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

// sessionIdle is how long a session lives unused (glide_session_store's
// Max-Age on a real instance).
const sessionIdle = 30 * time.Minute

// session is an authenticated instance session, bound to cookies.
type session struct {
	ID        string // JSESSIONID
	StoreID   string // glide_session_store
	UserID    string
	UserName  string
	UserToken string // X-UserToken (g_ck) for cookie-only REST calls
	LastUsed  time.Time

	use *list.Element // in sessions.lru; nil on copies handed out
}

// sessions is the bounded set of live sessions.
type sessions struct {
	max int

	mu      sync.Mutex // guards byID, byStore, lru
	byID    map[string]*session
	byStore map[string]*session
	// lru orders the sessions by use, most recent first, so that a full
	// table evicts in constant time: clients that never send cookies back
	// start a session per request.
	lru list.List
}

func newSessions(max int) *sessions {
	if max <= 0 {
		max = 10000
	}
	return &sessions{max: max, byID: map[string]*session{}, byStore: map[string]*session{}}
}

func upperHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// create starts a session for a user, evicting the least recently used one
// when full so that clients that never send cookies back cannot grow it.
func (ss *sessions) create(userID, userName string, now time.Time) *session {
	sess := &session{ID: upperHex(16), StoreID: upperHex(16), UserID: userID, UserName: userName,
		UserToken: strings.ToLower(upperHex(16)), LastUsed: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.byID) >= ss.max {
		if last := ss.lru.Back(); last != nil {
			ss.removeLocked(last.Value.(*session))
		}
	}
	ss.byID[sess.ID] = sess
	ss.byStore[sess.StoreID] = sess
	sess.use = ss.lru.PushFront(sess)
	cp := *sess
	cp.use = nil
	return &cp
}

func (ss *sessions) removeLocked(s *session) {
	if s == nil {
		return
	}
	delete(ss.byID, s.ID)
	delete(ss.byStore, s.StoreID)
	if s.use != nil {
		ss.lru.Remove(s.use)
		s.use = nil
	}
}

// fromRequest returns the live session named by the request's cookies.
func (ss *sessions) fromRequest(r *http.Request, now time.Time) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	var s *session
	if c, err := r.Cookie("JSESSIONID"); err == nil {
		s = ss.byID[c.Value]
	}
	if s == nil {
		if c, err := r.Cookie("glide_session_store"); err == nil {
			s = ss.byStore[c.Value]
		}
	}
	if s == nil {
		return nil
	}
	if now.Sub(s.LastUsed) > sessionIdle {
		ss.removeLocked(s)
		return nil
	}
	s.LastUsed = now
	ss.lru.MoveToFront(s.use)
	cp := *s
	cp.use = nil
	return &cp
}

// endUser drops every session of a user (when the user is deactivated).
func (ss *sessions) endUser(userID string) {
	ss.mu.Lock()
	for _, s := range ss.byID {
		if s.UserID == userID {
			ss.removeLocked(s)
		}
	}
	ss.mu.Unlock()
}

func (ss *sessions) reset() {
	ss.mu.Lock()
	ss.byID = map[string]*session{}
	ss.byStore = map[string]*session{}
	ss.lru.Init()
	ss.mu.Unlock()
}

// secureRequest reports whether the client reached the fake over TLS.
// Cookies are marked Secure only then: a Secure cookie set over plain HTTP
// would never come back, which no real client sees.
func secureRequest(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// setSessionCookies writes the cookies of an authenticated instance answer
// (servicenow-spec §8).
func setSessionCookies(w http.ResponseWriter, r *http.Request, s *session) {
	sec := ""
	if secureRequest(r) {
		sec = ";Secure;SameSite=None"
	}
	h := w.Header()
	h.Add("Set-Cookie", "JSESSIONID="+s.ID+"; Path=/; HttpOnly"+sec)
	h.Add("Set-Cookie", "glide_user=; Max-Age=0; Expires=Thu, 01-Jan-1970 00:00:10 GMT; Path=/; HttpOnly"+sec)
	h.Add("Set-Cookie", "glide_user_session=; Max-Age=0; Expires=Thu, 01-Jan-1970 00:00:10 GMT; Path=/; HttpOnly"+sec)
	h.Add("Set-Cookie", "glide_user_route=glide."+strings.ToLower(s.ID)+"; Max-Age=2147483647; Path=/; HttpOnly"+sec)
	h.Add("Set-Cookie", "glide_session_store="+s.StoreID+"; Max-Age=1800; Path=/; HttpOnly"+sec)
	h.Add("Set-Cookie", "BIGipServerpool_sncheck=2927640586.30526.0000; path=/; Httponly"+sec)
}

// clearSessionCookies writes the cookies of an unauthenticated answer.
func clearSessionCookies(w http.ResponseWriter, r *http.Request) {
	sec := ""
	if secureRequest(r) {
		sec = ";Secure"
	}
	h := w.Header()
	h.Add("Set-Cookie", "JSESSIONID="+upperHex(16)+"; Path=/; HttpOnly"+sec)
	h.Add("Set-Cookie", "glide_user=; Max-Age=0; Expires=Thu, 01-Jan-1970 00:00:10 GMT; Path=/; HttpOnly"+sec)
	h.Add("Set-Cookie", "glide_user_session=; Max-Age=0; Expires=Thu, 01-Jan-1970 00:00:10 GMT; Path=/; HttpOnly"+sec)
}
