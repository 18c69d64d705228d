package fakesn

import (
	"context"
	"net/http"
)

// hibernationPage is what a hibernating Personal Developer Instance answers
// on every path: 200 with HTML, not JSON (servicenow-spec §0).
const hibernationPage = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Instance Hibernating page</title></head>
<body>
<div class="container">
<h1>Your instance is hibernating</h1>
<p>Developer instances hibernate after a period of inactivity. To wake up your instance, sign in to the developer portal and select "Wake up instance".</p>
</div>
</body>
</html>
`

// WriteHibernating answers with a hibernating instance's page.
func WriteHibernating(w http.ResponseWriter) { writeHibernating(w) }

func writeHibernating(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html;charset=UTF-8")
	h.Set("Cache-Control", "no-cache,no-store,must-revalidate,max-age=-1")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(hibernationPage))
}

// SetHibernating makes the instance answer every request with the
// hibernation page (on) or serve normally again (off).
func (s *Server) SetHibernating(_ context.Context, on bool) error {
	s.hibernating.Store(on)
	return nil
}
