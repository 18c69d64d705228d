package suites

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/onsi/gomega/gcustom"
	"github.com/onsi/gomega/types"

	"github.com/sncheck/sncheck/fakesn"
)

// Answer is an HTTP answer with its body read: what specs assert on. Its
// Gomega representation is a short summary, and never shows the body of
// an answer that carries secrets.
type Answer struct {
	// Resp is the response; its body is already read and closed.
	Resp   *http.Response
	Status int
	Header http.Header
	Body   []byte
	// Secret marks a body that carries tokens or codes (token endpoint
	// answers): summaries show its shape instead.
	Secret bool
}

// maxAnswerBody bounds what ReadAnswer keeps of a body.
const maxAnswerBody = 8 << 20

// ReadAnswer reads and closes resp's body.
func ReadAnswer(resp *http.Response) (*Answer, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBody))
	if err != nil {
		return nil, fmt.Errorf("suites: reading the answer to %s: %w", describeRequest(resp.Request), err)
	}
	return &Answer{Resp: resp, Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

func describeRequest(r *http.Request) string {
	if r == nil || r.URL == nil {
		return "a request"
	}
	return r.Method + " " + r.URL.Path
}

// JSON decodes the body into a generic value (numbers as json.Number);
// nil when it is not JSON.
func (a *Answer) JSON() any {
	dec := json.NewDecoder(bytes.NewReader(a.Body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	return v
}

// Object decodes a JSON object body; nil when the body is not one.
func (a *Answer) Object() map[string]any {
	m, _ := a.JSON().(map[string]any)
	return m
}

// Summary is the answer in one line: request, status, content type and a
// short body (its shape when the body holds secrets).
func (a *Answer) Summary() string {
	if a == nil {
		return "no answer"
	}
	var b strings.Builder
	if a.Resp != nil && a.Resp.Request != nil {
		b.WriteString(describeRequest(a.Resp.Request))
		b.WriteString(" answered ")
	}
	fmt.Fprintf(&b, "%d", a.Status)
	if ct := a.Header.Get("Content-Type"); ct != "" {
		fmt.Fprintf(&b, " (%s)", ct)
	}
	body := bytes.TrimSpace(a.Body)
	switch {
	case len(body) == 0:
		b.WriteString(" with an empty body")
	case a.Secret && ShapeJSON(body) != nil:
		fmt.Fprintf(&b, " with a body shaped %s", ShapeJSON(body))
	case a.Secret:
		fmt.Fprintf(&b, " with a %d-byte %s body", len(body), bodyKind(a.Header.Get("Content-Type"), body))
	default:
		const max = 300
		s := strings.Join(strings.Fields(string(body)), " ")
		if len(s) > max {
			s = s[:max] + "…"
		}
		fmt.Fprintf(&b, " with body %s", s)
	}
	return b.String()
}

// GomegaString makes failure messages show the summary.
func (a *Answer) GomegaString() string { return a.Summary() }

// Secret is a token, code or password held by a spec. Every printed form
// is redacted: its length and journal fingerprint, never the value.
type Secret string

// Reveal returns the value, for sending it to the instance.
func (s Secret) Reveal() string { return string(s) }

// String shows the length and fingerprint only.
func (s Secret) String() string {
	if s == "" {
		return "<empty secret>"
	}
	return fmt.Sprintf("<secret: %d characters, fingerprint %s>", len(s), fakesn.Fingerprint(string(s)))
}

// Fingerprint identifies the secret without revealing it: the journal's
// fingerprint (fakesn.Fingerprint), "" for an empty secret.
func (s Secret) Fingerprint() string { return fakesn.Fingerprint(string(s)) }

// GoString is String, so %#v cannot leak the value either.
func (s Secret) GoString() string { return s.String() }

// GomegaString is String, for failure messages.
func (s Secret) GomegaString() string { return s.String() }

// ErrorWant describes a ServiceNow error answer that a matcher expects.
type ErrorWant struct {
	Status  int
	Message string
	// Detail is a string, nil for JSON null, or a []any of those: any one
	// of them (for details the captures disagree on).
	Detail any
}

func (w ErrorWant) String() string {
	return fmt.Sprintf(`%d {"error":{"message":%q,"detail":%s},"status":"failure"}`, w.Status, w.Message, detailText(w.Detail))
}

func detailText(d any) string {
	switch x := d.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", x)
	case []any:
		alts := make([]string, len(x))
		for i, a := range x {
			alts[i] = detailText(a)
		}
		return strings.Join(alts, " or ")
	}
	return fmt.Sprintf("%v", d)
}

// HaveSNError matches a Table API error: the status, and the envelope
// {"error":{"message":…,"detail":…},"status":"failure"} as JSON with
// exactly those keys. detail is a string, nil (JSON null) or a []any of
// acceptable values.
func HaveSNError(status int, message string, detail any) types.GomegaMatcher {
	want := ErrorWant{Status: status, Message: message, Detail: detail}
	return gcustom.MakeMatcher(func(a *Answer) (bool, error) {
		return snErrorMatches(a, want), nil
	}).WithTemplate("Expected the answer {{.Actual.Summary}}\n{{.To}} be ServiceNow's error answer {{.Data}}", want)
}

func snErrorMatches(a *Answer, want ErrorWant) bool {
	if a == nil || a.Status != want.Status || !isJSONContentType(a.Header.Get("Content-Type")) {
		return false
	}
	m := a.Object()
	if len(m) != 2 || m["status"] != "failure" {
		return false
	}
	e, ok := m["error"].(map[string]any)
	if !ok || len(e) != 2 || e["message"] != want.Message {
		return false
	}
	d, present := e["detail"]
	return present && detailMatches(d, want.Detail)
}

func detailMatches(got, want any) bool {
	switch x := want.(type) {
	case nil:
		return got == nil
	case string:
		return got == x
	case []any:
		for _, alt := range x {
			if detailMatches(got, alt) {
				return true
			}
		}
	}
	return false
}

// GenericOAuthFailure is the body a real instance answers every refused
// token request with (servicenow-spec §1.6).
const GenericOAuthFailure = `{"error_description":"access_denied","error":"server_error"}`

// HaveOAuthFailure matches the token endpoint's one failure answer: 401,
// a JSON content type and exactly the body GenericOAuthFailure.
func HaveOAuthFailure() types.GomegaMatcher {
	return gcustom.MakeMatcher(func(a *Answer) (bool, error) {
		if a == nil || a.Status != http.StatusUnauthorized || !isJSONContentType(a.Header.Get("Content-Type")) {
			return false, nil
		}
		return jsonEqual(a.Body, []byte(GenericOAuthFailure)), nil
	}).WithTemplate("Expected the answer {{.Actual.Summary}}\n{{.To}} be the instance's generic token failure: 401 " + GenericOAuthFailure)
}

// HaveStatus matches an answer's status code.
func HaveStatus(code int) types.GomegaMatcher {
	return gcustom.MakeMatcher(func(a *Answer) (bool, error) {
		return a != nil && a.Status == code, nil
	}).WithTemplate("Expected the answer {{.Actual.Summary}}\n{{.To}} have status {{.Data}}", code)
}

// base64URL is the alphabet of the instance's opaque tokens.
var base64URL = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// OpaqueTokenLength is the length of a real instance's tokens and codes:
// 64 random bytes in unpadded base64url.
const OpaqueTokenLength = 86

// BeOpaqueToken matches a Secret that is an 86-character base64url
// string; its failure message shows only the length and fingerprint.
func BeOpaqueToken() types.GomegaMatcher {
	return gcustom.MakeMatcher(func(s Secret) (bool, error) {
		return len(s) == OpaqueTokenLength && base64URL.MatchString(string(s)), nil
	}).WithTemplate("Expected the token {{.Actual}}\n{{.To}} be an opaque {{.Data}}-character base64url string (A-Z a-z 0-9 - _, no padding)", OpaqueTokenLength)
}

func isJSONContentType(ct string) bool {
	mt, _, _ := strings.Cut(strings.ToLower(ct), ";")
	mt = strings.TrimSpace(mt)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return bytes.Equal(xs, ys)
}
