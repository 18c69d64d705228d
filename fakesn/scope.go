package fakesn

import (
	"strings"

	"github.com/sncheck/sncheck/fakesn/internal/store"
)

// REST API auth scopes (servicenow-spec §4): sys_api_access_scope rows tie a
// REST API, optionally one method and one table, to an auth scope that an
// OAuth token's application must carry. Everything is read per request, so
// adding a scope to an application opens the API to tokens it already has.

// scopeCheckProperty turns the check off when false.
const scopeCheckProperty = "com.glide.rest.api.auth.scope.check.enable"

// useraccountProperty holds the sys_id of the useraccount scope, by which
// the instance recognises it (not by name).
const useraccountProperty = "glide.oauth.token.scope.useraccount"

// checkAPIScope answers 403 "User Not Authorized" / "Missing required api
// access scope: NAME" when p used an OAuth token whose application lacks a
// scope that an active sys_api_access_scope row matching (restAPI, method,
// table) requires; nil otherwise. Basic auth and sessions are never checked.
func (s *Server) checkAPIScope(tx *store.Tx, p *principal, restAPI, method, table string) *Error {
	if p == nil || !p.OAuth() || !propertyBool(tx, scopeCheckProperty, true) {
		return nil
	}
	api := normalizeRestAPI(restAPI)
	var required []string // auth_scope sys_ids, in row order
	_ = tx.Scan("sys_api_access_scope", func(r *store.Row) bool {
		if !isFalse(r.Get("active")) && r.Get("auth_scope") != "" && restRuleMatches(r, api, method, table) {
			required = append(required, r.Get("auth_scope"))
		}
		return true
	})
	if len(required) == 0 {
		return nil
	}
	has := map[string]bool{}
	useraccountID := property(tx, useraccountProperty, "")
	_ = tx.Scan("oauth_entity_auth_scope", func(r *store.Row) bool {
		if r.Get("oauth_entity") == p.AppID {
			has[r.Get("auth_scope")] = true
		}
		return true
	})
	for id := range has {
		if useraccountID != "" && id == useraccountID {
			return nil
		}
		// Without the property (a custom seed), know useraccount by name.
		if useraccountID == "" && scopeName(tx, id) == "useraccount" {
			return nil
		}
	}
	for _, id := range required {
		if has[id] {
			return nil
		}
	}
	return &Error{
		Code:    CodeNotAuthorized,
		Message: "User Not Authorized",
		Detail:  "Missing required api access scope: " + scopeName(tx, required[0]),
	}
}

// scopeName is an auth scope's name, or its sys_id when the row is gone.
func scopeName(tx *store.Tx, id string) string {
	if r, err := tx.Get("sys_auth_scope", id); err == nil {
		return r.Get("name")
	}
	return id
}

// restRuleMatches reports whether a sys_api_access_scope or
// sys_rate_limit_rules row applies to a request: its rest_api, http_method
// and table_name each empty (any) or equal to the request's.
func restRuleMatches(r *store.Row, api, method, table string) bool {
	if ra := r.Get("rest_api"); strings.TrimSpace(ra) != "" && normalizeRestAPI(ra) != api {
		return false
	}
	if m := strings.TrimSpace(r.Get("http_method")); m != "" && !strings.EqualFold(m, method) {
		return false
	}
	if tn := strings.TrimSpace(r.Get("table_name")); tn != "" && tn != table {
		return false
	}
	return true
}

// normalizeRestAPI reduces a REST API name to namespace/name: "now/table"
// for "/api/now/table", "now/v2/table" or "NOW/TABLE". Versions share one
// API record on the instance, so they share its scopes and limits.
func normalizeRestAPI(api string) string {
	api = strings.Trim(strings.ToLower(strings.TrimSpace(api)), "/")
	api = strings.TrimPrefix(api, "api/")
	segs := strings.Split(api, "/")
	if len(segs) > 2 && isVersion(segs[1]) {
		segs = append(segs[:1], segs[2:]...)
	}
	return strings.Join(segs, "/")
}

func isVersion(seg string) bool {
	if len(seg) < 2 || seg[0] != 'v' {
		return false
	}
	for _, c := range seg[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
