package fakesn

import (
	"net/http"

	"github.com/sncheck/sncheck/fakesn/internal/query"
	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// Placeholders. table.go replaces the handlers; acl.go, scope.go and
// ratelimit.go replace the rest.

func (s *Server) handleTableCollection(w http.ResponseWriter, r *http.Request) { s.notFound(w, r) }
func (s *Server) handleTableRecord(w http.ResponseWriter, r *http.Request)     { s.notFound(w, r) }

func (s *Server) canAccessRecord(tx *store.Tx, p *principal, op, table string, rec query.Record) bool {
	return true
}

func (s *Server) canReadField(tx *store.Tx, p *principal, table, field string) bool { return true }

func (s *Server) canQueryField(tx *store.Tx, p *principal, table, field string) bool { return true }

func (s *Server) checkAPIScope(tx *store.Tx, p *principal, restAPI, method, table string) *Error {
	return nil
}

func (s *Server) checkRateLimit(w http.ResponseWriter, tx *store.Tx, p *principal, restAPI, method, table string) *Error {
	return nil
}

type rateCounter struct{}

func newRateCounter() *rateCounter { return &rateCounter{} }
func (*rateCounter) reset()        {}
