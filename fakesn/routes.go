package fakesn

import "net/http"

// routes lists every endpoint of the instance. The control API is routed
// separately (controlRoutes) and never reaches these handlers.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()

	// OAuth 2.0 (oauth_token.go, oauth_auth.go, oauth_revoke.go). Methods
	// are checked in the handlers so that a wrong one gets the instance's
	// answer instead of the mux's plain-text 405.
	mux.HandleFunc("/oauth_token.do", s.handleToken)
	mux.HandleFunc("/oauth_auth.do", s.handleAuthorize)
	mux.HandleFunc("/oauth_revoke_token.do", s.handleRevoke)

	// Table API (table.go): latest, v1 and v2.
	for _, prefix := range []string{"/api/now/table", "/api/now/v1/table", "/api/now/v2/table"} {
		mux.HandleFunc(prefix+"/{table}", s.handleTableCollection)
		mux.HandleFunc(prefix+"/{table}/{sys_id}", s.handleTableRecord)
	}

	mux.HandleFunc("/", s.notFound)
	return mux
}

// controlPrefix is reserved for the control API.
const controlPrefix = "/_fakesn/"

// controlRoutes lists the control API; each endpoint wraps one exported
// method of Server (control.go), mirrored by AdminClient.
func (s *Server) controlRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_fakesn/health", s.ctlHealth)
	mux.HandleFunc("POST /_fakesn/reset", s.ctlReset)
	mux.HandleFunc("GET /_fakesn/clock", s.ctlClock)
	mux.HandleFunc("POST /_fakesn/clock/advance", s.ctlClockAdvance)
	mux.HandleFunc("POST /_fakesn/clock/set", s.ctlClockSet)
	mux.HandleFunc("POST /_fakesn/tokens/expire", s.ctlExpireTokens)
	mux.HandleFunc("GET /_fakesn/journal", s.ctlJournal)
	mux.HandleFunc("DELETE /_fakesn/journal", s.ctlClearJournal)
	mux.HandleFunc("GET /_fakesn/unexpected", s.ctlUnexpected)
	mux.HandleFunc("DELETE /_fakesn/unexpected", s.ctlClearUnexpected)
	mux.HandleFunc("GET /_fakesn/faults", s.ctlFaults)
	mux.HandleFunc("POST /_fakesn/faults", s.ctlAddFault)
	mux.HandleFunc("DELETE /_fakesn/faults", s.ctlClearFaults)
	mux.HandleFunc("POST /_fakesn/hibernate", s.ctlHibernate)
	mux.HandleFunc("GET /_fakesn/snapshot", s.ctlSnapshot)
	mux.HandleFunc("POST /_fakesn/restore", s.ctlRestore)
	mux.HandleFunc("/_fakesn/", s.ctlNotFound)
	return mux
}
