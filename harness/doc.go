// Package harness connects the suites to what they check: a [Target] (the
// fake in process, the fake at a URL, or a live ServiceNow instance), and
// an [Integration] driven through the sncheck-driver/1 protocol (see
// docs/driver-protocol.md).
//
// Non-test code here never imports Ginkgo or Gomega; helpers take
// testing.TB so they work from plain tests and from Ginkgo (GinkgoTB()).
package harness
