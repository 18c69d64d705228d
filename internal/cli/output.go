package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/sncheck/sncheck/suites"
)

// How check and verify show a run to a person: one progress line per
// check as it finishes, then a summary that explains every failure with
// its hint. Colour only on a terminal, never with NO_COLOR
// (https://no-color.org); CLICOLOR_FORCE=1 asks for it anyway (CI logs
// that render ANSI). --quiet leaves only the summary; --verbose (the
// command's own flag) adds the suite's Ginkgo output and the failure
// lines as they happen.

// runOutput is a run's terminal output and report files, configured by
// the flags runOutputFlags registers.
type runOutput struct {
	quiet   bool
	verbose *bool // the command's --verbose
	color   bool
	reports reportFiles
}

// outputBindings are the flags runOutputFlags registers, in help order.
var outputBindings = []envBinding{
	{flag: "quiet"},
	{flag: "junit"},
	{flag: "json"},
	{flag: "html"},
}

// runOutputFlags registers --quiet and the report flags on fs; verbose is
// the command's --verbose.
func (e *env) runOutputFlags(fs *flag.FlagSet, verbose *bool) *runOutput {
	o := &runOutput{verbose: verbose, color: useColor(e.stdout, e.getenv)}
	fs.BoolVar(&o.quiet, "quiet", false, "print only the summary: no line per check")
	o.reports.register(fs)
	return o
}

// check refuses contradictory flags; cmd names the command in the error.
func (o *runOutput) check(cmd string) error {
	if o.quiet && o.verbose != nil && *o.verbose {
		return usageErrorf("sncheck %s: give --quiet or --verbose, not both", cmd)
	}
	return o.reports.check(cmd)
}

// useColor reports whether output to w may use ANSI colour.
func useColor(w io.Writer, getenv func(string) string) bool {
	if getenv("NO_COLOR") != "" {
		return false
	}
	if v := getenv("CLICOLOR_FORCE"); v != "" && v != "0" {
		return true
	}
	if getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(w)
}

// isTerminal reports whether w is a terminal (not merely a character
// device: /dev/null is one too).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// ANSI styles.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
)

func (o *runOutput) style(code, s string) string {
	if !o.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (o *runOutput) mark(state string) string {
	switch state {
	case suites.StatePassed:
		return o.style(ansiGreen, "✓")
	case suites.StateFailed:
		return o.style(ansiRed, "✗")
	}
	return o.style(ansiYellow, "-")
}

// progress returns the RunOptions.Progress callback: one line per
// finished check, "✓ ID (0.12s)", "✗ ID (0.12s)" or "- ID (0.00s): reason".
func (o *runOutput) progress(w io.Writer) func(suites.Progress) {
	return func(p suites.Progress) {
		if o.quiet {
			return
		}
		line := fmt.Sprintf("%s %s %s", o.mark(p.State), p.ID, o.style(ansiDim, fmt.Sprintf("(%.2fs)", p.Seconds)))
		switch {
		case p.State == suites.StateSkipped && p.Reason != "":
			line += ": " + p.Reason
		case p.State == suites.StateFailed && p.Reason != "" && o.verbose != nil && *o.verbose:
			line += ": " + p.Reason
		}
		fmt.Fprintln(w, line)
	}
}

// summary writes the counts, the run's errors, and every failed check
// with what was seen and the hint.
func (o *runOutput) summary(w io.Writer, run *suites.Run, took time.Duration) {
	s := run.Summary
	counts := []string{
		o.style(ansiGreen, fmt.Sprintf("%d passed", s.Passed)),
		fmt.Sprintf("%d failed", s.Failed),
		fmt.Sprintf("%d skipped", s.Skipped),
	}
	if s.Failed > 0 {
		counts[1] = o.style(ansiBold+ansiRed, counts[1])
	}
	if s.Skipped > 0 {
		counts[2] = o.style(ansiYellow, counts[2])
	}
	if !o.quiet {
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%d checks: %s in %.1fs", len(run.Results), strings.Join(counts, ", "), took.Seconds())
	if run.Requests > 0 {
		fmt.Fprintf(w, " (%d requests)", run.Requests)
	}
	fmt.Fprintln(w)
	if run.Interrupted {
		fmt.Fprintln(w, o.style(ansiYellow, "The run was interrupted; checks that did not run are skipped."))
	}
	for _, e := range run.Errors {
		fmt.Fprintf(w, "%s %s\n", o.style(ansiBold+ansiRed, "error:"), e)
	}
	failed := run.Failed()
	if len(failed) == 0 {
		return
	}
	fmt.Fprintln(w, "\n"+o.style(ansiBold, "Failed checks:"))
	for _, r := range failed {
		fmt.Fprintf(w, "\n%s %s: %s\n", o.mark(suites.StateFailed), o.style(ansiBold, r.ID), r.Statement)
		fmt.Fprintf(w, "  seen: %s\n", r.Message)
		if r.Hint != "" {
			fmt.Fprintf(w, "  %s %s\n", o.style(ansiYellow, "hint:"), r.Hint)
		}
		if r.Location != "" && o.verbose != nil && *o.verbose {
			fmt.Fprintf(w, "  %s\n", o.style(ansiDim, "at "+r.Location))
		}
	}
}
