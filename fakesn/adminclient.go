package fakesn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// AdminClient drives a fake over its control API: a standalone `sncheck
// serve`, a container, or an in-process Server alike.
type AdminClient struct {
	base   string
	token  string
	client *http.Client
}

var _ Controller = (*AdminClient)(nil)

// NewAdminClient returns a client for the fake at baseURL. adminToken may
// be empty for a fake on loopback; hc nil means a default client.
func NewAdminClient(baseURL, adminToken string, hc *http.Client) *AdminClient {
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	return &AdminClient{base: strings.TrimSuffix(baseURL, "/"), token: adminToken, client: hc}
}

// call sends a control request and decodes the answer into out.
func (c *AdminClient) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("fakesn: encoding control request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("fakesn: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set(AdminTokenHeader, c.token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("fakesn: control %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 512<<20))
	if err != nil {
		return fmt.Errorf("fakesn: control %s %s: reading answer: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var env snErrorBody
		if json.Unmarshal(data, &env) == nil && env.Error.Message != "" {
			detail := ""
			if env.Error.Detail != nil {
				detail = ": " + *env.Error.Detail
			}
			return fmt.Errorf("fakesn: control %s %s: %d %s%s", method, path, resp.StatusCode, env.Error.Message, detail)
		}
		return fmt.Errorf("fakesn: control %s %s: status %d", method, path, resp.StatusCode)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("fakesn: control %s %s: decoding answer: %w", method, path, err)
	}
	return nil
}

// Health reports whether the fake answers.
func (c *AdminClient) Health(ctx context.Context) error {
	return c.call(ctx, http.MethodGet, "/_fakesn/health", nil, nil)
}

// Reset returns the fake to its seed.
func (c *AdminClient) Reset(ctx context.Context) error {
	return c.call(ctx, http.MethodPost, "/_fakesn/reset", nil, nil)
}

// Now is the fake's time.
func (c *AdminClient) Now(ctx context.Context) (time.Time, error) {
	var r clockReply
	err := c.call(ctx, http.MethodGet, "/_fakesn/clock", nil, &r)
	return r.Now, err
}

// AdvanceClock moves the fake's time forward.
func (c *AdminClient) AdvanceClock(ctx context.Context, d time.Duration) (time.Time, error) {
	var r clockReply
	err := c.call(ctx, http.MethodPost, "/_fakesn/clock/advance", map[string]float64{"seconds": d.Seconds()}, &r)
	return r.Now, err
}

// SetClock moves the fake's time to t.
func (c *AdminClient) SetClock(ctx context.Context, t time.Time) (time.Time, error) {
	var r clockReply
	err := c.call(ctx, http.MethodPost, "/_fakesn/clock/set", clockReply{t}, &r)
	return r.Now, err
}

// ExpireTokens expires matching tokens.
func (c *AdminClient) ExpireTokens(ctx context.Context, req ExpireRequest) (int, error) {
	var r struct {
		Expired int `json:"expired"`
	}
	err := c.call(ctx, http.MethodPost, "/_fakesn/tokens/expire", req, &r)
	return r.Expired, err
}

// Journal returns matching journal entries.
func (c *AdminClient) Journal(ctx context.Context, f JournalFilter) ([]JournalEntry, error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("path", f.Path)
	set("api", f.API)
	set("grant_type", f.GrantType)
	set("token", f.Token)
	if f.Status != 0 {
		set("status", strconv.Itoa(f.Status))
	}
	if f.SinceSeq != 0 {
		set("since_seq", strconv.FormatInt(f.SinceSeq, 10))
	}
	if f.Limit != 0 {
		set("limit", strconv.Itoa(f.Limit))
	}
	if !f.Since.IsZero() {
		set("since", f.Since.Format(time.RFC3339Nano))
	}
	path := "/_fakesn/journal"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var r struct {
		Entries []JournalEntry `json:"entries"`
	}
	err := c.call(ctx, http.MethodGet, path, nil, &r)
	return r.Entries, err
}

// ClearJournal empties the journal.
func (c *AdminClient) ClearJournal(ctx context.Context) error {
	return c.call(ctx, http.MethodDelete, "/_fakesn/journal", nil, nil)
}

// Unexpected lists requests the fake does not model.
func (c *AdminClient) Unexpected(ctx context.Context) ([]Unexpected, error) {
	var r struct {
		Unexpected []Unexpected `json:"unexpected"`
	}
	err := c.call(ctx, http.MethodGet, "/_fakesn/unexpected", nil, &r)
	return r.Unexpected, err
}

// ClearUnexpected empties the unexpected-request list.
func (c *AdminClient) ClearUnexpected(ctx context.Context) error {
	return c.call(ctx, http.MethodDelete, "/_fakesn/unexpected", nil, nil)
}

// Faults lists armed faults.
func (c *AdminClient) Faults(ctx context.Context) ([]Fault, error) {
	var r struct {
		Faults []Fault `json:"faults"`
	}
	err := c.call(ctx, http.MethodGet, "/_fakesn/faults", nil, &r)
	return r.Faults, err
}

// AddFault arms a fault.
func (c *AdminClient) AddFault(ctx context.Context, f Fault) (Fault, error) {
	var out Fault
	err := c.call(ctx, http.MethodPost, "/_fakesn/faults", f, &out)
	return out, err
}

// ClearFaults disarms every fault.
func (c *AdminClient) ClearFaults(ctx context.Context) error {
	return c.call(ctx, http.MethodDelete, "/_fakesn/faults", nil, nil)
}

// SetHibernating switches the hibernation page on or off.
func (c *AdminClient) SetHibernating(ctx context.Context, on bool) error {
	return c.call(ctx, http.MethodPost, "/_fakesn/hibernate", map[string]bool{"on": on}, nil)
}

// Snapshot captures the fake's tables.
func (c *AdminClient) Snapshot(ctx context.Context) (*Snapshot, error) {
	var snap Snapshot
	if err := c.call(ctx, http.MethodGet, "/_fakesn/snapshot", nil, &snap); err != nil {
		return nil, err
	}
	return &snap, nil
}

// Restore replaces the fake's tables with a snapshot.
func (c *AdminClient) Restore(ctx context.Context, snap *Snapshot) error {
	return c.call(ctx, http.MethodPost, "/_fakesn/restore", snap, nil)
}
