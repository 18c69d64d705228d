package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/suites"
	"github.com/sncheck/sncheck/suites/instance"
	"github.com/sncheck/sncheck/suites/integration"
)

// `sncheck check` runs the instance suite against a live instance, a fake
// at a URL, or a fresh embedded fake, in a child process (suites.RunSuite):
// the binary re-executes itself as `sncheck __suite instance`.

// checkBindings lists check's flags in the order the help shows them.
var checkBindings = append([]envBinding{
	{flag: "instance", env: harness.EnvInstance},
	{flag: "url", env: harness.EnvURL},
	{flag: "client-id", env: harness.EnvClientID},
	{flag: "client-secret", env: harness.EnvClientSecret, secret: true},
	{flag: "username", env: harness.EnvUsername},
	{flag: "password", env: harness.EnvPassword, secret: true},
	{flag: "redirect-uri", env: harness.EnvRedirectURI},
	{flag: "admin-token", env: suites.EnvAdminToken, secret: true},
	{flag: "allow-writes", env: suites.EnvAllowWrites},
	{flag: "label-filter"},
	{flag: "check"},
	{flag: "save"},
	{flag: "timeout"},
	{flag: "verbose"},
}, outputBindings...) // report hook: --quiet, --junit, --json, --html (output.go)

// checkConfig is `sncheck check`'s command line and environment, parsed.
type checkConfig struct {
	instance, url string
	creds         harness.Credentials
	adminToken    string
	allowWrites   bool
	labelFilter   string
	checks        multiFlag
	save          string
	timeout       time.Duration
	verbose       bool
	out           *runOutput // report hook: output and report flags (output.go, reports.go)
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func (e *env) checkFlags() (*flag.FlagSet, *checkConfig) {
	c := &checkConfig{}
	fs := e.newFlagSet("check")
	fs.StringVar(&c.instance, "instance", "", "check the live instance `name` (dev12345 = https://dev12345.service-now.com)")
	fs.StringVar(&c.url, "url", "", "check the instance at this base `URL`: a live instance, or a fake\n(sncheck serve), which is recognised and driven through its control API")
	fs.StringVar(&c.creds.ClientID, "client-id", "", "the OAuth application's client `id`")
	fs.StringVar(&c.creds.ClientSecret, "client-secret", "", "the OAuth application's client `secret`; prefer the variable, a flag shows in ps")
	fs.StringVar(&c.creds.Username, "username", "", "a `user` that may use the password grant")
	fs.StringVar(&c.creds.Password, "password", "", "the user's `password`; prefer the variable, a flag shows in ps")
	fs.StringVar(&c.creds.RedirectURI, "redirect-uri", "", "the application's Redirect `URL`, for the authorization-code checks")
	fs.StringVar(&c.adminToken, "admin-token", "", "the admin `token` of a fake at --url started with one")
	fs.BoolVar(&c.allowWrites, "allow-writes", false, "let the checks create, change and delete records on a live instance\n(marked with the run marker and always deleted); a fake always allows them")
	fs.StringVar(&c.labelFilter, "label-filter", "", "run only the checks whose labels match this Ginkgo label `expression`\n(labels: oauth, table, scope, expiry, writes, fake-only)")
	fs.Var(&c.checks, "check", "run only this check `ID` (repeatable)")
	fs.StringVar(&c.save, "save", "", "write the run as JSON to this `file` (for sncheck diff and reports)")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Minute, "give up after this `duration`")
	fs.BoolVar(&c.verbose, "verbose", false, "also show the suite's own (Ginkgo) output")
	c.out = e.runOutputFlags(fs, &c.verbose) // report hook (output.go)
	return fs, c
}

func checkUsage(fs *flag.FlagSet) func(io.Writer) {
	return func(w io.Writer) {
		fmt.Fprint(w, `Usage: sncheck check [--instance NAME | --url URL] [flags]
       sncheck --instance NAME [flags]
       sncheck --url URL [flags]

Runs the instance suite: checks that a ServiceNow instance, and its OAuth
application, behave as the integrations written for them expect. With no
instance or URL it checks a fresh embedded fake.

Against a live instance the run is read-only unless --allow-writes, the
checks that need the fake (its clock, its configuration) are left out, and
every failure comes with a hint naming the setup step to fix. Secrets are
never printed; pass them in the environment rather than as flags.

Exit codes: 0 every check passed, 1 the run could not be made, 2 usage,
3 a check failed.

Flags:
`)
		printFlags(w, fs, checkBindings)
	}
}

// runCheck is `sncheck check`, also reached as `sncheck --instance NAME`
// and `sncheck --url URL`.
func runCheck(ctx context.Context, e *env, args []string) error {
	fs, c := e.checkFlags()
	pos, err := e.parseFlags(fs, args, checkUsage(fs))
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("sncheck check: unexpected argument %q", pos[0])
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if err := applyEnv(fs, e.getenv, checkBindings); err != nil {
		return err
	}
	if err := c.out.check("check"); err != nil { // report hook (output.go)
		return err
	}
	for _, name := range []string{"client-secret", "password", "admin-token"} {
		if given[name] {
			fmt.Fprintf(e.stderr, "sncheck check: warning: --%s on the command line is visible to other users (ps); prefer its environment variable\n", name)
		}
	}
	if c.instance != "" && c.url != "" {
		return usageErrorf("sncheck check: give --instance or --url, not both")
	}
	if c.timeout <= 0 {
		return usageErrorf("sncheck check: --timeout must be positive")
	}
	if _, err := types.ParseLabelFilter(c.labelFilter); err != nil {
		return usageErrorf("sncheck check: --label-filter: %v", err)
	}
	for _, id := range c.checks {
		if ch, ok := suites.Lookup(id); !ok || ch.Suite != "instance" {
			return usageErrorf("sncheck check: --check %s: no such check in the instance suite (see docs/checks.md)", id)
		}
	}

	tgt, err := e.resolveCheckTarget(ctx, c)
	if err != nil {
		return err
	}
	defer tgt.close()

	labelFilter := c.labelFilter
	if tgt.info.Live {
		// Checks that need the fake's controller cannot run (house style H-11).
		labelFilter = andFilter(labelFilter, "!fake-only")
	}
	marker := e.getenv(suites.EnvRunMarker)
	if marker == "" {
		marker = instance.NewMarker()
	}
	tgt.vars[suites.EnvRunMarker] = marker
	if c.allowWrites {
		tgt.vars[suites.EnvAllowWrites] = "true"
	}

	mode := "read-only"
	if c.allowWrites || !tgt.info.Live {
		mode = "writes allowed, marked " + marker
	}
	fmt.Fprintf(e.stdout, "sncheck check: instance suite against %s (%s)\n", tgt.describe, mode)

	out := &lockedWriter{w: e.stdout}
	opts := suites.RunOptions{
		Suite:       "instance",
		Command:     e.suiteCommand("instance"),
		Env:         suites.ChildEnv(os.Environ(), tgt.vars),
		LabelFilter: labelFilter,
		Checks:      c.checks,
		Timeout:     c.timeout,
		Progress:    c.out.progress(out), // report hook (output.go)
		Meta:        suites.RunMeta{Tool: "sncheck", Version: buildVersion(), Target: tgt.info},
	}
	if c.verbose {
		opts.Output, opts.Verbose = out, true
	}
	if c.allowWrites || !tgt.info.Live {
		opts.Sweep = func(ctx context.Context) (int, error) {
			t, err := tgt.maker(ctx)
			if err != nil {
				return 0, err
			}
			defer t.Close()
			return instance.Sweep(ctx, t, marker)
		}
	}
	return runAndReport(ctx, "sncheck check", opts, out, c.out, c.save)
}

// runAndReport runs a suite in a child process, prints its summary, saves
// and writes the reports, and turns the run into the command's exit code:
// what `sncheck check` and `sncheck verify` share.
func runAndReport(ctx context.Context, cmd string, opts suites.RunOptions, out io.Writer, ro *runOutput, save string) error {
	started := time.Now()
	run, err := suites.RunSuite(ctx, opts)
	if err != nil {
		return runtimeError(fmt.Errorf("%s: %w", cmd, err))
	}
	ro.summary(out, run, time.Since(started)) // report hook (output.go)
	if save != "" {
		if err := saveRun(save, run); err != nil {
			return runtimeError(fmt.Errorf("%s: --save: %w", cmd, err))
		}
		fmt.Fprintf(out, "saved the run to %s\n", save)
	}
	if err := ro.writeReports(out, run); err != nil { // report hook (reports.go)
		return runtimeError(fmt.Errorf("%s: %w", cmd, err))
	}
	switch {
	case len(run.Errors) > 0:
		return runtimeError(fmt.Errorf("%s: the run failed: %s", cmd, strings.Join(run.Errors, "; ")))
	case run.Interrupted:
		return runtimeError(fmt.Errorf("%s: interrupted", cmd))
	case run.Summary.Failed > 0:
		return &exitError{code: exitChecksFailed, err: fmt.Errorf("%s: %d of %d checks failed: %s",
			cmd, run.Summary.Failed, len(run.Results), strings.Join(run.FailedIDs(), ", "))}
	}
	return nil
}

// suiteCommand is the argv that runs a suite ("instance" or
// "integration") in a child: this binary.
func (e *env) suiteCommand(suite string) []string {
	exe, err := os.Executable()
	if err != nil {
		return nil // RunSuite reports it
	}
	return []string{exe, suites.ChildCommand, suite}
}

// checkTarget is where a check run goes, resolved from flags and env.
type checkTarget struct {
	info     suites.TargetInfo
	describe string
	// vars are the SN_*/SNCHECK_* variables that name the target to the
	// child.
	vars  map[string]string
	maker harness.Maker
	close func()
}

func (e *env) resolveCheckTarget(ctx context.Context, c *checkConfig) (*checkTarget, error) {
	t := &checkTarget{vars: map[string]string{}, close: func() {}}
	credVars := func(creds harness.Credentials) {
		t.vars[harness.EnvClientID] = creds.ClientID
		t.vars[harness.EnvClientSecret] = creds.ClientSecret
		t.vars[harness.EnvUsername] = creds.Username
		t.vars[harness.EnvPassword] = creds.Password
		t.vars[harness.EnvRedirectURI] = creds.RedirectURI
	}
	fakeAt := func(base string) {
		t.info = suites.TargetInfo{Name: "fake-url", URL: base}
		t.vars[suites.EnvFakeURL] = base
		t.vars[suites.EnvAdminToken] = c.adminToken
		credVars(c.creds)
		maker, _, _ := suites.TargetFromEnv(mapGetenv(t.vars))
		t.maker = maker
	}
	fakeURL := e.getenv(suites.EnvFakeURL)
	switch {
	case c.instance == "" && c.url == "" && fakeURL != "":
		fakeAt(strings.TrimSuffix(fakeURL, "/"))
		t.describe = "the fake at " + t.info.URL
		return t, nil
	case c.instance == "" && c.url == "":
		srv, err := fakesn.NewServer(fakesn.Options{})
		if err != nil {
			return nil, runtimeError(fmt.Errorf("sncheck check: starting the embedded fake: %w", err))
		}
		fakeAt(srv.URL())
		t.info.Name = "fake"
		t.describe = "a fresh embedded fake (" + srv.URL() + ")"
		t.close = srv.Close
		return t, nil
	}
	cfg := harness.LiveConfig{Instance: c.instance, URL: c.url, Credentials: c.creds}
	base, err := cfg.BaseURL()
	if err != nil {
		return nil, usageErrorf("sncheck check: %v", err)
	}
	if isFake(ctx, base, c.adminToken) {
		fakeAt(base)
		t.describe = "the fake at " + base
		return t, nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, usageErrorf("sncheck check: %v", err)
	}
	t.info = suites.TargetInfo{Name: "live", URL: base, Live: true}
	t.describe = "live instance " + base
	t.vars[harness.EnvURL] = base
	credVars(c.creds)
	t.maker = func(context.Context) (harness.Target, error) {
		cfg.URL, cfg.Instance = base, ""
		return harness.NewLiveTarget(cfg)
	}
	return t, nil
}

// isFake reports whether a loopback plain-http URL is a fake: its control
// API answers. A live instance is never asked.
func isFake(ctx context.Context, base, adminToken string) bool {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return fakesn.NewAdminClient(base, adminToken, &http.Client{Timeout: 3 * time.Second}).Health(ctx) == nil
}

func mapGetenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// andFilter joins two label filters.
func andFilter(a, b string) string {
	if strings.TrimSpace(a) == "" {
		return b
	}
	return "(" + a + ") && " + b
}

// lockedWriter serialises progress lines from the reader goroutine with
// the summary.
type lockedWriter struct {
	mu sync.Mutex // guards w
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func saveRun(path string, run *suites.Run) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := run.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runSuiteChild is the hidden `sncheck __suite NAME`: one suite, run in
// this process for a parent `sncheck check`.
func runSuiteChild(e *env, args []string) error {
	code := suites.SuiteMain(args, e.stderr, map[string]suites.Registrar{
		"instance": instance.Register, "integration": integration.RegisterFromEnviron,
	})
	if code == 0 {
		return nil
	}
	return &exitError{code: code, err: fmt.Errorf("sncheck %s: exit %d", suites.ChildCommand, code), shown: true}
}
