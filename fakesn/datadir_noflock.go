//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package fakesn

import (
	"fmt"
	"os"
	"runtime"
)

// lockDataDir: without flock the directory cannot be guarded against a
// second process, so DataDir is refused rather than risked.
func lockDataDir(path string) (*os.File, error) {
	return nil, fmt.Errorf("fakesn: DataDir needs flock, which %s lacks", runtime.GOOS)
}
