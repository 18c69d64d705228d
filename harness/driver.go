package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// ProtocolVersion names the driver protocol spoken by [Exec] and
// [ServeDriver] (docs/driver-protocol.md). The harness passes it to an
// adapter in SNCHECK_DRIVER_PROTOCOL.
const ProtocolVersion = "sncheck-driver/1"

// Environment variables an adapter is started with, beyond those shared
// with the live target (SN_CLIENT_ID, SN_CLIENT_SECRET, SN_USERNAME,
// SN_PASSWORD, SN_REDIRECT_URI).
const (
	EnvDriverProtocol = "SNCHECK_DRIVER_PROTOCOL"
	EnvInstanceURL    = "SN_INSTANCE_URL"
	EnvGrantType      = "SN_GRANT_TYPE"
	EnvStateDir       = "SN_STATE_DIR"
)

// Grant types an integration can be configured with.
const (
	GrantPassword          = "password"
	GrantAuthorizationCode = "authorization_code"
	GrantClientCredentials = "client_credentials"
)

// MaxLineSize bounds one protocol line in either direction.
const MaxLineSize = 16 << 20

// ErrorKind classifies a failed operation. The set is closed: an adapter
// answering any other kind breaks the protocol.
type ErrorKind string

// The error kinds of sncheck-driver/1.
const (
	// KindReauthRequired: the instance refused the integration's tokens and
	// refreshing failed; a person must connect it again.
	KindReauthRequired ErrorKind = "reauth_required"
	// KindInsufficientScope: 403 "Missing required api access scope".
	KindInsufficientScope ErrorKind = "insufficient_scope"
	// KindForbidden: any other 403 (ACLs).
	KindForbidden ErrorKind = "forbidden"
	// KindNotFound: 404.
	KindNotFound ErrorKind = "not_found"
	// KindRateLimited: 429 after the integration's bounded retries.
	KindRateLimited ErrorKind = "rate_limited"
	// KindUnavailable: 5xx after bounded retries (at once for a POST), or a
	// hibernating instance's HTML page.
	KindUnavailable ErrorKind = "unavailable"
	// KindInvalidRequest: 400 and other refusals of the request itself.
	KindInvalidRequest ErrorKind = "invalid_request"
	// KindTransport: the network failed, or the adapter did (it died, hung,
	// or broke the protocol).
	KindTransport ErrorKind = "transport"
)

// ErrorKinds lists every kind, in the order of the protocol document.
func ErrorKinds() []ErrorKind {
	return []ErrorKind{
		KindReauthRequired, KindInsufficientScope, KindForbidden, KindNotFound,
		KindRateLimited, KindUnavailable, KindInvalidRequest, KindTransport,
	}
}

// Valid reports whether k is one of the protocol's kinds.
func (k ErrorKind) Valid() bool {
	switch k {
	case KindReauthRequired, KindInsufficientScope, KindForbidden, KindNotFound,
		KindRateLimited, KindUnavailable, KindInvalidRequest, KindTransport:
		return true
	}
	return false
}

// DriverError is a failed operation as the integration reported it (or, for
// KindTransport, as the harness saw its adapter fail).
type DriverError struct {
	Kind    ErrorKind
	Message string
	cause   error
}

func (e *DriverError) Error() string { return "harness: " + string(e.Kind) + ": " + e.Message }

// Unwrap returns the underlying cause, such as context.DeadlineExceeded.
func (e *DriverError) Unwrap() error { return e.cause }

// KindOf returns the kind of a *DriverError in err's chain, or "".
func KindOf(err error) ErrorKind {
	var de *DriverError
	if errors.As(err, &de) {
		return de.Kind
	}
	return ""
}

func transportError(cause error, format string, args ...any) *DriverError {
	return &DriverError{Kind: KindTransport, Message: fmt.Sprintf(format, args...), cause: cause}
}

// IntegrationConfig is what an integration is connected with. Printing or
// marshalling it never shows the client secret or the password.
type IntegrationConfig struct {
	InstanceURL  string
	ClientID     string
	ClientSecret string
	Username     string
	Password     string
	// GrantType is GrantPassword, GrantAuthorizationCode or
	// GrantClientCredentials.
	GrantType   string
	RedirectURI string
	// StateDir is where the integration keeps its tokens between runs.
	StateDir string
}

// String shows the configuration with secrets replaced.
func (c IntegrationConfig) String() string {
	return fmt.Sprintf("instance_url=%q client_id=%q client_secret=%s username=%q password=%s grant_type=%q redirect_uri=%q state_dir=%q",
		c.InstanceURL, c.ClientID, redacted(c.ClientSecret), c.Username, redacted(c.Password),
		c.GrantType, c.RedirectURI, c.StateDir)
}

// GoString is String, so that %#v cannot leak a secret either.
func (c IntegrationConfig) GoString() string { return "harness.IntegrationConfig{" + c.String() + "}" }

// MarshalJSON writes the configuration with secrets replaced.
func (c IntegrationConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"instance_url": c.InstanceURL, "client_id": c.ClientID,
		"client_secret": redacted(c.ClientSecret), "username": c.Username,
		"password": redacted(c.Password), "grant_type": c.GrantType,
		"redirect_uri": c.RedirectURI, "state_dir": c.StateDir,
	})
}

// Secrets returns the secret values that are set, for scanning output.
func (c IntegrationConfig) Secrets() []string {
	var s []string
	for _, v := range []string{c.ClientSecret, c.Password} {
		if v != "" {
			s = append(s, v)
		}
	}
	return s
}

// Validate checks the fields every grant needs.
func (c IntegrationConfig) Validate() error {
	var missing []string
	need := func(name, v string) {
		if v == "" {
			missing = append(missing, name)
		}
	}
	need(EnvInstanceURL, c.InstanceURL)
	need(EnvClientID, c.ClientID)
	switch c.GrantType {
	case GrantPassword:
		need(EnvUsername, c.Username)
		need(EnvPassword, c.Password)
	case GrantClientCredentials:
		need(EnvClientSecret, c.ClientSecret)
	case GrantAuthorizationCode:
		need(EnvRedirectURI, c.RedirectURI)
	default:
		return fmt.Errorf("harness: %s=%q is not %s, %s or %s", EnvGrantType, c.GrantType,
			GrantPassword, GrantAuthorizationCode, GrantClientCredentials)
	}
	if len(missing) > 0 {
		return fmt.Errorf("harness: missing %s for the %s grant", strings.Join(missing, ", "), c.GrantType)
	}
	return nil
}

// environ is the adapter's whole configuration as environment entries.
func (c IntegrationConfig) environ() []string {
	return []string{
		EnvDriverProtocol + "=" + ProtocolVersion,
		EnvInstanceURL + "=" + c.InstanceURL,
		EnvClientID + "=" + c.ClientID,
		EnvClientSecret + "=" + c.ClientSecret,
		EnvUsername + "=" + c.Username,
		EnvPassword + "=" + c.Password,
		EnvGrantType + "=" + c.GrantType,
		EnvRedirectURI + "=" + c.RedirectURI,
		EnvStateDir + "=" + c.StateDir,
	}
}

// ConfigFromEnv reads an adapter's configuration from the variables the
// harness sets, and checks the protocol version when it is given.
func ConfigFromEnv(getenv func(string) string) (IntegrationConfig, error) {
	if v := getenv(EnvDriverProtocol); v != "" && v != ProtocolVersion {
		return IntegrationConfig{}, fmt.Errorf("harness: %s=%q; this adapter speaks %s", EnvDriverProtocol, v, ProtocolVersion)
	}
	c := IntegrationConfig{
		InstanceURL: strings.TrimSuffix(getenv(EnvInstanceURL), "/"),
		ClientID:    getenv(EnvClientID), ClientSecret: getenv(EnvClientSecret),
		Username: getenv(EnvUsername), Password: getenv(EnvPassword),
		GrantType: getenv(EnvGrantType), RedirectURI: getenv(EnvRedirectURI),
		StateDir: getenv(EnvStateDir),
	}
	return c, c.Validate()
}

// Record is one Table API record as the integration returns it.
type Record = map[string]any

// Integration is the contract every integration is verified through: Go
// code in process, or an adapter process behind [Exec]. Implementations
// are safe for concurrent use. Failed operations return a *[DriverError].
type Integration interface {
	// Connect gets the integration ready with its configured grant (or
	// with tokens it kept in its state directory). For the
	// authorization-code grant without kept tokens it returns the URL the
	// user must open; Callback then completes the flow. Otherwise the URL
	// is empty.
	Connect(ctx context.Context) (authorizeURL string, err error)
	// Callback hands over the redirect the user's browser was sent to,
	// with its code and state.
	Callback(ctx context.Context, redirectURL string) error
	// List returns every record of table matching the encoded query, over
	// all pages. Empty fields means all fields.
	List(ctx context.Context, table, query string, fields []string) ([]Record, error)
	Get(ctx context.Context, table, sysID string) (Record, error)
	Create(ctx context.Context, table string, rec Record) (Record, error)
	Update(ctx context.Context, table, sysID string, rec Record) (Record, error)
	Delete(ctx context.Context, table, sysID string) error
	// Close shuts the integration down; it keeps its tokens for the next
	// start with the same state directory.
	Close() error
}

// Starter starts an integration with cfg. ctx bounds only the start; Close
// ends the integration.
type Starter func(ctx context.Context, cfg IntegrationConfig) (Integration, error)

// OutputCapturer is implemented by integrations whose output the suite can
// scan for leaked secrets (the exec driver: the adapter's stderr).
type OutputCapturer interface{ Output() []byte }

// The operations of sncheck-driver/1.
const (
	opConnect  = "connect"
	opCallback = "callback"
	opList     = "list"
	opGet      = "get"
	opCreate   = "create"
	opUpdate   = "update"
	opDelete   = "delete"
	opShutdown = "shutdown"
)

// request is one line the harness writes.
type request struct {
	ID     int64    `json:"id"`
	Op     string   `json:"op"`
	Table  string   `json:"table,omitempty"`
	SysID  string   `json:"sys_id,omitempty"`
	Query  string   `json:"query,omitempty"`
	Fields []string `json:"fields,omitempty"`
	Record Record   `json:"record,omitempty"`
	URL    string   `json:"url,omitempty"`
}

// answer is one line an adapter writes.
type answer struct {
	ID     int64           `json:"id"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *wireError      `json:"error,omitempty"`
}

type wireError struct {
	Kind    ErrorKind `json:"kind"`
	Message string    `json:"message"`
}

// decodeAnswer parses and checks one answer line. It never panics.
func decodeAnswer(line []byte) (answer, error) {
	var raw struct {
		ID     json.RawMessage `json:"id"`
		OK     *bool           `json:"ok"`
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Kind    *string `json:"kind"`
			Message *string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&raw); err != nil {
		return answer{}, fmt.Errorf("not a valid JSON answer: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return answer{}, errors.New("more than one JSON value on the line")
	}
	if len(raw.ID) == 0 || string(raw.ID) == "null" {
		return answer{}, errors.New(`no "id"`)
	}
	id, err := strconv.ParseInt(string(raw.ID), 10, 64)
	if err != nil || id <= 0 {
		return answer{}, fmt.Errorf(`"id" %s is not a positive integer`, clip(string(raw.ID), 40))
	}
	a := answer{ID: id}
	if raw.OK == nil {
		return a, fmt.Errorf(`answer %d has no "ok"`, id)
	}
	a.OK = *raw.OK
	if a.OK {
		if raw.Error != nil {
			return a, fmt.Errorf(`answer %d has "ok":true and an "error"`, id)
		}
		a.Result = raw.Result
		return a, nil
	}
	if raw.Error == nil || raw.Error.Kind == nil {
		return a, fmt.Errorf(`answer %d has "ok":false but no "error" with a "kind"`, id)
	}
	kind := ErrorKind(*raw.Error.Kind)
	msg := ""
	if raw.Error.Message != nil {
		msg = *raw.Error.Message
	}
	a.Error = &wireError{Kind: kind, Message: msg}
	if !kind.Valid() {
		return a, fmt.Errorf("answer %d has unknown error kind %q (message %q)", id, clip(string(kind), 64), clip(msg, 200))
	}
	return a, nil
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ServeDriver serves sncheck-driver/1 for integ: it reads requests from r,
// runs each in its own goroutine and writes answers to w as they finish.
// It returns after a shutdown request (answered once every other request
// has been, and integ is closed) or at the end of r. Go integrations use
// it to become adapters (examples/reference/cmd/sncheck-reference).
func ServeDriver(ctx context.Context, integ Integration, r io.Reader, w io.Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineSize)
	var (
		wmu      sync.Mutex // guards w and werr
		werr     error
		inflight sync.WaitGroup
	)
	write := func(a answer) {
		line, err := json.Marshal(a)
		if err != nil {
			line, _ = json.Marshal(answer{ID: a.ID, Error: &wireError{Kind: KindInvalidRequest, Message: "result cannot be encoded: " + err.Error()}})
		}
		wmu.Lock()
		defer wmu.Unlock()
		if werr == nil {
			_, werr = w.Write(append(line, '\n'))
		}
	}
	finish := func(shutdownID int64) error {
		inflight.Wait()
		cerr := integ.Close()
		if shutdownID != 0 {
			if cerr != nil {
				write(answer{ID: shutdownID, Error: errorAnswer(cerr)})
			} else {
				write(answer{ID: shutdownID, OK: true, Result: json.RawMessage("{}")})
			}
		}
		wmu.Lock()
		defer wmu.Unlock()
		return werr
	}
	for sc.Scan() {
		var req request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			write(answer{ID: req.ID, Error: &wireError{Kind: KindInvalidRequest, Message: "request is not valid JSON: " + err.Error()}})
			continue
		}
		if req.Op == opShutdown {
			return finish(req.ID)
		}
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			write(serveOne(ctx, integ, req))
		}()
	}
	err := finish(0)
	if serr := sc.Err(); serr != nil {
		return fmt.Errorf("harness: reading requests: %w", serr)
	}
	return err
}

// serveOne runs one request against integ.
func serveOne(ctx context.Context, integ Integration, req request) (a answer) {
	a.ID = req.ID
	defer func() {
		// An integration's panic becomes an answer, not a dead adapter.
		if v := recover(); v != nil {
			a = answer{ID: req.ID, Error: &wireError{Kind: KindTransport, Message: fmt.Sprintf("integration panicked: %v", v)}}
		}
	}()
	var (
		result any
		err    error
	)
	switch req.Op {
	case opConnect:
		var u string
		u, err = integ.Connect(ctx)
		if u != "" {
			result = map[string]string{"authorize_url": u}
		} else {
			result = struct{}{}
		}
	case opCallback:
		err = integ.Callback(ctx, req.URL)
		result = struct{}{}
	case opList:
		var recs []Record
		recs, err = integ.List(ctx, req.Table, req.Query, req.Fields)
		if recs == nil {
			recs = []Record{}
		}
		result = recs
	case opGet:
		result, err = integ.Get(ctx, req.Table, req.SysID)
	case opCreate:
		result, err = integ.Create(ctx, req.Table, req.Record)
	case opUpdate:
		result, err = integ.Update(ctx, req.Table, req.SysID, req.Record)
	case opDelete:
		err = integ.Delete(ctx, req.Table, req.SysID)
		result = struct{}{}
	default:
		err = &DriverError{Kind: KindInvalidRequest, Message: fmt.Sprintf("unknown op %q", clip(req.Op, 64))}
	}
	if err != nil {
		a.Error = errorAnswer(err)
		return a
	}
	body, merr := json.Marshal(result)
	if merr != nil {
		a.Error = &wireError{Kind: KindInvalidRequest, Message: "result cannot be encoded: " + merr.Error()}
		return a
	}
	a.OK, a.Result = true, body
	return a
}

// errorAnswer turns an integration's error into the protocol's; errors
// that are not a *DriverError count as transport failures.
func errorAnswer(err error) *wireError {
	var de *DriverError
	if errors.As(err, &de) && de.Kind.Valid() {
		return &wireError{Kind: de.Kind, Message: de.Message}
	}
	return &wireError{Kind: KindTransport, Message: err.Error()}
}

// AuthorizeAsUser plays the user's browser in the authorization-code
// flow against the fake's pages (fakesn's /oauth_auth.do): it opens
// authorizeURL, logs in as username, presses Allow, and returns the URL
// the browser is then sent to, with its code and state, without opening
// it. That URL is what a Callback request carries. Requests go through
// hc's transport with a cookie jar of their own.
func AuthorizeAsUser(ctx context.Context, hc *http.Client, authorizeURL, username, password string) (string, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	jar, _ := cookiejar.New(nil)
	b := &http.Client{
		Transport:     hc.Transport,
		Timeout:       hc.Timeout,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	method, target, form := http.MethodGet, authorizeURL, url.Values(nil)
	for step := 0; step < 6; step++ {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, target, body)
		if err != nil {
			return "", fmt.Errorf("harness: authorize: %w", err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := b.Do(req)
		if err != nil {
			return "", fmt.Errorf("harness: authorize: %w", err)
		}
		page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			u, err := resp.Request.URL.Parse(loc)
			if err != nil {
				return "", fmt.Errorf("harness: authorize: bad redirect: %w", err)
			}
			return u.String(), nil
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("harness: authorize: status %d at %s: %s", resp.StatusCode, resp.Request.URL.Path, pageText(page, "error_message"))
		}
		action, fields, ok := pageForm(page, "login_form")
		if msg := pageText(page, "login_error"); ok && msg != "" {
			return "", fmt.Errorf("harness: authorize: login as %q refused: %s", username, msg)
		}
		if ok {
			fields.Set("user_name", username)
			fields.Set("user_password", password)
		} else if action, fields, ok = pageForm(page, "consent_form"); ok {
			fields.Set("sysparm_action", "allow")
		} else {
			return "", fmt.Errorf("harness: authorize: no login or consent form at %s: %s", resp.Request.URL.Path, pageText(page, "error_message"))
		}
		next, err := resp.Request.URL.Parse(action)
		if err != nil {
			return "", fmt.Errorf("harness: authorize: bad form action: %w", err)
		}
		method, target, form = http.MethodPost, next.String(), fields
	}
	return "", errors.New("harness: authorize: no redirect after six pages")
}

var (
	formRe  = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	inputRe = regexp.MustCompile(`<input\b([^>]*)>`)
	attrRe  = regexp.MustCompile(`([a-zA-Z_:-]+)\s*=\s*"([^"]*)"`)
)

func attrs(tag string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRe.FindAllStringSubmatch(tag, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2])
	}
	return m
}

// pageForm finds the form with id and returns its action and hidden inputs.
func pageForm(page []byte, id string) (string, url.Values, bool) {
	for _, f := range formRe.FindAllSubmatch(page, -1) {
		fa := attrs(string(f[1]))
		if fa["id"] != id {
			continue
		}
		vals := url.Values{}
		for _, in := range inputRe.FindAllSubmatch(f[2], -1) {
			ia := attrs(string(in[1]))
			if ia["type"] == "hidden" && ia["name"] != "" {
				vals.Set(ia["name"], ia["value"])
			}
		}
		return fa["action"], vals, true
	}
	return "", nil, false
}

// pageText returns the text of the element with id, if any.
func pageText(page []byte, id string) string {
	re := regexp.MustCompile(`(?s)id="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)<`)
	if m := re.FindSubmatch(page); m != nil {
		return html.UnescapeString(strings.TrimSpace(string(m[1])))
	}
	return ""
}
