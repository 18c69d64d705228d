package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The live target's transport rules (docs/reliability.md): plain http only
// to loopback, and TLS always verified.

func liveCfg(url string) LiveConfig {
	return LiveConfig{URL: url, Credentials: Credentials{ClientID: "id", ClientSecret: "secret", Username: "u", Password: "p"}}
}

func TestLiveTargetRefusesPlainHTTPBeyondLoopback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, url string
		ok        bool
	}{
		{name: "remote host", url: "http://dev12345.service-now.com"},
		{name: "remote ip", url: "http://203.0.113.7:8080"},
		{name: "private ip", url: "http://10.0.0.2"},
		{name: "unspecified", url: "http://0.0.0.0:8080"},
		{name: "loopback look-alike", url: "http://127.0.0.1.example.com"},
		{name: "userinfo trick", url: "http://127.0.0.1@example.com"},
		{name: "localhost", url: "http://localhost:8080", ok: true},
		{name: "ipv4 loopback", url: "http://127.0.0.1:8080", ok: true},
		{name: "ipv6 loopback", url: "http://[::1]:8080", ok: true},
		{name: "https remote", url: "https://dev12345.service-now.com", ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewLiveTarget(liveCfg(tc.url))
			if tc.ok && err != nil {
				t.Errorf("NewLiveTarget(%s): %v", tc.url, err)
			}
			if !tc.ok && (err == nil || !strings.Contains(err.Error(), "plain http")) {
				t.Errorf("NewLiveTarget(%s) error = %v, want a refusal of plain http", tc.url, err)
			}
		})
	}
}

func TestLiveTargetVerifiesTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	t.Cleanup(srv.Close)

	get := func(cfg LiveConfig) error {
		tg, err := NewLiveTarget(cfg)
		if err != nil {
			t.Fatal(err)
		}
		lt := tg.(*liveTarget)
		tr := lt.client.Transport.(*budgetTransport).next.(*http.Transport)
		if tr.TLSClientConfig == nil || tr.TLSClientConfig.InsecureSkipVerify {
			t.Fatalf("the live transport does not verify TLS: %+v", tr.TLSClientConfig)
		}
		if tr.TLSClientConfig.MinVersion < tls.VersionTLS12 {
			t.Errorf("MinVersion %x, want TLS 1.2 at least", tr.TLSClientConfig.MinVersion)
		}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, tg.BaseURL()+"/", nil)
		resp, err := tg.HTTPClient(context.Background()).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}

	// The test server's certificate is not in the system roots.
	err := get(liveCfg(srv.URL))
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("an untrusted certificate: error %v, want x509.UnknownAuthorityError", err)
	}

	// With the test CA as RootCAs it is trusted, and nothing else changes.
	cfg := liveCfg(srv.URL)
	cfg.RootCAs = x509.NewCertPool()
	cfg.RootCAs.AddCert(srv.Certificate())
	if err := get(cfg); err != nil {
		t.Errorf("with RootCAs set: %v", err)
	}
}
