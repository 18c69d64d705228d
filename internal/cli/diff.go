package cli

import (
	"fmt"
	"io"

	"github.com/sncheck/sncheck/suites"
)

// runDiff is `sncheck diff A.json B.json`: every difference between two
// saved runs, by check ID. Exit 0 when there is none, 3 when there are.
func runDiff(e *env, args []string) error {
	fs := e.newFlagSet("diff")
	usage := func(w io.Writer) {
		fmt.Fprint(w, `Usage: sncheck diff A.json B.json

Compares two runs saved with sncheck check --save (the fake and a live
instance, or two instances) and prints every difference by check ID: a
check's state, and for each answer it observed, the status, the headers that
matter (Content-Type, WWW-Authenticate, Link, X-Total-Count, ...) and the
JSON shape of the body. Values that differ between instances by nature
(tokens, sys_ids, record contents) are masked when the run is saved.

Exit codes: 0 no difference, 1 a file could not be read, 2 usage,
3 the runs differ.
`)
	}
	pos, err := e.parseFlags(fs, args, usage)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageErrorf("sncheck diff: want two saved runs (A.json B.json), got %d arguments", len(pos))
	}
	a, err := suites.ReadRunFile(pos[0])
	if err != nil {
		return runtimeError(fmt.Errorf("sncheck diff: %w", err))
	}
	b, err := suites.ReadRunFile(pos[1])
	if err != nil {
		return runtimeError(fmt.Errorf("sncheck diff: %w", err))
	}
	diffs := suites.Diff(a, b)
	fmt.Fprintf(e.stdout, "A: %s (%s %s, %s)\nB: %s (%s %s, %s)\n", pos[0], a.Target.Name, a.Target.URL, a.Started.Format("2006-01-02 15:04:05Z"),
		pos[1], b.Target.Name, b.Target.URL, b.Started.Format("2006-01-02 15:04:05Z"))
	for _, d := range diffs {
		fmt.Fprintln(e.stdout, d.String())
	}
	if len(diffs) == 0 {
		fmt.Fprintln(e.stdout, "no differences")
		return nil
	}
	return &exitError{code: exitChecksFailed, err: fmt.Errorf("sncheck diff: %d differences", len(diffs))}
}
