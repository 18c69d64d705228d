// Command sncheck-reference is the reference integration as an
// sncheck-driver/1 adapter (docs/driver-protocol.md): it reads requests
// on stdin, answers on stdout and logs to stderr.
//
//	sncheck verify -- sncheck-reference
//	sncheck verify -- sncheck-reference -bug never-refresh
//
// The connection comes from SN_INSTANCE_URL, SN_CLIENT_ID, SN_CLIENT_SECRET,
// SN_USERNAME, SN_PASSWORD, SN_GRANT_TYPE, SN_REDIRECT_URI and SN_STATE_DIR.
// -bug (or SNCHECK_BUG) switches on deliberate mistakes; -list-bugs
// lists them. Exit codes: 0 after shutdown or end of input, 1 on a runtime
// error, 2 on a usage or configuration error.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sncheck/sncheck/examples/reference"
	"github.com/sncheck/sncheck/examples/reference/snclient"
	"github.com/sncheck/sncheck/harness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sncheck-reference", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bugList := fs.String("bug", getenv("SNCHECK_BUG"), "comma-separated bug switches (default $SNCHECK_BUG); see -list-bugs")
	listBugs := fs.Bool("list-bugs", false, "list the bug switches and exit")
	pageSize := fs.Int("page-size", 100, "sysparm_limit for lists")
	maxRetries := fs.Int("max-retries", 3, "retries after a 429 or a 5xx")
	backoff := fs.Duration("backoff", 200*time.Millisecond, "first wait before retrying a 5xx, doubled each retry")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *listBugs {
		for _, b := range snclient.BugList() {
			fmt.Fprintf(stdout, "%-26s %s\n", b.Name, b.Description)
		}
		return 0
	}
	bugs, err := snclient.ParseBugs(*bugList)
	if err != nil {
		fmt.Fprintln(stderr, "sncheck-reference:", err)
		return 2
	}
	cfg, err := harness.ConfigFromEnv(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "sncheck-reference:", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if s := bugs.String(); s != "" {
		logger.Warn("deliberate bugs switched on", "bugs", s)
	}
	integ, err := reference.New(cfg, snclient.Config{
		Bugs: bugs, Logger: logger, PageSize: *pageSize, MaxRetries: *maxRetries, Backoff: *backoff,
	})
	if err != nil {
		fmt.Fprintln(stderr, "sncheck-reference:", err)
		return 2
	}
	if err := harness.ServeDriver(ctx, integ, stdin, stdout); err != nil {
		fmt.Fprintln(stderr, "sncheck-reference:", err)
		return 1
	}
	return 0
}
