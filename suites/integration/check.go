package integration

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/suites"
)

// Result is the outcome of one check against one integration.
type Result struct {
	Passed bool
	// Skipped, when set, says why the check did not apply.
	Skipped string
	// Explanation, for a failed check, is one readable paragraph: what the
	// integration did (from the fake's journal, with counts, statuses and
	// times) and what it should have done.
	Explanation string
}

// State is "passed", "failed" or "skipped", as in suites.Result.
func (r Result) State() string {
	switch {
	case r.Skipped != "":
		return suites.StateSkipped
	case r.Passed:
		return suites.StatePassed
	}
	return suites.StateFailed
}

func pass() Result { return Result{Passed: true} }

func skip(format string, args ...any) Result { return Result{Skipped: fmt.Sprintf(format, args...)} }

func fail(format string, args ...any) Result {
	return Result{Explanation: oneParagraph(fmt.Sprintf(format, args...))}
}

// oneParagraph folds whitespace so an explanation reads as one paragraph.
func oneParagraph(s string) string { return strings.Join(strings.Fields(s), " ") }

// IntegrationCheck is one check of the integration suite: its catalogue
// entry and the plain Go function that decides it. Ginkgo runs it through
// Register; the mutant matrix calls Run directly.
type IntegrationCheck struct {
	suites.Check
	// Grants are the grants the check applies to; nil means every grant.
	// With another grant the check is skipped, with the reason.
	Grants []string
	// NotFor says why the check does not apply to the grants it leaves out.
	NotFor string

	spec instanceSpec
	run  func(ctx context.Context, env *Env) Result
	// liveWithoutWrites, when set, says how a check that creates records
	// on a fake runs on a live instance without creating any (live.go).
	liveWithoutWrites string
}

// Applies reports whether the check applies to an integration configured
// with grant.
func (c IntegrationCheck) Applies(grant string) bool {
	return len(c.Grants) == 0 || slices.Contains(c.Grants, grant)
}

// CheckTimeout bounds one check.
const CheckTimeout = 2 * time.Minute

// Run runs the check against env's integration, with a fresh fake (unless
// env.Target is set) and fresh state directories, and releases them all
// before it returns. It never panics.
func (c IntegrationCheck) Run(ctx context.Context, env *Env) (res Result) {
	switch env.Grant {
	case harness.GrantPassword, harness.GrantAuthorizationCode, harness.GrantClientCredentials:
	default:
		return fail("sncheck cannot run the check: the grant %q is not password, authorization_code or client_credentials.", env.Grant)
	}
	if env.Start == nil {
		return fail("sncheck cannot run the check: no integration to start.")
	}
	if !c.Applies(env.Grant) {
		return skip("does not apply to the %s grant: %s", env.Grant, c.NotFor)
	}
	if env.Live != nil { // live: what the check needs decides whether it runs (live.go)
		if why := liveGrantSkip(env.Grant); why != "" {
			return skip("against a live instance: %s", why)
		}
		if plan := c.LivePlan(env.Live.AllowWrites); plan.Mode == LiveSkip {
			return skip("against a live instance: %s", plan.Reason)
		}
	} else if env.Target != nil && (c.spec.rotation || c.spec.public || c.spec.scopes != nil || c.spec.hidePages) {
		return skip("needs a fresh in-process fake configured for the check (%s); the target is a fake at a URL", c.spec)
	}
	defer env.close()
	defer func() {
		if v := recover(); v != nil {
			res = fail("the check panicked: %v. %s", v, firstFrames(debug.Stack()))
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	if err := env.prepare(ctx, c.spec); err != nil {
		return fail("sncheck could not set up the instance for the check: %v", err)
	}
	env.logf("%s: %s grant, instance %s", c.ID, env.Grant, env.baseURL())
	return c.run(ctx, env)
}

func (s instanceSpec) String() string {
	var parts []string
	if s.rotation {
		parts = append(parts, "refresh-token rotation")
	}
	if s.public {
		parts = append(parts, "a public OAuth client")
	}
	if s.scopes != nil {
		parts = append(parts, "an OAuth application with the auth scopes "+strings.Join(s.scopes, ", "))
	}
	if s.hidePages {
		parts = append(parts, "a user without the admin role, whom ACLs apply to")
	}
	return strings.Join(parts, ", ")
}

func firstFrames(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	if len(lines) > 12 {
		lines = lines[:12]
	}
	return strings.Join(lines, " ")
}

var checks []IntegrationCheck

// define adds a check to the catalogue (suites.Define) and to this suite.
func define(c IntegrationCheck) IntegrationCheck {
	c.Suite = "integration"
	c.Check = suites.Define(c.Check)
	checks = append(checks, c)
	return c
}

// Checks returns the integration suite's checks, sorted by ID.
func Checks() []IntegrationCheck {
	out := slices.Clone(checks)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Lookup finds an integration check by ID.
func Lookup(id string) (IntegrationCheck, bool) {
	for _, c := range checks {
		if c.ID == id {
			return c, true
		}
	}
	return IntegrationCheck{}, false
}

// Grants lists the grants an integration can be configured with.
func Grants() []string {
	return []string{harness.GrantPassword, harness.GrantAuthorizationCode, harness.GrantClientCredentials}
}
