package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sncheck/sncheck/fakesn"
)

// Token kinds, as fakesn.ExpireRequest names them.
const (
	kindAccess  = "access"
	kindRefresh = "refresh"
)

// Bounds on what the proxy remembers about tokens.
const (
	maxRawTokens = 64
	maxTokenInfo = 4096
)

// tokenInfo is what the journal may show about a token: never the token.
type tokenInfo struct {
	kind     string
	clientID string
	user     string
	parent   string // fingerprint of the refresh token an access token came with
}

// rawToken is a token the integration got or used, held in memory only so
// that the proxy can revoke it. It is never journaled, logged or printed.
type rawToken struct {
	value   string
	fp      string
	kind    string
	expires time.Time // zero when unknown
	revoked bool
	used    int64 // order of last issue or use
}

// tokenMemory holds the integration's recent raw tokens (for revocation)
// and the fingerprints' client and user (for the journal).
type tokenMemory struct {
	mu    sync.Mutex // guards raw, infos, clock
	raw   []*rawToken
	infos map[string]tokenInfo
	clock int64
}

func newTokenMemory() *tokenMemory { return &tokenMemory{infos: map[string]tokenInfo{}} }

func (m *tokenMemory) info(fp string) (tokenInfo, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in, ok := m.infos[fp]
	return in, ok
}

func (m *tokenMemory) setInfoLocked(fp string, in tokenInfo) {
	if len(m.infos) >= maxTokenInfo {
		clear(m.infos)
	}
	m.infos[fp] = in
}

// touchLocked records that a token was issued or used now.
func (m *tokenMemory) touchLocked(value, kind string, expires time.Time) *rawToken {
	m.clock++
	fp := fakesn.Fingerprint(value)
	for _, t := range m.raw {
		if t.fp == fp {
			t.used = m.clock
			if !expires.IsZero() {
				t.expires = expires
			}
			return t
		}
	}
	if len(m.raw) >= maxRawTokens {
		oldest := 0
		for i, t := range m.raw {
			if t.used < m.raw[oldest].used {
				oldest = i
			}
		}
		m.raw = slices.Delete(m.raw, oldest, oldest+1)
	}
	t := &rawToken{value: value, fp: fp, kind: kind, expires: expires, used: m.clock}
	m.raw = append(m.raw, t)
	return t
}

// presented notes the tokens a request carries: a bearer access token, or
// the refresh token of a refresh grant.
func (m *tokenMemory) presented(st *exchange) {
	r, e := st.req, st.entry
	var value, kind string
	switch {
	case e.API == "oauth_token":
		if st.post.Get("grant_type") == "refresh_token" {
			value, kind = st.post.Get("refresh_token"), kindRefresh
		}
	default:
		if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			value, kind = strings.TrimSpace(h[7:]), kindAccess
		} else if h == "" {
			value, kind = r.URL.Query().Get("access_token"), kindAccess
		}
	}
	if value == "" {
		return
	}
	m.mu.Lock()
	m.touchLocked(value, kind, time.Time{})
	m.mu.Unlock()
}

// learn notes the tokens an answer delivered to the integration, and the
// client and user behind their fingerprints.
func (m *tokenMemory) learn(st *exchange) {
	e := st.entry
	if st.access == "" || e.IssuedAccess == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	user := e.User
	parent := e.IssuedRefresh
	if e.GrantType == "refresh_token" {
		if in, ok := m.infos[e.Token]; ok && user == "" {
			user = in.user
		}
		if parent == "" {
			parent = e.Token
		}
	}
	var expires time.Time
	if st.expiresIn > 0 {
		expires = e.WallTime.Add(time.Duration(st.expiresIn) * time.Second)
	}
	m.setInfoLocked(e.IssuedAccess, tokenInfo{kind: kindAccess, clientID: e.ClientID, user: user, parent: parent})
	if e.IssuedRefresh != "" {
		m.setInfoLocked(e.IssuedRefresh, tokenInfo{kind: kindRefresh, clientID: e.ClientID, user: user})
	}
	if !st.deliver {
		return // the integration never saw them
	}
	if st.refresh != "" {
		m.touchLocked(st.refresh, kindRefresh, time.Time{})
	}
	m.touchLocked(st.access, kindAccess, expires)
}

// latest is the integration's most recently issued or used token of kind.
func (m *tokenMemory) latest(kind string) (value, fp string, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var best *rawToken
	for _, t := range m.raw {
		if t.kind == kind && (best == nil || t.used > best.used) {
			best = t
		}
	}
	if best == nil {
		return "", "", false
	}
	return best.value, best.fp, true
}

// markRevoked notes a revocation, and for a refresh token the end of the
// access tokens that came with it, as the instance revokes them too.
func (m *tokenMemory) markRevoked(fp string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.raw {
		if t.fp == fp || t.kind == kindAccess && m.infos[t.fp].parent == fp {
			t.revoked = true
		}
	}
}

// candidates are the live tokens that match an expiry request.
func (m *tokenMemory) candidates(kinds map[string]bool, clientID, user string, now time.Time) []*rawToken {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*rawToken
	for _, t := range m.raw {
		in := m.infos[t.fp]
		if !kinds[t.kind] || t.revoked || !t.expires.IsZero() && !now.Before(t.expires) ||
			clientID != "" && in.clientID != clientID || user != "" && in.user != user {
			continue
		}
		cp := *t
		out = append(out, &cp)
	}
	return out
}

func (m *tokenMemory) revoked(fp string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.raw {
		if t.fp == fp {
			return t.revoked
		}
	}
	return false
}

// forget drops every raw token.
func (m *tokenMemory) forget() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.raw {
		t.value = ""
	}
	m.raw = nil
	clear(m.infos)
}

// kindOf reads a token kind as fakesn.ExpireRequest does.
func kindOf(kind string) (map[string]bool, error) {
	switch kind {
	case "":
		return map[string]bool{kindAccess: true, kindRefresh: true}, nil
	case kindAccess, "access_token":
		return map[string]bool{kindAccess: true}, nil
	case kindRefresh, "refresh_token":
		return map[string]bool{kindRefresh: true}, nil
	}
	return nil, fmt.Errorf("proxy: token kind %q is not access or refresh", kind)
}

// RevokeCurrent revokes the integration's current token of kind ("access"
// or "refresh"): the one it was issued or used last through the proxy. It
// calls the instance's /oauth_revoke_token.do with the token in a form
// body, so the next Table API call with it answers 401 (access) or the
// next refresh fails (refresh; the instance also ends the access tokens
// that came with it). It returns the token's fingerprint.
func (p *Proxy) RevokeCurrent(ctx context.Context, kind string) (string, error) {
	kinds, err := kindOf(kind)
	if err != nil || len(kinds) != 1 {
		return "", fmt.Errorf("proxy: revoke which token: the kind must be access or refresh, not %q", kind)
	}
	k := kindAccess
	if kinds[kindRefresh] {
		k = kindRefresh
	}
	value, fp, ok := p.tokens.latest(k)
	if !ok {
		return "", fmt.Errorf("proxy: no %s token seen yet: the integration has not got or used one through the proxy", k)
	}
	if err := p.revoke(ctx, value); err != nil {
		return "", fmt.Errorf("proxy: revoking the current %s token %s: %w", k, fp, err)
	}
	p.tokens.markRevoked(fp)
	p.logger.Debug("proxy: revoked", "kind", k, "token", fp)
	return fp, nil
}

// ExpireTokens ends matching tokens the proxy has seen by revoking them
// at the instance, and returns how many it revoked. With req.Token it
// revokes that token. Unlike the fake's, revoking a refresh token also
// ends the access tokens issued with it (the instance's rule).
func (p *Proxy) ExpireTokens(ctx context.Context, req fakesn.ExpireRequest) (int, error) {
	kinds, err := kindOf(req.Kind)
	if err != nil {
		return 0, err
	}
	var todo []*rawToken
	if req.Token != "" {
		todo = []*rawToken{{value: req.Token, fp: fakesn.Fingerprint(req.Token)}}
	} else {
		todo = p.tokens.candidates(kinds, req.ClientID, req.UserName, time.Now())
	}
	n := 0
	for _, t := range todo {
		if req.Token == "" && p.tokens.revoked(t.fp) {
			continue // ended with its refresh token
		}
		if err := p.revoke(ctx, t.value); err != nil {
			return n, fmt.Errorf("proxy: revoking %s token %s: %w", t.kind, t.fp, err)
		}
		p.tokens.markRevoked(t.fp)
		n++
	}
	return n, nil
}

// revokePresented revokes the token a request carries (a revoke fault):
// its bearer token, or a refresh grant's refresh token.
func (p *Proxy) revokePresented(ctx context.Context, st *exchange, grant string) {
	token := ""
	if grant == "refresh_token" {
		token = st.post.Get("refresh_token")
	} else if h := st.req.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		token = strings.TrimSpace(h[7:])
	}
	if token == "" {
		return
	}
	fp := fakesn.Fingerprint(token)
	if err := p.revoke(ctx, token); err != nil {
		p.logger.Warn("proxy: revoke fault could not revoke", "token", fp, "error", err.Error())
		return
	}
	p.tokens.markRevoked(fp)
}

// revoke calls the instance's revocation endpoint with token in a form
// body, never in the URL.
func (p *Proxy) revoke(ctx context.Context, token string) error {
	if !p.spend() {
		return ErrBudgetExhausted
	}
	body := url.Values{"token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/oauth_revoke_token.do", strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("building the request: %s", safeError(err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", UserAgent)
	hc := &http.Client{
		Transport:     p.transport,
		Timeout:       p.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("the instance did not answer: %s", safeError(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the instance answered %d", resp.StatusCode)
	}
	return nil
}
