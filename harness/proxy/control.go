package proxy

import (
	"context"
	"fmt"
	"time"

	"github.com/sncheck/sncheck/fakesn"
)

// notAvailable is the error of a Controller method that needs a fake.
func notAvailable(method string) error {
	return fmt.Errorf("proxy: %s is %w (it needs the fake)", method, ErrNotAvailable)
}

// Journal returns the journal entries matching f, oldest first. Their
// Time is wall time.
func (p *Proxy) Journal(_ context.Context, f fakesn.JournalFilter) ([]fakesn.JournalEntry, error) {
	return p.journal.Query(f), nil
}

// ClearJournal empties the journal; numbering goes on.
func (p *Proxy) ClearJournal(context.Context) error {
	p.journal.Clear()
	return nil
}

// AddFault arms a fault, with the fake's semantics: the proxy answers
// matching requests itself instead of forwarding them (status_after
// forwards first; revoke revokes the presented token at the instance,
// then forwards).
func (p *Proxy) AddFault(_ context.Context, f fakesn.Fault) (fakesn.Fault, error) {
	return p.faults.Add(f)
}

// Faults lists the armed faults with their counters.
func (p *Proxy) Faults(context.Context) ([]fakesn.Fault, error) { return p.faults.List(), nil }

// ClearFaults disarms every fault.
func (p *Proxy) ClearFaults(context.Context) error {
	p.faults.Clear()
	return nil
}

// SetHibernating makes the proxy answer every request with the
// hibernation page (on), or forward again (off).
func (p *Proxy) SetHibernating(_ context.Context, on bool) error {
	p.hibernating.Store(on)
	return nil
}

// Now is wall time, the journal's time against a live instance.
func (p *Proxy) Now(context.Context) (time.Time, error) { return time.Now().UTC(), nil }

// Health needs the fake; against a live instance it answers ErrNotAvailable.
func (p *Proxy) Health(context.Context) error { return notAvailable("Health") }

// Reset needs the fake.
func (p *Proxy) Reset(context.Context) error { return notAvailable("Reset") }

// AdvanceClock needs the fake: a live instance's clock cannot be moved.
// Force expiry with RevokeCurrent or ExpireTokens instead.
func (p *Proxy) AdvanceClock(context.Context, time.Duration) (time.Time, error) {
	return time.Time{}, notAvailable("AdvanceClock")
}

// SetClock needs the fake.
func (p *Proxy) SetClock(context.Context, time.Time) (time.Time, error) {
	return time.Time{}, notAvailable("SetClock")
}

// Unexpected needs the fake: only it knows what it does not model.
func (p *Proxy) Unexpected(context.Context) ([]fakesn.Unexpected, error) {
	return nil, notAvailable("Unexpected")
}

// ClearUnexpected needs the fake.
func (p *Proxy) ClearUnexpected(context.Context) error { return notAvailable("ClearUnexpected") }

// Snapshot needs the fake.
func (p *Proxy) Snapshot(context.Context) (*fakesn.Snapshot, error) {
	return nil, notAvailable("Snapshot")
}

// Restore needs the fake.
func (p *Proxy) Restore(context.Context, *fakesn.Snapshot) error { return notAvailable("Restore") }
