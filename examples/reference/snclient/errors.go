package snclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// Kind classifies a failure so the caller can act on it. The names are
// those of the sncheck driver protocol.
type Kind string

// Failure kinds.
const (
	KindReauthRequired    Kind = "reauth_required"    // tokens refused and refresh failed: connect again
	KindInsufficientScope Kind = "insufficient_scope" // 403 Missing required api access scope
	KindForbidden         Kind = "forbidden"          // other 403s (ACLs)
	KindNotFound          Kind = "not_found"          // 404
	KindRateLimited       Kind = "rate_limited"       // 429 after bounded retries
	KindUnavailable       Kind = "unavailable"        // 5xx, hibernation
	KindInvalidRequest    Kind = "invalid_request"    // 400 and other refusals of the request
	KindTransport         Kind = "transport"          // the network failed
)

// Error is a failed operation, with the evidence kept.
type Error struct {
	Kind Kind
	// Op is what was attempted, e.g. "list incident" or "refresh".
	Op string
	// StatusCode is the instance's HTTP status, 0 when none came.
	StatusCode int
	// Message is the instance's message and detail, or what went wrong.
	Message string
	// Scope is the missing auth scope of an insufficient_scope failure.
	Scope string
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("snclient: ")
	if e.Op != "" {
		b.WriteString(e.Op + ": ")
	}
	b.WriteString(string(e.Kind))
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (status %d)", e.StatusCode)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of an *Error in err's chain, or "".
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// apiError reads the Table API's envelope
// {"error":{"message":…,"detail":…},"status":"failure"}.
func apiError(op string, status int, body []byte) *Error {
	msg, detail := envelope(body)
	text := msg
	if detail != "" {
		text = msg + ": " + detail
	}
	if text == "" {
		text = http.StatusText(status)
	}
	e := &Error{Op: op, StatusCode: status, Message: text}
	switch {
	case status == http.StatusUnauthorized:
		e.Kind = KindReauthRequired
	case status == http.StatusForbidden:
		e.Kind = KindForbidden
		for _, s := range []string{detail, msg} {
			if rest, ok := strings.CutPrefix(s, "Missing required api access scope"); ok {
				e.Kind = KindInsufficientScope
				e.Scope = strings.TrimSpace(strings.TrimPrefix(rest, ":"))
				break
			}
		}
	case status == http.StatusNotFound:
		e.Kind = KindNotFound
	case status == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
	case status >= 500, status < 400:
		e.Kind = KindUnavailable
	default:
		e.Kind = KindInvalidRequest
	}
	return e
}

// tokenError classifies a failed token request. Every refusal from the
// token endpoint (the instance answers 401 for all of them, RFC-style
// servers 400 invalid_grant) means the credentials no longer work.
func tokenError(op string, err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		if se.Op == "" {
			se.Op = op
		}
		return se
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		status := re.Response.StatusCode
		msg := strings.TrimSpace(re.ErrorCode + " " + re.ErrorDescription)
		if msg == "" {
			msg = http.StatusText(status)
		}
		e := &Error{Op: op, StatusCode: status, Message: "token endpoint refused: " + msg}
		switch {
		case status == http.StatusTooManyRequests:
			e.Kind = KindRateLimited
		case status >= 500:
			e.Kind = KindUnavailable
		case status == http.StatusBadRequest && re.ErrorCode != "invalid_grant" && re.ErrorCode != "invalid_client":
			e.Kind = KindInvalidRequest
		default:
			e.Kind = KindReauthRequired
		}
		return e
	}
	var ue *url.Error
	if errors.As(err, &ue) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return transportErr(op, err)
	}
	// A 2xx that holds no token: not an instance answering OAuth.
	return &Error{Kind: KindUnavailable, Op: op, Message: "token endpoint gave no usable token: " + err.Error(), Err: err}
}

// transportErr is a request that got no answer.
func transportErr(op string, err error) *Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		// url.Error names the URL, which must not be logged with a secret.
		err = ue.Err
	}
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		msg = "gave up waiting: " + msg
	}
	return &Error{Kind: KindTransport, Op: op, Message: msg, Err: err}
}

// envelope returns the message and detail of a Table API error body.
func envelope(body []byte) (message, detail string) {
	var env struct {
		Error struct {
			Message string  `json:"message"`
			Detail  *string `json:"detail"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil {
		return "", ""
	}
	if env.Error.Detail != nil {
		detail = *env.Error.Detail
	}
	return env.Error.Message, detail
}
