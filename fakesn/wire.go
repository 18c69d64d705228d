package fakesn

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
)

// Content types exactly as the instance writes them (no space after ';').
const (
	contentTypeJSON = "application/json;charset=UTF-8"
	contentTypeHTML = "text/html;charset=UTF-8"
)

// setCommonHeaders writes the headers every instance response carries
// (servicenow-spec §0).
func setCommonHeaders(h http.Header) {
	h.Set("Server", "ServiceNow")
	h.Set("Cache-Control", "no-cache,no-store,must-revalidate,max-age=-1")
	h.Set("Pragma", "no-store,no-cache")
	h.Set("Expires", "0")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	h.Set("Server-Timing", "sem_wait;dur=0, sesh_wait;dur=0")
	if h.Get("X-Transaction-ID") == "" {
		setExact(h, "X-Transaction-ID", newTransactionID())
	}
}

// setExact sets a header with the instance's own spelling (X-Transaction-ID,
// X-RateLimit-Limit) instead of Go's canonical form: names are
// case-insensitive, but a fake copies the wire byte for byte.
func setExact(h http.Header, name, value string) {
	h.Del(name)
	h[name] = []string{value}
}

// newTransactionID returns 12 lowercase hex characters, like the instance.
func newTransactionID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// writeRaw writes body with the instance's headers.
func writeRaw(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	setCommonHeaders(h)
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeJSON encodes v (without HTML escaping, like the instance) and writes it.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := marshalJSON(v)
	if err != nil {
		writeError(w, errInternal(err))
		return
	}
	writeRaw(w, status, contentTypeJSON, body)
}

func marshalJSON(v any) ([]byte, error) {
	var buf jsonBuffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := buf.b
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	return b, nil
}

type jsonBuffer struct{ b []byte }

func (j *jsonBuffer) Write(p []byte) (int, error) { j.b = append(j.b, p...); return len(p), nil }

// snErrorBody is the Table API error envelope; field order as on the wire.
type snErrorBody struct {
	Error struct {
		Message string  `json:"message"`
		Detail  *string `json:"detail"`
	} `json:"error"`
	Status string `json:"status"`
}

// writeError writes e as ServiceNow's error envelope.
func writeError(w http.ResponseWriter, e *Error) {
	var body snErrorBody
	body.Error.Message = e.Message
	if e.Detail != "" {
		d := e.Detail
		body.Error.Detail = &d
	}
	body.Status = "failure"
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if e.Code == CodeNotAuthenticated && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="Service-now"`)
	}
	if info := requestInfo(w); info != nil {
		info.ErrCode = e.Code
		info.ErrMessage = e.Message
	}
	writeJSON(w, e.HTTPStatus(), body)
}
