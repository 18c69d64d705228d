package proxy

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/sncheck/sncheck/fakesn"
)

// Limits on what the proxy reads to journal a request: the fake's own
// limits on OAuth form bodies, and enough for an error envelope, a token
// answer or a created record.
const (
	maxFormBody   = 64 << 10
	maxAnswerRead = 1 << 20
)

// exchange is one request on its way through the proxy.
type exchange struct {
	entry      *fakesn.JournalEntry
	start      time.Time
	req        *http.Request // as the integration sent it
	clientBase string        // the proxy's origin as the integration called it
	route      tableRoute

	// The form body of an OAuth endpoint request (postOK: a POST with a
	// form body that parsed within the limit), and with the query.
	post   url.Values
	postOK bool
	form   url.Values

	forwarded bool // sent to the instance
	deliver   bool // the instance's answer reaches the integration (not status_after)
	committed bool // journaled

	// From the instance's answer.
	status    int
	errMsg    string
	access    string // raw tokens of a token answer: held until learnt, never journaled
	refresh   string
	expiresIn int64
	created   string // sys_id of a created record
	failure   string // why the instance could not be reached
}

type exchangeKey struct{}

func exchangeFrom(ctx context.Context) *exchange {
	st, _ := ctx.Value(exchangeKey{}).(*exchange)
	return st
}

// ServeHTTP forwards a request to the instance (or answers it with an
// armed fault) and journals it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	e := fakesn.RequestEntry(r)
	e.Time = start.UTC()
	e.WallTime = e.Time
	st := &exchange{entry: &e, start: start, req: r, clientBase: clientBase(r), route: parseTableRoute(r.URL)}
	readForm(r, st)
	rec := &recorder{ResponseWriter: w}
	defer func() {
		v := recover()
		aborted := v == http.ErrAbortHandler
		if v != nil && !aborted {
			p.logger.Error("proxy: panic", "path", e.Path, "panic", v)
			if !rec.wrote {
				writeProxyError(rec, http.StatusBadGateway, "Bad Gateway", "sncheck proxy: internal error")
			}
		}
		if !st.committed {
			status := rec.status
			if status == 0 && !aborted {
				status = http.StatusOK
			}
			p.commit(st, status)
		}
		if aborted {
			panic(v)
		}
	}()
	p.tokens.presented(st)
	p.serve(rec, r, st)
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request, st *exchange) {
	e := st.entry
	if p.hibernating.Load() {
		p.writeLocal(w, st, false, fakesn.WriteHibernating)
		return
	}
	if p.faults.Armed() {
		grant := ""
		if e.API == "oauth_token" && e.Method == http.MethodPost {
			grant = st.post.Get("grant_type")
		}
		// Matched on the path and method the fake would see.
		view := r.WithContext(r.Context())
		u := *r.URL
		u.Path, u.RawPath = e.Path, ""
		view.URL, view.Method = &u, e.Method
		if f := p.faults.Pick(view, e.API, fakesn.TableOf(e.Path), grant); f != nil {
			e.Fault = f.ID
			switch f.Action {
			case fakesn.FaultHibernate:
				p.writeLocal(w, st, false, fakesn.WriteHibernating)
				return
			case fakesn.FaultDrop:
				p.commit(st, 0) // journaled, with status 0, before the integration sees the drop
				if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
					_ = conn.Close()
				}
				panic(http.ErrAbortHandler)
			case fakesn.FaultRevoke:
				p.revokePresented(r.Context(), st, grant)
			case fakesn.FaultStatusAfter:
				p.forward(&discardWriter{h: http.Header{}}, r, st, false)
				p.writeLocal(w, st, f.Body == "", func(w http.ResponseWriter) { fakesn.WriteFault(w, *f) })
				return
			default:
				p.writeLocal(w, st, f.Body == "", func(w http.ResponseWriter) { fakesn.WriteFault(w, *f) })
				return
			}
		}
	}
	p.forward(w, r, st, true)
}

// forward sends the request to the instance and, when deliver is set,
// its answer to the integration.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, st *exchange, deliver bool) {
	st.deliver = deliver
	if !p.spend() {
		st.failure = "the request budget against the live instance is used up"
		if deliver {
			p.commit(st, http.StatusBadGateway)
		}
		writeProxyError(w, http.StatusBadGateway, "Bad Gateway", "sncheck proxy: the run's request budget against the live instance is used up")
		return
	}
	st.forwarded = true
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), exchangeKey{}, st)))
}

func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(p.upstream)
	// The transport then asks for gzip itself and decodes the answer, which
	// the proxy must read (token answers, error envelopes).
	pr.Out.Header.Del("Accept-Encoding")
}

// modifyResponse reads what the journal needs from the instance's answer
// and points its URLs at the proxy.
func (p *Proxy) modifyResponse(resp *http.Response) error {
	st := exchangeFrom(resp.Request.Context())
	if st == nil {
		return nil
	}
	st.status = resp.StatusCode
	p.rebaseHeaders(resp.Header, st.clientBase)
	p.readAnswer(st, resp)
	if st.deliver {
		// Journaled before the integration gets a byte: a check reads the
		// journal as soon as the integration's call returns.
		p.commit(st, resp.StatusCode)
	}
	return nil
}

// readAnswer reads what the journal needs from the answer: an error
// envelope's message, a token answer's tokens, a created record's sys_id.
func (p *Proxy) readAnswer(st *exchange, resp *http.Response) {
	e := st.entry
	tokenAnswer := e.API == "oauth_token" && resp.StatusCode == http.StatusOK
	created := e.API == "table" && e.Method == http.MethodPost && st.route.ok && st.route.sysID == "" && resp.StatusCode == http.StatusCreated
	if resp.StatusCode < 400 && !tokenAnswer && !created {
		return
	}
	body, complete := peekBody(resp)
	if !complete {
		return
	}
	switch {
	case resp.StatusCode >= 400:
		st.errMsg = envelopeMessage(body)
	case tokenAnswer:
		var ans struct {
			AccessToken  string      `json:"access_token"`
			RefreshToken string      `json:"refresh_token"`
			ExpiresIn    json.Number `json:"expires_in"`
		}
		if json.Unmarshal(body, &ans) == nil {
			st.access, st.refresh = ans.AccessToken, ans.RefreshToken
			st.expiresIn, _ = strconv.ParseInt(ans.ExpiresIn.String(), 10, 64)
		}
	case created:
		var ans struct {
			Result struct {
				SysID string `json:"sys_id"`
			} `json:"result"`
		}
		if json.Unmarshal(body, &ans) == nil {
			st.created = ans.Result.SysID
		}
	}
}

// peekBody reads up to maxAnswerRead bytes of the answer and puts them
// back in front of the rest; complete is false when the body is longer or
// could not be read.
func peekBody(resp *http.Response) ([]byte, bool) {
	buf, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerRead+1))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), resp.Body), resp.Body}
	return buf, err == nil && len(buf) <= maxAnswerRead
}

// envelopeMessage is an error answer's message: ServiceNow's
// {"error":{"message":…}} envelope, or an OAuth error's description.
func envelopeMessage(body []byte) string {
	var env struct {
		Error       json.RawMessage `json:"error"`
		Description string          `json:"error_description"`
	}
	if json.Unmarshal(body, &env) != nil || len(env.Error) == 0 {
		return ""
	}
	var sn struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(env.Error, &sn) == nil {
		return sn.Message
	}
	var code string
	if json.Unmarshal(env.Error, &code) == nil {
		if env.Description != "" {
			return env.Description
		}
		return code
	}
	return ""
}

func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	reason := safeError(err)
	if st := exchangeFrom(r.Context()); st != nil {
		st.failure = reason
		if st.deliver {
			p.commit(st, http.StatusBadGateway)
		}
	}
	p.logger.Debug("proxy: the instance did not answer", "path", r.URL.Path, "error", reason)
	writeProxyError(w, http.StatusBadGateway, "Bad Gateway", "sncheck proxy: the instance did not answer: "+reason)
}

// writeProxyError is the proxy's own failure, in the instance's envelope
// shape so that clients parse it, and marked as the proxy's.
func writeProxyError(w http.ResponseWriter, status int, message, detail string) {
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"message": message, "detail": detail}, "status": "failure"})
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Sncheck-Proxy", "error")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeLocal answers from the proxy (a fault, the hibernation page),
// journaling the envelope's message when withMessage is set, as the fake
// does for its own envelopes.
func (p *Proxy) writeLocal(w http.ResponseWriter, st *exchange, withMessage bool, write func(http.ResponseWriter)) {
	buf := &bufferWriter{h: http.Header{}}
	write(buf)
	if withMessage && buf.status >= 400 {
		st.entry.ErrMessage = envelopeMessage(buf.body.Bytes())
	}
	if buf.status == 0 {
		buf.status = http.StatusOK
	}
	p.commit(st, buf.status)
	for k, vs := range buf.h {
		w.Header()[k] = vs
	}
	w.WriteHeader(buf.status)
	_, _ = w.Write(buf.body.Bytes())
}

// commit fills in the entry from the exchange and journals it, once,
// before the integration sees the answer.
func (p *Proxy) commit(st *exchange, status int) {
	if st.committed {
		return
	}
	st.committed = true
	e := st.entry
	e.Status = status
	if st.forwarded {
		describe(st, p.tokens)
	}
	if st.deliver {
		e.ErrMessage = st.errMsg
		if st.failure != "" {
			e.ErrMessage = "sncheck proxy: " + st.failure
		}
	}
	e.Duration = time.Since(st.start)
	p.tokens.learn(st)
	st.access, st.refresh = "", ""
	p.journal.Add(*e)
	p.logger.Debug("request", "method", e.Method, "path", e.Path, "query", e.Query, "status", e.Status,
		"api", e.API, "grant_type", e.GrantType, "client_id", e.ClientID, "token", e.Token,
		"issued_access", e.IssuedAccess, "issued_refresh", e.IssuedRefresh, "fault", e.Fault)
}

// describe fills in what the fake's handlers would journal, from the
// request and the instance's answer.
func describe(st *exchange, tm *tokenMemory) {
	e := st.entry
	switch e.API {
	case "table":
		if !st.route.ok {
			return
		}
		e.Table, e.SysID = st.route.table, st.route.sysID
		describeTableAuth(st, tm)
		if st.created != "" {
			e.SysID = st.created
		}
	case "oauth_token":
		describeToken(st, tm)
	case "oauth_revoke":
		if e.Method != http.MethodGet && e.Method != http.MethodPost {
			return
		}
		if tok := st.form.Get("token"); tok != "" {
			e.Token = fakesn.Fingerprint(tok)
			if in, ok := tm.info(e.Token); ok {
				e.ClientID, e.User = in.clientID, in.user
			}
		}
	case "oauth_auth":
		if e.Method == http.MethodGet || e.Method == http.MethodPost {
			e.ClientID = clip(st.form.Get("client_id"))
		}
	}
}

// describeTableAuth journals how a Table API request authenticated. Who
// it acted as shows only when the instance accepted it (not 401).
func describeTableAuth(st *exchange, tm *tokenMemory) {
	e, r := st.entry, st.req
	authed := st.status != 0 && st.status != http.StatusUnauthorized
	bearer := func(tok, kind string) {
		e.AuthKind, e.Token = kind, fakesn.Fingerprint(tok)
		if in, ok := tm.info(e.Token); ok && authed {
			e.ClientID, e.User = in.clientID, in.user
		}
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		switch strings.ToLower(scheme) {
		case "basic":
			e.AuthKind = "basic"
			if user, _, ok := r.BasicAuth(); ok && authed {
				e.User = user
			}
		case "bearer":
			bearer(strings.TrimSpace(cred), "bearer")
		default:
			e.AuthKind = "other"
		}
		return
	}
	if tok := r.URL.Query().Get("access_token"); tok != "" {
		bearer(tok, "bearer_query")
		return
	}
	if authed && hasSessionCookie(r) {
		e.AuthKind = "session"
		return
	}
	e.AuthKind = "none"
}

func hasSessionCookie(r *http.Request) bool {
	for _, name := range []string{"JSESSIONID", "glide_session_store"} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return true
		}
	}
	return false
}

// The grants the instance serves; others are refused before the client
// is looked at.
var knownGrants = map[string]bool{"password": true, "refresh_token": true, "authorization_code": true, "client_credentials": true}

// describeToken journals a token request as the fake's handler does.
func describeToken(st *exchange, tm *tokenMemory) {
	e := st.entry
	if e.Method != http.MethodPost || !st.postOK {
		return
	}
	grant := st.post.Get("grant_type")
	e.GrantType = clip(grant)
	if !knownGrants[grant] || !clientAuth(st.req, st.post, e) {
		return
	}
	ok := st.status == http.StatusOK && st.access != ""
	switch grant {
	case "password":
		if ok {
			e.User = st.post.Get("username")
		}
	case "refresh_token":
		// Whether the instance got as far as the refresh token cannot be
		// seen on a refusal; the fingerprint is journaled all the same.
		if rt := st.post.Get("refresh_token"); rt != "" {
			e.Token = fakesn.Fingerprint(rt)
			if in, found := tm.info(e.Token); found && ok {
				e.User = in.user
			}
		}
	}
	if ok {
		e.IssuedAccess, e.IssuedRefresh = fakesn.Fingerprint(st.access), fakesn.Fingerprint(st.refresh)
	}
}

// clientAuth journals how the client authenticated to the token endpoint:
// HTTP Basic (form-urlencoded inside), form fields, or none (a public
// client), and reports whether the instance would go on to the grant.
func clientAuth(r *http.Request, form url.Values, e *fakesn.JournalEntry) bool {
	id, secret, how := form.Get("client_id"), form.Get("client_secret"), "form"
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, _, _ := strings.Cut(h, " "); strings.EqualFold(scheme, "basic") {
			user, pass, ok := r.BasicAuth()
			if !ok {
				return false
			}
			bid, err1 := url.QueryUnescape(user)
			bsecret, err2 := url.QueryUnescape(pass)
			if err1 != nil || err2 != nil {
				return false
			}
			e.ClientID = clip(bid)
			if id != "" && id != bid || secret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(bsecret)) != 1 {
				return false
			}
			id, secret, how = bid, bsecret, "basic"
		}
	}
	if secret == "" {
		how = "none"
	}
	e.ClientID, e.ClientAuth = clip(id), how
	return id != ""
}

// clip bounds a client-chosen value in the journal, as the fake does.
func clip(v string) string {
	const max = 128
	if len(v) > max {
		return v[:max] + "…"
	}
	return v
}

// readForm reads the form body of an OAuth endpoint request (and puts it
// back for forwarding), as the instance parses it.
func readForm(r *http.Request, st *exchange) {
	e := st.entry
	if !strings.HasPrefix(e.API, "oauth_") {
		return
	}
	st.form = url.Values{}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if r.Body != nil && r.Body != http.NoBody && mt == "application/x-www-form-urlencoded" &&
		(r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxFormBody+1))
		rest := r.Body
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), rest), rest}
		if err == nil && len(body) <= maxFormBody {
			post, perr := url.ParseQuery(string(body))
			st.post = post
			st.postOK = perr == nil && e.Method == http.MethodPost
			for k, vs := range post {
				st.form[k] = append(st.form[k], vs...)
			}
		}
	}
	if q, err := url.ParseQuery(r.URL.RawQuery); err == nil {
		for k, vs := range q {
			st.form[k] = append(st.form[k], vs...)
		}
	}
	if st.post == nil {
		st.post = url.Values{}
	}
}

// tableRoute is a Table API path as the instance routes it:
// /api/now[/v1|/v2]/table/{table}[/{sys_id}].
type tableRoute struct {
	table, sysID string
	ok           bool
}

func parseTableRoute(u *url.URL) tableRoute {
	p := cleanEscapedPath(u.EscapedPath())
	for _, prefix := range []string{"/api/now/table/", "/api/now/v1/table/", "/api/now/v2/table/"} {
		rest, found := strings.CutPrefix(p, prefix)
		if !found {
			continue
		}
		segs := strings.Split(rest, "/")
		if len(segs) > 2 {
			return tableRoute{}
		}
		var vals []string
		for _, s := range segs {
			v, err := url.PathUnescape(s)
			if s == "" || err != nil {
				return tableRoute{}
			}
			vals = append(vals, v)
		}
		rt := tableRoute{table: vals[0], ok: true}
		if len(vals) == 2 {
			rt.sysID = vals[1]
		}
		return rt
	}
	return tableRoute{}
}

// cleanEscapedPath resolves "." and ".." and repeated slashes, keeping a
// trailing slash, as the instance (and the fake) do before routing.
func cleanEscapedPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return p
	}
	np := path.Clean(p)
	if strings.HasSuffix(p, "/") && np != "/" {
		np += "/"
	}
	return np
}

// clientBase is the proxy's origin as the integration called it.
func clientBase(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// rebaseHeaders points the instance's URLs in Location and Link at the
// proxy, and makes its cookies usable on a plain-HTTP origin.
func (p *Proxy) rebaseHeaders(h http.Header, to string) {
	for _, name := range []string{"Location", "Content-Location", "Link"} {
		for i, v := range h[name] {
			h[name][i] = rebase(v, p.base, to)
		}
	}
	if strings.HasPrefix(to, "http://") {
		for i, v := range h["Set-Cookie"] {
			h["Set-Cookie"][i] = plainCookie(v)
		}
	}
}

// rebase replaces each occurrence of the base URL from (compared without
// case) that ends at a URL boundary with to.
func rebase(s, from, to string) string {
	if from == "" {
		return s
	}
	lower, lfrom := strings.ToLower(s), strings.ToLower(from)
	var b strings.Builder
	for {
		i := strings.Index(lower, lfrom)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(from)
		if end == len(s) || strings.IndexByte("/?#>;,\" ", s[end]) >= 0 {
			b.WriteString(s[:i])
			b.WriteString(to)
		} else {
			b.WriteString(s[:end])
		}
		s, lower = s[end:], lower[end:]
	}
}

// plainCookie drops the attributes a plain-HTTP loopback origin cannot
// honour (Secure, SameSite=None, Domain), keeping the rest as written.
func plainCookie(v string) string {
	parts := strings.Split(v, ";")
	out := parts[:1]
	for _, a := range parts[1:] {
		t := strings.ToLower(strings.TrimSpace(a))
		if t == "secure" || t == "samesite=none" || strings.HasPrefix(t, "domain=") {
			continue
		}
		out = append(out, a)
	}
	return strings.Join(out, ";")
}

// recorder notes the status written to the integration.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote && code >= 200 {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// bufferWriter holds an answer the proxy makes itself.
type bufferWriter struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.h }
func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

// discardWriter takes an answer the integration never sees (a
// status_after fault replaces it).
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
