package instance

import "github.com/sncheck/sncheck/suites"

// The instance suite's checks: one Define each, with the hint a user of a
// live instance needs when it fails. Labels: oauth, table, scope, expiry,
// writes, fake-only (the suite label "instance" is added by Define).
//
// docs/checks.md is generated from these (go test ./suites/instance -run
// TestChecksDoc -update).

func define(id, statement string, labels []string, needs []string, hint string) suites.Check {
	return suites.Define(suites.Check{ID: id, Suite: "instance", Statement: statement, Labels: labels, Needs: needs, Hint: hint})
}

var (
	oauth       = []string{"oauth"}
	table       = []string{"table"}
	oauthExpiry = []string{"oauth", "expiry", "fake-only"}
)

// Hint fragments shared by several checks.
const (
	hintApp = "Check the OAuth application (System OAuth > Application Registry): the Client ID and Client Secret " +
		"you gave sncheck (SN_CLIENT_ID, SN_CLIENT_SECRET), Active checked, and the user (SN_USERNAME, SN_PASSWORD) " +
		"active, not locked out, not 'Web service access only' and not 'Password needs reset'."
	hintGeneric401 = "A real instance answers every refused token request with 401 " + suites.GenericOAuthFailure +
		" and writes the reason only to its system log (System Logs > All, 'Exception on token flow'); " +
		"an RFC-style error (invalid_grant, 400) means a proxy or another product answered."
	hintHibernating = " If every check fails, the instance may be hibernating: wake it at developer.servicenow.com."
)

var (
	checkTokenShape = define("OAUTH-TOKEN-SHAPE",
		`A password grant answers 200 with exactly access_token, refresh_token, scope, token_type "Bearer" and a numeric expires_in`,
		oauth, nil,
		"The token endpoint's success answer has these five keys and no others, expires_in a JSON number. "+
			"If the grant itself fails, fix it first: "+hintApp+hintHibernating)
	checkTokenOpaque = define("OAUTH-TOKEN-OPAQUE",
		"Access and refresh tokens are 86-character base64url strings",
		oauth, nil,
		"Instances issue opaque 86-character tokens. A JWT or a shorter token means the application's Token Format "+
			"is set to JWT (Application Registry > the application > Token Format): set it to Opaque, or expect "+
			"clients that size-check tokens to differ.")
	checkExpiresIn = define("OAUTH-EXPIRES-IN",
		"expires_in is the application's access token lifespan minus one second (1799 for the default 1800)",
		oauth, nil,
		"Instances report the lifespan minus one. Compare with the application's Access Token Lifespan "+
			"(Application Registry > the application); the check reads it from oauth_entity and skips when the "+
			"user may not read that table.")
	checkPasswordReuse = define("OAUTH-PASSWORD-REUSE",
		"A repeated password grant within the lifespan returns the current access token",
		oauth, nil,
		"Documented (KB0791140) but not captured on the wire: requests within the access token's lifespan "+
			"return the current token. A new token each time means the instance differs from the docs; record "+
			"the run (--save) and compare it with the fake's (sncheck diff).")
	checkRefreshSame = define("OAUTH-REFRESH-SAME-TOKEN",
		"A refresh grant returns a new, working access token and the same refresh token",
		oauth, []string{"revocation"},
		"Instances do not rotate refresh tokens: the refresh answer repeats the refresh token sent. A rotated "+
			"token means a proxy or the application's 'Refresh Token Rotation' setting is in play; integrations "+
			"written for ServiceNow keep the token they have. "+hintGeneric401)
	checkClientCredentials = define("OAUTH-CLIENT-CREDENTIALS",
		"A client credentials grant answers a token and no refresh_token",
		oauth, []string{"config"},
		"Client credentials (Washington DC and later) needs the system property "+
			"glide.oauth.inbound.client.credential.grant_type.enabled=true (create it in sys_properties), an "+
			"'OAuth Application User' on the application, and the Client Credentials grant on its entity profile. "+
			"Miss one and the instance answers the generic 401; against a live instance the check then skips.")

	checkErrBadSecret = define("OAUTH-ERR-BAD-SECRET",
		"A wrong client_secret gets the generic 401 access_denied/server_error",
		oauth, nil, hintGeneric401)
	checkErrBadPassword = define("OAUTH-ERR-BAD-PASSWORD",
		"A wrong user password gets the generic 401",
		oauth, nil, hintGeneric401+" Too many wrong passwords lock a user out: this check sends one.")
	checkErrUnknownClient = define("OAUTH-ERR-UNKNOWN-CLIENT",
		"An unknown client_id gets the generic 401",
		oauth, nil, hintGeneric401)
	checkErrBadRefresh = define("OAUTH-ERR-BAD-REFRESH",
		"An unknown refresh token gets the generic 401",
		oauth, nil, hintGeneric401)
	checkErrUnsupportedGrant = define("OAUTH-ERR-UNSUPPORTED-GRANT",
		"An unsupported grant_type gets the generic 401, not an RFC 400",
		oauth, nil, hintGeneric401)
	checkErrMissingParams = define("OAUTH-ERR-MISSING-PARAMS",
		"A password grant without username and password gets the generic 401",
		oauth, nil, hintGeneric401)
	checkErrQueryParams = define("OAUTH-ERR-QUERY-PARAMS",
		"Token parameters sent only in the URL query are ignored: the generic 401",
		oauth, nil,
		"Instances provisioned since Madrid (PDIs included) set glide.oauth.allow.parameters.in.post.body.only=true "+
			"and read token parameters only from the POST body. A token here means the property is false on this "+
			"instance: set it to true, since parameters in URLs end up in logs. Against a live instance the check "+
			"skips, to keep the real secret out of URLs.")
	checkErrJSONBody = define("OAUTH-ERR-JSON-BODY",
		"A JSON body instead of a form is refused without a token",
		oauth, nil,
		"The docs warn that a JSON body 'results in an unspecified error'; the token endpoint reads "+
			"application/x-www-form-urlencoded only. A token here means something in front of the instance "+
			"translates JSON.")
	checkRevoke = define("OAUTH-REVOKE",
		"oauth_revoke_token.do?token= revokes an access token: the Table API then answers 401",
		oauth, []string{"revocation"},
		"Revocation needs no authentication and marks the token expired (System OAuth > Manage Tokens shows it). "+
			"If the revoked token still works, a cache or proxy in front of the instance answered.")

	checkAuthzState = define("OAUTH-AUTHZ-STATE-REQUIRED",
		"/oauth_auth.do without state answers 'Missing State parameter in request.' and issues no code",
		oauth, nil,
		"Instances provisioned since Madrid set glide.oauth.state.parameter.required=true. Without it the "+
			"instance issues codes to requests without state, which leaves clients open to CSRF: set it to true.")
	checkAuthzAllow = define("OAUTH-AUTHZ-ALLOW",
		"Allow redirects to the redirect URI with an 86-character code and the same state; the code buys tokens once",
		oauth, nil,
		"Check the application's Redirect URL (Application Registry > the application): it must equal SN_REDIRECT_URI "+
			"exactly, or the instance falls back to the first registered URL. A code that works twice is a replay risk.")
	checkAuthzDeny = define("OAUTH-AUTHZ-DENY",
		"Deny redirects to the redirect URI with error=access_denied and the same state, and no code",
		oauth, nil,
		"ServiceNow's answer to Deny is not documented; the fake redirects as RFC 6749 §4.1.2.1 says. Record the "+
			"live answer (--save) and compare it with the fake's (sncheck diff).")

	checkEnvelope = define("TABLE-ENVELOPE",
		`A list answers 200 {"result":[…]} whose records hold only strings and reference objects`,
		table, nil,
		"Every Table API value is a JSON string (booleans \"true\", numbers \"7\"), references are {link, value}. "+
			"Another shape means another API answered (a Scripted REST API or a proxy): check the URL "+
			"(/api/now/table/...)."+hintHibernating)
	checkHeaders = define("TABLE-HEADERS",
		"Table API answers carry Content-Type application/json;charset=UTF-8, the no-cache Cache-Control and X-Is-Logged-In: true",
		table, nil,
		"These are the instance's own headers. Different ones mean a proxy or cache rewrote the answer; a "+
			"hibernating instance answers an HTML page instead (wake it at developer.servicenow.com).")
	checkTotalCount = define("TABLE-TOTAL-COUNT",
		"X-Total-Count is the number of matching records, not the page size",
		table, nil,
		"Clients page with X-Total-Count (PySNC does). If it is missing, the request or a proxy set "+
			"sysparm_no_count=true, or something in front of the instance drops the header.")
	checkLink = define("TABLE-LINK-HEADER",
		`With sysparm_limit=1 the Link header is first (offset 0), prev (offset -1), next (offset 1) and last (total-1), with absolute URLs`,
		table, nil,
		"The instance's Link header, quirks included (prev with sysparm_offset=-1 on the first page). Hosts "+
			"differing from the instance URL mean a proxy rewrote the answer without rewriting its links.")
	checkLinkLast = define("TABLE-LINK-LAST-PAGE",
		"On the last page the Link header has first, prev and last, and no next",
		table, nil,
		"Clients that follow rel=\"next\" stop when it is missing; an off-by-one here makes them loop or stop early.")
	checkLinkSingle = define("TABLE-LINK-SINGLE-PAGE",
		"No Link header when every match fits on one page",
		table, nil,
		"The instance sends no Link header when offset is 0 and every match fits in sysparm_limit.")
	checkRefDefault = define("TABLE-REF-DEFAULT",
		`A set reference is {"link","value"} with an absolute link to the referenced record; an empty one is ""`,
		table, nil,
		"Reference links are absolute URLs on the instance's own host. Another host means the instance's "+
			"glide.servlet.uri property names another URL, or a proxy did not rewrite the links.")
	checkRefExclude = define("TABLE-REF-EXCLUDE-LINK",
		"sysparm_exclude_reference_link=true makes a reference its plain sys_id",
		table, nil, "PySNC and many clients send this parameter and expect plain sys_id strings.")
	checkDisplayTrue = define("TABLE-DISPLAY-TRUE",
		`sysparm_display_value=true gives display values; a reference becomes {"display_value","link"}`,
		table, nil, "Display values come from the referenced record's display field (sys_user.name).")
	checkDisplayAll = define("TABLE-DISPLAY-ALL",
		`sysparm_display_value=all makes every field {"display_value","value"}, references with "link"`,
		table, nil, "PySNC's default (sysparm_display_value=all) relies on this shape.")
	checkErr401 = define("TABLE-ERR-401",
		`A request without credentials gets 401 "User Not Authenticated" with WWW-Authenticate: Basic realm="Service-now"`,
		table, nil,
		"The instance's 401 envelope. A redirect to a login page or an HTML answer means SSO or a proxy sits in "+
			"front of the REST API."+hintHibernating)
	checkErrBadBearer = define("TABLE-ERR-BAD-BEARER",
		"An unknown bearer token gets the same 401 envelope",
		table, nil,
		"Integrations refresh on exactly this answer. A 403 instead of 401 sends them to the wrong branch "+
			"(they report a permission problem instead of refreshing).")
	checkErrInvalidTable = define("TABLE-ERR-INVALID-TABLE",
		`An unknown table gets 400 "Invalid table <name>"`,
		table, nil, "The instance's answer for a table that does not exist (or that the Table API does not expose).")
	checkErr404 = define("TABLE-ERR-404",
		`A missing sys_id gets 404 "No Record found" / "Record doesn't exist or ACL restricts the record retrieval"`,
		table, nil, "Unreadable and missing records get the same 404.")
	checkEmptyList = define("TABLE-EMPTY-LIST",
		`A query matching nothing answers 200 {"result":[]} (the latest API version)`,
		table, nil, "/api/now/table is v2 on current releases: an empty list is 200, not the v1 404.")
	checkV1Empty = define("TABLE-V1-EMPTY-404",
		`On /api/now/v1 a query matching nothing gets 404 "No Record found"`,
		table, nil, "v1 answers an empty list with 404; integrations pinned to v1 must treat it as 'no records'.")

	checkQueryOperators = define("QUERY-OPERATORS",
		"Encoded queries with =, !=, IN and STARTSWITH select exactly the matching records",
		table, nil, "The encoded query operators (servicenow-spec §6); the check uses incident numbers it has just read.")
	checkQueryOr = define("QUERY-OR-PRECEDENCE",
		"^OR binds tighter than ^: a^b^ORc means a AND (b OR c)",
		table, nil,
		"^OR attaches to the condition just before it, like GlideRecord.addOrCondition. A fake or proxy that "+
			"evaluates left to right returns extra records.")
	checkQueryInvalid = define("QUERY-INVALID-DROPPED",
		"A condition on an unknown field is dropped and the rest of the query applies",
		table, nil,
		"Instances drop invalid conditions (so a typo can return the whole table). No rows means "+
			"glide.invalid_query.returns_no_rows=true on this instance; a 403 means query ACLs (Xanadu and later).")
	checkQueryOrder = define("QUERY-ORDERBY",
		"ORDERBYDESC sorts the answer",
		table, nil, "ORDERBY<field> and ORDERBYDESC<field> are ^-separated terms of the encoded query.")

	checkScopeMissing = define("SCOPE-MISSING-403",
		`A token whose application lacks a required API access scope gets 403 "User Not Authorized" / "Missing required api access scope: <name>"`,
		[]string{"scope", "fake-only"}, []string{"config", "writes"},
		"REST API Auth Scope (Tokyo and later): a sys_api_access_scope record on an API requires one of its "+
			"scopes on the token's application (or useraccount). Add the scope to the application "+
			"(Application Registry > the application > Auth Scopes).")
	checkScopeRuntime = define("SCOPE-RUNTIME-LOOKUP",
		"Adding the scope to the application lets the same token through at once",
		[]string{"scope", "fake-only"}, []string{"config", "writes"},
		"Scopes are looked up from the application on every request, not stored on the token: no new token is needed.")
	checkScopeBasic = define("SCOPE-BASIC-EXEMPT",
		"Basic auth is never checked for API access scopes",
		[]string{"scope", "fake-only"}, []string{"config", "writes"},
		"Scope checks apply only to OAuth tokens, never to Basic auth or sessions.")

	checkExpiryAccess = define("EXPIRY-ACCESS-LIFESPAN",
		"An access token works 1799 s after issue and gets the Table API's 401 at 1800 s",
		oauthExpiry, []string{"clock"},
		"Access tokens live exactly the Access Token Lifespan (default 1800 s).")
	checkExpiryRefresh = define("EXPIRY-REFRESH-LIFESPAN",
		"A refresh token still works 100 days minus one second after issue",
		oauthExpiry, []string{"clock"},
		"Refresh tokens live the Refresh Token Lifespan (default 8,640,000 s = 100 days).")
	checkExpiryNotExtended = define("EXPIRY-REFRESH-NOT-EXTENDED",
		"A refresh grant does not extend the refresh token: it is refused 100 days after issue",
		oauthExpiry, []string{"clock"},
		"Refresh tokens are neither rotated nor extended, so integrations that only ever refresh die after "+
			"100 days; they must fall back to their grant or ask the user again.")

	checkWriteCreate = define("WRITE-CREATE",
		"POST answers 201 with the new record and its Location",
		[]string{"table", "writes"}, []string{"writes"},
		"The user needs the itil role (or admin) to create incidents; a 403 \"Operation Failed\" is an ACL.")
	checkWritePatch = define("WRITE-PATCH-PARTIAL",
		"PATCH changes only the fields sent and counts the update in sys_mod_count",
		[]string{"table", "writes"}, []string{"writes"},
		"PUT and PATCH are partial updates on the instance: fields left out keep their values.")
	checkWriteDelete = define("WRITE-DELETE",
		"DELETE answers 204 with no body; the record then gets 404",
		[]string{"table", "writes"}, []string{"writes"},
		"Deleting incidents needs the admin role (or an ACL that allows it); a 403 \"Operation Failed\" is an ACL.")
)
