package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the tests run this test binary as sncheck itself, so they
// see real exit codes and signals without a go build.
func TestMain(m *testing.M) {
	if os.Getenv("SNCHECK_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func sncheck(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SNCHECK_TEST_RUN_MAIN=1")
	return cmd
}

func exitCodeOf(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("running sncheck: %v", err)
	return -1
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want int
	}{
		{name: "help", args: []string{"help"}, want: 0},
		{name: "version", args: []string{"version"}, want: 0},
		{name: "usage error", args: []string{"frobnicate"}, want: 2},
		{name: "bad flag", args: []string{"serve", "--bogus"}, want: 2},
		{name: "runtime error", args: []string{"health", "--timeout", "2s", "http://127.0.0.1:1"}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := sncheck(t, tt.args...).CombinedOutput()
			if got := exitCodeOf(t, err); got != tt.want {
				t.Errorf("sncheck %v exited %d, want %d; output:\n%s", tt.args, got, tt.want, out)
			}
		})
	}
}

// TestServeStopsOnSignal checks the process-level contract: SIGTERM and
// SIGINT stop serve cleanly with exit code 0.
func TestServeStopsOnSignal(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM/SIGINT delivery to a child process on Windows")
	}
	t.Parallel()
	for _, sig := range []os.Signal{syscall.SIGTERM, os.Interrupt} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			cmd := sncheck(t, "serve", "--addr", "127.0.0.1:0")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			sc := bufio.NewScanner(stdout)
			if !sc.Scan() {
				t.Fatalf("no output from serve: %v", sc.Err())
			}
			if re := regexp.MustCompile(`^sncheck serve: listening on http://127\.0\.0\.1:[0-9]+$`); !re.MatchString(sc.Text()) {
				t.Fatalf("first line = %q, want it to match %v", sc.Text(), re)
			}
			go func() {
				for sc.Scan() {
				}
			}()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if code := exitCodeOf(t, err); code != 0 {
					t.Errorf("serve exited %d after %v, want 0", code, sig)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("serve still running 10s after %v", sig)
			}
		})
	}
}
