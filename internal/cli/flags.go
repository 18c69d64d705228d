package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// newFlagSet returns a flag set for a subcommand. Parse errors go to
// stderr as the flag package words them; the usage is printed only on
// request, by parseFlags.
func (e *env) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments
// (`sncheck health URL --admin-token T`), and returns the positional ones.
// After "--" everything is positional. On -h it prints usage to stdout and
// returns errHelpShown.
func (e *env) parseFlags(fs *flag.FlagSet, args []string, usage func(io.Writer)) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			usage(e.stdout)
			return nil, errHelpShown
		}
		if err != nil {
			return nil, &exitError{code: exitUsage, err: err, shown: true}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// The flag package consumed a "--" right before rest.
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// envBinding ties a flag to the environment variable that sets it when the
// flag is not given.
type envBinding struct {
	flag   string
	env    string // empty: the flag has no variable
	secret bool   // never echo the value, even in an error
}

// applyEnv sets every flag that the command line left alone from its
// environment variable, so a flag always wins over the environment.
func applyEnv(fs *flag.FlagSet, getenv func(string) string, bindings []envBinding) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, b := range bindings {
		if b.env == "" || given[b.flag] {
			continue
		}
		v := getenv(b.env)
		if v == "" {
			continue
		}
		if err := fs.Set(b.flag, v); err != nil {
			why := explainSetError(fs.Lookup(b.flag), err)
			if b.secret {
				return usageErrorf("sncheck %s: %s: invalid value: %s", fs.Name(), b.env, why)
			}
			return usageErrorf("sncheck %s: %s: invalid value %q: %s", fs.Name(), b.env, v, why)
		}
	}
	return nil
}

// explainSetError words a flag.Set failure; the flag package's own
// "parse error" says nothing about what was wanted.
func explainSetError(f *flag.Flag, err error) string {
	if g, ok := f.Value.(flag.Getter); ok && strings.Contains(err.Error(), "parse error") {
		switch g.Get().(type) {
		case bool:
			return "want true or false"
		case int:
			return "want a whole number"
		case time.Duration:
			return "want a duration such as 30s or 5m"
		}
	}
	return err.Error()
}

// printFlags writes the flags in bindings order, each with its default and
// environment variable.
func printFlags(w io.Writer, fs *flag.FlagSet, bindings []envBinding) {
	for _, b := range bindings {
		f := fs.Lookup(b.flag)
		if f == nil {
			continue
		}
		arg, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if arg != "" {
			line += " " + arg
		}
		fmt.Fprintln(w, line)
		for l := range strings.SplitSeq(usage, "\n") {
			fmt.Fprintln(w, "        "+l)
		}
		var extra []string
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0s" && !b.secret {
			extra = append(extra, fmt.Sprintf("default %s", f.DefValue))
		}
		if b.env != "" {
			extra = append(extra, "env "+b.env)
		}
		if len(extra) > 0 {
			fmt.Fprintf(w, "        (%s)\n", strings.Join(extra, "; "))
		}
	}
}

// enumValue is a string flag limited to a fixed set of values.
type enumValue struct {
	p       *string
	allowed []string
}

// newEnum binds p, set to def, to a flag that accepts only allowed.
func newEnum(p *string, def string, allowed ...string) *enumValue {
	*p = def
	return &enumValue{p: p, allowed: allowed}
}

func (v *enumValue) String() string {
	if v == nil || v.p == nil {
		return ""
	}
	return *v.p
}

func (v *enumValue) Set(s string) error {
	for _, a := range v.allowed {
		if s == a {
			*v.p = s
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(v.allowed, ", "))
}

// timeValue is an RFC 3339 time flag; empty means unset.
type timeValue struct{ p *time.Time }

func (v timeValue) String() string {
	if v.p == nil || v.p.IsZero() {
		return ""
	}
	return v.p.Format(time.RFC3339)
}

func (v timeValue) Set(s string) error {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time such as 2025-01-02T15:04:05Z")
	}
	*v.p = t.UTC()
	return nil
}
