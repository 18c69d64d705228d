package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/sncheck/sncheck/suites"
)

// The HTML report is one file with no external assets: the template, its
// CSS and its JavaScript are embedded, and the timeline is SVG drawn here,
// so the page reads the same from a CI artefact, an e-mail or file://.

var (
	//go:embed assets/report.html.tmpl
	htmlTemplate string
	//go:embed assets/report.css
	htmlCSS string
	//go:embed assets/report.js
	htmlJS string
)

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"stateMark": stateMark,
	"areaTitle": areaTitle,
	"seconds":   func(s float64) string { return fmt.Sprintf("%.2f s", s) },
	"px":        func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"scale":     func(f float64) float64 { return f * laneScale },
}).Parse(htmlTemplate))

// WriteHTML writes the run as a self-contained HTML page: the summary,
// the failed checks first (explanation and hint, with their timeline),
// every result grouped by area, and the token timeline of every check
// the fake journaled.
func WriteHTML(w io.Writer, run *suites.Run) error {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, newPage(run)); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// htmlPage is what the template renders.
type htmlPage struct {
	Run      *suites.Run
	Title    string
	Target   string
	Started  string
	Duration string
	Verdict  string
	Status   string // "passed", "failed" or "error"
	Failed   []resultView
	Groups   []group
	Lanes    []*lane
	Events   int // timeline events over every lane
	CSS      template.CSS
	JS       template.JS
}

type group struct {
	Area    string
	Results []resultView
	Failed  int
}

type resultView struct {
	suites.Result
	Area string
	Lane *lane
}

func newPage(run *suites.Run) *htmlPage {
	p := &htmlPage{
		Run:   run,
		Title: fmt.Sprintf("sncheck %s suite", orDefault(run.Suite, "")),
		CSS:   template.CSS(htmlCSS),
		JS:    template.JS(htmlJS),
	}
	switch {
	case run.Target.Name == "fake" && run.Target.URL == "":
		p.Target = "a fresh embedded fake for every check"
	case run.Target.Live:
		p.Target = "live instance " + run.Target.URL
	case run.Target.Name == "fake":
		p.Target = "the embedded fake at " + run.Target.URL
	default:
		p.Target = strings.TrimSpace("the fake at " + run.Target.URL)
	}
	if !run.Started.IsZero() {
		p.Started = run.Started.UTC().Format("2006-01-02 15:04:05 UTC")
		p.Duration = fmt.Sprintf("%.1f s", run.Finished.Sub(run.Started).Seconds())
	}
	s := run.Summary
	switch {
	case len(run.Errors) > 0:
		p.Status, p.Verdict = "error", "The run failed: see the errors below"
	case run.Interrupted:
		p.Status, p.Verdict = "error", "The run was interrupted"
	case s.Failed > 0:
		p.Status, p.Verdict = "failed", fmt.Sprintf("%d of %d checks failed", s.Failed, len(run.Results))
	default:
		p.Status, p.Verdict = "passed", fmt.Sprintf("All %d checks passed", s.Passed)
		if s.Skipped > 0 {
			p.Verdict = fmt.Sprintf("%d checks passed, %d skipped", s.Passed, s.Skipped)
		}
	}

	lanes := map[string]*lane{}
	for _, r := range run.Results {
		if len(r.Timeline) > 0 {
			l := layoutLane(r)
			lanes[r.ID] = l
			p.Lanes = append(p.Lanes, l)
			p.Events += len(l.Events)
		}
	}
	// Failed lanes first: that is where a reader looks.
	sort.SliceStable(p.Lanes, func(i, j int) bool {
		return p.Lanes[i].State == suites.StateFailed && p.Lanes[j].State != suites.StateFailed
	})

	byArea := map[string]*group{}
	var areas []string
	for _, r := range run.Results {
		v := resultView{Result: r, Area: areaOf(r), Lane: lanes[r.ID]}
		if r.State == suites.StateFailed {
			p.Failed = append(p.Failed, v)
		}
		g, ok := byArea[v.Area]
		if !ok {
			g = &group{Area: v.Area}
			byArea[v.Area] = g
			areas = append(areas, v.Area)
		}
		g.Results = append(g.Results, v)
		if r.State == suites.StateFailed {
			g.Failed++
		}
	}
	// Areas with failures first, then by name; within an area, failures
	// first, then skips, then passes, each by ID.
	sort.Slice(areas, func(i, j int) bool {
		a, b := byArea[areas[i]], byArea[areas[j]]
		if (a.Failed > 0) != (b.Failed > 0) {
			return a.Failed > 0
		}
		return areas[i] < areas[j]
	})
	rank := map[string]int{suites.StateFailed: 0, suites.StateSkipped: 1, suites.StatePassed: 2}
	for _, a := range areas {
		g := byArea[a]
		sort.SliceStable(g.Results, func(i, j int) bool { return rank[g.Results[i].State] < rank[g.Results[j].State] })
		p.Groups = append(p.Groups, *g)
	}
	return p
}

// areaOf is a result's area: its first label after the suite's, not
// counting the labels that say what a check needs.
func areaOf(r suites.Result) string {
	for _, l := range r.Labels {
		switch l {
		case r.Suite, "fake-only", "writes":
			continue
		}
		return l
	}
	return orDefault(r.Suite, "other")
}

// areaNames spell the areas as people write them.
var areaNames = map[string]string{
	"acl": "ACL", "auth": "Auth", "oauth": "OAuth", "ratelimit": "Rate limit", "faults": "Faults",
	"pagination": "Pagination", "secrets": "Secrets", "refresh": "Refresh", "expiry": "Expiry",
	"scope": "Scope", "table": "Table API", "query": "Query",
}

func areaTitle(area string) string {
	if t, ok := areaNames[area]; ok {
		return t
	}
	if area == "" {
		return "Other"
	}
	return strings.ToUpper(area[:1]) + area[1:]
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func stateMark(state string) string {
	switch state {
	case suites.StatePassed:
		return "✓"
	case suites.StateFailed:
		return "✗"
	}
	return "–"
}

// A lane is one check's timeline: its events left to right in the order
// they happened, spaced by how far the fake's clock moved between them
// (logarithmically, so that a 100-day jump and a 1-second wait both fit),
// with the access tokens' lives drawn beneath.
type lane struct {
	ID, State, Statement string
	Width, Height        float64
	EventY, AxisY        float64
	AxisX1, AxisX2       float64
	Start                string // the fake's clock at the first event
	Events               []laneEvent
	Gaps                 []laneGap
	Tokens               []tokenBar
}

type laneEvent struct {
	X, Y  float64
	Kind  string
	Shape string // circle, diamond, square, cross, bar, mark
	Class string
	D     string // the marker's SVG path
	Hit   string // a larger, invisible path that takes the pointer
	Text  string // a status shown above the marker, or a mark's label
	TextY float64
	Title string // the tooltip: everything about the event
}

type laneGap struct {
	X, X1, X2 float64
	Label     string
}

type tokenBar struct {
	X1, X2, Y float64
	Label     string
	Dead      bool // its last use was answered 401
	Title     string
}

// Lane geometry, in SVG user units (pixels).
const (
	laneLeft      = 24.0
	laneRight     = 120.0 // room for the last token's label
	laneStep      = 30.0  // between two events at the same fake time
	laneMarkTop   = 14.0
	laneEventY    = 44.0
	laneTokenTop  = 70.0
	laneTokenStep = 11.0
	laneAxisPad   = 18.0
	minLaneWidth  = 360.0
	// laneScale enlarges the drawing on the page (the viewBox stays).
	laneScale = 1.3
)

// gapWidth is the extra room for a jump of the fake's clock.
func gapWidth(d time.Duration) float64 {
	s := d.Seconds()
	if s < 1 {
		return 0
	}
	return 34 + 26*math.Log10(s)
}

func layoutLane(r suites.Result) *lane {
	l := &lane{ID: r.ID, State: r.State, Statement: r.Statement, EventY: laneEventY}
	ev := r.Timeline
	l.Start = ev[0].Time.UTC().Format("2006-01-02 15:04:05") + " (fake clock)"
	xs := make([]float64, len(ev))
	x := laneLeft
	for i, e := range ev {
		if i > 0 {
			d := e.Time.Sub(ev[i-1].Time)
			g := gapWidth(d)
			if g > 0 {
				l.Gaps = append(l.Gaps, laneGap{X: x + (laneStep+g)/2, X1: x + 6, X2: x + laneStep + g - 6, Label: "+" + suites.HumanDuration(d.Round(time.Second))})
			}
			x += laneStep + g
		}
		xs[i] = x
	}
	prevStatus := -1
	for i, e := range ev {
		le := laneEvent{X: xs[i], Y: laneEventY, Kind: e.Kind, Title: eventTitle(e, ev[0].Time)}
		switch e.Kind {
		case suites.EventGrant:
			le.Shape, le.Class = "circle", "gt-"+classWord(orDefault(e.GrantType, "other"))
		case suites.EventRefresh:
			le.Shape, le.Class = "diamond", "gt-refresh"
		case suites.EventAuthorize:
			le.Shape, le.Class = "square", "gt-authorize"
		case suites.EventRevoke:
			le.Shape, le.Class = "cross", "k-revoke"
		case suites.EventClock, suites.EventExpire, suites.EventFault, suites.EventHibernate:
			le.Shape, le.Class = "mark", "k-"+e.Kind
			le.Text = markText(e)
		default:
			le.Shape = "bar"
		}
		if e.Status != 0 || e.Seq != 0 {
			le.Class += " " + statusClass(e.Status)
			if e.Status >= 400 || e.Status == 0 {
				le.Class += " bad"
				if e.Status != prevStatus {
					le.Text = statusWord(e.Status)
				}
			}
			prevStatus = e.Status
		}
		l.Events = append(l.Events, le)
	}
	l.Tokens = tokenBars(ev, xs)
	// The gap labels sit below the token bars; a lane without either
	// stays short.
	n := float64(rows(l.Tokens))
	l.AxisY = laneEventY + 30
	if n > 0 {
		l.AxisY = laneTokenTop + n*laneTokenStep + 8
	}
	switch {
	case len(l.Gaps) > 0:
		l.Height = l.AxisY + laneAxisPad - 10
	case n > 0:
		l.Height = laneTokenTop + (n-1)*laneTokenStep + 10
	default:
		l.Height = laneEventY + 20
	}
	l.Width = math.Max(minLaneWidth, x+laneRight)
	l.AxisX1, l.AxisX2 = laneLeft-12, x+12
	for i := range l.Events {
		shapePaths(&l.Events[i], l.AxisY)
	}
	return l
}

// shapePaths draws an event's marker around (X, Y).
func shapePaths(e *laneEvent, axisY float64) {
	x, y := e.X, e.Y
	f := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }
	e.TextY = y - 18
	e.Hit = f("M%.1f,%.1fh20v36h-20z", x-10, y-18)
	switch e.Shape {
	case "circle":
		e.D = f("M%.1f,%.1fa9,9 0 1,0 18,0a9,9 0 1,0 -18,0z", x-9, y)
	case "diamond":
		e.D = f("M%.1f,%.1fl10,10l-10,10l-10,-10z", x, y-10)
	case "square":
		e.D = f("M%.1f,%.1fh14v14h-14z", x-7, y-7)
	case "cross":
		e.D = f("M%.1f,%.1fl14,14m0,-14l-14,14", x-7, y-7)
	case "mark":
		e.D = f("M%.1f,%.1fV%.1f", x, laneMarkTop+4, axisY-4)
		e.Hit = f("M%.1f,%.1fh12V%.1fh-12z", x-6, laneMarkTop-10, axisY)
		e.TextY = laneMarkTop
	default: // bar
		h := 20.0
		if strings.Contains(e.Class, "bad") {
			h = 28
		}
		e.D = f("M%.1f,%.1fh7v%.0fh-7z", x-3.5, y-h/2, h)
	}
}

// tokenBars draws each access token from its grant to its last use, in
// as few rows as do not overlap.
func tokenBars(ev []suites.TimelineEvent, xs []float64) []tokenBar {
	type life struct {
		first, last int
		dead        bool
	}
	lives := map[string]*life{}
	var order []string
	for i, e := range ev {
		if e.IssuedAccess != "" {
			if _, ok := lives[e.IssuedAccess]; !ok {
				lives[e.IssuedAccess] = &life{first: i, last: i}
				order = append(order, e.IssuedAccess)
			}
		}
		if e.Token != "" && e.Kind == suites.EventRequest {
			lf, ok := lives[e.Token]
			if !ok { // a token the timeline did not see issued
				lf = &life{first: i, last: i}
				lives[e.Token] = lf
				order = append(order, e.Token)
			}
			lf.last = i
			lf.dead = e.Status == 401
		}
	}
	var bars []tokenBar
	var rowEnds []float64
	for _, fp := range order {
		lf := lives[fp]
		x1, x2 := xs[lf.first], xs[lf.last]
		row := -1
		for r, end := range rowEnds {
			if end+8 < x1 {
				row = r
				break
			}
		}
		if row < 0 {
			row = len(rowEnds)
			rowEnds = append(rowEnds, 0)
		}
		rowEnds[row] = x2 + tokenLabelWidth
		title := "access token " + fp + ": issued or first seen " + offset(ev[lf.first].Time, ev[0].Time) + ", last used " + offset(ev[lf.last].Time, ev[0].Time)
		if lf.dead {
			title += " (answered 401: expired or revoked)"
		}
		label := "token " + fp[:min(6, len(fp))]
		if lf.dead {
			label += " ✕ 401"
		}
		bars = append(bars, tokenBar{X1: x1, X2: x2, Y: laneTokenTop + float64(row)*laneTokenStep, Label: label, Dead: lf.dead, Title: title})
	}
	return bars
}

// tokenLabelWidth is the room a token's label takes after its bar.
const tokenLabelWidth = 84.0

func rows(bars []tokenBar) int {
	n := 0
	for _, b := range bars {
		if r := int((b.Y-laneTokenTop)/laneTokenStep) + 1; r > n {
			n = r
		}
	}
	return n
}

func markText(e suites.TimelineEvent) string {
	switch e.Kind {
	case suites.EventClock:
		return "clock"
	case suites.EventExpire:
		return "expired"
	case suites.EventFault:
		return "fault"
	}
	return "sleep"
}

func statusClass(status int) string {
	switch {
	case status == 0:
		return "st-none"
	case status == 401, status == 403, status == 429:
		return fmt.Sprintf("st-%d", status)
	case status >= 500:
		return "st-5xx"
	case status >= 400:
		return "st-4xx"
	}
	return "st-ok"
}

func statusWord(status int) string {
	if status == 0 {
		return "drop"
	}
	return fmt.Sprint(status)
}

func classWord(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '-'
	}, s)
}

func offset(t, start time.Time) string {
	d := t.Sub(start)
	if d < time.Second {
		return "at +0 s"
	}
	return "at +" + suites.HumanDuration(d.Round(time.Second))
}

// eventTitle is everything about an event, for its tooltip.
func eventTitle(e suites.TimelineEvent, start time.Time) string {
	var b strings.Builder
	b.WriteString(e.Label)
	fmt.Fprintf(&b, "\n%s (fake clock %s)", offset(e.Time, start), e.Time.UTC().Format("2006-01-02 15:04:05"))
	if e.Actor != "" && e.Actor != "integration" {
		b.WriteString("\nsent by the " + e.Actor)
	}
	if e.Seq != 0 {
		fmt.Fprintf(&b, "\njournal #%d", e.Seq)
	}
	return b.String()
}
