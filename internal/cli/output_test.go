package cli

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sncheck/sncheck/suites"
)

func outputRun() *suites.Run {
	run := &suites.Run{
		Schema: suites.RunSchema, Suite: "integration", Requests: 12,
		Errors: []string{"AfterSuite: cleanup failed"},
		Results: []suites.Result{
			{ID: "AUTH-GRANT", Statement: "gets a token", State: suites.StatePassed},
			{ID: "REFRESH-ON-EXPIRY", Statement: "renews once", State: suites.StateFailed,
				Message: "it never refreshed", Hint: "refresh on a 401", Location: "/src/x.go:3"},
			{ID: "AUTH-PKCE-PUBLIC", Statement: "uses PKCE", State: suites.StateSkipped, SkipReason: "not this grant"},
		},
	}
	run.Finish()
	return run
}

func TestOutput(t *testing.T) {
	t.Parallel()
	progress := []suites.Progress{
		{ID: "AUTH-GRANT", State: suites.StatePassed, Seconds: 0.123},
		{ID: "REFRESH-ON-EXPIRY", State: suites.StateFailed, Seconds: 1.5, Reason: "it never refreshed"},
		{ID: "AUTH-PKCE-PUBLIC", State: suites.StateSkipped, Reason: "not this grant"},
	}
	summary := `3 checks: 1 passed, 1 failed, 1 skipped in 2.5s (12 requests)
error: AfterSuite: cleanup failed

Failed checks:

✗ REFRESH-ON-EXPIRY: renews once
  seen: it never refreshed
  hint: refresh on a 401
`
	tests := []struct {
		name           string
		quiet, verbose bool
		color          bool
		want           string
	}{
		{name: "default", want: `✓ AUTH-GRANT (0.12s)
✗ REFRESH-ON-EXPIRY (1.50s)
- AUTH-PKCE-PUBLIC (0.00s): not this grant

` + summary},
		{name: "quiet", quiet: true, want: summary},
		{name: "verbose", verbose: true, want: `✓ AUTH-GRANT (0.12s)
✗ REFRESH-ON-EXPIRY (1.50s): it never refreshed
- AUTH-PKCE-PUBLIC (0.00s): not this grant

` + summary + "  at /src/x.go:3\n"},
		{name: "colour", color: true, want: "\x1b[32m✓\x1b[0m AUTH-GRANT \x1b[2m(0.12s)\x1b[0m\n" +
			"\x1b[31m✗\x1b[0m REFRESH-ON-EXPIRY \x1b[2m(1.50s)\x1b[0m\n" +
			"\x1b[33m-\x1b[0m AUTH-PKCE-PUBLIC \x1b[2m(0.00s)\x1b[0m: not this grant\n\n" +
			"3 checks: \x1b[32m1 passed\x1b[0m, \x1b[1m\x1b[31m1 failed\x1b[0m, \x1b[33m1 skipped\x1b[0m in 2.5s (12 requests)\n" +
			"\x1b[1m\x1b[31merror:\x1b[0m AfterSuite: cleanup failed\n\n\x1b[1mFailed checks:\x1b[0m\n\n" +
			"\x1b[31m✗\x1b[0m \x1b[1mREFRESH-ON-EXPIRY\x1b[0m: renews once\n  seen: it never refreshed\n  \x1b[33mhint:\x1b[0m refresh on a 401\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			verbose := tt.verbose
			o := &runOutput{quiet: tt.quiet, verbose: &verbose, color: tt.color}
			var buf bytes.Buffer
			p := o.progress(&buf)
			for _, pr := range progress {
				p(pr)
			}
			o.summary(&buf, outputRun(), 2500*time.Millisecond)
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUseColor(t *testing.T) {
	t.Parallel()
	devNull := openDevice(t, os.DevNull)
	// A pseudo-terminal's master side is a terminal, wherever the test
	// runs (CI has no controlling terminal).
	pty := openDevice(t, "/dev/ptmx")
	tests := []struct {
		name string
		w    io.Writer
		env  map[string]string
		want bool
	}{
		{name: "a buffer", w: &bytes.Buffer{}, want: false},
		{name: "a file", w: tempOutFile(t), want: false},
		{name: "/dev/null", w: devNull, want: false},
		{name: "forced", w: &bytes.Buffer{}, env: map[string]string{"CLICOLOR_FORCE": "1"}, want: true},
		{name: "forced off", w: &bytes.Buffer{}, env: map[string]string{"CLICOLOR_FORCE": "0"}, want: false},
		{name: "NO_COLOR wins", w: &bytes.Buffer{}, env: map[string]string{"CLICOLOR_FORCE": "1", "NO_COLOR": "1"}, want: false},
		{name: "a terminal", w: pty, want: true},
		{name: "a terminal with NO_COLOR", w: pty, env: map[string]string{"NO_COLOR": "x"}, want: false},
		{name: "a dumb terminal", w: pty, env: map[string]string{"TERM": "dumb"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f, ok := tt.w.(*os.File); ok && f == nil {
				t.Skip("no such device here")
			}
			if got := useColor(tt.w, mapEnv(tt.env)); got != tt.want {
				t.Errorf("useColor = %v, want %v", got, tt.want)
			}
		})
	}
}

// openDevice opens a device for writing, or returns nil when it cannot.
func openDevice(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Logf("%s: %v", path, err)
		return nil
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func tempOutFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestWriteReports: every report is written whole, and a failure names
// the flag and leaves no partial file behind.
func TestWriteReports(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := &runOutput{reports: reportFiles{junit: filepath.Join(dir, "r.xml"), json: filepath.Join(dir, "r.json"), html: filepath.Join(dir, "r.html")}}
	if err := o.reports.check("check"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := o.writeReports(&out, outputRun()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"r.xml", "r.json", "r.html"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Size() == 0 || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v, %v", name, fi, err)
		}
	}
	if got := strings.Count(out.String(), "wrote the "); got != 3 {
		t.Errorf("wrote %d report lines, want 3:\n%s", got, out.String())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("the directory holds %d files, want the 3 reports (no temporary file left)", len(entries))
	}

	// A directory removed after the check: the report cannot be written.
	gone := filepath.Join(dir, "gone")
	o = &runOutput{reports: reportFiles{json: filepath.Join(gone, "r.json")}}
	err := o.writeReports(&out, outputRun())
	if err == nil || !strings.HasPrefix(err.Error(), "--json: ") {
		t.Errorf("writeReports = %v, want an error naming --json", err)
	}
}

func TestReportFilesCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name  string
		files reportFiles
		want  string
	}{
		{name: "none", files: reportFiles{}},
		{name: "all", files: reportFiles{junit: filepath.Join(dir, "a"), json: filepath.Join(dir, "b"), html: filepath.Join(dir, "c")}},
		{name: "same file", files: reportFiles{junit: filepath.Join(dir, "a"), html: filepath.Join(dir, ".", "a")}, want: "--junit and --html name the same file"},
		{name: "no directory", files: reportFiles{json: filepath.Join(dir, "x", "a")}, want: "the directory"},
		{name: "a directory", files: reportFiles{html: dir}, want: "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.files.check("verify")
			if tt.want == "" {
				if err != nil {
					t.Errorf("check = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || exitCode(err) != exitUsage {
				t.Errorf("check = %v (exit %d), want a usage error containing %q", err, exitCode(err), tt.want)
			}
		})
	}
}
