package instance_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sncheck/sncheck/suites"
	"github.com/sncheck/sncheck/suites/instance"
)

// TestInstance runs the instance suite against the target the environment
// names: a fresh in-process fake by default, a fake at SNCHECK_FAKE_URL,
// or a live instance (SN_INSTANCE or SN_URL, with the SN_* credentials).
func TestInstance(t *testing.T) {
	RegisterFailHandler(Fail)
	maker, _, err := suites.TargetFromEnv(nil)
	if err != nil {
		t.Fatal(err)
	}
	instance.Register(maker)
	RunSpecs(t, "ServiceNow instance", Label("conformance"))
}
