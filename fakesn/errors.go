package fakesn

import (
	"fmt"
	"net/http"
)

// Code classifies an error the fake answers with. Callers act on the Code,
// never on the message text.
type Code string

// Error codes, each mapped to a status by [Code.Status].
const (
	CodeNotAuthenticated  Code = "not_authenticated"   // 401 User Not Authenticated
	CodeInvalidTable      Code = "invalid_table"       // 400 Invalid table X
	CodeInvalidResource   Code = "invalid_resource"    // 400 Requested URI does not represent any resource
	CodeBadRequest        Code = "bad_request"         // 400 malformed input
	CodeNotFound          Code = "not_found"           // 404 No Record found
	CodeOperationFailed   Code = "operation_failed"    // 403 ACL denied a write
	CodeQueryDenied       Code = "query_denied"        // 403 Insufficient rights to query records
	CodeNotAuthorized     Code = "not_authorized"      // 403 User Not Authorized (scope, API ACL)
	CodeMethodNotAllowed  Code = "method_not_allowed"  // 405
	CodeNotAcceptable     Code = "not_acceptable"      // 406
	CodeUnsupportedMedia  Code = "unsupported_media"   // 415
	CodeTooLarge          Code = "too_large"           // 413
	CodeRateLimited       Code = "rate_limited"        // 429
	CodeInternal          Code = "internal"            // 500
	CodeUnavailable       Code = "unavailable"         // 503
	CodeControlNotAllowed Code = "control_not_allowed" // 403 on the control API without the admin token
)

var codeStatus = map[Code]int{
	CodeNotAuthenticated:  http.StatusUnauthorized,
	CodeInvalidTable:      http.StatusBadRequest,
	CodeInvalidResource:   http.StatusBadRequest,
	CodeBadRequest:        http.StatusBadRequest,
	CodeNotFound:          http.StatusNotFound,
	CodeOperationFailed:   http.StatusForbidden,
	CodeQueryDenied:       http.StatusForbidden,
	CodeNotAuthorized:     http.StatusForbidden,
	CodeMethodNotAllowed:  http.StatusMethodNotAllowed,
	CodeNotAcceptable:     http.StatusNotAcceptable,
	CodeUnsupportedMedia:  http.StatusUnsupportedMediaType,
	CodeTooLarge:          http.StatusRequestEntityTooLarge,
	CodeRateLimited:       http.StatusTooManyRequests,
	CodeInternal:          http.StatusInternalServerError,
	CodeUnavailable:       http.StatusServiceUnavailable,
	CodeControlNotAllowed: http.StatusForbidden,
}

// Status returns the HTTP status the instance answers with.
func (c Code) Status() int {
	if s, ok := codeStatus[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is a domain error, written on the wire as ServiceNow's envelope
// {"error":{"message":…,"detail":…},"status":"failure"}. An empty Detail is
// written as null, as the instance does for some errors.
type Error struct {
	Code    Code
	Message string
	Detail  string
	// Header holds extra response headers (Retry-After, WWW-Authenticate).
	Header http.Header
	// Status overrides Code's status when set (injected faults).
	Status int
}

// HTTPStatus is the status the error is answered with.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return e.Code.Status()
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("fakesn: %s", e.Message)
	}
	return fmt.Sprintf("fakesn: %s: %s", e.Message, e.Detail)
}

// The instance's own wording for its common errors (servicenow-spec §5.6).
func errNotAuthenticated() *Error {
	return &Error{Code: CodeNotAuthenticated, Message: "User Not Authenticated", Detail: "Required to provide Auth information"}
}

func errInvalidTable(name string) *Error {
	return &Error{Code: CodeInvalidTable, Message: "Invalid table " + name}
}

func errNoRecord() *Error {
	return &Error{Code: CodeNotFound, Message: "No Record found", Detail: "Record doesn't exist or ACL restricts the record retrieval"}
}

func errNoMatches() *Error {
	return &Error{Code: CodeNotFound, Message: "No Record found", Detail: "Records matching query not found. Check query parameter or offset parameter"}
}

func errInvalidResource() *Error {
	return &Error{Code: CodeInvalidResource, Message: "Requested URI does not represent any resource"}
}

func errBadRequest(message, detail string) *Error {
	return &Error{Code: CodeBadRequest, Message: message, Detail: detail}
}

func errInternal(err error) *Error {
	return &Error{Code: CodeInternal, Message: "Internal server error", Detail: err.Error()}
}
