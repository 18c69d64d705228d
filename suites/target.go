package suites

import (
	"context"
	"fmt"
	"os"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness"
)

// Environment variables that choose the target, read the same way by `go
// test ./suites/...`, the ginkgo CLI and the sncheck binary.
const (
	// EnvFakeURL points the suites at a fake already running (sncheck
	// serve, a container); EnvAdminToken is its control-API token.
	EnvFakeURL    = "SNCHECK_FAKE_URL"
	EnvAdminToken = "SNCHECK_ADMIN_TOKEN"
	// EnvAllowWrites lets the instance suite create (and then delete)
	// records on a live instance.
	EnvAllowWrites = "SNCHECK_ALLOW_WRITES"
	// EnvRunMarker is the prefix of records a run creates.
	EnvRunMarker = "SNCHECK_RUN_MARKER"
)

// TargetFromEnv returns a maker for the target the environment names: a
// live instance (SN_INSTANCE or SN_URL), a fake at SNCHECK_FAKE_URL, or a
// fresh in-process fake. getenv nil means os.Getenv.
func TargetFromEnv(getenv func(string) string) (harness.Maker, string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if url := getenv(EnvFakeURL); url != "" {
		creds := harness.LiveConfigFromEnv(getenv).Credentials
		def := harness.DefaultCredentials()
		fill(&creds.ClientID, def.ClientID)
		fill(&creds.ClientSecret, def.ClientSecret)
		fill(&creds.Username, def.Username)
		fill(&creds.Password, def.Password)
		fill(&creds.RedirectURI, def.RedirectURI)
		token := getenv(EnvAdminToken)
		return func(context.Context) (harness.Target, error) {
			return harness.NewURLTarget(url, creds, token), nil
		}, "fake at " + url, nil
	}
	live := harness.LiveConfigFromEnv(getenv)
	if live.Configured() {
		if err := live.Validate(); err != nil {
			return nil, "", err
		}
		base, _ := live.BaseURL()
		return func(context.Context) (harness.Target, error) { return harness.NewLiveTarget(live) }, "live instance " + base, nil
	}
	return func(context.Context) (harness.Target, error) {
		t, err := harness.NewFakeTarget(fakesn.Options{})
		if err != nil {
			return nil, fmt.Errorf("suites: %w", err)
		}
		return t, nil
	}, "in-process fake", nil
}

func fill(dst *string, def string) {
	if *dst == "" {
		*dst = def
	}
}
