package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"

	"github.com/sncheck/sncheck/harness"
)

// Register declares one Ginkgo spec per check of the integration suite
// ("[ID] statement", with the check's labels). Each spec builds a fresh Env
// with newEnv (a fresh fake and fresh state directories follow from it)
// and runs the check; a failed check fails the spec with its explanation,
// a check that does not apply skips it with the reason.
func Register(newEnv func() *Env) {
	for _, c := range Checks() {
		c.It(func(ctx ginkgo.SpecContext) {
			env := newEnv()
			if env.Logf == nil {
				env.Logf = func(format string, args ...any) { ginkgo.GinkgoWriter.Printf(format+"\n", args...) }
			}
			res := c.Run(ctx, env)
			switch {
			case res.Skipped != "":
				ginkgo.Skip(res.Skipped)
			case !res.Passed:
				ginkgo.Fail(res.Explanation)
			}
		}, ginkgo.SpecTimeout(CheckTimeout+30*time.Second))
	}
}

// Environment variables that tell the suite, inside the sncheck binary,
// which integration to verify (sncheck verify sets them for its child).
const (
	// EnvAdapter is the adapter command and its arguments, as a JSON array
	// of strings.
	EnvAdapter = "SNCHECK_ADAPTER"
	// EnvGrant is the grant the adapter is configured with; empty means
	// password.
	EnvGrant = "SNCHECK_GRANT"
)

// EnvFromEnviron returns an Env maker for the adapter and grant the
// environment names (EnvAdapter, EnvGrant), read through getenv, and the
// live instance when EnvLiveURL names one (with the SN_* credentials).
func EnvFromEnviron(getenv func(string) string) (func() *Env, error) {
	raw := getenv(EnvAdapter)
	if raw == "" {
		return nil, fmt.Errorf("integration: %s is not set: name the adapter command as a JSON array", EnvAdapter)
	}
	var argv []string
	if err := json.Unmarshal([]byte(raw), &argv); err != nil || len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf("integration: %s must be a JSON array of strings, the adapter command first", EnvAdapter)
	}
	grant := getenv(EnvGrant)
	if grant == "" {
		grant = harness.GrantPassword
	}
	if !validGrant(grant) {
		return nil, fmt.Errorf("integration: %s=%q is not %s", EnvGrant, grant, strings.Join(Grants(), ", "))
	}
	start := harness.Exec(argv[0], argv[1:]...)
	live, err := LiveFromEnviron(getenv) // live: EnvLiveURL names an instance (live.go)
	if err != nil {
		return nil, err
	}
	return func() *Env { return &Env{Grant: grant, Start: start, Live: live} }, nil
}

func validGrant(g string) bool {
	for _, v := range Grants() {
		if g == v {
			return true
		}
	}
	return false
}

// RegisterFromEnviron is the suite's suites.Registrar inside the sncheck
// binary: it verifies the adapter named by the environment, with a fresh
// in-process fake per check (the target maker is not used). A broken
// environment fails the suite before any check runs.
func RegisterFromEnviron(_ harness.Maker) {
	newEnv, err := EnvFromEnviron(os.Getenv)
	if err != nil {
		ginkgo.BeforeSuite(func() { ginkgo.Fail(err.Error()) })
		newEnv = func() *Env { return &Env{} }
	}
	Register(newEnv)
}
