package cli

import (
	"errors"
	"fmt"
)

// Exit codes, documented in cmd/sncheck/doc.go.
const (
	exitOK           = 0 // success; every check passed
	exitRuntime      = 1 // the command could not do its job
	exitUsage        = 2 // wrong command line or FAKESN_*/SN_* environment
	exitChecksFailed = 3 // the command ran and some checks failed
)

// exitError is an error that carries the process exit code; cmd/sncheck
// finds it with errors.As on interface{ ExitCode() int }.
type exitError struct {
	code int
	err  error
	// shown means the message is already on stderr (the flag package
	// prints its own parse errors), so Run adds only the usage hint.
	shown bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }

// usageErrorf reports a wrong command line: exit code 2, a one-line message
// and a pointer to the help.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// runtimeError reports that a command could not do its job: exit code 1.
func runtimeError(err error) error {
	return &exitError{code: exitRuntime, err: err}
}

// errHelpShown ends a run after the usage was printed on request (-h,
// help); Run turns it into success.
var errHelpShown = errors.New("cli: help shown")

// exitCode is the code err maps to: 0 for nil, 1 when err carries none.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitRuntime
}
