package suites

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
)

// The token timeline: what the fake saw during a check (grants, refreshes,
// expiries, 401/403/429 answers, the integration's requests), over the
// fake's clock, for the HTML report. A spec attaches its fake's journal
// with AttachJournal; FromReport puts the events on each check's Result.

// Timeline event kinds.
const (
	EventGrant     = "grant"     // a token request other than a refresh
	EventRefresh   = "refresh"   // a refresh grant
	EventAuthorize = "authorize" // /oauth_auth.do (the user's browser)
	EventRevoke    = "revoke"    // /oauth_revoke_token.do
	EventRequest   = "request"   // the Table API and anything else
	EventClock     = "clock"     // the fake's clock moved (a mark, or inferred)
	EventExpire    = "expire"    // tokens expired or revoked through the control API
	EventFault     = "fault"     // a fault was armed or cleared
	EventHibernate = "hibernate" // the instance went to sleep or woke
)

// TimelineEvent is one point of a check's timeline. Tokens appear only as
// fakesn.Fingerprint values, as in the journal.
type TimelineEvent struct {
	// Seq is the journal's sequence number; 0 for a mark.
	Seq int64 `json:"seq,omitempty"`
	// Time is the fake's (virtual) clock when it happened, in UTC.
	Time time.Time `json:"time"`
	// WallTime is the real time, when known; the report orders and
	// assigns events by it, never draws it.
	WallTime time.Time `json:"wall_time,omitzero"`
	// Kind is one of the Event* constants.
	Kind string `json:"kind"`
	// Label says what happened in one line.
	Label string `json:"label"`
	// The request, for journal events.
	Method    string `json:"method,omitempty"`
	Path      string `json:"path,omitempty"`
	API       string `json:"api,omitempty"`
	Table     string `json:"table,omitempty"`
	GrantType string `json:"grant_type,omitempty"`
	// Status is the answer's HTTP status (0 for a mark or a dropped
	// connection).
	Status int `json:"status,omitempty"`
	// ErrCode is the fake's error code for an error answer.
	ErrCode string `json:"err_code,omitempty"`
	// Token fingerprints the token presented; IssuedAccess and
	// IssuedRefresh the tokens a grant returned.
	Token         string `json:"token,omitempty"`
	IssuedAccess  string `json:"issued_access,omitempty"`
	IssuedRefresh string `json:"issued_refresh,omitempty"`
	// Fault is the ID of the injected fault that answered.
	Fault string `json:"fault,omitempty"`
	// Actor is who sent the request: "integration", "browser" (the user's
	// browser, played by sncheck) or "harness"; empty for a mark.
	Actor string `json:"actor,omitempty"`
}

// Mark is something a spec did to the fake that its journal does not
// show: a clock jump, tokens expired through the control API, a fault
// armed. Time is the fake's clock right after it.
type Mark struct {
	Time  time.Time
	Kind  string // EventClock, EventExpire, EventFault or EventHibernate
	Label string
	// wall is the real time of the mark, for ordering.
	wall time.Time
}

// journalEntryName names the report entry that carries a timeline.
const journalEntryName = "sncheck-journal"

// AttachJournal adds the fake's journal (and the spec's marks) to the
// running spec's report, for the run's timeline. Call it at the end of a
// check (integration suite: one fake per check) or of the suite (instance
// suite: FromReport then splits the events among the checks by the time
// they ran). Outside a running Ginkgo spec or cleanup it does nothing, so
// code shared with plain Go callers may call it.
func AttachJournal(entries []fakesn.JournalEntry, marks ...Mark) {
	if !inGinkgoNode() {
		return
	}
	events := TimelineFromJournal(entries, marks...)
	if len(events) == 0 {
		return
	}
	ginkgo.AddReportEntry(journalEntryName, events, ginkgo.ReportEntryVisibilityNever)
}

// inGinkgoNode reports whether a Ginkgo spec or suite node is running on
// this goroutine's behalf.
func inGinkgoNode() bool {
	return ginkgo.CurrentSpecReport().LeafNodeType != types.NodeTypeInvalid
}

// AttachTargetJournal attaches the journal of a fake target (nothing for a
// live instance): the instance suite calls it from a suite cleanup.
func AttachTargetJournal(ctx context.Context, t harness.Target) {
	ctl, ok := t.Controller()
	if !ok || !inGinkgoNode() {
		return
	}
	entries, err := ctl.Journal(ctx, fakesn.JournalFilter{})
	if err != nil {
		return // the timeline is a nicety; the run's result stands without it
	}
	var marks []Mark
	if mc, ok := ctl.(*MarkingController); ok {
		marks = mc.Marks()
	}
	AttachJournal(entries, marks...)
}

// Harness user agents, as suites/integration sets them.
const (
	harnessAgentPrefix = "sncheck-harness/"
	browserAgentPrefix = "sncheck-browser/"
)

// clockJumpThreshold is how far the fake's clock must run ahead of real
// time between two requests for the timeline to show a clock jump it was
// not told of.
const clockJumpThreshold = 2 * time.Second

// TimelineFromJournal turns journal entries and marks into timeline
// events, in the order they happened. When no mark says how the clock
// moved, jumps are inferred: the fake's clock running ahead of real time
// between two requests.
func TimelineFromJournal(entries []fakesn.JournalEntry, marks ...Mark) []TimelineEvent {
	sorted := append([]fakesn.JournalEntry(nil), entries...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Seq < sorted[j].Seq })
	out := make([]TimelineEvent, 0, len(sorted)+len(marks))
	clockMarked := false
	for _, m := range marks {
		clockMarked = clockMarked || m.Kind == EventClock
		out = append(out, TimelineEvent{Time: m.Time.UTC(), WallTime: utcOrZero(m.wall), Kind: m.Kind, Label: m.Label})
	}
	for i, e := range sorted {
		if i > 0 && !clockMarked {
			prev := sorted[i-1]
			virtual, wall := e.Time.Sub(prev.Time), e.WallTime.Sub(prev.WallTime)
			if jump := virtual - wall; jump > clockJumpThreshold && !prev.WallTime.IsZero() {
				out = append(out, TimelineEvent{
					Time: e.Time.Add(-time.Millisecond).UTC(), WallTime: utcOrZero(e.WallTime.Add(-time.Nanosecond)),
					Kind: EventClock, Label: "the fake's clock moved " + HumanDuration(jump.Round(time.Second)),
				})
			}
		}
		out = append(out, eventOf(e))
	}
	sortEvents(out)
	return out
}

// sortEvents orders events by real time when every event has one, else
// by the fake's clock; ties keep journal order.
func sortEvents(ev []TimelineEvent) {
	byWall := true
	for _, e := range ev {
		if e.WallTime.IsZero() {
			byWall = false
			break
		}
	}
	sort.SliceStable(ev, func(i, j int) bool {
		if byWall {
			return ev[i].WallTime.Before(ev[j].WallTime)
		}
		return ev[i].Time.Before(ev[j].Time)
	})
}

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

func eventOf(e fakesn.JournalEntry) TimelineEvent {
	ev := TimelineEvent{
		Seq: e.Seq, Time: e.Time.UTC(), WallTime: utcOrZero(e.WallTime),
		Method: e.Method, Path: e.Path, API: e.API, Table: e.Table, GrantType: e.GrantType,
		Status: e.Status, ErrCode: string(e.ErrCode), Token: e.Token,
		IssuedAccess: e.IssuedAccess, IssuedRefresh: e.IssuedRefresh, Fault: e.Fault,
		Actor: "integration",
	}
	switch {
	case strings.HasPrefix(e.UserAgent, harnessAgentPrefix):
		ev.Actor = "harness"
	case strings.HasPrefix(e.UserAgent, browserAgentPrefix):
		ev.Actor = "browser"
	}
	answer := "→ " + statusText(e.Status)
	if e.ErrCode != "" {
		answer += " " + string(e.ErrCode)
	}
	if e.Fault != "" {
		answer += " (injected fault " + e.Fault + ")"
	}
	switch e.API {
	case "oauth_token":
		ev.Kind = EventGrant
		grant := e.GrantType
		if grant == "" {
			grant = "token"
		}
		if grant == "refresh_token" {
			ev.Kind, grant = EventRefresh, "refresh"
		}
		ev.Label = grant + " grant "
		if ev.Kind == EventRefresh && e.Token != "" {
			ev.Label += "with refresh token " + e.Token + " "
		}
		ev.Label += answer
		if e.IssuedAccess != "" {
			ev.Label += ", access token " + e.IssuedAccess
		}
		if e.IssuedRefresh != "" && e.IssuedRefresh != e.Token {
			ev.Label += ", refresh token " + e.IssuedRefresh
		}
	case "oauth_auth":
		ev.Kind = EventAuthorize
		ev.Label = e.Method + " /oauth_auth.do " + answer
	case "oauth_revoke":
		ev.Kind = EventRevoke
		ev.Label = "token revocation " + answer
	default:
		ev.Kind = EventRequest
		what := e.Path
		table, sysID := e.Table, e.SysID
		if table == "" {
			// A fault or hibernation answered before the Table API
			// could name the table.
			table, sysID = tableOfPath(e.Path)
		}
		if table != "" {
			what = table
			if sysID != "" {
				what += "/" + shortID(sysID)
			}
		}
		ev.Label = e.Method + " " + what + " " + answer
	}
	if e.Token != "" && ev.Kind != EventGrant && ev.Kind != EventRefresh {
		ev.Label += ", token " + e.Token
	}
	return ev
}

// tableOfPath reads the table and sys_id of a Table API path.
func tableOfPath(path string) (table, sysID string) {
	for _, prefix := range []string{"/api/now/table/", "/api/now/v1/table/", "/api/now/v2/table/"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok {
			table, sysID, _ = strings.Cut(rest, "/")
			return table, sysID
		}
	}
	return "", ""
}

func statusText(status int) string {
	if status == 0 {
		return "no answer (connection dropped)"
	}
	return fmt.Sprint(status)
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8] + "…"
	}
	return id
}

// HumanDuration words a duration the way the timeline labels it: "1800 s",
// "100 d", "2 h 5 m".
func HumanDuration(d time.Duration) string {
	if d < 0 {
		return "-" + HumanDuration(-d)
	}
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < 2*time.Hour:
		return fmt.Sprintf("%d s", int64(d.Round(time.Second)/time.Second))
	case d < 72*time.Hour:
		d = d.Round(time.Minute)
		h := d / time.Hour
		m := (d % time.Hour) / time.Minute
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d m", h, m)
	}
	d = d.Round(time.Hour)
	days := d / (24 * time.Hour)
	rest := (d % (24 * time.Hour)) / time.Hour
	if rest == 0 {
		return fmt.Sprintf("%d d", days)
	}
	return fmt.Sprintf("%d d %d h", days, rest)
}

// MarkingController is a fakesn.Controller that notes, as timeline marks,
// what a spec does to the fake that its journal cannot show: clock moves,
// token expiry through the control API, faults and hibernation.
type MarkingController struct {
	fakesn.Controller

	mu    sync.Mutex // guards marks
	marks []Mark
}

// NewMarkingController wraps ctl; an already marking ctl is returned as is.
func NewMarkingController(ctl fakesn.Controller) *MarkingController {
	if mc, ok := ctl.(*MarkingController); ok {
		return mc
	}
	return &MarkingController{Controller: ctl}
}

// Marks returns the marks so far.
func (m *MarkingController) Marks() []Mark {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Mark(nil), m.marks...)
}

func (m *MarkingController) mark(ctx context.Context, at time.Time, kind, label string) {
	if at.IsZero() {
		now, err := m.Controller.Now(ctx)
		if err != nil {
			return
		}
		at = now
	}
	m.mu.Lock()
	m.marks = append(m.marks, Mark{Time: at, Kind: kind, Label: label, wall: time.Now()})
	m.mu.Unlock()
}

// AdvanceClock moves the clock and marks the jump.
func (m *MarkingController) AdvanceClock(ctx context.Context, d time.Duration) (time.Time, error) {
	now, err := m.Controller.AdvanceClock(ctx, d)
	if err == nil {
		m.mark(ctx, now, EventClock, "the fake's clock moved "+HumanDuration(d))
	}
	return now, err
}

// SetClock sets the clock and marks it.
func (m *MarkingController) SetClock(ctx context.Context, t time.Time) (time.Time, error) {
	now, err := m.Controller.SetClock(ctx, t)
	if err == nil {
		m.mark(ctx, now, EventClock, "the fake's clock was set to "+now.UTC().Format(time.RFC3339))
	}
	return now, err
}

// ExpireTokens expires tokens and marks how many.
func (m *MarkingController) ExpireTokens(ctx context.Context, req fakesn.ExpireRequest) (int, error) {
	n, err := m.Controller.ExpireTokens(ctx, req)
	if err == nil {
		kind := req.Kind
		if kind == "" {
			kind = "access and refresh"
		}
		m.mark(ctx, time.Time{}, EventExpire, fmt.Sprintf("%d %s tokens expired (revoked) through the control API", n, kind))
	}
	return n, err
}

// AddFault arms a fault and marks it.
func (m *MarkingController) AddFault(ctx context.Context, f fakesn.Fault) (fakesn.Fault, error) {
	got, err := m.Controller.AddFault(ctx, f)
	if err == nil {
		m.mark(ctx, time.Time{}, EventFault, "fault "+got.ID+" armed: "+describeFault(got))
	}
	return got, err
}

// ClearFaults disarms every fault and marks it.
func (m *MarkingController) ClearFaults(ctx context.Context) error {
	err := m.Controller.ClearFaults(ctx)
	if err == nil {
		m.mark(ctx, time.Time{}, EventFault, "faults cleared")
	}
	return err
}

// SetHibernating puts the instance to sleep or wakes it, and marks it.
func (m *MarkingController) SetHibernating(ctx context.Context, on bool) error {
	err := m.Controller.SetHibernating(ctx, on)
	if err == nil {
		label := "the instance woke up"
		if on {
			label = "the instance went into hibernation"
		}
		m.mark(ctx, time.Time{}, EventHibernate, label)
	}
	return err
}

// describeFault words a fault: "429 ×2 on table incident".
func describeFault(f fakesn.Fault) string {
	var what string
	switch f.Action {
	case fakesn.FaultStatus, "":
		what = fmt.Sprint(f.Status)
		if f.RetryAfter > 0 {
			what += fmt.Sprintf(" (Retry-After: %d)", f.RetryAfter)
		}
	case fakesn.FaultStatusAfter:
		what = fmt.Sprintf("%d after handling the request", f.Status)
	default:
		what = f.Action
	}
	switch f.Times {
	case 0, 1:
	case -1:
		what += " every time"
	default:
		what += fmt.Sprintf(" ×%d", f.Times)
	}
	var on []string
	if f.Method != "" {
		on = append(on, f.Method)
	}
	if f.API != "" && f.Table == "" {
		on = append(on, f.API)
	}
	if f.GrantType != "" {
		on = append(on, f.GrantType+" grant")
	}
	if f.Table != "" {
		on = append(on, "table "+f.Table)
	}
	if f.Path != "" {
		on = append(on, f.Path)
	}
	if f.After > 0 {
		on = append(on, fmt.Sprintf("after %d requests", f.After))
	}
	if len(on) > 0 {
		what += " on " + strings.Join(on, " ")
	}
	return what
}

// timelineIn reads the timeline events a spec attached.
func timelineIn(sr types.SpecReport) []TimelineEvent {
	var out []TimelineEvent
	for _, e := range sr.ReportEntries {
		if e.Name != journalEntryName {
			continue
		}
		switch v := e.Value.GetRawValue().(type) {
		case []TimelineEvent:
			out = append(out, v...)
			continue
		}
		var ev []TimelineEvent
		if e.Value.AsJSON != "" && json.Unmarshal([]byte(e.Value.AsJSON), &ev) == nil {
			out = append(out, ev...)
		}
	}
	return out
}

// assignSuiteTimelines gives each check the events of a suite-level
// journal (the instance suite's, attached once) that the fake saw while
// the check ran, by real time: checks run one after another.
func assignSuiteTimelines(run *Run, report types.Report) {
	var events []TimelineEvent
	for _, sr := range report.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt {
			events = append(events, timelineIn(sr)...)
		}
	}
	if len(events) == 0 {
		return
	}
	index := map[string]int{}
	for i, res := range run.Results {
		index[res.ID] = i
	}
	for _, sr := range report.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt || sr.StartTime.IsZero() {
			continue
		}
		i, ok := index[IDFromText(sr.LeafNodeText)]
		if !ok || len(run.Results[i].Timeline) > 0 {
			continue
		}
		var mine []TimelineEvent
		for _, ev := range events {
			if !ev.WallTime.IsZero() && !ev.WallTime.Before(sr.StartTime) && !ev.WallTime.After(sr.EndTime) {
				mine = append(mine, ev)
			}
		}
		run.Results[i].Timeline = mine
	}
}
