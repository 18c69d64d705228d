package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/suites"
)

// slack absorbs clock granularity when comparing wall-clock gaps.
const slack = 5 * time.Millisecond

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "RATE-RETRY-AFTER",
		Statement: "waits at least Retry-After before retrying a 429, then succeeds",
		Labels:    []string{"ratelimit", "faults"},
		Hint:      "on 429 read Retry-After (seconds) and wait at least that long before the next request; retry a bounded number of times",
		Needs:     []string{"faults"},
	},
	run: checkRetryAfter,
})

// retryAfter is the Retry-After the fault sends, short to keep the suite fast.
const retryAfter = time.Second

func checkRetryAfter(ctx context.Context, env *Env) Result {
	integ, r := connected(ctx, env)
	if r != nil {
		return *r
	}
	if _, err := env.Controller().AddFault(ctx, fakesn.Fault{
		Method: http.MethodGet, API: "table", Table: probeTable, Status: http.StatusTooManyRequests,
		RetryAfter: int(retryAfter / time.Second), Times: 1,
	}); err != nil {
		return fail("sncheck could not arm the fault: %v", err)
	}
	opErr, es, r := probeObserved(ctx, env, integ)
	if r != nil {
		return *r
	}
	table := tableRequests(es)
	for i, e := range table {
		if e.Status != http.StatusTooManyRequests || i+1 >= len(table) {
			continue
		}
		if g := gap(e, table[i+1]); g < retryAfter-slack {
			return fail("The instance answered a read with 429 and Retry-After: %d; the integration sent its next request %s later (%s). It should wait at least Retry-After before retrying.",
				int(retryAfter/time.Second), ms(g), describeRequests(table))
		}
	}
	if opErr != nil {
		return fail("The instance answered one read with 429 and Retry-After: %d, then would have answered normally; the operation %s (the integration sent: %s). It should wait and retry.",
			int(retryAfter/time.Second), outcome(opErr), describeRequests(es))
	}
	return pass()
}

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "FAULT-5XX-BACKOFF",
		Statement: "retries a GET after a 5xx with bounded, increasing backoff and succeeds",
		Labels:    []string{"faults"},
		Hint:      "retry idempotent requests (GET, PUT, PATCH, DELETE) after 5xx a few times, waiting longer each time (exponential backoff)",
		Needs:     []string{"faults"},
	},
	run: checkBackoff,
})

// Backoff bounds: at least minBackoff before a retry, at most maxAttempts.
const (
	minBackoff  = 10 * time.Millisecond
	maxAttempts = 10
	fiveXXTimes = 3
)

func checkBackoff(ctx context.Context, env *Env) Result {
	integ, r := connected(ctx, env)
	if r != nil {
		return *r
	}
	if _, err := env.Controller().AddFault(ctx, fakesn.Fault{
		Method: http.MethodGet, API: "table", Table: probeTable, Status: http.StatusServiceUnavailable, Times: fiveXXTimes,
	}); err != nil {
		return fail("sncheck could not arm the fault: %v", err)
	}
	opErr, es, r := probeObserved(ctx, env, integ)
	if r != nil {
		return *r
	}
	table := tableRequests(es)
	var gaps []string
	for i := 1; i < len(table); i++ {
		gaps = append(gaps, ms(gap(table[i-1], table[i])))
	}
	what := fmt.Sprintf("The instance answered the first %d reads of an incident with 503", fiveXXTimes)
	switch {
	case len(table) > maxAttempts:
		return fail("%s; the integration sent %s (gaps %s). Retries must be bounded (at most %d attempts).", what, countOf(len(table), "request"), strings.Join(gaps, ", "), maxAttempts)
	case len(table) < 2:
		return fail("%s; the integration gave up after the first (the operation %s). A GET is safe to repeat: it should retry with backoff.", what, outcome(opErr))
	}
	for i := 1; i < len(table); i++ {
		if g := gap(table[i-1], table[i]); g < minBackoff {
			return fail("%s; the integration retried %s after a 503 (gaps between attempts: %s). It should back off before retrying, not hammer an instance that is struggling.", what, ms(g), strings.Join(gaps, ", "))
		}
	}
	// A busy machine can only stretch a wait, so only the first and the
	// last are compared: a backoff that grows keeps them apart.
	if first, last := gap(table[0], table[1]), gap(table[len(table)-2], table[len(table)-1]); len(table) > 2 && last < first+slack {
		return fail("%s; the integration waited %s before its first retry and %s before its last (gaps %s). Backoff should grow with each retry.", what, ms(first), ms(last), strings.Join(gaps, ", "))
	}
	if opErr != nil {
		return fail("%s, then normally; the integration sent %s (%s; gaps %s) and the operation %s. It should retry until it succeeds, within its bound.",
			what, countOf(len(table), "request"), describeRequests(table), strings.Join(gaps, ", "), outcome(opErr))
	}
	return pass()
}

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "FAULT-NO-POST-REPLAY",
		Statement: "never replays a POST that may have succeeded",
		Labels:    []string{"faults"},
		Hint:      "a POST that got a 5xx may have created the record: report unavailable (or check for the record) instead of sending it again",
		Needs:     []string{"faults", "writes"},
	},
	run: checkNoPostReplay,
})

func checkNoPostReplay(ctx context.Context, env *Env) Result {
	integ, r := connected(ctx, env)
	if r != nil {
		return *r
	}
	if _, err := env.Controller().AddFault(ctx, fakesn.Fault{
		Method: http.MethodPost, API: "table", Table: probeTable, Action: fakesn.FaultStatusAfter,
		Status: http.StatusInternalServerError, Times: 1,
	}); err != nil {
		return fail("sncheck could not arm the fault: %v", err)
	}
	marker := env.liveText(randomSecret("sncheck-post-"))            // live: run-marked
	env.deleteMatchingLater(probeTable, "short_description="+marker) // live: and deleted
	mark, err := env.Mark(ctx)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	_, opErr := integ.Create(ctx, probeTable, harness.Record{"short_description": marker})
	es, err := env.Since(ctx, mark)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	posts := filter(tableRequests(es), func(e fakesn.JournalEntry) bool { return e.Method == http.MethodPost })
	n, err := env.countRecords(ctx, probeTable, "short_description="+marker)
	if err != nil {
		return fail("sncheck could not count the created records: %v", err)
	}
	what := "The instance created the record of the integration's POST but answered 500"
	switch {
	case len(posts) > 1:
		return fail("%s; the integration sent the POST %d times (%s), which left %s with the same content. A POST that may have succeeded must not be replayed: report unavailable instead.",
			what, len(posts), describeRequests(es), countOf(n, "record"))
	case n != 1:
		return fail("%s; the integration sent %s, and the instance holds %s with its content instead of 1.", what, countOf(len(posts), "POST"), countOf(n, "record"))
	case opErr != nil && harness.KindOf(opErr) != harness.KindUnavailable:
		return fail("%s; the integration did not replay it, but the operation %s. A 5xx should be reported as unavailable.", what, outcome(opErr))
	}
	return pass()
}

var _ = define(IntegrationCheck{
	Check: suites.Check{
		ID:        "FAULT-HIBERNATION",
		Statement: "reports a hibernating instance's HTML page as unavailable, without looping",
		Labels:    []string{"faults"},
		Hint:      "a developer instance that hibernates answers 200 with an HTML page on every URL: check the Content-Type and report unavailable (wake the instance), never parse it as data",
		Needs:     []string{"faults"},
	},
	run: checkHibernation,
})

// maxHibernationRequests bounds what a single operation may send to a
// hibernating instance.
const maxHibernationRequests = 5

func checkHibernation(ctx context.Context, env *Env) Result {
	integ, r := connected(ctx, env)
	if r != nil {
		return *r
	}
	if _, err := env.Controller().AddFault(ctx, fakesn.Fault{Action: fakesn.FaultHibernate, Times: -1}); err != nil {
		return fail("sncheck could not arm the fault: %v", err)
	}
	mark, err := env.Mark(ctx)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	rec, opErr := integ.Get(ctx, probeTable, probeID())
	_ = env.Controller().ClearFaults(ctx)
	es, err := env.Since(ctx, mark)
	if err != nil {
		return fail("sncheck could not read the fake's journal: %v", err)
	}
	what := "The instance was hibernating (200 with an HTML page on every URL)"
	switch {
	case len(es) > maxHibernationRequests:
		return fail("%s; for one read the integration sent %s (%s). It should report unavailable after a bounded number of attempts.", what, countOf(len(es), "request"), describeRequests(es))
	case opErr == nil:
		return fail("%s; the integration read the page as an answer: the operation succeeded with %s. It should see the HTML Content-Type and report unavailable.", what, describeRecord(rec))
	case harness.KindOf(opErr) != harness.KindUnavailable:
		return fail("%s; the operation %s. It should report unavailable (the instance must be woken up).", what, outcome(opErr))
	}
	return pass()
}

func describeRecord(rec harness.Record) string {
	if len(rec) == 0 {
		return "an empty record"
	}
	return fmt.Sprintf("a record of %d fields", len(rec))
}
