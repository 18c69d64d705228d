// Package suites holds the sncheck spec libraries: the instance suite
// (suites/instance: what a ServiceNow instance does) and the integration
// suite (suites/integration: what a correct integration does), plus what
// they share: the check catalogue, target selection and observations.
//
// Specs are Ginkgo v2 specs registered by functions in ordinary .go files,
// so they run from `go test`, the ginkgo CLI, and inside the sncheck binary.
package suites

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/onsi/ginkgo/v2"
)

// Check is one entry of the catalogue: a stable ID, the suite it belongs
// to, a one-line statement of what must hold, and a hint that names the
// fix when it does not.
type Check struct {
	ID        string   `json:"id"`
	Suite     string   `json:"suite"` // "instance" or "integration"
	Statement string   `json:"statement"`
	Labels    []string `json:"labels"`
	// Hint names the likely cause and the step that fixes it.
	Hint string `json:"hint,omitempty"`
	// Needs lists what the check needs from a target beyond observation:
	// clock, faults, journal, config, writes, revocation.
	Needs []string `json:"needs,omitempty"`
}

var (
	catalogueMu sync.Mutex // guards catalogue
	catalogue   = map[string]Check{}
)

var checkIDPattern = regexp.MustCompile(`^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$`)

// Define adds a check to the catalogue. A malformed or duplicate ID is a
// programming error and panics at package initialisation.
func Define(c Check) Check {
	if !checkIDPattern.MatchString(c.ID) {
		panic(fmt.Sprintf("suites: check ID %q must look like AREA-NAME", c.ID))
	}
	if c.Statement == "" || c.Suite == "" {
		panic(fmt.Sprintf("suites: check %s needs a suite and a statement", c.ID))
	}
	catalogueMu.Lock()
	defer catalogueMu.Unlock()
	if _, dup := catalogue[c.ID]; dup {
		panic(fmt.Sprintf("suites: check ID %s defined twice", c.ID))
	}
	c.Labels = append([]string{c.Suite}, c.Labels...)
	catalogue[c.ID] = c
	return c
}

// Catalogue returns every defined check, sorted by suite then ID.
func Catalogue() []Check {
	catalogueMu.Lock()
	defer catalogueMu.Unlock()
	out := make([]Check, 0, len(catalogue))
	for _, c := range catalogue {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Suite != out[j].Suite {
			return out[i].Suite < out[j].Suite
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Lookup finds a check by ID.
func Lookup(id string) (Check, bool) {
	catalogueMu.Lock()
	defer catalogueMu.Unlock()
	c, ok := catalogue[id]
	return c, ok
}

// Title is the spec text: "[ID] statement".
func (c Check) Title() string { return "[" + c.ID + "] " + c.Statement }

// Has reports whether the check carries label.
func (c Check) Has(label string) bool { return slices.Contains(c.Labels, label) }

// It declares the check's spec with its labels. args are what ginkgo.It
// takes after the text (decorators, then the body).
func (c Check) It(args ...any) bool {
	return ginkgo.It(c.Title(), append([]any{ginkgo.Label(c.Labels...)}, args...)...)
}

// IDFromText extracts a check ID from a spec's text ("[ID] statement").
func IDFromText(text string) string {
	if !strings.HasPrefix(text, "[") {
		return ""
	}
	id, _, ok := strings.Cut(text[1:], "]")
	if !ok {
		return ""
	}
	return id
}

// FocusRegexp returns the Ginkgo focus expression that runs only ids.
func FocusRegexp(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = regexp.QuoteMeta("[" + id + "]")
	}
	return strings.Join(q, "|")
}
