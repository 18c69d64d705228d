package fakesn

import (
	"net/http"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// handleRevoke is /oauth_revoke_token.do?token=… (servicenow-spec §3): no
// authentication, GET or POST, the token in the query or the form body. It
// marks an access or refresh token expired; revoking a refresh token also
// ends the access tokens issued with it. The instance's answer is not
// documented: the fake answers 200 with an empty body whether or not it
// knew the token, so the endpoint reveals nothing about tokens.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	entry := &infoFrom(r).Entry
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeRaw(w, http.StatusMethodNotAllowed, "", nil)
		return
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxTokenBody)
	}
	_ = r.ParseForm() // a malformed body leaves what parsed; no token is revoked then
	token := r.Form.Get("token")
	if token != "" {
		entry.Token = Fingerprint(token)
		err := s.store.Update("system", func(tx *store.Tx) error { return revokeToken(tx, token, entry) })
		if err != nil {
			writeError(w, errInternal(err))
			return
		}
	}
	writeRaw(w, http.StatusOK, "", nil)
}

// revokeToken revokes an access or refresh token, and a refresh token's
// access tokens.
func revokeToken(tx *store.Tx, token string, entry *JournalEntry) error {
	r, ok := findCredential(tx, token, kindAccess)
	if !ok {
		if r, ok = findCredential(tx, token, kindRefresh); !ok {
			entry.ErrMessage = "unknown token"
			return nil
		}
	}
	if a, ok := appByID(tx, r.Get("client")); ok {
		entry.ClientID = a.ClientID
	}
	if u, err := tx.Get("sys_user", r.Get("user")); err == nil {
		entry.User = u.Get("user_name")
	}
	rows := []*store.Row{r}
	if r.Get("type") == kindRefresh {
		id := r.ID()
		_ = tx.Scan("oauth_credential", func(c *store.Row) bool {
			if c.Get("type") == kindAccess && c.Get("u_refresh") == id {
				rows = append(rows, c)
			}
			return true
		})
	}
	now := tx.Now()
	for _, c := range rows {
		if !credLive(c, now) && c != r {
			continue
		}
		if err := expireCredential(tx, c, credRevoked); err != nil {
			return err
		}
	}
	return nil
}
