package fakesn

import (
	"sync"
	"time"
)

// Clock is the fake's only source of time: token expiry, record timestamps,
// rate-limit windows and the journal's virtual time all read it.
type Clock interface {
	Now() time.Time
}

// realClock is wall time.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now().UTC() }

// FakeClock is a Clock that moves only when told to, so tests jump over a
// token's lifespan instead of sleeping through it.
type FakeClock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

// NewFakeClock returns a FakeClock stopped at start.
func NewFakeClock(start time.Time) *FakeClock { return &FakeClock{now: start.UTC()} }

// Now returns the clock's current time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (backwards when d is negative).
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t.UTC()
	c.mu.Unlock()
}

// OffsetClock is real time plus an adjustable offset: the standalone server's
// clock, which keeps running on its own and can still be pushed forward.
type OffsetClock struct {
	mu     sync.Mutex // guards offset
	offset time.Duration
}

// Now returns wall time plus the offset.
func (c *OffsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.offset)
}

// Advance adds d to the offset.
func (c *OffsetClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Set makes Now return t at this instant and run on from there.
func (c *OffsetClock) Set(t time.Time) {
	c.mu.Lock()
	c.offset = t.Sub(time.Now().UTC())
	c.mu.Unlock()
}

// adjustableClock is a clock the control API can move.
type adjustableClock interface {
	Clock
	Advance(time.Duration)
	Set(time.Time)
}
