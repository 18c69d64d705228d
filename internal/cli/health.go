package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/sncheck/sncheck/fakesn"
)

var healthBindings = []envBinding{
	{flag: "admin-token", env: "FAKESN_ADMIN_TOKEN", secret: true},
	{flag: "timeout"},
}

// runHealth asks a running fake whether it is healthy: exit 0 if so, 1 if
// not. It is the container image's health probe (a FROM scratch image has
// no shell or curl).
func runHealth(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("health")
	adminToken := fs.String("admin-token", "", "the fake's admin `token`, needed when it was started with one")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this `duration`")
	usage := func(w io.Writer) {
		fmt.Fprint(w, `Usage: sncheck health URL [flags]

Asks the fake at URL (for example http://127.0.0.1:8080) whether it is
healthy, through GET URL/_fakesn/health. Exits 0 when it is and 1 when it is
not or does not answer, so it can serve as a container's health probe.

Flags:
`)
		printFlags(w, fs, healthBindings)
	}
	pos, err := e.parseFlags(fs, args, usage)
	if err != nil {
		return err
	}
	if err := applyEnv(fs, e.getenv, healthBindings); err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usageErrorf("sncheck health: missing URL of the fake")
	case len(pos) > 1:
		return usageErrorf("sncheck health: want one URL, got %d arguments", len(pos))
	case *timeout <= 0:
		return usageErrorf("sncheck health: --timeout must be positive")
	}
	base := pos[0]
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErrorf("sncheck health: the argument is not an http:// or https:// URL")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	client := fakesn.NewAdminClient(base, *adminToken, &http.Client{Timeout: *timeout})
	if err := client.Health(ctx); err != nil {
		return runtimeError(fmt.Errorf("sncheck health: %w", err))
	}
	fmt.Fprintf(e.stdout, "healthy: %s\n", u.Redacted())
	return nil
}
