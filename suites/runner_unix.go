//go:build unix

package suites

import (
	"os"
	"syscall"
)

// childSysProcAttr puts the child in its own process group, so that a
// Ctrl-C at the terminal reaches only the parent, which forwards exactly
// one SIGINT: a second one would make Ginkgo skip the cleanup.
func childSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// interruptProcess asks the child to stop and clean up.
func interruptProcess(p *os.Process) error { return p.Signal(os.Interrupt) }
