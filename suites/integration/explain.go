package integration

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
)

// Helpers that turn journal entries and outcomes into the words of an
// explanation. None of them ever prints a secret: the journal holds none.

func tokenRequests(es []fakesn.JournalEntry) []fakesn.JournalEntry {
	return filter(es, func(e fakesn.JournalEntry) bool { return e.API == "oauth_token" })
}

func tableRequests(es []fakesn.JournalEntry) []fakesn.JournalEntry {
	return filter(es, func(e fakesn.JournalEntry) bool { return e.API == "table" })
}

func filter(es []fakesn.JournalEntry, keep func(fakesn.JournalEntry) bool) []fakesn.JournalEntry {
	var out []fakesn.JournalEntry
	for _, e := range es {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

func withStatus(es []fakesn.JournalEntry, status int) []fakesn.JournalEntry {
	return filter(es, func(e fakesn.JournalEntry) bool { return e.Status == status })
}

// describeEntry is one request in a few words: "GET /api/now/table/incident
// → 401" or "token request grant_type=refresh_token → 200".
func describeEntry(e fakesn.JournalEntry) string {
	switch e.API {
	case "oauth_token":
		g := e.GrantType
		if g == "" {
			g = "none"
		}
		return fmt.Sprintf("token request grant_type=%s → %d", g, e.Status)
	case "table":
		p := e.Path
		if q := pagingOf(e); q != "" {
			p += " (" + q + ")"
		}
		auth := ""
		if e.AuthKind != "" && e.AuthKind != "bearer" {
			auth = " [auth " + e.AuthKind + "]"
		}
		return fmt.Sprintf("%s %s%s → %d", e.Method, p, auth, e.Status)
	}
	return fmt.Sprintf("%s %s → %d", e.Method, e.Path, e.Status)
}

// pagingOf names the paging parameters of a list request.
func pagingOf(e fakesn.JournalEntry) string {
	q, err := url.ParseQuery(e.Query)
	if err != nil || e.SysID != "" || e.Method != "GET" {
		return ""
	}
	var parts []string
	for _, k := range []string{"sysparm_offset", "sysparm_limit"} {
		if v := q.Get(k); v != "" {
			parts = append(parts, strings.TrimPrefix(k, "sysparm_")+" "+v)
		}
	}
	return strings.Join(parts, ", ")
}

// describeRequests lists requests in order, folding repeats ("3× GET … →
// 401"), at most max items.
func describeRequests(es []fakesn.JournalEntry) string {
	if len(es) == 0 {
		return "no request"
	}
	type run struct {
		what string
		n    int
	}
	var runs []run
	for _, e := range es {
		d := describeEntry(e)
		if len(runs) > 0 && runs[len(runs)-1].what == d {
			runs[len(runs)-1].n++
			continue
		}
		runs = append(runs, run{d, 1})
	}
	const max = 10
	var parts []string
	for i, r := range runs {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(runs)-max))
			break
		}
		if r.n > 1 {
			parts = append(parts, fmt.Sprintf("%d× %s", r.n, r.what))
		} else {
			parts = append(parts, r.what)
		}
	}
	return strings.Join(parts, "; ")
}

// countOf is "1 request" / "3 requests".
func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// outcome describes how an operation ended.
func outcome(err error) string {
	if err == nil {
		return "succeeded"
	}
	var de *harness.DriverError
	if errors.As(err, &de) {
		return fmt.Sprintf("failed with %s (%q)", de.Kind, clipText(de.Message, 160))
	}
	return fmt.Sprintf("failed (%s)", clipText(err.Error(), 160))
}

// grantWord names how the grant renews an access token.
func renewalWord(grant string) string {
	if grant == harness.GrantClientCredentials {
		return "a new client_credentials grant (that grant has no refresh token)"
	}
	return "the refresh grant (grant_type=refresh_token)"
}

// gap is the time between the end of one request and the start of the
// next, on the wall clock.
func gap(prev, next fakesn.JournalEntry) time.Duration {
	return next.WallTime.Sub(prev.WallTime.Add(prev.Duration))
}

func ms(d time.Duration) string {
	return strconv.FormatInt(d.Round(time.Millisecond).Milliseconds(), 10) + " ms"
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}
