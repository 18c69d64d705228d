package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/suites"
)

// The canary test: every command runs with unique, recognisable values
// for the client secret, the password and the admin token, and then
// every byte sncheck wrote (stdout, stderr, the fake's log, every report
// file, the fake's journal) is searched for them and for the tokens the
// fake issued. Issued tokens are found as the journal knows them: every
// 86-character base64url string in the output is fingerprinted
// (fakesn.Fingerprint) and looked up among the fingerprints of the
// tokens the fakes issued.

// tokenLike finds strings shaped like the fake's tokens and codes:
// exactly 86 base64url characters.
var tokenLike = regexp.MustCompile(`(^|[^A-Za-z0-9_-])([A-Za-z0-9_-]{86})($|[^A-Za-z0-9_-])`)

// verifyCanary finds the secrets sncheck verify makes for each check
// (suites/integration: "pw-" or "cs-" and 24 base64url characters).
var verifyCanary = regexp.MustCompile(`\b(pw|cs)-[A-Za-z0-9_-]{24}\b`)

// leakScanner collects outputs and searches them.
type leakScanner struct {
	mu      sync.Mutex // guards outputs, issued
	outputs map[string][]byte
	issued  map[string]string // fingerprint → what it fingerprints
	canary  map[string]string // value → what it is
}

func (s *leakScanner) add(name string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outputs[name] = append(s.outputs[name], data...)
}

func (s *leakScanner) addFile(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("a report that should exist: %v", err)
	}
	s.add(filepath.Base(path), data)
}

// issue notes the tokens a journal shows as issued.
func (s *leakScanner) issue(fingerprints ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fp := range fingerprints {
		if fp != "" {
			s.issued[fp] = "a token the fake issued"
		}
	}
}

// leaks lists every secret found, by output.
func (s *leakScanner) leaks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	names := make([]string, 0, len(s.outputs))
	for n := range s.outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		data := s.outputs[name]
		for value, what := range s.canary {
			if bytes.Contains(data, []byte(value)) {
				out = append(out, fmt.Sprintf("%s: the %s", name, what))
			}
		}
		if m := verifyCanary.Find(data); m != nil {
			out = append(out, fmt.Sprintf("%s: a canary secret of sncheck verify (%.5s…)", name, m))
		}
		for _, m := range tokenLike.FindAllSubmatch(data, -1) {
			fp := fakesn.Fingerprint(string(m[2]))
			if what, ok := s.issued[fp]; ok {
				out = append(out, fmt.Sprintf("%s: %s (fingerprint %s)", name, what, fp))
			} else {
				out = append(out, fmt.Sprintf("%s: an 86-character token or code the journals do not know (fingerprint %s)", name, fp))
			}
		}
	}
	return out
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func TestNoSecretsAnywhere(t *testing.T) {
	bins := needBinaries(t)
	t.Parallel()
	dir := t.TempDir()
	secret, password, adminToken := "canary-secret-"+randomHex(t), "canary-password-"+randomHex(t), "canary-admin-token-"+randomHex(t)
	scan := &leakScanner{
		outputs: map[string][]byte{}, issued: map[string]string{},
		canary: map[string]string{secret: "client secret", password: "password", adminToken: "admin token"},
	}

	// The fake, with the canary secrets in its configuration.
	config := filepath.Join(dir, "canary-config.json")
	writeJSONFile(t, config, map[string]any{"tables": []any{}, "rows": []any{
		map[string]any{"table": "sys_user", "records": []any{map[string]string{"sys_id": "6816f79cc0a8016401c5a33be04be441", "user_password": password}}},
		map[string]any{"table": "oauth_entity", "records": []any{map[string]string{"sys_id": "cb4375e70a87c92194768ef879afe293", "client_secret": secret}}},
	}})
	base, stopServe := canaryServe(t, bins["sncheck"], scan, map[string]string{"FAKESN_ADMIN_TOKEN": adminToken},
		"serve", "--addr", "127.0.0.1:0", "--config", config, "--log-level", "debug")

	// The positive control: a token the test holds must be found.
	tok := canaryGrant(t, base, secret, password)
	probe := &leakScanner{outputs: map[string][]byte{"probe": []byte("log: bearer " + tok + "\n" + secret)},
		issued: map[string]string{fakesn.Fingerprint(tok): "a token the fake issued"}, canary: scan.canary}
	if got := probe.leaks(); len(got) != 2 {
		t.Fatalf("the scanner finds %q in a planted leak, want the token and the client secret", got)
	}

	run := func(name string, env map[string]string, wantCodes []int, args ...string) {
		t.Helper()
		code, stdout, stderr := sncheckRun(t, env, args...)
		scan.add(name+" stdout", []byte(stdout))
		scan.add(name+" stderr", []byte(stderr))
		for _, c := range wantCodes {
			if code == c {
				return
			}
		}
		t.Errorf("%s: exit code %d, want one of %v\nstdout:\n%s\nstderr:\n%s", name, code, wantCodes, stdout, stderr)
	}
	file := func(name string) string { return filepath.Join(dir, name) }

	run("health", map[string]string{"FAKESN_ADMIN_TOKEN": adminToken}, []int{exitOK}, "health", base)
	checkEnv := map[string]string{
		"SN_CLIENT_ID": "sncheck-client", "SN_CLIENT_SECRET": secret,
		"SN_USERNAME": "admin", "SN_PASSWORD": password, "SNCHECK_ADMIN_TOKEN": adminToken,
	}
	run("check", checkEnv, []int{exitOK, exitChecksFailed}, "check", "--url", base, "--verbose",
		"--junit", file("check.xml"), "--json", file("check.json"), "--html", file("check.html"), "--save", file("check-save.json"))
	// Secrets given as flags (which sncheck warns against) are not echoed either.
	run("check with flags", nil, []int{exitOK, exitChecksFailed}, "check", "--url", base, "--quiet",
		"--client-id", "sncheck-client", "--client-secret", secret, "--username", "admin", "--password", password, "--admin-token", adminToken,
		"--label-filter", "oauth", "--html", file("check-flags.html"))
	for _, grant := range []string{"password", "authorization_code", "client_credentials"} {
		run("verify "+grant, nil, []int{exitOK}, "verify", "--grant", grant, "--verbose",
			"--junit", file("verify-"+grant+".xml"), "--json", file("verify-"+grant+".json"), "--html", file("verify-"+grant+".html"),
			"--", bins["sncheck-reference"])
	}

	// The fake's journal, as the control API serves it.
	req, _ := http.NewRequest(http.MethodGet, base+"/_fakesn/journal", nil)
	req.Header.Set(fakesn.AdminTokenHeader, adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var journal bytes.Buffer
	_, _ = journal.ReadFrom(resp.Body)
	resp.Body.Close()
	scan.add("the fake's journal", journal.Bytes())
	var entries struct {
		Entries []fakesn.JournalEntry `json:"entries"`
	}
	if err := json.Unmarshal(journal.Bytes(), &entries); err != nil || len(entries.Entries) == 0 {
		t.Fatalf("the journal: %v (%d entries)", err, len(entries.Entries))
	}
	for _, e := range entries.Entries {
		scan.issue(e.IssuedAccess, e.IssuedRefresh)
	}
	stopServe()

	for _, name := range []string{"check.xml", "check.json", "check.html", "check-save.json", "check-flags.html"} {
		scan.addFile(t, file(name))
	}
	verifyEvents := 0
	for _, grant := range []string{"password", "authorization_code", "client_credentials"} {
		for _, ext := range []string{".xml", ".json", ".html"} {
			scan.addFile(t, file("verify-"+grant+ext))
		}
		// Each verify check had its own fake: its report's timeline holds
		// the fingerprints of the tokens that fake issued.
		r, err := suites.ReadRunFile(file("verify-" + grant + ".json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range r.Results {
			for _, e := range res.Timeline {
				scan.issue(e.IssuedAccess, e.IssuedRefresh)
				verifyEvents++
			}
		}
	}
	if len(scan.issued) < 10 || verifyEvents == 0 {
		t.Fatalf("only %d issued tokens and %d verify timeline events: the test would prove nothing", len(scan.issued), verifyEvents)
	}
	checkRun, err := suites.ReadRunFile(file("check.json"))
	if err != nil || checkRun.Summary.Passed < 10 {
		t.Fatalf("the check run with the canary credentials: %v %+v: the test would prove little", err, checkRun)
	}
	var sizes []string
	for name, data := range scan.outputs {
		sizes = append(sizes, fmt.Sprintf("%s (%d bytes)", name, len(data)))
	}
	sort.Strings(sizes)
	t.Logf("searched %d outputs for 3 canary secrets, the verify canaries and %d issued tokens: %s",
		len(scan.outputs), len(scan.issued), strings.Join(sizes, ", "))
	for _, leak := range scan.leaks() {
		t.Errorf("secret leaked: %s", leak)
	}
}

func writeJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// canaryServe starts `sncheck serve`, reads its URL from the first line,
// and returns a func that stops it (SIGINT) and hands its output to scan.
func canaryServe(t *testing.T, bin string, scan *leakScanner, env map[string]string, args ...string) (string, func()) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = cleanEnviron(env)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var rest bytes.Buffer
	done := make(chan struct{})
	lines := bufio.NewReader(stdout)
	first, err := lines.ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("serve: %v\n%s", err, stderr.String())
	}
	go func() { _, _ = rest.ReadFrom(lines); close(done) }()
	base := strings.TrimSpace(strings.TrimPrefix(first, "sncheck serve: listening on "))
	if _, err := url.Parse(base); err != nil || !strings.HasPrefix(base, "http://") {
		t.Fatalf("serve's first line %q", first)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
			<-done
			scan.add("serve stdout", append([]byte(first), rest.Bytes()...))
			scan.add("serve stderr (its log)", stderr.Bytes())
		})
	}
	t.Cleanup(stop)
	return base, stop
}

// canaryGrant gets an access token from the fake as the canary admin.
func canaryGrant(t *testing.T, base, secret, password string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	form := url.Values{"grant_type": {"password"}, "client_id": {"sncheck-client"}, "client_secret": {secret}, "username": {"admin"}, "password": {password}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/oauth_token.do", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		Access string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || len(tok.Access) != 86 {
		t.Fatalf("password grant with the canary credentials: status %d, %v", resp.StatusCode, err)
	}
	return tok.Access
}
