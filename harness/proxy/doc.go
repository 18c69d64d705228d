// Package proxy is a recording reverse proxy in front of a live ServiceNow
// instance, so that the integration suite can check an integration against
// a real Personal Developer Instance with the same oracle it uses against
// the fake: the journal.
//
// The integration talks to the [Proxy] (plain HTTP on loopback); the proxy
// forwards every request to the instance over verified TLS and journals it
// as the fake does, in [fakesn.JournalEntry] form: secrets redacted, tokens
// fingerprinted and never stored. It also injects the fake's faults
// ([fakesn.Fault]) in place of forwarding, and forces token expiry by
// revoking the integration's current token at the instance's
// /oauth_revoke_token.do, so expiry and refresh checks run live without
// waiting half an hour.
//
// A Proxy implements the journal and fault parts of [fakesn.Controller];
// the rest (clock, reset, snapshots) needs a fake and answers
// [ErrNotAvailable].
//
// What is rewritten on the way back: Location and Link headers that point
// at the instance point at the proxy instead, so that pagination keeps
// going through it; Set-Cookie loses Secure, SameSite=None and Domain,
// which a plain-HTTP loopback origin cannot honour. JSON bodies are passed
// through byte for byte: reference fields' "link" URLs still name the
// instance (rewriting them would mean decoding every Table API answer and
// would change record values that happen to hold the URL; no check follows
// them). Answers reach the integration uncompressed, because the proxy
// must read token answers and error envelopes.
//
// Differences from the fake's journal, for the same traffic: User is known
// only where the wire shows it (Basic credentials, the password grant,
// and tokens issued through the proxy); ErrCode is never set (it is the
// fake's classification, not on the wire); a refused OAuth request's
// ErrMessage is the answer's error_description, not the instance's hidden
// reason; Time is wall time.
package proxy
