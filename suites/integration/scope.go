package integration

import (
	"context"
	"net/http"
	"strings"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/suites"
)

// The scope setup: the canary application carries only grantedScope; a
// REST API access scope rule requires missingScope for the problem table.
const (
	grantedScope = "sncheck.table"
	missingScope = "sncheck.problem"
	scopedTable  = "problem"
)

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "SCOPE-INSUFFICIENT",
		Statement: `reports a 403 "Missing required api access scope" as insufficient_scope naming the scope, without refreshing or retrying`,
		Labels:    []string{"scope"},
		Hint:      `read the 403's error.detail: "Missing required api access scope: NAME" means the OAuth application lacks the auth scope NAME; report that (an admin must add it), do not refresh or retry`,
		Needs:     []string{"config"},
	},
	spec: instanceSpec{scopes: []string{grantedScope}},
	run:  checkScopeInsufficient,
})

func checkScopeInsufficient(ctx context.Context, env *Env) Result {
	scopeID, err := env.createRecord(ctx, "sys_auth_scope", map[string]string{"name": missingScope, "short_description": "sncheck: a scope the application lacks"})
	if err != nil {
		return fail("sncheck could not set up the auth scope: %v", err)
	}
	if _, err := env.createRecord(ctx, "sys_api_access_scope", map[string]string{
		"rest_api": "now/table", "table_name": scopedTable, "auth_scope": scopeID, "active": "true",
	}); err != nil {
		return fail("sncheck could not set up the REST API access scope: %v", err)
	}
	integ, r := connected(ctx, env)
	if r != nil {
		return *r
	}
	mark, err := env.Mark(ctx)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	_, opErr := integ.List(ctx, scopedTable, "active=true", []string{"sys_id", "number"})
	es, err := env.Since(ctx, mark)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	return judge403(env, es, opErr, harness.KindInsufficientScope, missingScope,
		"Listing "+scopedTable+" records, which needs the auth scope "+missingScope+" the OAuth application lacks (the instance answers 403 \"Missing required api access scope: "+missingScope+"\")")
}

// judge403 decides the scope and ACL checks: one Table API request, no
// token request, the right kind, and the scope named.
func judge403(env *Env, es []fakesn.JournalEntry, opErr error, want harness.ErrorKind, scope, what string) Result {
	table := tableRequests(es)
	tokens := tokenRequests(es)
	forbidden := withStatus(table, http.StatusForbidden)
	switch {
	case len(tokens) > 0:
		return fail("%s, the integration sent %s (%s) and the operation %s. A 403 is not an expired token: it should report %s without refreshing.",
			what, countOf(len(tokens), "token request"), describeRequests(es), outcome(opErr), want)
	case len(table) > 1:
		return fail("%s, the integration sent %s to the Table API (%d answered 403: %s) and the operation %s. The answer will not change by asking again: it should report %s after the first 403, without retrying.",
			what, countOf(len(table), "request"), len(forbidden), describeRequests(es), outcome(opErr), want)
	case harness.KindOf(opErr) != want:
		return fail("%s, the operation %s (the integration sent: %s). It should report %s.",
			what, outcome(opErr), describeRequests(es), want)
	case scope != "" && !strings.Contains(opErr.Error(), scope):
		return fail("%s, the integration reported %s but its message (%q) does not name the missing scope %s. It should name it, so that an admin knows which scope to add to the OAuth application.",
			what, want, clipText(opErr.Error(), 200), scope)
	}
	return pass()
}

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "ACL-FORBIDDEN",
		Statement: "reports an ACL 403 as forbidden, without refreshing or retrying",
		Labels:    []string{"acl"},
		Hint:      "a 403 without the missing-scope detail is an ACL denial: report it as forbidden (the user lacks a role), do not refresh or retry",
		Needs:     []string{"config", "writes"},
	},
	run: checkACLForbidden,
})

func checkACLForbidden(ctx context.Context, env *Env) Result {
	if _, err := env.createRecord(ctx, "sys_security_acl", map[string]string{
		"name": scopedTable, "operation": "create", "type": "record", "roles": "admin", "active": "true",
		"description": "sncheck: only admins may create problems",
	}); err != nil {
		return fail("sncheck could not set up the ACL: %v", err)
	}
	integ, r := connected(ctx, env)
	if r != nil {
		return *r
	}
	mark, err := env.Mark(ctx)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	_, opErr := integ.Create(ctx, scopedTable, harness.Record{"short_description": "sncheck ACL check"})
	es, err := env.Since(ctx, mark)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	return judge403(env, es, opErr, harness.KindForbidden, "",
		"Creating a "+scopedTable+" record, which an ACL allows only admins (the instance answers 403 \"ACL Exception Insert Failed due to security constraints\")")
}
