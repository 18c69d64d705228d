package fakesn

import "net/http"

// Placeholders, replaced by oauth_token.go, oauth_auth.go and oauth_revoke.go.

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request)     { s.notFound(w, r) }
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) { s.notFound(w, r) }
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request)    { s.notFound(w, r) }
