package suites

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/sncheck/sncheck/fakesn"
)

var (
	t0   = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	wall = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// entry is a journal entry at virtual offset v and real offset w.
func entry(seq int64, v, w time.Duration, e fakesn.JournalEntry) fakesn.JournalEntry {
	e.Seq, e.Time, e.WallTime = seq, t0.Add(v), wall.Add(w)
	return e
}

func TestTimelineFromJournal(t *testing.T) {
	t.Parallel()
	entries := []fakesn.JournalEntry{
		// Out of order on purpose: the timeline follows seq.
		entry(3, 30*time.Minute, 30*time.Millisecond, fakesn.JournalEntry{Method: "GET", Path: "/api/now/table/incident/0123456789abcdef", API: "table", Table: "incident", SysID: "0123456789abcdef", Token: "aaaaaaaaaaaa", Status: 401, ErrCode: "not_authenticated"}),
		entry(1, 0, 0, fakesn.JournalEntry{Method: "POST", Path: "/oauth_token.do", API: "oauth_token", GrantType: "password", IssuedAccess: "aaaaaaaaaaaa", IssuedRefresh: "rrrrrrrrrrrr", Status: 200}),
		entry(2, 0, 10*time.Millisecond, fakesn.JournalEntry{Method: "GET", Path: "/api/now/table/incident", API: "table", Table: "incident", Token: "aaaaaaaaaaaa", Status: 200, UserAgent: "sncheck-harness/1"}),
		entry(4, 30*time.Minute, 40*time.Millisecond, fakesn.JournalEntry{Method: "POST", Path: "/oauth_token.do", API: "oauth_token", GrantType: "refresh_token", Token: "rrrrrrrrrrrr", IssuedAccess: "bbbbbbbbbbbb", IssuedRefresh: "rrrrrrrrrrrr", Status: 200}),
		entry(5, 30*time.Minute, 50*time.Millisecond, fakesn.JournalEntry{Method: "GET", Path: "/api/now/table/incident", API: "table", Status: 429, Fault: "f1", UserAgent: "sncheck-browser/1 (x)"}),
		entry(6, 30*time.Minute, 60*time.Millisecond, fakesn.JournalEntry{Method: "GET", Path: "/oauth_auth.do", API: "oauth_auth", Status: 302}),
		entry(7, 30*time.Minute, 70*time.Millisecond, fakesn.JournalEntry{Method: "POST", Path: "/oauth_revoke_token.do", API: "oauth_revoke", Status: 200}),
		entry(8, 30*time.Minute, 80*time.Millisecond, fakesn.JournalEntry{Method: "GET", Path: "/api/now/table/incident", API: "table", Status: 0}),
	}
	type short struct{ Kind, Label, Actor string }
	var got []short
	for _, e := range TimelineFromJournal(entries) {
		got = append(got, short{e.Kind, e.Label, e.Actor})
	}
	want := []short{
		{EventGrant, "password grant → 200, access token aaaaaaaaaaaa, refresh token rrrrrrrrrrrr", "integration"},
		{EventRequest, "GET incident → 200, token aaaaaaaaaaaa", "harness"},
		{EventClock, "the fake's clock moved 1800 s", ""},
		{EventRequest, "GET incident/01234567… → 401 not_authenticated, token aaaaaaaaaaaa", "integration"},
		{EventRefresh, "refresh grant with refresh token rrrrrrrrrrrr → 200, access token bbbbbbbbbbbb", "integration"},
		{EventRequest, "GET incident → 429 (injected fault f1)", "browser"},
		{EventAuthorize, "GET /oauth_auth.do → 302", "integration"},
		{EventRevoke, "token revocation → 200", "integration"},
		{EventRequest, "GET incident → no answer (connection dropped)", "integration"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

// TestTimelineMarks: a check's marks replace the inferred clock jumps and
// take their place among the requests by real time.
func TestTimelineMarks(t *testing.T) {
	t.Parallel()
	entries := []fakesn.JournalEntry{
		entry(1, 0, 0, fakesn.JournalEntry{Method: "GET", API: "table", Table: "incident", Status: 200}),
		entry(2, time.Hour, 20*time.Millisecond, fakesn.JournalEntry{Method: "GET", API: "table", Table: "incident", Status: 401}),
	}
	marks := []Mark{
		{Time: t0.Add(time.Hour), Kind: EventClock, Label: "moved", wall: wall.Add(10 * time.Millisecond)},
		{Time: t0.Add(time.Hour), Kind: EventExpire, Label: "expired", wall: wall.Add(30 * time.Millisecond)},
	}
	var kinds []string
	for _, e := range TimelineFromJournal(entries, marks...) {
		kinds = append(kinds, e.Kind+" "+e.Label)
	}
	want := []string{"request GET incident → 200", "clock moved", "request GET incident → 401", "expire expired"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
}

func TestMarkingController(t *testing.T) {
	t.Parallel()
	srv, err := fakesn.New(fakesn.Options{Clock: fakesn.NewFakeClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	mc := NewMarkingController(srv)
	if NewMarkingController(mc) != mc {
		t.Error("wrapping a MarkingController again wraps it twice")
	}
	ctx := context.Background()
	if _, err := mc.AdvanceClock(ctx, 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.AdvanceClock(ctx, -time.Second); err == nil {
		t.Fatal("the clock went back")
	}
	if _, err := mc.ExpireTokens(ctx, fakesn.ExpireRequest{Kind: "refresh"}); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.AddFault(ctx, fakesn.Fault{Method: "GET", Table: "incident", Status: 429, Times: 2, RetryAfter: 3}); err != nil {
		t.Fatal(err)
	}
	if err := mc.SetHibernating(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := mc.ClearFaults(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.SetClock(ctx, t0.Add(100*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	type short struct {
		Time        time.Time
		Kind, Label string
	}
	var got []short
	for _, m := range mc.Marks() {
		if m.wall.IsZero() {
			t.Errorf("mark %q has no real time", m.Label)
		}
		got = append(got, short{m.Time, m.Kind, m.Label})
	}
	at := t0.Add(30 * time.Minute)
	want := []short{
		{at, EventClock, "the fake's clock moved 1800 s"},
		{at, EventExpire, "0 refresh tokens expired (revoked) through the control API"},
		{at, EventFault, "fault f1 armed: 429 (Retry-After: 3) ×2 on GET table incident"},
		{at, EventHibernate, "the instance went into hibernation"},
		{at, EventFault, "faults cleared"},
		{t0.Add(100 * 24 * time.Hour), EventClock, "the fake's clock was set to 2026-04-15T09:00:00Z"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("marks (-want +got; a failed call marks nothing):\n%s", diff)
	}
}

// TestAttachJournalOutsideGinkgo: plain Go callers (the mutant matrix)
// share the code that attaches journals; outside a spec it does nothing.
func TestAttachJournalOutsideGinkgo(t *testing.T) {
	t.Parallel()
	AttachJournal([]fakesn.JournalEntry{entry(1, 0, 0, fakesn.JournalEntry{API: "table", Status: 200})})
}

// TestFromReportTimelines: a check's own journal goes on its result; a
// suite-level journal is split among the checks by when they ran.
func TestFromReportTimelines(t *testing.T) {
	t.Parallel()
	own := TimelineFromJournal([]fakesn.JournalEntry{entry(1, 0, 0, fakesn.JournalEntry{API: "table", Method: "GET", Table: "incident", Status: 200})})
	suite := TimelineFromJournal([]fakesn.JournalEntry{
		entry(1, 0, 1*time.Second, fakesn.JournalEntry{API: "oauth_token", GrantType: "password", Status: 200}),
		entry(2, 0, 3*time.Second, fakesn.JournalEntry{API: "table", Method: "GET", Table: "incident", Status: 200}),
		entry(3, 0, 9*time.Second, fakesn.JournalEntry{API: "table", Method: "DELETE", Table: "incident", Status: 204}), // the final sweep
	})
	// In the child, the entries travel as JSON in the report.
	suiteJSON, _ := json.Marshal(suite)
	spec := func(c Check, from, to time.Duration, entries ...types.ReportEntry) types.SpecReport {
		return types.SpecReport{
			LeafNodeType: types.NodeTypeIt, LeafNodeText: c.Title(), LeafNodeLabels: c.Labels, State: types.SpecStatePassed,
			StartTime: wall.Add(from), EndTime: wall.Add(to), ReportEntries: entries,
		}
	}
	report := types.Report{SpecReports: types.SpecReports{
		spec(testCheckA, 500*time.Millisecond, 2*time.Second),
		spec(testCheckB, 2*time.Second, 4*time.Second),
		spec(testCheckC, 4*time.Second, 5*time.Second, types.ReportEntry{Name: journalEntryName, Value: types.WrapEntryValue(own)}),
		{LeafNodeType: types.NodeTypeCleanupAfterSuite, State: types.SpecStatePassed,
			ReportEntries: []types.ReportEntry{{Name: journalEntryName, Value: types.ReportEntryValue{AsJSON: string(suiteJSON)}}}},
	}}
	run := FromReport(report, RunMeta{Suite: "instance"})
	labels := map[string][]string{}
	for _, r := range run.Results {
		for _, e := range r.Timeline {
			labels[r.ID] = append(labels[r.ID], e.Label)
		}
	}
	want := map[string][]string{
		testCheckA.ID: {"password grant → 200"},
		testCheckB.ID: {"GET incident → 200"},
		testCheckC.ID: {"GET incident → 200"},
	}
	if diff := cmp.Diff(want, labels); diff != "" {
		t.Errorf("timelines by check (-want +got):\n%s", diff)
	}
}

func TestHumanDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    time.Duration
		want string
	}{
		{name: "ms", d: 250 * time.Millisecond, want: "250 ms"},
		{name: "lifespan", d: 1800 * time.Second, want: "1800 s"},
		{name: "hours", d: 2*time.Hour + 5*time.Minute, want: "2 h 5 m"},
		{name: "whole hours", d: 5 * time.Hour, want: "5 h"},
		{name: "refresh lifespan", d: 100 * 24 * time.Hour, want: "100 d"},
		{name: "days and hours", d: 3*24*time.Hour + 4*time.Hour, want: "3 d 4 h"},
		{name: "just under 100 days", d: 100*24*time.Hour - 20*time.Millisecond, want: "100 d"},
		{name: "just under 3 hours", d: 3*time.Hour - time.Second, want: "3 h"},
		{name: "negative", d: -2 * time.Second, want: "-2 s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := HumanDuration(tt.d); got != tt.want {
				t.Errorf("HumanDuration(%v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}
