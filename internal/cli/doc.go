// Package cli implements the sncheck command line: [Run] parses the
// arguments, runs one subcommand and reports failure as an error that
// carries the process exit code (see cmd/sncheck for the codes).
//
// Each subcommand lives in its own file (serve.go, health.go, version.go)
// and is dispatched by one case in Run's switch on the first argument.
package cli
