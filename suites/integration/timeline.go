package integration

import (
	"context"
	"time"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/suites"
)

// The report's token timeline (suites/timeline.go): each check's fake
// journal and what the check did to the fake's clock, tokens and faults.
// env.go calls these two hooks.

// markingController notes the check's clock jumps, token expiries, faults
// and hibernation for the timeline.
func markingController(ctl fakesn.Controller) fakesn.Controller {
	return suites.NewMarkingController(ctl)
}

// attachTimeline attaches the check's journal and marks to the running
// spec's report. It does nothing outside a Ginkgo spec (the mutant
// matrix calls Run directly) or before the check's instance was ready.
func (e *Env) attachTimeline() {
	mc, ok := e.ctl.(*suites.MarkingController)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	entries, err := e.Journal(ctx, fakesn.JournalFilter{})
	if err != nil {
		return // the timeline is a nicety; the check's result stands without it
	}
	suites.AttachJournal(entries, mc.Marks()...)
}
