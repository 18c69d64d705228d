package suites

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
)

// RunSchema identifies the JSON form of a Run. It changes only when a
// field changes meaning or goes away; new fields may appear within it.
const RunSchema = "sncheck-run/1"

// Run is the result of running a suite once: what `sncheck check --save`
// writes, what `sncheck diff` compares, and what report writers (JUnit,
// HTML) read. Its JSON form is the report schema RunSchema.
type Run struct {
	// Schema is RunSchema.
	Schema string `json:"schema"`
	// Tool is the program that ran the suite ("sncheck").
	Tool string `json:"tool"`
	// Version is the tool's version.
	Version string `json:"version"`
	// Suite names the suite: "instance" or "integration".
	Suite string `json:"suite"`
	// Target is what the suite ran against.
	Target TargetInfo `json:"target"`
	// Started and Finished bound the run, in UTC.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Seed is the Ginkgo random seed the run used.
	Seed int64 `json:"seed,omitempty"`
	// LabelFilter and Checks are the selection the run was asked for;
	// empty means every check.
	LabelFilter string   `json:"label_filter,omitempty"`
	Checks      []string `json:"checks,omitempty"`
	// Requests counts the HTTP requests the suite sent to the instance
	// (the fake's control API excluded); 0 when unknown.
	Requests int `json:"requests,omitempty"`
	// Interrupted is true when the run was stopped (Ctrl-C, timeout)
	// before every check ran; checks that did not run are skipped.
	Interrupted bool `json:"interrupted,omitempty"`
	// Errors are failures outside any check: the target could not be set
	// up, cleanup failed, the suite could not start. A run with errors is
	// a runtime failure (exit code 1), whatever its checks say.
	Errors []string `json:"errors,omitempty"`
	// Results holds one entry per check that was selected, sorted by ID.
	Results []Result `json:"results"`
	// Summary counts Results by state.
	Summary Summary `json:"summary"`
}

// TargetInfo says what a run checked.
type TargetInfo struct {
	// Name is the target's kind: "fake" (in process), "fake-url" (a fake
	// at a URL) or "live".
	Name string `json:"name"`
	// URL is the instance's base URL.
	URL string `json:"url"`
	// Live is true for a real instance.
	Live bool `json:"live"`
}

// Result states.
const (
	StatePassed  = "passed"
	StateFailed  = "failed"
	StateSkipped = "skipped"
)

// Result is the outcome of one check in a run.
type Result struct {
	// ID is the check's stable ID (OAUTH-TOKEN-SHAPE).
	ID string `json:"id"`
	// Suite is the check's suite.
	Suite string `json:"suite"`
	// Statement is what the check requires, in one line.
	Statement string `json:"statement"`
	// Labels are the check's labels, the suite's first.
	Labels []string `json:"labels"`
	// State is "passed", "failed" or "skipped".
	State string `json:"state"`
	// Message, for a failed check, is one readable paragraph: what was
	// seen and what should have been.
	Message string `json:"message,omitempty"`
	// Location is where in the suite's source a failed check failed.
	Location string `json:"location,omitempty"`
	// Hint, for a failed check, names the likely cause and the setup step
	// that fixes it (from the catalogue).
	Hint string `json:"hint,omitempty"`
	// SkipReason says why a skipped check did not run.
	SkipReason string `json:"skip_reason,omitempty"`
	// DurationSeconds is how long the check took.
	DurationSeconds float64 `json:"duration_seconds"`
	// Observations are the answers the check asserted on, in order.
	Observations []Observation `json:"observations,omitempty"`
	// Timeline is what the fake saw during the check, over its clock
	// (timeline.go); empty against a live instance. (report hook)
	Timeline []TimelineEvent `json:"timeline,omitempty"`
}

// Summary counts a run's results.
type Summary struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

// Failed lists the results that failed.
func (r *Run) Failed() []Result {
	var out []Result
	for _, res := range r.Results {
		if res.State == StateFailed {
			out = append(out, res)
		}
	}
	return out
}

// FailedIDs lists the IDs of failed checks, sorted.
func (r *Run) FailedIDs() []string {
	var out []string
	for _, res := range r.Failed() {
		out = append(out, res.ID)
	}
	return out
}

// Result finds a check's result.
func (r *Run) Result(id string) (Result, bool) {
	for _, res := range r.Results {
		if res.ID == id {
			return res, true
		}
	}
	return Result{}, false
}

// WriteJSON writes the run as indented JSON.
func (r *Run) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// ReadRun reads a run saved by WriteJSON, checking its schema.
func ReadRun(r io.Reader) (*Run, error) {
	var run Run
	dec := json.NewDecoder(r)
	if err := dec.Decode(&run); err != nil {
		return nil, fmt.Errorf("suites: not a saved run: %w", err)
	}
	if run.Schema != RunSchema {
		return nil, fmt.Errorf("suites: saved run has schema %q, want %q", run.Schema, RunSchema)
	}
	return &run, nil
}

// ReadRunFile reads a run from a file.
func ReadRunFile(path string) (*Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("suites: %w", err)
	}
	defer f.Close()
	run, err := ReadRun(f)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return run, nil
}

// RunMeta is what FromReport needs besides the Ginkgo report.
type RunMeta struct {
	Tool, Version, Suite string
	Target               TargetInfo
	LabelFilter          string
	Checks               []string
	// Requests, when not 0, overrides the count the suite reported.
	Requests int
}

// requestsEntry names the report entry in which a suite reports how many
// requests it sent.
const requestsEntry = "sncheck-requests"

// ReportRequests adds the number of requests a suite sent to the running
// node's report, for FromReport; suites call it once, at the end.
func ReportRequests(n int64) {
	ginkgo.AddReportEntry(requestsEntry, n, ginkgo.ReportEntryVisibilityNever)
}

// FromReport builds a Run from a Ginkgo report. Specs map to checks by the
// ID in their text ("[ID] statement"); specs without one are ignored, and
// so are specs the run's label filter or check list did not select.
// Failures of suite-level nodes (BeforeSuite, cleanup) become Errors.
func FromReport(report types.Report, meta RunMeta) *Run {
	run := &Run{
		Schema: RunSchema, Tool: meta.Tool, Version: meta.Version, Suite: meta.Suite, Target: meta.Target,
		Started: report.StartTime.UTC(), Finished: report.EndTime.UTC(), Seed: report.SuiteConfig.RandomSeed,
		LabelFilter: meta.LabelFilter, Checks: meta.Checks, Results: []Result{},
	}
	for _, reason := range report.SpecialSuiteFailureReasons {
		if strings.Contains(strings.ToLower(reason), "interrupt") || strings.Contains(reason, "Timeout") {
			run.Interrupted = true
		}
	}
	selected := selector(meta.LabelFilter, meta.Checks)
	for _, sr := range report.SpecReports {
		run.Requests += requestsIn(sr)
		if sr.LeafNodeType != types.NodeTypeIt {
			if sr.State.Is(types.SpecStateFailureStates) {
				run.Errors = append(run.Errors, fmt.Sprintf("%s: %s", sr.LeafNodeType, paragraph(sr.Failure.Message)))
			}
			continue
		}
		id := IDFromText(sr.LeafNodeText)
		if id == "" {
			continue
		}
		check, known := Lookup(id)
		if !known {
			check = Check{ID: id, Suite: meta.Suite, Statement: strings.TrimSpace(strings.TrimPrefix(sr.LeafNodeText, "["+id+"]")), Labels: sr.Labels()}
		}
		res := Result{
			ID: id, Suite: check.Suite, Statement: check.Statement, Labels: check.Labels,
			DurationSeconds: roundSeconds(sr.RunTime),
			Observations:    observationsIn(sr),
			Timeline:        timelineIn(sr), // report hook (timeline.go)
		}
		switch {
		case sr.State.Is(types.SpecStatePassed):
			res.State = StatePassed
		case sr.State.Is(types.SpecStateSkipped | types.SpecStatePending):
			if sr.Failure.Message == "" && !(selected(check) && run.Interrupted) {
				continue // not selected by the run's filter
			}
			res.State = StateSkipped
			res.SkipReason = paragraph(sr.Failure.Message)
			if res.SkipReason == "" {
				res.SkipReason = "not run: the run was interrupted"
			}
		default:
			res.State = StateFailed
			res.Message = failureMessage(sr)
			res.Location = sr.Failure.Location.String()
			res.Hint = check.Hint
		}
		run.Results = append(run.Results, res)
	}
	if meta.Requests != 0 {
		run.Requests = meta.Requests
	}
	assignSuiteTimelines(run, report) // report hook (timeline.go)
	run.Finish()
	return run
}

// Finish sorts the results by ID and recounts the summary.
func (r *Run) Finish() {
	sort.SliceStable(r.Results, func(i, j int) bool { return r.Results[i].ID < r.Results[j].ID })
	r.Summary = Summary{}
	for _, res := range r.Results {
		switch res.State {
		case StatePassed:
			r.Summary.Passed++
		case StateFailed:
			r.Summary.Failed++
		default:
			r.Summary.Skipped++
		}
	}
}

// selector reports whether a check is selected by a label filter and an
// ID list (both empty: everything).
func selector(labelFilter string, ids []string) func(Check) bool {
	filter, err := types.ParseLabelFilter(labelFilter)
	if err != nil {
		filter = func([]string) bool { return true }
	}
	return func(c Check) bool {
		if len(ids) > 0 && !containsString(ids, c.ID) {
			return false
		}
		return labelFilter == "" || filter(c.Labels)
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func failureMessage(sr types.SpecReport) string {
	msg := failureText(sr.Failure.Message)
	switch {
	case sr.State.Is(types.SpecStateInterrupted):
		msg = "interrupted before the check finished"
		if m := paragraph(sr.Failure.Message); m != "" {
			msg += ": " + m
		}
	case sr.State.Is(types.SpecStateTimedout):
		msg = "timed out: " + msg
	case sr.State.Is(types.SpecStatePanicked):
		msg = "the check panicked: " + msg
		if sr.Failure.ForwardedPanic != "" {
			msg += " (" + paragraph(sr.Failure.ForwardedPanic) + ")"
		}
	}
	if msg == "" {
		msg = "failed without a message"
	}
	return msg
}

// failureText folds a Gomega failure into one paragraph, joining the
// spec's description ("the Link header") to the matcher's message with a
// colon.
func failureText(msg string) string {
	first, rest, ok := strings.Cut(strings.TrimSpace(msg), "\n")
	first = strings.TrimSpace(first)
	if ok && first != "" && !strings.HasPrefix(first, "Expected") && !strings.ContainsAny(first[len(first)-1:], ".:;!?") {
		return first + ": " + paragraph(rest)
	}
	return paragraph(msg)
}

var spaces = regexp.MustCompile(`\s+`)

// paragraph folds a multi-line message into one line.
func paragraph(s string) string {
	return strings.TrimSpace(spaces.ReplaceAllString(s, " "))
}

func roundSeconds(d time.Duration) float64 {
	s, _ := strconv.ParseFloat(strconv.FormatFloat(d.Seconds(), 'f', 3, 64), 64)
	return s
}

func observationsIn(sr types.SpecReport) []Observation {
	var out []Observation
	for _, e := range sr.ReportEntries {
		if e.Name != observationEntry {
			continue
		}
		switch v := e.Value.GetRawValue().(type) {
		case Observation:
			out = append(out, v)
			continue
		case *Observation:
			out = append(out, *v)
			continue
		}
		var o Observation
		if e.Value.AsJSON != "" && json.Unmarshal([]byte(e.Value.AsJSON), &o) == nil {
			out = append(out, o)
		}
	}
	return out
}

func requestsIn(sr types.SpecReport) int {
	n := 0
	for _, e := range sr.ReportEntries {
		if e.Name != requestsEntry {
			continue
		}
		switch v := e.Value.GetRawValue().(type) {
		case int64:
			n += int(v)
			continue
		case float64:
			n += int(v)
			continue
		}
		if k, err := strconv.Atoi(strings.TrimSpace(e.Value.AsJSON)); err == nil {
			n += k
		}
	}
	return n
}

// Difference is one way two runs differ, for one check.
type Difference struct {
	// ID is the check.
	ID string `json:"id"`
	// Observation names the observation that differs ("password grant",
	// "#2" when a check repeats a name); empty for the check itself.
	Observation string `json:"observation,omitempty"`
	// Field is what differs: "presence", "state", "count", "status",
	// "body", "shape" or "header <Name>".
	Field string `json:"field"`
	// A and B are the two runs' values; "(absent)" when missing.
	A string `json:"a"`
	B string `json:"b"`
}

func (d Difference) String() string {
	where := d.ID
	if d.Observation != "" {
		where += fmt.Sprintf(" %q", d.Observation)
	}
	return fmt.Sprintf("%s: %s: %s → %s", where, d.Field, d.A, d.B)
}

// absent marks a value one run lacks.
const absent = "(absent)"

// Diff lists every difference between two runs, by check ID: a check in
// one run only, a different state, and for each observation (matched by
// name and order) its status, each observed header's value and the
// body's shape. Messages, durations and queries are not compared.
func Diff(a, b *Run) []Difference {
	var out []Difference
	ra, rb := resultsByID(a), resultsByID(b)
	ids := make([]string, 0, len(ra)+len(rb))
	for id := range ra {
		ids = append(ids, id)
	}
	for id := range rb {
		if _, ok := ra[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		x, inA := ra[id]
		y, inB := rb[id]
		switch {
		case !inA:
			out = append(out, Difference{ID: id, Field: "presence", A: absent, B: y.State})
			continue
		case !inB:
			out = append(out, Difference{ID: id, Field: "presence", A: x.State, B: absent})
			continue
		}
		if x.State != y.State {
			out = append(out, Difference{ID: id, Field: "state", A: x.State, B: y.State})
		}
		if x.State == StateSkipped || y.State == StateSkipped {
			continue // a skipped check observed little or nothing
		}
		out = append(out, diffObservations(id, x.Observations, y.Observations)...)
	}
	return out
}

func resultsByID(r *Run) map[string]Result {
	m := map[string]Result{}
	if r == nil {
		return m
	}
	for _, res := range r.Results {
		m[res.ID] = res
	}
	return m
}

// observationKeys names each observation uniquely: its name, or name #n
// for the n-th repeat.
func observationKeys(obs []Observation) ([]string, map[string]Observation) {
	seen := map[string]int{}
	var keys []string
	m := map[string]Observation{}
	for _, o := range obs {
		seen[o.Name]++
		k := o.Name
		if n := seen[o.Name]; n > 1 {
			k = fmt.Sprintf("%s #%d", o.Name, n)
		}
		keys = append(keys, k)
		m[k] = o
	}
	return keys, m
}

func diffObservations(id string, a, b []Observation) []Difference {
	var out []Difference
	ka, ma := observationKeys(a)
	kb, mb := observationKeys(b)
	keys := append([]string(nil), ka...)
	for _, k := range kb {
		if _, ok := ma[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		x, inA := ma[k]
		y, inB := mb[k]
		switch {
		case !inA:
			out = append(out, Difference{ID: id, Observation: k, Field: "presence", A: absent, B: fmt.Sprintf("%s %s → %d", y.Method, y.Path, y.Status)})
			continue
		case !inB:
			out = append(out, Difference{ID: id, Observation: k, Field: "presence", A: fmt.Sprintf("%s %s → %d", x.Method, x.Path, x.Status), B: absent})
			continue
		}
		if x.Status != y.Status {
			out = append(out, Difference{ID: id, Observation: k, Field: "status", A: strconv.Itoa(x.Status), B: strconv.Itoa(y.Status)})
		}
		for _, h := range headerNames(x.Headers, y.Headers) {
			hx, okx := x.Headers[h]
			hy, oky := y.Headers[h]
			if okx && oky && hx == hy {
				continue
			}
			if !okx {
				hx = absent
			}
			if !oky {
				hy = absent
			}
			out = append(out, Difference{ID: id, Observation: k, Field: "header " + h, A: hx, B: hy})
		}
		if x.Body != y.Body {
			out = append(out, Difference{ID: id, Observation: k, Field: "body", A: x.Body, B: y.Body})
		} else if sx, sy := compactJSON(x.Shape), compactJSON(y.Shape); sx != sy {
			out = append(out, Difference{ID: id, Observation: k, Field: "shape", A: orAbsent(sx), B: orAbsent(sy)})
		}
	}
	return out
}

// compactJSON is the canonical text of a shape, however it was indented
// when saved.
func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

func orAbsent(s string) string {
	if s == "" {
		return absent
	}
	return s
}
