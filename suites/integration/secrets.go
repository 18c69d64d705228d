package integration

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/suites"
)

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "SECRETS-NOT-LOGGED",
		Statement: "never writes the client secret, the password, an access token or a refresh token to its output",
		Labels:    []string{"secrets"},
		Hint:      "log requests without their bodies and Authorization headers, and redact secret query parameters; logs are read by more people than the vault",
		Needs:     []string{"clock"},
	},
	run: checkSecretsNotLogged,
})

// tokenLike finds candidate tokens: 86 base64url characters, standing alone.
var tokenLike = regexp.MustCompile(`[A-Za-z0-9_-]{86,}`)

func checkSecretsNotLogged(ctx context.Context, env *Env) Result {
	integ, r := connected(ctx, env)
	if r != nil {
		return *r
	}
	_, _ = integ.List(ctx, probeTable, "active=true^priority=1", []string{"sys_id", "number"})
	if err := env.Advance(ctx, tokenLife); err != nil {
		return fail("sncheck could not move the fake's clock: %v", err)
	}
	_ = probe(ctx, integ)
	out, ok := env.Output()
	if !ok {
		return skip("the integration shows sncheck no output to scan (an exec adapter's stderr is scanned; a Go integration in process can implement harness.OutputCapturer)")
	}
	es, err := env.Journal(ctx, fakesn.JournalFilter{API: "oauth_token"})
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	issued := map[string]string{}
	for _, e := range es {
		if e.IssuedAccess != "" {
			issued[e.IssuedAccess] = "an access token"
		}
		if e.IssuedRefresh != "" {
			issued[e.IssuedRefresh] = "a refresh token"
		}
	}
	found := leaks(out, env.canary, issued)
	if len(found) > 0 {
		return fail("The integration's output (%d bytes) contains %s. Secrets in logs outlive the run and reach whoever reads them: log requests without bodies, Authorization headers or secret parameters.",
			len(out), strings.Join(found, ", "))
	}
	return pass()
}

// leaks lists the secrets found in out, by kind and count; tokens are
// named by fingerprint, never shown.
func leaks(out []byte, c canary, issued map[string]string) []string {
	var found []string
	count := func(what, secret string) {
		if secret == "" {
			return
		}
		if n := bytes.Count(out, []byte(secret)); n > 0 {
			found = append(found, fmt.Sprintf("%s (%s)", what, countOf(n, "time")))
		}
	}
	count("the client secret", c.clientSecret)
	count("the user's password", c.password)
	seen := map[string]int{}
	var order []string
	for _, m := range tokenLike.FindAll(out, -1) {
		// A longer run may hold a token with neighbours glued on.
		for i := 0; i+86 <= len(m) && i < 1024; i++ {
			fp := fakesn.Fingerprint(string(m[i : i+86]))
			if _, ok := issued[fp]; ok {
				if seen[fp] == 0 {
					order = append(order, fp)
				}
				seen[fp]++
				break
			}
		}
	}
	for _, fp := range order {
		found = append(found, fmt.Sprintf("%s (fingerprint %s, %s)", issued[fp], fp, countOf(seen[fp], "time")))
	}
	return found
}
