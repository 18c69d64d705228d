package main

import (
	"net/http"
	"strconv"
	"strings"
)

// ceilingHandler is the bare net/http baseline: it answers the same request
// shapes as the fake with constant bodies of the same sizes and the same
// headers, doing no work at all. The fake is measured as a ratio of it.
func ceilingHandler(tokenBody, listBody []byte) http.Handler {
	mux := http.NewServeMux()
	common := func(w http.ResponseWriter) {
		h := w.Header()
		h.Set("Server", "ServiceNow")
		h.Set("Content-Type", "application/json;charset=UTF-8")
		h.Set("Cache-Control", "no-cache,no-store,must-revalidate,max-age=-1")
		h.Set("Pragma", "no-store,no-cache")
		h.Set("Expires", "0")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		h.Set("X-Transaction-ID", "f242c5e647a5")
	}
	mux.HandleFunc("POST /oauth_token.do", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		common(w)
		w.Header().Set("Content-Length", strconv.Itoa(len(tokenBody)))
		_, _ = w.Write(tokenBody)
	})
	mux.HandleFunc("GET /api/now/table/{table}", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		common(w)
		w.Header().Set("X-Total-Count", "100")
		w.Header().Set("Content-Length", strconv.Itoa(len(listBody)))
		_, _ = w.Write(listBody)
	})
	return mux
}
