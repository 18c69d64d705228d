package integration_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"github.com/sncheck/sncheck/examples/reference"
	"github.com/sncheck/sncheck/examples/reference/snclient"
	"github.com/sncheck/sncheck/suites/integration"
)

// The suite against the reference integration, in process, once per grant.
var _ = func() bool {
	for _, grant := range integration.Grants() {
		ginkgo.Describe("the reference integration with the "+grant+" grant", func() {
			integration.Register(func() *integration.Env {
				return &integration.Env{Grant: grant, Start: reference.Starter(snclient.Config{})}
			})
		})
	}
	return true
}()

func TestIntegrationSuite(t *testing.T) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	ginkgo.RunSpecs(t, "ServiceNow integration", ginkgo.Label("integration"))
}
