package fakesn

import (
	"net/http"
	"testing"
)

// transportCase is one way a test reaches the fake.
type transportCase struct {
	name string
	// start returns a running fake and a client (with a cookie jar) for it,
	// with cleanup registered on t.
	start func(t *testing.T, opts Options) (*Server, *http.Client, string)
}

// transports are the two ways every HTTP test runs: a loopback socket and
// the in-memory RoundTripper.
var transports = []transportCase{
	{name: "socket", start: func(t *testing.T, opts Options) (*Server, *http.Client, string) {
		t.Helper()
		s, err := NewServer(opts)
		if err != nil {
			t.Fatalf("NewServer: %v", err)
		}
		t.Cleanup(s.Close)
		c := s.Client()
		c.CheckRedirect = noRedirects
		return s, c, s.URL()
	}},
	{name: "memory", start: func(t *testing.T, opts Options) (*Server, *http.Client, string) {
		t.Helper()
		s, err := New(opts)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(s.Close)
		return s, &http.Client{Transport: s.Transport(), Jar: newJar(), CheckRedirect: noRedirects}, "http://instance.test"
	}},
}

// noRedirects lets tests see the 302s of the authorize flow.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// forEachTransport runs fn once per transport, in parallel subtests, each
// with its own fake built from newOpts (nil means zero Options), so that
// clocks are never shared.
func forEachTransport(t *testing.T, newOpts func() Options, fn func(t *testing.T, s *Server, c *http.Client, base string)) {
	t.Helper()
	for _, tc := range transports {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var opts Options
			if newOpts != nil {
				opts = newOpts()
			}
			s, c, base := tc.start(t, opts)
			fn(t, s, c, base)
		})
	}
}
