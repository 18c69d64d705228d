package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rhysd/actionlint"
)

// TestREADME runs the README's commands as a new user would: in a fresh
// copy of the repository (the files git tracks or would track), in order,
// each block with bash -euo pipefail. Every fenced sh block must carry a
// marker comment right before it, and so does every yaml block:
//
//	<!-- test: run -->         run it as written
//	<!-- test: run, needs X -->   the same, skipped when the tool X is missing
//	<!-- test: serve -->       a long-running `sncheck serve`: started in the
//	                           background with FAKESN_ADDR=127.0.0.1:0; later
//	                           blocks get its URL for http://127.0.0.1:8080
//	                           (and blocks before it that use the fake wait
//	                           for it)
//	<!-- test: live ... -->    needs a live instance: run against the fake,
//	                           --instance NAME becoming --url of the fake and
//	                           the quoted SN_* values the fake's credentials
//	<!-- test: actionlint -->  a GitHub Actions workflow: linted
//	<!-- test: skip ... -->    not run, for the reason given
func TestREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sncheck and runs the suites from a copy of the repository")
	}
	for _, tool := range []string{"bash", "git", "make", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the README's commands need %s: %v", tool, err)
		}
	}
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readmeBlocks(string(data))
	if err != nil {
		t.Fatal(err)
	}
	clone := copyRepository(t, root)
	env := readmeEnviron()

	const defaultURL = "http://127.0.0.1:8080"
	fakeURL := ""
	var deferred []readmeBlock
	run := func(b readmeBlock) {
		t.Helper()
		script := b.text
		if fakeURL != "" {
			script = strings.ReplaceAll(script, defaultURL, fakeURL)
		}
		if b.kind == "live" {
			script = liveToFake(script, fakeURL)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
		cmd.Dir, cmd.Env = clone, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("README line %d (%s): %v\n--- script\n%s\n--- output\n%s", b.line, b.marker, err, script, out)
			return
		}
		t.Logf("README line %d: ok\n%s", b.line, indent(string(out)))
	}
	for _, b := range blocks {
		if missing := missingTools(b.needs); missing != "" {
			t.Logf("README line %d: skipped, %s is not installed", b.line, missing)
			continue
		}
		switch b.kind {
		case "skip":
			t.Logf("README line %d: not run: %s", b.line, b.marker)
		case "actionlint":
			lintWorkflow(t, b)
		case "serve":
			fakeURL = startReadmeServe(t, clone, env, b)
			for _, d := range deferred {
				run(d)
			}
			deferred = nil
		case "run", "live":
			if fakeURL == "" && (b.kind == "live" || strings.Contains(b.text, defaultURL)) {
				deferred = append(deferred, b)
				continue
			}
			run(b)
		}
		if t.Failed() {
			return
		}
	}
	if len(deferred) > 0 {
		t.Errorf("README line %d uses the fake, but no block serves it", deferred[0].line)
	}
}

type readmeBlock struct {
	line         int
	marker, kind string
	needs        []string
	lang, text   string
}

var readmeMarker = regexp.MustCompile(`^<!-- test: (\w+)(.*?)-->$`)

// readmeBlocks returns the README's sh and yaml blocks with their
// markers; a block without a marker is an error.
func readmeBlocks(doc string) ([]readmeBlock, error) {
	var out []readmeBlock
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); i++ {
		lang, ok := strings.CutPrefix(lines[i], "```")
		if !ok || lang == "" {
			continue
		}
		start := i
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		if lang != "sh" && lang != "bash" && lang != "yaml" {
			continue
		}
		var m []string
		if start > 0 {
			m = readmeMarker.FindStringSubmatch(strings.TrimSpace(lines[start-1]))
		}
		if m == nil {
			return nil, fmt.Errorf("README.md line %d: a %s block without a <!-- test: ... --> marker before it", start+1, lang)
		}
		b := readmeBlock{line: start + 1, marker: strings.TrimSpace(m[1] + m[2]), kind: m[1], lang: lang, text: strings.Join(body, "\n")}
		if _, needs, ok := strings.Cut(m[2], "needs "); ok {
			b.needs = strings.Fields(needs)
		}
		switch b.kind {
		case "run", "serve", "live", "skip", "actionlint":
		default:
			return nil, fmt.Errorf("README.md line %d: unknown marker %q", start, b.kind)
		}
		out = append(out, b)
	}
	return out, nil
}

func missingTools(tools []string) string {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return tool
		}
	}
	return ""
}

// liveQuoted finds the placeholder values of the live block's exports.
var liveQuoted = regexp.MustCompile(`\b(SN_[A-Z_]+)='[^']*'`)

// liveToFake turns a command for a live instance into the same command
// against the fake.
func liveToFake(script, fakeURL string) string {
	fake := map[string]string{
		"SN_CLIENT_ID": "sncheck-client", "SN_CLIENT_SECRET": "sncheck-secret",
		"SN_USERNAME": "admin", "SN_PASSWORD": "admin",
	}
	script = liveQuoted.ReplaceAllStringFunc(script, func(m string) string {
		name, _, _ := strings.Cut(m, "=")
		return name + "='" + fake[name] + "'"
	})
	return regexp.MustCompile(`--instance \S+`).ReplaceAllString(script, "--url "+fakeURL)
}

// copyRepository copies what a fresh clone holds (git ls-files, plus new
// files not ignored) into a temporary directory.
func copyRepository(t *testing.T, root string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): cannot make a fresh copy", err)
	}
	dst := t.TempDir()
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, rel)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the working tree, or not a plain file
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// readmeEnviron is a user's environment: this one without sncheck's
// variables, and with the go caches this test run uses.
func readmeEnviron() []string {
	env := cleanEnviron(nil)
	for _, v := range []string{"GOCACHE", "GOMODCACHE", "GOPATH"} {
		if out, err := exec.Command("go", "env", v).Output(); err == nil && os.Getenv(v) == "" {
			env = append(env, v+"="+strings.TrimSpace(string(out)))
		}
	}
	return env
}

// startReadmeServe starts the serve block in the background on a free
// port and returns the fake's URL; the test's cleanup stops it.
func startReadmeServe(t *testing.T, dir string, env []string, b readmeBlock) string {
	t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", b.text)
	cmd.Dir, cmd.Env = dir, append(env, "FAKESN_ADDR=127.0.0.1:0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// SIGINT to the group this test started: bash and sncheck serve.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		_ = cmd.Wait()
	})
	lines := bufio.NewReader(stdout)
	first, err := lines.ReadString('\n')
	if err != nil {
		t.Fatalf("README line %d (serve): %v\n%s", b.line, err, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, lines) }()
	url, ok := strings.CutPrefix(strings.TrimSpace(first), "sncheck serve: listening on ")
	if !ok {
		t.Fatalf("README line %d (serve): first line %q", b.line, first)
	}
	t.Logf("README line %d: serving at %s", b.line, url)
	return url
}

func lintWorkflow(t *testing.T, b readmeBlock) {
	t.Helper()
	var out bytes.Buffer
	linter, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := linter.Lint(fmt.Sprintf("README.md:%d.yml", b.line), []byte(b.text+"\n"), nil)
	if err != nil {
		t.Fatalf("actionlint: %v", err)
	}
	for _, e := range errs {
		t.Errorf("README line %d: the workflow: %d:%d: %s [%s]", b.line, b.line+e.Line, e.Column, e.Message, e.Kind)
	}
	if len(errs) == 0 {
		t.Logf("README line %d: the workflow passes actionlint", b.line)
	}
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "    (no output)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
