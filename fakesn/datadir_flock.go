//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fakesn

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDataDir takes an exclusive flock on path, so only one process (or one
// Server) uses a data directory at a time. Closing the file releases it,
// and so does the process dying.
func lockDataDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("fakesn: data directory: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("fakesn: data directory %s is in use by another process (lock %s is held)", filepath.Dir(path), path)
		}
		return nil, fmt.Errorf("fakesn: data directory: locking %s: %w", path, err)
	}
	return f, nil
}
