// Package reference is the reference integration: [snclient] behind the
// [harness.Integration] contract, in process (New, Starter) or as the
// sncheck-driver/1 adapter cmd/sncheck-reference. With snclient.Bugs set
// it becomes one of the deliberately broken integrations that the
// integration suite must catch (examples/README.md).
package reference

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/sncheck/sncheck/examples/reference/snclient"
	"github.com/sncheck/sncheck/harness"
)

// Integration is the reference integration. Its log is its output: when
// no Logger is given it is kept for Output, so a suite can scan it for
// leaked secrets as it scans an adapter's stderr.
type Integration struct {
	client *snclient.Client
	out    *logBuffer // nil when the caller gave a Logger
}

var (
	_ harness.Integration    = (*Integration)(nil)
	_ harness.OutputCapturer = (*Integration)(nil)
)

// New returns the reference integration for cfg. base carries what
// IntegrationConfig does not: Bugs, HTTPClient, Logger, paging and retry
// tuning; its connection fields are replaced by cfg's.
func New(cfg harness.IntegrationConfig, base snclient.Config) (*Integration, error) {
	base.InstanceURL, base.ClientID, base.ClientSecret = cfg.InstanceURL, cfg.ClientID, cfg.ClientSecret
	base.Username, base.Password, base.GrantType = cfg.Username, cfg.Password, cfg.GrantType
	base.RedirectURI, base.StateDir = cfg.RedirectURI, cfg.StateDir
	i := &Integration{}
	if base.Logger == nil {
		i.out = &logBuffer{}
		base.Logger = slog.New(slog.NewTextHandler(i.out, nil))
	}
	c, err := snclient.New(base)
	if err != nil {
		return nil, &harness.DriverError{Kind: harness.KindInvalidRequest, Message: err.Error()}
	}
	i.client = c
	return i, nil
}

// Starter starts the reference integration in process.
func Starter(base snclient.Config) harness.Starter {
	return func(_ context.Context, cfg harness.IntegrationConfig) (harness.Integration, error) {
		i, err := New(cfg, base)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return i, nil
	}
}

// Output returns the integration's log, when it keeps it.
func (i *Integration) Output() []byte {
	if i.out == nil {
		return nil
	}
	return i.out.Bytes()
}

// Client is the underlying client.
func (i *Integration) Client() *snclient.Client { return i.client }

// Connect gets a token with the configured grant, or reuses kept ones.
func (i *Integration) Connect(ctx context.Context) (string, error) {
	u, err := i.client.Connect(ctx)
	return u, driverError(err)
}

// Callback completes the authorization-code flow.
func (i *Integration) Callback(ctx context.Context, redirectURL string) error {
	return driverError(i.client.Callback(ctx, redirectURL))
}

// List returns every matching record, over all pages.
func (i *Integration) List(ctx context.Context, table, query string, fields []string) ([]harness.Record, error) {
	recs, err := i.client.List(ctx, table, query, fields)
	return recs, driverError(err)
}

// Get returns one record.
func (i *Integration) Get(ctx context.Context, table, sysID string) (harness.Record, error) {
	rec, err := i.client.Get(ctx, table, sysID)
	return rec, driverError(err)
}

// Create inserts a record; a failed POST is never replayed.
func (i *Integration) Create(ctx context.Context, table string, rec harness.Record) (harness.Record, error) {
	out, err := i.client.Create(ctx, table, rec)
	return out, driverError(err)
}

// Update changes fields of a record.
func (i *Integration) Update(ctx context.Context, table, sysID string, rec harness.Record) (harness.Record, error) {
	out, err := i.client.Update(ctx, table, sysID, rec)
	return out, driverError(err)
}

// Delete removes a record.
func (i *Integration) Delete(ctx context.Context, table, sysID string) error {
	return driverError(i.client.Delete(ctx, table, sysID))
}

// Close releases connections; the kept tokens stay.
func (i *Integration) Close() error { return i.client.Close() }

// driverError maps snclient's errors onto the protocol's kinds (the names
// are the same).
func driverError(err error) error {
	if err == nil {
		return nil
	}
	var e *snclient.Error
	if !errors.As(err, &e) {
		return &harness.DriverError{Kind: harness.KindTransport, Message: err.Error()}
	}
	msg := e.Message
	if e.StatusCode != 0 {
		msg = fmt.Sprintf("status %d: %s", e.StatusCode, msg)
	}
	if e.Op != "" {
		msg = e.Op + ": " + msg
	}
	return &harness.DriverError{Kind: harness.ErrorKind(e.Kind), Message: msg}
}

// logBuffer keeps the first 16 MiB of a log.
type logBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len()+len(p) <= 16<<20 {
		b.buf.Write(p)
	}
	return len(p), nil
}

func (b *logBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
