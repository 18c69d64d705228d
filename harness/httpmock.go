package harness

import (
	"net/http"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/sncheck/sncheck/fakesn"
)

// Responder answers httpmock requests with the fake's handler, in memory:
// no socket is opened.
func Responder(srv *fakesn.Server) httpmock.Responder {
	rt := srv.Transport()
	return func(req *http.Request) (*http.Response, error) { return rt.RoundTrip(req) }
}

// NewMockTransport is an httpmock transport whose every request, to any
// host, reaches the fake. Register more specific responders on it to
// answer some requests yourself.
func NewMockTransport(srv *fakesn.Server) *httpmock.MockTransport {
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(Responder(srv))
	return mt
}

// MockDefaultTransport makes http.DefaultTransport (and so http.Get and any
// client without its own transport) talk to the fake until the test ends.
// It changes process-wide state: tests using it must not run in parallel.
func MockDefaultTransport(tb testing.TB, srv *fakesn.Server) *httpmock.MockTransport {
	tb.Helper()
	httpmock.Activate()
	tb.Cleanup(httpmock.DeactivateAndReset)
	httpmock.RegisterNoResponder(Responder(srv))
	return httpmock.DefaultTransport
}

// MockClient makes an injected client talk to the fake until the test ends.
func MockClient(tb testing.TB, client *http.Client, srv *fakesn.Server) *httpmock.MockTransport {
	tb.Helper()
	mt := NewMockTransport(srv)
	orig := client.Transport
	client.Transport = mt
	tb.Cleanup(func() { client.Transport = orig })
	return mt
}
