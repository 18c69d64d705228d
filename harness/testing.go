package harness

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/sncheck/sncheck/fakesn"
)

// StartFake starts an in-process fake for a test and closes it when the
// test ends.
func StartFake(tb testing.TB, opts fakesn.Options) *fakesn.Server {
	tb.Helper()
	srv, err := fakesn.NewServer(opts)
	if err != nil {
		tb.Fatalf("harness: starting fake: %v", err)
	}
	tb.Cleanup(srv.Close)
	return srv
}

// APIError is a ServiceNow error answer, with the evidence kept.
type APIError struct {
	StatusCode int
	Message    string
	Detail     string
	Body       []byte
}

func (e *APIError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("harness: status %d: %s", e.StatusCode, e.Message)
	}
	return fmt.Sprintf("harness: status %d: %s: %s", e.StatusCode, e.Message, e.Detail)
}

// ReadAPIError reads a non-2xx answer into an APIError. It consumes and
// closes the body.
func ReadAPIError(resp *http.Response) *APIError {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	e := &APIError{StatusCode: resp.StatusCode, Body: body}
	var env struct {
		Error struct {
			Message string  `json:"message"`
			Detail  *string `json:"detail"`
		} `json:"error"`
		OAuthError string `json:"error_description"`
	}
	if json.Unmarshal(body, &env) == nil {
		e.Message = env.Error.Message
		if env.Error.Detail != nil {
			e.Detail = *env.Error.Detail
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}
