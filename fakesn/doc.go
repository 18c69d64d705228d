// Package fakesn is a faithful fake ServiceNow instance for testing code
// that talks to ServiceNow: the OAuth 2.0 endpoints (/oauth_auth.do,
// /oauth_token.do, /oauth_revoke_token.do, RFC 6749 as ServiceNow speaks it)
// and the Table API (https://www.servicenow.com/docs/ "Table API"), with a
// virtual clock, fault injection and a request journal.
//
// It copies a real instance's behaviour, quirks included: the single 401
// access_denied/server_error answer of the token endpoint, expires_in of
// lifespan−1, refresh grants that return the same refresh token, pages made
// short by ACLs, and silently dropped invalid query conditions. Where the
// real behaviour is uncertain, [Options] makes it configurable.
//
// Run it in process with [NewServer] (httptest's lifecycle: URL, Client,
// Close), without a socket through [Server.Transport], or standalone with
// `sncheck serve`. Drive it with the [Controller] methods on [*Server], or
// over HTTP with [AdminClient].
package fakesn
