package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/sncheck/sncheck/suites"
	"github.com/sncheck/sncheck/suites/integration"
)

// `sncheck checks` lists the check catalogue (suites.Catalogue): the
// entries the suites run, the reports name, and docs/checks.md is
// generated from (suites/instance and suites/integration TestChecksDoc).

// checkInfo is one catalogue entry as `sncheck checks --json` writes it.
type checkInfo struct {
	suites.Check
	// Grants are the grants an integration check applies to; empty means
	// every grant (and is always empty for the instance suite).
	Grants []string `json:"grants,omitempty"`
	// NotFor says why an integration check leaves out the other grants.
	NotFor string `json:"not_for,omitempty"`
}

// catalogue lists every check, sorted by suite then ID.
func catalogue() []checkInfo {
	var out []checkInfo
	for _, c := range suites.Catalogue() {
		info := checkInfo{Check: c}
		if ic, ok := integration.Lookup(c.ID); ok {
			info.Grants, info.NotFor = ic.Grants, ic.NotFor
		}
		out = append(out, info)
	}
	return out
}

var checksBindings = []envBinding{
	{flag: "suite"},
	{flag: "label-filter"},
	{flag: "json"},
}

func runChecks(e *env, args []string) error {
	fs := e.newFlagSet("checks")
	var suite string
	fs.Var(newEnum(&suite, "", "instance", "integration"), "suite", "list only this suite's checks (`instance|integration`)")
	labelFilter := fs.String("label-filter", "", "list only the checks whose labels match this Ginkgo label `expression`")
	asJSON := fs.Bool("json", false, "write the checks as a JSON array, with hints, needs and grants")
	usage := func(w io.Writer) {
		fmt.Fprint(w, `Usage: sncheck checks [--suite instance|integration] [--label-filter EXPR] [--json]

Lists every check sncheck runs: its stable ID, suite, labels and the one-line
statement of what must hold. The instance suite runs with sncheck check, the
integration suite with sncheck verify; run one check with --check ID, or a
group with --label-filter. docs/checks.md is generated from the same
catalogue.

Flags:
`)
		printFlags(w, fs, checksBindings)
	}
	pos, err := e.parseFlags(fs, args, usage)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("sncheck checks: unexpected argument %q", pos[0])
	}
	filter, err := types.ParseLabelFilter(*labelFilter)
	if err != nil {
		return usageErrorf("sncheck checks: --label-filter: %v", err)
	}
	var list []checkInfo
	for _, c := range catalogue() {
		if (suite == "" || c.Suite == suite) && (*labelFilter == "" || filter(c.Labels)) {
			list = append(list, c)
		}
	}
	if *asJSON {
		if list == nil {
			list = []checkInfo{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(list)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSUITE\tLABELS\tSTATEMENT")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, c.Suite, strings.Join(c.Labels[1:], ","), c.Statement)
	}
	if err := tw.Flush(); err != nil {
		return runtimeError(err)
	}
	if len(list) == 1 {
		fmt.Fprintln(e.stdout, "\n1 check")
	} else {
		fmt.Fprintf(e.stdout, "\n%d checks\n", len(list))
	}
	return nil
}
