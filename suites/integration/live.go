package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/harness/proxy"
	"github.com/sncheck/sncheck/suites"
)

// Live is how the suite reaches a live instance. The integration talks to
// a recording proxy in front of it (harness/proxy), fresh for every check:
// the proxy journals the integration's requests as the fake does, injects
// the fake's faults, and forces token expiry by revoking the integration's
// tokens, so checks judge a live run from the same journal.
type Live struct {
	// Config names the instance, its OAuth application and the user the
	// integration connects as; RootCAs replaces the system roots (a test CA).
	Config harness.LiveConfig
	// AllowWrites lets checks that create records run; the records are
	// marked with Marker and deleted when the check ends.
	AllowWrites bool
	// Marker starts the short_description of every record a check creates;
	// empty means "sncheck-".
	Marker string
	// MaxRequests bounds the requests one check sends to the instance (the
	// integration's and sncheck's own); 0 means DefaultLiveCheckBudget.
	MaxRequests int
}

// DefaultLiveCheckBudget is the most requests one check sends to a live
// instance unless told otherwise: enough for every check, a wall against
// an integration that loops.
const DefaultLiveCheckBudget = 300

// Environment variables that make the suite, inside the sncheck binary,
// verify against a live instance (sncheck verify --instance/--url sets
// them for its child, with the SN_* credentials).
const (
	// EnvLiveURL is the live instance's base URL; empty means a fresh fake
	// per check.
	EnvLiveURL = "SNCHECK_LIVE_URL"
	// EnvLiveBudget is Live.MaxRequests.
	EnvLiveBudget = "SNCHECK_LIVE_BUDGET"
)

// LiveFromEnviron reads a Live from the environment: nil when EnvLiveURL
// is unset.
func LiveFromEnviron(getenv func(string) string) (*Live, error) {
	base := getenv(EnvLiveURL)
	if base == "" {
		return nil, nil
	}
	cfg := harness.LiveConfigFromEnv(getenv)
	cfg.Instance, cfg.URL = "", base
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("integration: %w", err)
	}
	l := &Live{Config: cfg, Marker: getenv(suites.EnvRunMarker)}
	l.AllowWrites = getenv(suites.EnvAllowWrites) == "true"
	if v := getenv(EnvLiveBudget); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("integration: %s=%q is not a number of requests", EnvLiveBudget, v)
		}
		l.MaxRequests = n
	}
	return l, nil
}

func (l *Live) marker() string {
	if l.Marker == "" {
		return "sncheck-"
	}
	return l.Marker
}

// startProxy starts a proxy in front of the instance for one check.
func (l *Live) startProxy() (*proxy.Proxy, error) {
	base, err := l.Config.BaseURL()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	budget := l.MaxRequests
	if budget <= 0 {
		budget = DefaultLiveCheckBudget
	}
	p, err := proxy.New(u, proxy.Options{RootCAs: l.Config.RootCAs, MaxRequests: budget})
	if err != nil {
		return nil, err
	}
	if err := p.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// What a check needs from its target beyond observation (suites.Check.Needs).
const (
	NeedClock      = "clock"      // token expiry by moving time: forced by revocation live
	NeedRevocation = "revocation" // revoking the integration's tokens: through the proxy live
	NeedFaults     = "faults"     // injected failures: by the proxy live
	NeedConfig     = "config"     // instance configuration (scopes, ACLs, users, rotation): skipped live
	NeedWrites     = "writes"     // creating records: live only with --allow-writes
)

// LiveMode is how a check runs against a live instance.
type LiveMode string

// Live modes, from the catalogue's Needs.
const (
	LiveObserve LiveMode = "observe" // as on the fake, only watching
	LiveRevoke  LiveMode = "revoke"  // token expiry forced by revocation through the proxy
	LiveFaults  LiveMode = "faults"  // the proxy injects the fault
	LiveSkip    LiveMode = "skip"
)

// LivePlan says whether and how a check runs against a live instance.
type LivePlan struct {
	Mode LiveMode
	// Writes: the check creates records (marked, deleted at its end).
	Writes bool
	// Reason says why the check is skipped, or how it runs.
	Reason string
}

// LivePlan decides from the check's Needs how it runs against a live
// instance, with or without --allow-writes.
func (c IntegrationCheck) LivePlan(allowWrites bool) LivePlan {
	has := func(n string) bool { return slices.Contains(c.Needs, n) }
	writes := has(NeedWrites)
	if !slices.ContainsFunc(Grants(), func(g string) bool { return c.Applies(g) && liveGrantSkip(g) == "" }) {
		return LivePlan{Mode: LiveSkip, Writes: writes, Reason: "applies only to the authorization_code grant: " + liveGrantSkip(harness.GrantAuthorizationCode)}
	}
	if writes && c.liveWithoutWrites != "" {
		return LivePlan{Mode: LiveObserve, Reason: c.liveWithoutWrites}
	}
	switch {
	case has(NeedConfig):
		what := c.spec.String()
		if what == "" {
			what = "records that configure it, such as an ACL or an auth scope"
		}
		return LivePlan{Mode: LiveSkip, Writes: writes, Reason: "needs the instance configured for the check (" + what + "), which sncheck changes only on the fake"}
	case writes && !allowWrites:
		return LivePlan{Mode: LiveSkip, Writes: true, Reason: "creates records; run with --allow-writes (they are marked with the run marker and deleted)"}
	case has(NeedFaults):
		return LivePlan{Mode: LiveFaults, Writes: writes, Reason: "the proxy answers in the instance's place with the fault (fakesn.Fault semantics)"}
	case has(NeedClock) || has(NeedRevocation):
		return LivePlan{Mode: LiveRevoke, Writes: writes, Reason: "token expiry is forced by revoking the integration's tokens at /oauth_revoke_token.do through the proxy"}
	}
	return LivePlan{Mode: LiveObserve, Writes: writes, Reason: "observes the integration's own traffic through the proxy"}
}

// liveGrantSkip is why a grant cannot be verified live, or "".
func liveGrantSkip(grant string) string {
	if grant == harness.GrantAuthorizationCode {
		return "the authorization_code grant needs a user to log in on the instance's own login page, which sncheck plays only on the fake"
	}
	return ""
}

// expireLive forces what moving the fake's clock by d would do to the
// integration's tokens: every access token of the integration's the proxy
// has seen is revoked, and from the refresh token's lifespan on its
// refresh tokens too. A live instance's clock cannot be moved otherwise.
func (e *Env) expireLive(ctx context.Context, d time.Duration) error {
	var kind string
	switch {
	case d >= refreshLife:
	case d >= tokenLife:
		kind = "access"
	default:
		return fmt.Errorf("a live instance's clock cannot be moved by %s: only token expiry can be forced (by revocation)", d)
	}
	_, err := e.ctl.ExpireTokens(ctx, fakesn.ExpireRequest{Kind: kind})
	return err
}

// livePages are the pagination checks' records on a live instance: the
// instance's own records of livePageTable, never created.
func livePages(ctx context.Context, env *Env) (*pageSet, error) {
	raw, err := env.AdminTable(ctx, http.MethodGet, livePageTable, "", url.Values{
		"sysparm_query": {livePageQuery}, "sysparm_fields": {"sys_id"}, "sysparm_limit": {"10000"},
	}, nil)
	if err != nil {
		return nil, err
	}
	ps := &pageSet{table: livePageTable, q: livePageQuery, visible: map[string]string{}, hidden: map[string]string{}}
	for _, id := range sysIDs(raw) {
		ps.visible[id] = id
	}
	if len(ps.visible) == 0 {
		return nil, fmt.Errorf("the instance shows its user no %s records to page through", livePageTable)
	}
	return ps, nil
}

// The table the pagination checks list on a live instance: one with more
// records than a page holds on a developer instance (its demo users).
const (
	livePageTable = "sys_user"
	livePageQuery = "ORDERBYsys_id"
)

// sysIDs reads the sys_ids of a Table API list result.
func sysIDs(raw []byte) []string {
	var rows []struct {
		SysID string `json:"sys_id"`
	}
	_ = json.Unmarshal(raw, &rows)
	var out []string
	for _, r := range rows {
		if r.SysID != "" {
			out = append(out, r.SysID)
		}
	}
	return out
}

// liveText marks a record's text with the run marker, so that a live run's
// records can be told apart and swept.
func (e *Env) liveText(s string) string {
	if e.Live == nil {
		return s
	}
	return e.Live.marker() + s
}

// deleteLater deletes a record the check created on a live instance when
// the check ends.
func (e *Env) deleteLater(table, sysID string) {
	if e.Live == nil || sysID == "" {
		return
	}
	e.cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		e.calmProxy(ctx)
		if _, err := e.AdminTable(ctx, http.MethodDelete, table, sysID, nil, nil); err != nil {
			e.logf("could not delete the %s record %s sncheck created: %v", table, sysID, err)
		}
	})
}

// calmProxy disarms the proxy's faults, so that cleaning up after a check
// that ended early reaches the instance.
func (e *Env) calmProxy(ctx context.Context) {
	_ = e.proxy.ClearFaults(ctx)
	_ = e.proxy.SetHibernating(ctx, false)
}

// deleteMatchingLater deletes, when the check ends, the records of table
// matching query (records the integration created on a live instance).
func (e *Env) deleteMatchingLater(table, query string) {
	if e.Live == nil {
		return
	}
	e.cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		e.calmProxy(ctx)
		raw, err := e.AdminTable(ctx, http.MethodGet, table, "", url.Values{"sysparm_query": {query}, "sysparm_fields": {"sys_id"}}, nil)
		if err != nil {
			e.logf("could not find the %s records to delete: %v", table, err)
			return
		}
		for _, id := range sysIDs(raw) {
			if _, err := e.AdminTable(ctx, http.MethodDelete, table, id, nil, nil); err != nil {
				e.logf("could not delete the %s record %s: %v", table, id, err)
			}
		}
	})
}

// LiveDoc is docs/live-verify.md: which checks run against a live
// instance, which are forced by revocation or proxy faults, and which are
// skipped and why, from the catalogue's Needs.
func LiveDoc() string {
	var b strings.Builder
	b.WriteString(`# Verifying an integration against a live instance

<!-- Generated from the integration suite's catalogue (its Needs) by
     go test ./suites/integration -run TestLiveDoc -update
     TestLiveDoc fails when this file is stale. Do not edit. -->

` + "`sncheck verify --instance dev12345 -- COMMAND…`" + ` (or ` + "`--url`" + `) runs the integration
suite against a live instance instead of a fresh fake. The adapter is pointed
at a recording proxy on loopback (` + "`SN_INSTANCE_URL`" + ` is the proxy's URL), fresh
for every check, which forwards to the instance over verified TLS and writes
the same journal the fake writes (secrets redacted, tokens fingerprinted),
so the checks judge a live run exactly as they judge a fake one, and the
results have the same format (` + "`sncheck diff`" + ` compares a fake run with a live
one).

What the proxy does for the checks:

- **observe**: the check only watches the integration's own requests.
- **revoke**: the check needs a token to expire. The instance's clock cannot
  be moved, so where the check would move the fake's clock past the access
  token's lifespan the proxy revokes the integration's access tokens (past
  the refresh token's lifespan, its refresh tokens too) at
  ` + "`/oauth_revoke_token.do`" + `. It holds the raw tokens it saw in memory only,
  for this, and never journals or logs them.
- **faults**: the proxy answers in the instance's place with the fault the
  check arms (429 with Retry-After, 5xx, the hibernation page, or a 5xx after
  forwarding a POST), with the fake's semantics.
- **skip**: the check needs the instance configured for it (auth scopes, ACLs,
  users, refresh-token rotation, a public client), which sncheck changes only
  on the fake; or it creates records and ` + "`--allow-writes`" + ` was not given.

With ` + "`--allow-writes`" + `, records a check creates carry the run marker at the
start of their short_description and are deleted when the check ends. Each
check may send at most ` + fmt.Sprint(DefaultLiveCheckBudget) + ` requests to the instance; beyond that the proxy
answers 502 itself. The authorization_code grant is not verified live: it
needs a user to log in on the instance's own login page, which sncheck plays
only on the fake.

| check | live (read-only) | with --allow-writes | how, or why not |
|---|---|---|---|
`)
	for _, c := range Checks() {
		ro, rw := c.LivePlan(false), c.LivePlan(true)
		reason := rw.Reason
		if ro.Mode == LiveSkip && rw.Mode != LiveSkip {
			reason += "; it creates records, so only with --allow-writes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.ID, ro.Mode, rw.Mode, reason)
	}
	return b.String()
}
