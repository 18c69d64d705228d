package integration_test

import (
	"context"
	"testing"

	"github.com/sncheck/sncheck/examples/reference"
	"github.com/sncheck/sncheck/examples/reference/snclient"
	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
	"github.com/sncheck/sncheck/suites"
	"github.com/sncheck/sncheck/suites/integration"
)

// TestFakeAtURL runs checks one after another against one fake reached
// through its URL and control API, as against `sncheck serve`: each check
// sees only its own requests, sets up through the Table API, and skips
// when it needs a fake configured at start.
func TestFakeAtURL(t *testing.T) {
	t.Parallel()
	srv := harness.StartFake(t, fakesn.Options{})
	target := harness.NewURLTarget(srv.URL(), harness.DefaultCredentials(), "")
	tests := []struct {
		id   string
		want string
	}{
		{id: "AUTH-GRANT", want: suites.StatePassed},
		{id: "REFRESH-ON-EXPIRY", want: suites.StatePassed},
		{id: "PAGE-STOPS-AT-LAST", want: suites.StatePassed},
		{id: "FAULT-5XX-BACKOFF", want: suites.StatePassed},
		{id: "REFRESH-TOKENS-PERSISTED", want: suites.StatePassed},
		{id: "PAGE-ALL-RECORDS", want: suites.StateSkipped},
		{id: "REFRESH-KEEPS-RETURNED-TOKEN", want: suites.StateSkipped},
		{id: "SCOPE-INSUFFICIENT", want: suites.StateSkipped},
	}
	// Not parallel: the checks share the fake's clock and faults.
	for _, tt := range tests {
		c, ok := integration.Lookup(tt.id)
		if !ok {
			t.Fatalf("no check %s", tt.id)
		}
		res := c.Run(context.Background(), &integration.Env{
			Grant: harness.GrantPassword, Start: reference.Starter(snclient.Config{}), Target: target, Logf: t.Logf,
		})
		if res.State() != tt.want {
			t.Errorf("%s against a fake at a URL: %s, want %s: %s%s", tt.id, res.State(), tt.want, res.Explanation, res.Skipped)
		}
	}
}
