package fakesn

import (
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
)

// handlerTransport calls a handler in memory: no socket, no port.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	defer func() {
		// A dropped connection (an injected fault) is a transport error.
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			resp, err = nil, errors.New("fakesn: connection closed by server")
		}
	}()
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	if r.Body == nil {
		r.Body = http.NoBody
	}
	r.RemoteAddr = "127.0.0.1:0"
	r.RequestURI = r.URL.RequestURI()
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	resp = rec.Result()
	// Header names cross a real connection case-insensitively; parse them
	// as a client would, into canonical keys.
	canon := make(http.Header, len(resp.Header))
	for k, vs := range resp.Header {
		for _, v := range vs {
			canon.Add(k, v)
		}
	}
	resp.Header = canon
	resp.Request = req
	if req.Method == http.MethodHead {
		resp.Body = http.NoBody
	}
	return resp, nil
}

func newJar() http.CookieJar {
	jar, _ := cookiejar.New(nil)
	return jar
}
