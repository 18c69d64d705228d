package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sncheck/sncheck/suites"
)

// Run runs the sncheck command line args (without the program name),
// writing to stdout and stderr. Run itself reports every failure on
// stderr; the error it returns carries the exit code, found with errors.As
// on interface{ ExitCode() int }. Cancelling ctx stops a long-running
// command (serve) cleanly.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return run(ctx, args, &env{stdout: stdout, stderr: stderr, getenv: os.Getenv})
}

// env is what a command reads besides its arguments. Tests inject getenv
// instead of changing the process environment, so they can run in
// parallel.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

func run(ctx context.Context, args []string, e *env) error {
	err := dispatch(ctx, args, e)
	if errors.Is(err, errHelpShown) {
		return nil
	}
	if err != nil {
		report(e.stderr, err)
	}
	return err
}

// dispatch runs one subcommand. Adding one is a new file with its run
// function and one case here (plus its line in the usage text).
func dispatch(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 {
		return usageErrorf("sncheck: no command given")
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, e, args[1:])
	case "health":
		return runHealth(ctx, e, args[1:])
	case "version", "-version", "--version":
		return runVersion(e, args[1:])
	case "help", "-h", "-help", "--help":
		return runHelp(ctx, e, args[1:])
	case "check":
		return runCheck(ctx, e, args[1:])
	case "checks": // report hook (checks.go)
		return runChecks(e, args[1:])
	case "diff":
		return runDiff(e, args[1:])
	case "verify":
		return runVerify(ctx, e, args[1:])
	case suites.ChildCommand: // hidden: a suite run for a parent check
		return runSuiteChild(e, args[1:])
	}
	// `sncheck --instance dev123` and `sncheck --url URL` mean check.
	if strings.HasPrefix(args[0], "-") {
		return runCheck(ctx, e, args)
	}
	return usageErrorf("sncheck: unknown command %q", args[0])
}

// report writes a failure to stderr: usage errors with a pointer to the
// help, everything else as one line.
func report(stderr io.Writer, err error) {
	var ee *exitError
	if !errors.As(err, &ee) {
		fmt.Fprintf(stderr, "sncheck: %v\n", err)
		return
	}
	if !ee.shown {
		fmt.Fprintln(stderr, ee.err)
	}
	if ee.code == exitUsage {
		fmt.Fprintln(stderr, "run 'sncheck help' for usage")
	}
}

const usageText = `sncheck checks that ServiceNow integrations survive what a real instance
does, and runs a faithful fake instance for offline development.

Usage:

	sncheck <command> [flags] [arguments]

Commands:

	check     check an instance (or the fake) with the instance suite;
	          sncheck --instance NAME and sncheck --url URL mean check
	verify    verify an integration with the integration suite:
	          sncheck verify -- ADAPTER-COMMAND [ARGS...]
	checks    list every check: ID, suite, labels, statement (--json)
	diff      compare two runs saved with check or verify --save
	serve     run the fake ServiceNow instance
	health    check that a running fake answers (for container health probes)
	version   print the version
	help      print this help, or a command's: sncheck help <command>

Run 'sncheck <command> -h' for a command's flags and environment variables.

Exit codes: 0 success (all checks passed), 1 runtime error, 2 usage error,
3 checks failed.
`

// runHelp prints the overview, or a command's usage (the same as
// `sncheck <command> -h`).
func runHelp(ctx context.Context, e *env, args []string) error {
	switch len(args) {
	case 0:
		fmt.Fprint(e.stdout, usageText)
		return errHelpShown
	case 1:
		if args[0] == "help" || strings.HasPrefix(args[0], "-") {
			fmt.Fprint(e.stdout, usageText)
			return errHelpShown
		}
		err := dispatch(ctx, []string{args[0], "-h"}, e)
		var ee *exitError
		if errors.As(err, &ee) && ee.code == exitUsage {
			return usageErrorf("sncheck help: unknown command %q", args[0])
		}
		return err
	}
	return usageErrorf("sncheck help: want at most one command, got %d arguments", len(args))
}
