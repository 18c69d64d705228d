package suites

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/onsi/ginkgo/v2/types"
)

// Checks for these tests only (this test binary's catalogue).
var (
	testCheckA = Define(Check{ID: "ZZTEST-ALPHA", Suite: "instance", Statement: "alpha holds", Labels: []string{"oauth"}, Hint: "fix alpha"})
	testCheckB = Define(Check{ID: "ZZTEST-BETA", Suite: "instance", Statement: "beta holds", Labels: []string{"table"}, Hint: "fix beta"})
	testCheckC = Define(Check{ID: "ZZTEST-GAMMA", Suite: "instance", Statement: "gamma holds", Labels: []string{"table", "fake-only"}})
	testCheckD = Define(Check{ID: "ZZTEST-DELTA", Suite: "instance", Statement: "delta holds", Labels: []string{"writes"}})
)

var testObservation = Observation{
	Name: "list", Method: "GET", Path: "/api/now/table/incident", Status: 200,
	Headers: map[string]string{"X-Total-Count": "65"}, Body: "json", Shape: json.RawMessage(`{"result":[]}`),
}

func spec(c Check, state types.SpecState, failure string, entries ...types.ReportEntry) types.SpecReport {
	return types.SpecReport{
		LeafNodeType: types.NodeTypeIt, LeafNodeText: c.Title(), LeafNodeLabels: c.Labels,
		State: state, RunTime: 1234567 * time.Microsecond,
		Failure:       types.Failure{Message: failure, Location: types.CodeLocation{FileName: "/src/suite.go", LineNumber: 42}},
		ReportEntries: entries,
	}
}

// testReport has one spec of every kind FromReport meets.
func testReport() types.Report {
	obs := types.ReportEntry{Name: observationEntry, Value: types.WrapEntryValue(testObservation)}
	reqs := types.ReportEntry{Name: requestsEntry, Value: types.WrapEntryValue(int64(17))}
	return types.Report{
		StartTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), EndTime: time.Date(2026, 1, 2, 3, 4, 9, 0, time.UTC),
		SuiteConfig: types.SuiteConfig{RandomSeed: 99},
		SpecReports: types.SpecReports{
			{LeafNodeType: types.NodeTypeBeforeSuite, State: types.SpecStatePassed},
			spec(testCheckA, types.SpecStatePassed, "", obs),
			spec(testCheckB, types.SpecStateFailed, "the Link header\nExpected\n    <string>: a\nto equal\n    <string>: b"),
			spec(testCheckC, types.SpecStateSkipped, "needs the fake's clock: not available against a live instance"),
			spec(testCheckD, types.SpecStateSkipped, ""), // filtered out
			{LeafNodeType: types.NodeTypeIt, LeafNodeText: "a spec that is no check", State: types.SpecStatePassed},
			{LeafNodeType: types.NodeTypeCleanupAfterSuite, State: types.SpecStateFailed, Failure: types.Failure{Message: "deleting the records\nfailed"},
				ReportEntries: []types.ReportEntry{reqs}},
		},
	}
}

func TestFromReport(t *testing.T) {
	t.Parallel()
	want := &Run{
		Schema: RunSchema, Tool: "sncheck", Version: "v1", Suite: "instance",
		Target:  TargetInfo{Name: "live", URL: "https://dev1.service-now.com", Live: true},
		Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Finished: time.Date(2026, 1, 2, 3, 4, 9, 0, time.UTC),
		Seed: 99, Requests: 17,
		Errors: []string{"DeferCleanup (Suite): deleting the records failed"},
		Results: []Result{
			{ID: "ZZTEST-ALPHA", Suite: "instance", Statement: "alpha holds", Labels: []string{"instance", "oauth"}, State: StatePassed,
				DurationSeconds: 1.235, Observations: []Observation{testObservation}},
			{ID: "ZZTEST-BETA", Suite: "instance", Statement: "beta holds", Labels: []string{"instance", "table"}, State: StateFailed,
				Message: "the Link header: Expected <string>: a to equal <string>: b", Location: "/src/suite.go:42", Hint: "fix beta", DurationSeconds: 1.235},
			{ID: "ZZTEST-GAMMA", Suite: "instance", Statement: "gamma holds", Labels: []string{"instance", "table", "fake-only"}, State: StateSkipped,
				SkipReason: "needs the fake's clock: not available against a live instance", DurationSeconds: 1.235},
		},
		Summary: Summary{Passed: 1, Failed: 1, Skipped: 1},
	}
	meta := RunMeta{Tool: "sncheck", Version: "v1", Suite: "instance", Target: want.Target}

	// In process (raw values) and read back from Ginkgo's JSON report.
	data, err := json.Marshal([]types.Report{testReport()})
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON []types.Report
	if err := json.Unmarshal(data, &fromJSON); err != nil {
		t.Fatal(err)
	}
	for name, report := range map[string]types.Report{"in process": testReport(), "from JSON": fromJSON[0]} {
		got := FromReport(report, meta)
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b json.RawMessage) bool { return compactJSON(a) == compactJSON(b) })); diff != "" {
			t.Errorf("%s: FromReport mismatch (-want +got):\n%s", name, diff)
		}
	}
}

func TestFromReportInterrupted(t *testing.T) {
	t.Parallel()
	r := testReport()
	r.SpecialSuiteFailureReasons = []string{"Interrupted by User"}
	r.SpecReports[2] = spec(testCheckB, types.SpecStateInterrupted, "interrupted by signal")
	run := FromReport(r, RunMeta{Suite: "instance", LabelFilter: "!writes"})
	if !run.Interrupted {
		t.Error("Interrupted = false")
	}
	b, _ := run.Result("ZZTEST-BETA")
	if b.State != StateFailed || !strings.HasPrefix(b.Message, "interrupted before the check finished") {
		t.Errorf("interrupted check: %+v", b)
	}
	// DELTA never ran; a label filter that selected it makes it a skip.
	if _, ok := run.Result("ZZTEST-DELTA"); ok {
		t.Error("a check the filter left out is in the run")
	}
	run = FromReport(r, RunMeta{Suite: "instance"})
	d, ok := run.Result("ZZTEST-DELTA")
	if !ok || d.State != StateSkipped || d.SkipReason != "not run: the run was interrupted" {
		t.Errorf("a selected check that never ran: %+v (present %v)", d, ok)
	}
}

func TestRunJSONRoundTrip(t *testing.T) {
	t.Parallel()
	run := FromReport(testReport(), RunMeta{Tool: "sncheck", Suite: "instance"})
	var buf bytes.Buffer
	if err := run.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"<string>"`) && strings.Contains(buf.String(), `\u003c`) {
		t.Error("the saved run escapes < and >")
	}
	back, err := ReadRun(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(run, back); len(d) != 0 {
		t.Errorf("a run differs from itself saved and read back: %v", d)
	}
	for _, tt := range []struct{ name, in string }{
		{name: "not JSON", in: "hello"},
		{name: "other schema", in: `{"schema":"sncheck-run/0"}`},
	} {
		if _, err := ReadRun(strings.NewReader(tt.in)); err == nil {
			t.Errorf("%s: ReadRun accepted %q", tt.name, tt.in)
		}
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	base := func() *Run {
		return &Run{Schema: RunSchema, Results: []Result{
			{ID: "A-ONE", State: StatePassed, Observations: []Observation{
				{Name: "list", Method: "GET", Path: "/x", Status: 200, Headers: map[string]string{"Link": "<{host}/x>", "Server": "ServiceNow"},
					Body: "json", Shape: json.RawMessage(`{"result":["<string>"]}`)},
				{Name: "list", Method: "GET", Path: "/x", Status: 200, Body: "empty"},
			}},
			{ID: "B-TWO", State: StateSkipped, SkipReason: "why"},
		}}
	}
	tests := []struct {
		name   string
		change func(r *Run)
		want   []string
	}{
		{name: "identical", change: func(*Run) {}},
		{name: "message and duration are not compared", change: func(r *Run) {
			r.Results[0].Message, r.Results[0].DurationSeconds = "other", 9
		}},
		{name: "indentation of a shape is not a difference", change: func(r *Run) {
			r.Results[0].Observations[0].Shape = json.RawMessage("{\n  \"result\": [\"<string>\"]\n}")
		}},
		{name: "state", change: func(r *Run) { r.Results[0].State = StateFailed },
			want: []string{"A-ONE: state: passed → failed"}},
		{name: "status of a repeated observation", change: func(r *Run) { r.Results[0].Observations[1].Status = 404 },
			want: []string{`A-ONE "list #2": status: 200 → 404`}},
		{name: "header changed and gone", change: func(r *Run) {
			r.Results[0].Observations[0].Headers = map[string]string{"Link": "<{host}/y>"}
		}, want: []string{`A-ONE "list": header Link: <{host}/x> → <{host}/y>`, `A-ONE "list": header Server: ServiceNow → (absent)`}},
		{name: "shape", change: func(r *Run) { r.Results[0].Observations[0].Shape = json.RawMessage(`{"result":[]}`) },
			want: []string{`A-ONE "list": shape: {"result":["<string>"]} → {"result":[]}`}},
		{name: "body kind", change: func(r *Run) { r.Results[0].Observations[0].Body, r.Results[0].Observations[0].Shape = "html", nil },
			want: []string{`A-ONE "list": body: json → html`}},
		{name: "observation missing", change: func(r *Run) { r.Results[0].Observations = r.Results[0].Observations[:1] },
			want: []string{`A-ONE "list #2": presence: GET /x → 200 → (absent)`}},
		{name: "check missing", change: func(r *Run) { r.Results = r.Results[:1] },
			want: []string{"B-TWO: presence: skipped → (absent)"}},
		{name: "skipped checks compare only their state", change: func(r *Run) {
			r.Results[0].State, r.Results[0].Observations = StateSkipped, nil
		}, want: []string{"A-ONE: state: passed → skipped"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := base()
			tt.change(b)
			var got []string
			for _, d := range Diff(base(), b) {
				got = append(got, d.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChildEnv(t *testing.T) {
	t.Parallel()
	got := ChildEnv([]string{"PATH=/bin", "SN_PASSWORD=old", "SNCHECK_FAKE_URL=http://old", "HOME=/root"},
		map[string]string{"SN_URL": "https://x", "SN_PASSWORD": "", "SNCHECK_RUN_MARKER": "sncheck-1"})
	want := []string{"PATH=/bin", "HOME=/root", "SNCHECK_RUN_MARKER=sncheck-1", "SN_URL=https://x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ChildEnv (-want +got):\n%s", diff)
	}
}

func TestProgressOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   types.SpecReport
		want Progress
		ok   bool
	}{
		{name: "passed", in: spec(testCheckA, types.SpecStatePassed, ""), want: Progress{ID: "ZZTEST-ALPHA", State: StatePassed, Seconds: 1.235}, ok: true},
		{name: "skipped with a reason", in: spec(testCheckC, types.SpecStateSkipped, "needs\nthe clock"),
			want: Progress{ID: "ZZTEST-GAMMA", State: StateSkipped, Seconds: 1.235, Reason: "needs the clock"}, ok: true},
		{name: "filtered out", in: spec(testCheckD, types.SpecStateSkipped, "")},
		{name: "failed", in: spec(testCheckB, types.SpecStateFailed, strings.Repeat("x", 300)),
			want: Progress{ID: "ZZTEST-BETA", State: StateFailed, Seconds: 1.235, Reason: strings.Repeat("x", 200) + "…"}, ok: true},
		{name: "not a check", in: types.SpecReport{LeafNodeType: types.NodeTypeIt, LeafNodeText: "plain"}},
		{name: "suite node", in: types.SpecReport{LeafNodeType: types.NodeTypeBeforeSuite}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := progressOf(tt.in)
			if ok != tt.ok || got != tt.want {
				t.Errorf("progressOf = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSuiteMainUsage(t *testing.T) {
	t.Parallel()
	registry := map[string]Registrar{"instance": nil}
	for _, tt := range []struct {
		name string
		args []string
	}{
		{name: "no suite", args: nil},
		{name: "unknown suite", args: []string{"nope"}},
		{name: "bad flag", args: []string{"instance", "--bogus"}},
		{name: "extra argument", args: []string{"instance", "extra"}},
		{name: "bad label filter", args: []string{"instance", "--label-filter", "((("}},
	} {
		var stderr bytes.Buffer
		if code := SuiteMain(tt.args, &stderr, registry); code != childUsage {
			t.Errorf("%s: SuiteMain = %d, want %d; stderr %q", tt.name, code, childUsage, stderr.String())
		}
	}
}

func TestReadRunFileNamesThePath(t *testing.T) {
	t.Parallel()
	_, err := ReadRunFile("testdata/does-not-exist.json")
	if err == nil || !strings.Contains(err.Error(), "does-not-exist.json") {
		t.Errorf("ReadRunFile error = %v", err)
	}
}
