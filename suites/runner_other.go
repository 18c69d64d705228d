//go:build !unix

package suites

import (
	"os"
	"syscall"
)

func childSysProcAttr() *syscall.SysProcAttr { return nil }

// interruptProcess kills the child: there is no SIGINT to send it, so its
// cleanup is left to RunOptions.Sweep.
func interruptProcess(p *os.Process) error { return p.Kill() }
