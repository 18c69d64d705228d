package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/suites"
	"github.com/sncheck/sncheck/suites/instance"
	"github.com/sncheck/sncheck/suites/integration"
)

// `sncheck verify -- COMMAND [ARGS…]` runs the integration suite against an
// adapter (docs/driver-protocol.md), with a fresh embedded fake per check,
// in a child process like check: the binary re-executes itself as
// `sncheck __suite integration`, and the adapter command reaches the child
// in SNCHECK_ADAPTER.

// verifyBindings lists verify's flags in the order the help shows them.
var verifyBindings = append([]envBinding{
	{flag: "grant", env: integration.EnvGrant},
	// live: the instance is named only on the command line, so that SN_*
	// variables set for `sncheck check` never turn a verify run live.
	{flag: "instance"},
	{flag: "url"},
	{flag: "client-id", env: harness.EnvClientID},
	{flag: "client-secret", env: harness.EnvClientSecret, secret: true},
	{flag: "username", env: harness.EnvUsername},
	{flag: "password", env: harness.EnvPassword, secret: true},
	{flag: "allow-writes", env: suites.EnvAllowWrites},
	{flag: "max-requests"},
	{flag: "label-filter"},
	{flag: "check"},
	{flag: "save"},
	{flag: "timeout"},
	{flag: "verbose"},
}, outputBindings...) // report hook: --quiet, --junit, --json, --html (output.go)

type verifyConfig struct {
	grant       string
	labelFilter string
	checks      multiFlag
	save        string
	timeout     time.Duration
	verbose     bool
	out         *runOutput // report hook: output and report flags (output.go, reports.go)

	// live: the instance to verify against through the recording proxy
	instance, url string
	creds         harness.Credentials
	allowWrites   bool
	maxRequests   int
}

func (e *env) verifyFlags() (*flag.FlagSet, *verifyConfig) {
	c := &verifyConfig{}
	fs := e.newFlagSet("verify")
	fs.Var(newEnum(&c.grant, "password", integration.Grants()...), "grant", "the grant the adapter is configured with (`password|authorization_code|client_credentials`),\npassed to it as SN_GRANT_TYPE")
	fs.StringVar(&c.instance, "instance", "", "verify against the live instance `name` (dev12345 = https://dev12345.service-now.com)\nthrough a recording proxy, instead of a fresh fake per check (docs/live-verify.md)")
	fs.StringVar(&c.url, "url", "", "verify against the live instance at this base `URL` (https; plain http only on loopback)")
	fs.StringVar(&c.creds.ClientID, "client-id", "", "live: the OAuth application's client `id`")
	fs.StringVar(&c.creds.ClientSecret, "client-secret", "", "live: the OAuth application's client `secret`; prefer the variable, a flag shows in ps")
	fs.StringVar(&c.creds.Username, "username", "", "live: the `user` the adapter connects as (and sncheck lists records as)")
	fs.StringVar(&c.creds.Password, "password", "", "live: the user's `password`; prefer the variable, a flag shows in ps")
	fs.BoolVar(&c.allowWrites, "allow-writes", false, "live: let the checks that create records run (marked with the run marker\nand deleted); without it they are skipped")
	fs.IntVar(&c.maxRequests, "max-requests", 0, "live: the most requests one check may send to the instance (`n`);\n0 means "+fmt.Sprint(integration.DefaultLiveCheckBudget))
	fs.StringVar(&c.labelFilter, "label-filter", "", "run only the checks whose labels match this Ginkgo label `expression`\n(labels: auth, refresh, expiry, scope, acl, ratelimit, faults, pagination, secrets)")
	fs.Var(&c.checks, "check", "run only this check `ID` (repeatable)")
	fs.StringVar(&c.save, "save", "", "write the run as JSON to this `file` (for sncheck diff and reports)")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Minute, "give up after this `duration`")
	fs.BoolVar(&c.verbose, "verbose", false, "also show the suite's own (Ginkgo) output")
	c.out = e.runOutputFlags(fs, &c.verbose) // report hook (output.go)
	return fs, c
}

func verifyUsage(fs *flag.FlagSet) func(io.Writer) {
	return func(w io.Writer) {
		fmt.Fprint(w, `Usage: sncheck verify [flags] -- COMMAND [ARGS...]

Runs the integration suite: checks that an integration survives what a real
instance does (token expiry and refresh, revoked tokens, missing scopes,
ACL denials, rate limits, 5xx, hibernation, short pages) and never leaks
its secrets. COMMAND is the integration's adapter, speaking the driver
protocol sncheck-driver/1 on stdin and stdout (docs/driver-protocol.md).

Every check starts the adapter against a fresh embedded fake instance, with
a canary user and OAuth application whose secrets are random, and judges
what the adapter sent from the fake's request journal. The adapter's stderr
is scanned for leaked secrets.

With --instance or --url, the adapter is pointed at a recording proxy in
front of that live instance instead, and the checks read the proxy's
journal: checks that only observe run as they are, token expiry is forced
by revocation, faults are injected by the proxy, and checks that need the
instance configured for them are skipped, with the reason
(docs/live-verify.md). Read-only unless --allow-writes.

Exit codes: 0 every check passed, 1 the run could not be made, 2 usage,
3 a check failed.

Flags:
`)
		printFlags(w, fs, verifyBindings)
	}
}

// runVerify is `sncheck verify`.
func runVerify(ctx context.Context, e *env, args []string) error {
	fs, c := e.verifyFlags()
	argv, err := e.parseFlags(fs, args, verifyUsage(fs))
	if err != nil {
		return err
	}
	given := map[string]bool{} // live: to warn about secrets on the command line
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if err := applyEnv(fs, e.getenv, verifyBindings); err != nil {
		return err
	}
	if err := c.out.check("verify"); err != nil { // report hook (output.go)
		return err
	}
	if len(argv) == 0 {
		return usageErrorf("sncheck verify: name the adapter command after --, as in: sncheck verify -- ./my-adapter")
	}
	if c.timeout <= 0 {
		return usageErrorf("sncheck verify: --timeout must be positive")
	}
	if _, err := types.ParseLabelFilter(c.labelFilter); err != nil {
		return usageErrorf("sncheck verify: --label-filter %q: %s", c.labelFilter, plainGinkgoError(err))
	}
	for _, id := range c.checks {
		if _, ok := integration.Lookup(id); !ok {
			return usageErrorf("sncheck verify: --check %s: no such check in the integration suite (see docs/checks.md)", id)
		}
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return usageErrorf("sncheck verify: adapter %q: %v", argv[0], errors.Unwrap(err))
	}
	adapter, err := json.Marshal(argv)
	if err != nil {
		return runtimeError(fmt.Errorf("sncheck verify: %w", err))
	}
	vars := map[string]string{
		integration.EnvAdapter: string(adapter),
		integration.EnvGrant:   c.grant,
	}
	target := suites.TargetInfo{Name: "fake"}
	where := "a fresh fake per check"
	live, err := e.verifyLive(c, given, vars) // live: --instance or --url
	if err != nil {
		return err
	}
	if live != nil {
		target, where = live.info, live.describe
	}

	fmt.Fprintf(e.stdout, "sncheck verify: integration suite against %s (%s grant), %s\n", strings.Join(quoteArgs(argv), " "), c.grant, where)
	out := &lockedWriter{w: e.stdout}
	opts := suites.RunOptions{
		Suite:       "integration",
		Command:     e.suiteCommand("integration"),
		Env:         suites.ChildEnv(os.Environ(), vars),
		LabelFilter: c.labelFilter,
		Checks:      c.checks,
		Timeout:     c.timeout,
		Progress:    c.out.progress(out), // report hook (output.go)
		Meta:        suites.RunMeta{Tool: "sncheck", Version: buildVersion(), Target: target},
	}
	if live != nil && live.sweep != nil {
		opts.Sweep = live.sweep
	}
	if c.verbose {
		opts.Output, opts.Verbose = out, true
	}
	return runAndReport(ctx, "sncheck verify", opts, out, c.out, c.save)
}

var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

// plainGinkgoError is a Ginkgo error on one line, without its colours and
// its "Learn more" link.
func plainGinkgoError(err error) string {
	var parts []string
	for _, line := range strings.Split(ansiEscape.ReplaceAllString(err.Error(), ""), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "Learn more at:") {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, ": ")
}

// quoteArgs shows a command line unambiguously.
func quoteArgs(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\"'\\$") {
			a = fmt.Sprintf("%q", a)
		}
		out[i] = a
	}
	return out
}

// verifyRun is a live verify run's target (--instance or --url).
type verifyRun struct {
	info     suites.TargetInfo
	describe string
	sweep    func(ctx context.Context) (int, error)
}

// verifyLive checks the live flags and names the instance, credentials,
// run marker and write permission to the child in vars; nil without
// --instance or --url.
func (e *env) verifyLive(c *verifyConfig, given map[string]bool, vars map[string]string) (*verifyRun, error) {
	if c.instance == "" && c.url == "" {
		return nil, nil
	}
	if c.instance != "" && c.url != "" {
		return nil, usageErrorf("sncheck verify: give --instance or --url, not both")
	}
	if c.grant == harness.GrantAuthorizationCode {
		return nil, usageErrorf("sncheck verify: the authorization_code grant cannot be verified against a live instance: it needs a user to log in on the instance's own login page, which sncheck plays only on the fake; verify it without --instance/--url")
	}
	if c.maxRequests < 0 {
		return nil, usageErrorf("sncheck verify: --max-requests must not be negative")
	}
	for _, name := range []string{"client-secret", "password"} {
		if given[name] {
			fmt.Fprintf(e.stderr, "sncheck verify: warning: --%s on the command line is visible to other users (ps); prefer its environment variable\n", name)
		}
	}
	cfg := harness.LiveConfig{Instance: c.instance, URL: c.url, Credentials: c.creds}
	base, err := cfg.BaseURL()
	if err != nil {
		return nil, usageErrorf("sncheck verify: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, usageErrorf("sncheck verify: %v", err)
	}
	marker := e.getenv(suites.EnvRunMarker)
	if marker == "" {
		marker = instance.NewMarker()
	}
	vars[integration.EnvLiveURL] = base
	vars[harness.EnvClientID] = c.creds.ClientID
	vars[harness.EnvClientSecret] = c.creds.ClientSecret
	vars[harness.EnvUsername] = c.creds.Username
	vars[harness.EnvPassword] = c.creds.Password
	vars[suites.EnvRunMarker] = marker
	if c.maxRequests > 0 {
		vars[integration.EnvLiveBudget] = fmt.Sprint(c.maxRequests)
	}
	run := &verifyRun{
		info:     suites.TargetInfo{Name: "live", URL: base, Live: true},
		describe: "live instance " + base + " through a recording proxy (read-only)",
	}
	if c.allowWrites {
		vars[suites.EnvAllowWrites] = "true"
		run.describe = "live instance " + base + " through a recording proxy (writes allowed, marked " + marker + ")"
		// Whatever a check could not delete (an interrupted run) goes too.
		run.sweep = func(ctx context.Context) (int, error) {
			cfg.URL, cfg.Instance = base, ""
			t, err := harness.NewLiveTarget(cfg)
			if err != nil {
				return 0, err
			}
			defer t.Close()
			return instance.Sweep(ctx, t, marker)
		}
	}
	return run, nil
}
