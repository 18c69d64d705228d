package suites

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"

	"github.com/sncheck/sncheck/harness"
)

// Running a suite inside the sncheck binary, with no Go toolchain.
//
// Ginkgo allows one RunSpecs per process and reports through its own
// reporter on stdout, so RunSuite (the parent) runs each suite in a child
// process: the same program, re-executed with the hidden subcommand
// ChildCommand, which calls SuiteMain. The parent passes
//
//   - the target in the child's environment: the same SN_* and SNCHECK_*
//     variables `go test ./suites/...` reads (TargetFromEnv);
//   - the selection, seed and timeout as flags;
//   - a file for Ginkgo's JSON report, which the parent turns into a Run;
//   - a pipe on fd 3, on which the child writes one JSON line per finished
//     check, for live progress.
//
// The child's stdout (Ginkgo's default reporter) is discarded unless the
// caller wants it. On cancellation the parent sends the child SIGINT, so
// that Ginkgo runs every DeferCleanup and the suite's sweep of marked
// records, and waits for it; then it calls RunOptions.Sweep itself.

// ChildCommand is the hidden subcommand under which a program runs a suite
// for RunSuite: `<program> __suite <suite> [flags]`.
const ChildCommand = "__suite"

// Registrar declares a suite's specs against a target maker.
type Registrar func(newTarget harness.Maker)

// Progress is one finished check, as the child reports it.
type Progress struct {
	ID string `json:"id"`
	// State is StatePassed, StateFailed or StateSkipped.
	State   string  `json:"state"`
	Seconds float64 `json:"seconds"`
	// Reason is the skip reason, or the first line of a failure.
	Reason string `json:"reason,omitempty"`
}

// RunOptions configure RunSuite.
type RunOptions struct {
	// Suite names the suite to run ("instance").
	Suite string
	// Command is the child's argv; nil means this program:
	// os.Executable() ChildCommand Suite.
	Command []string
	// Env is the child's whole environment (KEY=VALUE); nil means this
	// process's. ChildEnv builds one that names a target.
	Env []string
	// LabelFilter is a Ginkgo label filter ("!fake-only && !writes").
	LabelFilter string
	// Checks, when set, runs only these check IDs.
	Checks []string
	// Seed is Ginkgo's random seed; 0 picks one.
	Seed int64
	// Timeout bounds the suite; 0 means one hour.
	Timeout time.Duration
	// Grace is how long a cancelled child may take to clean up before it
	// is killed; 0 means two minutes.
	Grace time.Duration
	// Output receives the child's stdout and stderr (Ginkgo's own
	// reporter); nil discards them.
	Output io.Writer
	// Verbose makes Ginkgo's reporter list every spec on Output.
	Verbose bool
	// Progress, when set, is called for each finished check.
	Progress func(Progress)
	// Meta describes the run for FromReport (tool, version, target).
	Meta RunMeta
	// Sweep, when set, is called after the child exits, even when it was
	// cancelled or failed: it deletes whatever records the run left, and
	// returns how many requests it sent.
	Sweep func(ctx context.Context) (requests int, err error)
}

// ChildEnv returns base without any SN_* or SNCHECK_* variable, plus vars
// (empty values left out): the environment that makes a child run against
// exactly the target vars name.
func ChildEnv(base []string, vars map[string]string) []string {
	out := make([]string, 0, len(base)+len(vars))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "SN_") || strings.HasPrefix(k, "SNCHECK_") {
			continue
		}
		out = append(out, kv)
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if v := vars[k]; v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// RunSuite runs a suite in a child process and returns its Run. The error
// is for a run that could not happen or report (the child crashed, no
// report); failed checks are in the Run. A cancelled ctx interrupts the
// child, which cleans up; the Run then says Interrupted.
func RunSuite(ctx context.Context, opts RunOptions) (*Run, error) {
	if opts.Suite == "" {
		return nil, errors.New("suites: RunSuite needs a suite name")
	}
	argv := opts.Command
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("suites: finding this program to run the suite: %w", err)
		}
		argv = []string{exe, ChildCommand, opts.Suite}
	}
	dir, err := os.MkdirTemp("", "sncheck-run-")
	if err != nil {
		return nil, fmt.Errorf("suites: %w", err)
	}
	defer os.RemoveAll(dir)
	reportPath := filepath.Join(dir, "report.json")

	seed := opts.Seed
	if seed == 0 {
		seed = time.Now().UnixNano() % 100000
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = time.Hour
	}
	grace := opts.Grace
	if grace <= 0 {
		grace = 2 * time.Minute
	}
	args := append(append([]string(nil), argv[1:]...),
		"--report", reportPath, "--progress-fd", "3",
		"--seed", fmt.Sprint(seed), "--timeout", timeout.String())
	if opts.LabelFilter != "" {
		args = append(args, "--label-filter", opts.LabelFilter)
	}
	for _, id := range opts.Checks {
		args = append(args, "--check", id)
	}
	if opts.Verbose {
		args = append(args, "--verbose")
	}

	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("suites: %w", err)
	}
	defer pr.Close()

	// Not exec.CommandContext's kill: an interrupted child must clean up.
	cmd := exec.CommandContext(ctx, argv[0], args...)
	cmd.Cancel = func() error { return interruptProcess(cmd.Process) }
	cmd.WaitDelay = grace
	cmd.Env = opts.Env
	cmd.SysProcAttr = childSysProcAttr()
	cmd.ExtraFiles = []*os.File{pw}
	stderr := &tailBuffer{max: 16 << 10}
	if opts.Output != nil {
		cmd.Stdout = opts.Output
		cmd.Stderr = io.MultiWriter(opts.Output, stderr)
	} else {
		cmd.Stderr = stderr
	}
	if err := cmd.Start(); err != nil {
		pw.Close()
		return nil, fmt.Errorf("suites: starting the %s suite: %w", opts.Suite, err)
	}
	pw.Close() // the child holds the only write end now

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var p Progress
			if json.Unmarshal(sc.Bytes(), &p) == nil && opts.Progress != nil {
				opts.Progress(p)
			}
		}
	}()
	waitErr := cmd.Wait()
	wg.Wait()

	sweepRequests, sweepErr := 0, error(nil)
	if opts.Sweep != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
		sweepRequests, sweepErr = opts.Sweep(sctx)
		cancel()
	}

	reports, readErr := readJSONReport(reportPath)
	if readErr != nil {
		msg := fmt.Sprintf("suites: the %s suite ended without a report", opts.Suite)
		if waitErr != nil {
			msg += " (" + waitErr.Error() + ")"
		}
		if tail := strings.TrimSpace(stderr.String()); tail != "" {
			msg += ":\n" + tail
		}
		return nil, errors.New(msg)
	}
	meta := opts.Meta
	meta.Suite, meta.LabelFilter, meta.Checks = opts.Suite, opts.LabelFilter, opts.Checks
	run := FromReport(reports, meta)
	run.Requests += sweepRequests
	if sweepErr != nil {
		run.Errors = append(run.Errors, "sweeping the run's records: "+sweepErr.Error())
	}
	if ctx.Err() != nil {
		run.Interrupted = true
	}
	return run, nil
}

func readJSONReport(path string) (types.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return types.Report{}, err
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		return types.Report{}, err
	}
	if len(reports) != 1 {
		return types.Report{}, fmt.Errorf("suites: report holds %d suites, want 1", len(reports))
	}
	return reports[0], nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex // guards b
	b   []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// Exit codes of SuiteMain, as the sncheck command uses them.
const (
	childPassed  = 0
	childRuntime = 1
	childUsage   = 2
	childFailed  = 3
)

// SuiteMain runs one suite in this process, as the child of RunSuite:
// args are what follows ChildCommand (the suite's name, then flags).
// The target comes from the environment (TargetFromEnv). It returns the
// process exit code: 0 all passed, 3 a check failed, 1 the suite could not
// run, 2 bad arguments. It calls ginkgo.RunSpecs, so it can run only once
// per process.
func SuiteMain(args []string, stderr io.Writer, registry map[string]Registrar) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "sncheck %s: name a suite\n", ChildCommand)
		return childUsage
	}
	name := args[0]
	register, ok := registry[name]
	if !ok {
		fmt.Fprintf(stderr, "sncheck %s: unknown suite %q\n", ChildCommand, name)
		return childUsage
	}
	fs := flag.NewFlagSet(ChildCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	report := fs.String("report", "", "write Ginkgo's JSON report to this file")
	progressFD := fs.Int("progress-fd", 0, "write one JSON line per finished check to this file descriptor")
	labelFilter := fs.String("label-filter", "", "Ginkgo label filter")
	seed := fs.Int64("seed", 0, "random seed")
	timeout := fs.Duration("timeout", time.Hour, "suite timeout")
	verbose := fs.Bool("verbose", false, "list every spec on stdout")
	var checks stringList
	fs.Var(&checks, "check", "run only this check `ID` (repeatable)")
	if err := fs.Parse(args[1:]); err != nil {
		return childUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sncheck %s: unexpected argument %q\n", ChildCommand, fs.Arg(0))
		return childUsage
	}
	if _, err := types.ParseLabelFilter(*labelFilter); err != nil {
		fmt.Fprintf(stderr, "sncheck %s: label filter: %v\n", ChildCommand, err)
		return childUsage
	}

	maker, _, err := TargetFromEnv(nil)
	if err != nil {
		fmt.Fprintf(stderr, "sncheck %s: %v\n", ChildCommand, err)
		return childUsage
	}
	var progress io.Writer
	if *progressFD > 0 {
		f := os.NewFile(uintptr(*progressFD), "sncheck-progress")
		if f == nil {
			fmt.Fprintf(stderr, "sncheck %s: no file descriptor %d\n", ChildCommand, *progressFD)
			return childRuntime
		}
		defer f.Close()
		progress = f
	}

	gomega.RegisterFailHandler(ginkgo.Fail)
	register(maker)
	if progress != nil {
		enc := json.NewEncoder(progress)
		ginkgo.ReportAfterEach(func(r types.SpecReport) {
			if p, ok := progressOf(r); ok {
				_ = enc.Encode(p)
			}
		})
	}

	sc := types.NewDefaultSuiteConfig()
	sc.LabelFilter = *labelFilter
	if len(checks) > 0 {
		sc.FocusStrings = []string{FocusRegexp(checks)}
	}
	if *seed != 0 {
		sc.RandomSeed = *seed
	}
	sc.Timeout = *timeout
	rc := types.NewDefaultReporterConfig()
	rc.NoColor = true
	rc.JSONReport = *report
	rc.Verbose = *verbose
	if !*verbose {
		rc.Succinct = true
	}
	t := &suiteT{}
	passed := ginkgo.RunSpecs(t, "ServiceNow "+name, ginkgo.Label("conformance"), sc, rc)
	if passed && !t.failed {
		return childPassed
	}
	return childFailed
}

// progressOf turns a finished spec into a progress line; ok is false for
// specs that are not checks or were not selected.
func progressOf(r types.SpecReport) (Progress, bool) {
	if r.LeafNodeType != types.NodeTypeIt {
		return Progress{}, false
	}
	id := IDFromText(r.LeafNodeText)
	if id == "" {
		return Progress{}, false
	}
	p := Progress{ID: id, Seconds: roundSeconds(r.RunTime)}
	switch {
	case r.State.Is(types.SpecStatePassed):
		p.State = StatePassed
	case r.State.Is(types.SpecStateSkipped | types.SpecStatePending):
		if r.Failure.Message == "" {
			return Progress{}, false // filtered out, or never reached
		}
		p.State, p.Reason = StateSkipped, paragraph(r.Failure.Message)
	default:
		p.State = StateFailed
		msg := failureMessage(r)
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		p.Reason = msg
	}
	return p, true
}

// suiteT is the GinkgoTestingT of a suite run outside `go test`.
type suiteT struct{ failed bool }

func (t *suiteT) Fail() { t.failed = true }

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}
