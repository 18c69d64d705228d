// Package integration is the integration suite: what a correct ServiceNow
// integration does when the instance does what real instances do — grants,
// refresh, expiry, missing scopes, ACL denials, rate limits, 5xx,
// hibernation, short pages — with the fake's request journal as the
// oracle: what the integration sent decides, not what it claims.
//
// Each check is a plain Go function over an [Env] ([IntegrationCheck.Run]),
// so the same checks run as Ginkgo specs ([Register]) and directly from Go
// tests (the mutant matrix). Every run gets a fresh fake with a canary
// user and OAuth application whose password and client secret are random,
// so finding them in the integration's output or URLs proves a leak.
//
// The integration is reached through the driver contract of
// docs/driver-protocol.md ([harness.Integration]): an adapter process
// ([harness.Exec]) or Go in process. The catalogue is in docs/checks.md;
// which broken integration each check catches is in docs/mutant-matrix.md.
package integration
