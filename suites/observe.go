package suites

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/onsi/ginkgo/v2"
)

// Observation is what a spec saw of one answer, kept so that two runs (the
// fake and a live instance, or a conformant and a broken one) can be
// compared field by field. It holds no value that varies between
// instances or runs unless that value is the point (status texts, header
// values), and never a secret: the body is reduced to its JSON shape.
type Observation struct {
	// Name says which answer this is within its check ("password grant").
	Name string `json:"name"`
	// Method and Path are the request's; Path has no host and no query.
	Method string `json:"method"`
	Path   string `json:"path"`
	// Query is the request's query with secret values (tokens, passwords,
	// codes) replaced by REDACTED. Diff ignores it: it names records.
	Query string `json:"query,omitempty"`
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Headers holds the headers that matter for conformance (see
	// ObservedHeaders), canonically named, repeated values joined by ", ".
	// The instance's own scheme and host in Link and Location are written
	// {host}; secret query values in them are REDACTED.
	Headers map[string]string `json:"headers,omitempty"`
	// Body is the body's kind: "json", "html", "text" or "empty".
	Body string `json:"body"`
	// Shape is a JSON body with every value masked ("<string>",
	// "<number>", "<bool>", arrays as their first element's shape), except
	// the values of ShapeKeptKeys, which are constant texts worth
	// comparing.
	Shape json.RawMessage `json:"shape,omitempty"`
}

// ObservedHeaders are the headers an Observation keeps, besides every
// X-RateLimit-* header.
var ObservedHeaders = []string{
	"Content-Type", "WWW-Authenticate", "X-Is-Logged-In", "Server", "Cache-Control",
	"Link", "Location", "X-Total-Count", "Retry-After",
}

// ShapeKeptKeys are the JSON keys whose scalar values Shape keeps: the
// fixed words of OAuth and Table API answers.
var ShapeKeptKeys = map[string]bool{
	"error": true, "error_description": true, "message": true, "detail": true,
	"status": true, "token_type": true,
}

// secretParams are query parameters whose values are never observed.
var secretParams = map[string]bool{
	"client_secret": true, "password": true, "access_token": true, "refresh_token": true,
	"code": true, "code_verifier": true, "token": true, "assertion": true, "user_password": true,
}

// NewObservation describes an answer. resp.Request gives the method and
// path; body is the answer's body, already read.
func NewObservation(name string, resp *http.Response, body []byte) Observation {
	o := Observation{Name: name, Status: resp.StatusCode, Body: bodyKind(resp.Header.Get("Content-Type"), body)}
	var self *url.URL
	if req := resp.Request; req != nil && req.URL != nil {
		o.Method, o.Path, self = req.Method, req.URL.Path, req.URL
		o.Query = redactQuery(req.URL.RawQuery)
	}
	for _, h := range ObservedHeaders {
		if vs := resp.Header.Values(h); len(vs) > 0 {
			o.setHeader(h, strings.Join(vs, ", "), self)
		}
	}
	for k, vs := range resp.Header {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), "X-Ratelimit-") {
			o.setHeader(k, strings.Join(vs, ", "), self)
		}
	}
	if o.Body == "json" {
		o.Shape = ShapeJSON(body)
	}
	return o
}

func (o *Observation) setHeader(name, value string, self *url.URL) {
	if o.Headers == nil {
		o.Headers = map[string]string{}
	}
	name = http.CanonicalHeaderKey(name)
	switch name {
	case "Link", "Location":
		value = scrubURLs(value, self)
	}
	o.Headers[name] = value
}

// Observe records an answer a spec asserts on, as a report entry that the
// run's JSON report carries and FromReport reads back.
func Observe(name string, resp *http.Response, body []byte) {
	ginkgo.AddReportEntry(observationEntry, NewObservation(name, resp, body), ginkgo.ReportEntryVisibilityNever)
}

// observationEntry names the report entries Observe adds.
const observationEntry = "observation"

func bodyKind(contentType string, body []byte) string {
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return "empty"
	case json.Valid(trimmed) && (trimmed[0] == '{' || trimmed[0] == '['):
		return "json"
	case strings.Contains(strings.ToLower(contentType), "html"), bytes.HasPrefix(bytes.ToLower(trimmed), []byte("<!doctype html")),
		bytes.HasPrefix(bytes.ToLower(trimmed), []byte("<html")):
		return "html"
	}
	return "text"
}

// ShapeJSON returns a JSON document's shape (see Observation.Shape) as
// canonical JSON with sorted keys, or nil when data is not JSON.
func ShapeJSON(data []byte) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil // trailing data: not one JSON document
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // "<string>", not "\u003cstring\u003e"
	if err := enc.Encode(shapeOf(v, false)); err != nil {
		return nil
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n"))
}

func shapeOf(v any, keep bool) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = shapeOf(e, ShapeKeptKeys[k])
		}
		return m
	case []any:
		if len(x) == 0 {
			return []any{}
		}
		return []any{shapeOf(x[0], false)}
	case nil:
		return nil
	case string:
		if keep {
			return x
		}
		return "<string>"
	case json.Number:
		if keep {
			return x
		}
		return "<number>"
	case bool:
		if keep {
			return x
		}
		return "<bool>"
	}
	return "<unknown>"
}

// redactQuery returns a raw query with secret values replaced, keeping
// the parameters' order.
func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, _, hasValue := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if hasValue && secretParams[strings.ToLower(name)] {
			parts[i] = k + "=REDACTED"
		}
	}
	return strings.Join(parts, "&")
}

// scrubURLs rewrites the URLs in a Link or Location value: the instance's
// own scheme and host become {host}, and secret query values REDACTED.
func scrubURLs(value string, self *url.URL) string {
	var b strings.Builder
	for {
		start := strings.IndexByte(value, '<')
		end := strings.IndexByte(value, '>')
		if start < 0 || end < start {
			// Location is a bare URL.
			if b.Len() == 0 && value != "" && !strings.ContainsAny(value, "<>") {
				return scrubURL(value, self)
			}
			b.WriteString(value)
			return b.String()
		}
		b.WriteString(value[:start+1])
		b.WriteString(scrubURL(value[start+1:end], self))
		b.WriteByte('>')
		value = value[end+1:]
	}
}

func scrubURL(raw string, self *url.URL) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "REDACTED-UNPARSABLE"
	}
	prefix := ""
	if u.Host != "" {
		prefix = u.Scheme + "://" + u.Host
		if self != nil && strings.EqualFold(u.Host, self.Host) {
			prefix = "{host}"
		}
	}
	segs := strings.Split(u.EscapedPath(), "/")
	for i, seg := range segs {
		if sysIDSegment.MatchString(seg) {
			segs[i] = "<sys_id>"
		}
	}
	out := prefix + strings.Join(segs, "/")
	if u.RawQuery != "" {
		out += "?" + maskQuery(u.RawQuery)
	}
	if u.Fragment != "" {
		out += "#" + maskQuery(u.Fragment)
	}
	return out
}

// sysIDSegment is a record's sys_id in a path: it differs on every
// instance and run.
var sysIDSegment = regexp.MustCompile(`^[0-9a-f]{32}$`)

// maskQuery keeps a URL query's parameter names and order, and the values
// of Table API parameters and OAuth error words; secret values become
// REDACTED, others (state, ...) <value>: they differ on every run.
func maskQuery(raw string) string {
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, _, hasValue := strings.Cut(p, "=")
		if !hasValue {
			continue
		}
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		name = strings.ToLower(name)
		switch {
		case secretParams[name]:
			parts[i] = k + "=REDACTED"
		case strings.HasPrefix(name, "sysparm_"), name == "error", name == "error_description":
		default:
			parts[i] = k + "=<value>"
		}
	}
	return strings.Join(parts, "&")
}

// headerNames returns the sorted union of two observations' header names.
func headerNames(a, b map[string]string) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
