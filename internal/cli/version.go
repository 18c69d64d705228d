package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time for releases:
//
//	go build -ldflags "-X github.com/sncheck/sncheck/internal/cli.version=v1.2.3" ./cmd/sncheck
//
// When empty, the module version and VCS revision stamped by the go
// command are used.
var version string

func runVersion(e *env, args []string) error {
	fs := e.newFlagSet("version")
	pos, err := e.parseFlags(fs, args, func(w io.Writer) {
		fmt.Fprint(w, "Usage: sncheck version\n\nPrints the version of sncheck and of the Go toolchain that built it.\n")
	})
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("sncheck version: unexpected argument %q", pos[0])
	}
	fmt.Fprintf(e.stdout, "sncheck %s %s %s/%s\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

// buildVersion is the -X version, else the stamped module version, else
// "devel" with the VCS revision when known.
func buildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "devel"
	}
	return "devel-" + rev + dirty
}
