// Command loadrun measures the fake against a bare net/http ceiling in the
// same run: it starts `sncheck serve` and a ceiling server answering the
// same request shapes with constant bodies of the same sizes, loads each in
// turn with wrk on loopback, and prints req/s, p99, CPU per request, peak
// RSS and start-up time for both, and their ratios.
//
//	go build -o bin/sncheck ./cmd/sncheck && go run ./internal/loadrun -sncheck bin/sncheck
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func main() {
	var (
		sncheck     = flag.String("sncheck", "bin/sncheck", "the sncheck binary to load")
		duration    = flag.Duration("duration", 8*time.Second, "load duration per scenario")
		connections = flag.Int("connections", 16, "concurrent keep-alive connections")
		threads     = flag.Int("threads", 2, "wrk threads")
		serveCeil   = flag.String("serve-ceiling", "", "internal: serve the ceiling on this address (token body file, list body file as args)")
	)
	flag.Parse()
	if *serveCeil != "" {
		if err := serveCeiling(*serveCeil, flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, "loadrun:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*sncheck, *duration, *connections, *threads); err != nil {
		fmt.Fprintln(os.Stderr, "loadrun:", err)
		os.Exit(1)
	}
}

func serveCeiling(addr string, files []string) error {
	if len(files) != 2 {
		return errors.New("serve-ceiling needs the token and list body files")
	}
	tok, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	list, err := os.ReadFile(files[1])
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("sncheck serve: listening on http://%s\n", ln.Addr())
	return (&http.Server{Handler: ceilingHandler(tok, list), ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
}

// server is a process under load.
type server struct {
	name    string
	cmd     *exec.Cmd
	url     string
	startup time.Duration
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

var tokenForm = url.Values{"grant_type": {"password"}, "client_id": {"sncheck-client"},
	"client_secret": {"sncheck-secret"}, "username": {"admin"}, "password": {"admin"}}.Encode()

// start runs a server and measures process start to its first answered
// token request.
func start(name string, argsFor func(addr string) []string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := argsFor(addr)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	base := "http://" + addr
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: time.Second}
	for time.Since(begin) < 20*time.Second {
		resp, err := client.Post(base+"/oauth_token.do", "application/x-www-form-urlencoded", strings.NewReader(tokenForm))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return &server{name: name, cmd: cmd, url: base, startup: time.Since(begin)}, nil
			}
		}
		time.Sleep(500 * time.Microsecond)
	}
	_ = cmd.Process.Kill()
	return nil, fmt.Errorf("%s did not answer a token request within 20s", name)
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
	}
}

// cpuTime is the process's user+system time so far.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks, nil
}

// peakRSS is the process's high-water resident set size (VmHWM).
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM")
}

type result struct {
	reqs   float64
	p99    time.Duration
	cpuReq time.Duration
	total  int64
}

var (
	reqRe   = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	p99Re   = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)`)
	countRe = regexp.MustCompile(`(\d+) requests in`)
	non2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// load runs wrk with a Lua script against one scenario of s.
func load(s *server, script string, dur time.Duration, conns, threads int) (result, error) {
	dir, err := os.MkdirTemp("", "loadrun")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "s.lua")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		return result{}, err
	}
	before, err := cpuTime(s.cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), dur+time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", dur.String(), "--latency", "-s", path, s.url).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	after, _ := cpuTime(s.cmd.Process.Pid)
	if m := non2xx.FindSubmatch(out); m != nil {
		return result{}, fmt.Errorf("%s: %s non-2xx answers under load:\n%s", s.name, m[1], out)
	}
	var r result
	if m := reqRe.FindSubmatch(out); m != nil {
		r.reqs, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	if m := countRe.FindSubmatch(out); m != nil {
		r.total, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	if m := p99Re.FindSubmatch(out); m != nil {
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(m[2])]
		r.p99 = time.Duration(v * float64(unit))
	}
	if r.total > 0 {
		r.cpuReq = (after - before) / time.Duration(r.total)
	}
	return r, nil
}

func tokenScript() string {
	return fmt.Sprintf(`wrk.method = "POST"
wrk.path = "/oauth_token.do"
wrk.body = %q
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
`, tokenForm)
}

func listScript(token string) string {
	return fmt.Sprintf(`wrk.method = "GET"
wrk.path = "/api/now/table/incident?sysparm_limit=100"
wrk.headers["Authorization"] = "Bearer %s"
wrk.headers["Accept"] = "application/json"
`, token)
}

// fetchBodies gets the fake's real answers, so the ceiling answers bodies
// of the same size, and a token for the list scenario.
func fetchBodies(base string) (tokenBody, listBody []byte, token string, err error) {
	resp, err := http.Post(base+"/oauth_token.do", "application/x-www-form-urlencoded", strings.NewReader(tokenForm))
	if err != nil {
		return nil, nil, "", err
	}
	tokenBody, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(tokenBody, &tok); err != nil || tok.AccessToken == "" {
		return nil, nil, "", fmt.Errorf("token answer %d: %s", resp.StatusCode, tokenBody)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/api/now/table/incident?sysparm_limit=100", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, "", err
	}
	listBody, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, nil, "", fmt.Errorf("list answer %d", res.StatusCode)
	}
	var list struct {
		Result []json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(listBody, &list); err != nil || len(list.Result) != 100 {
		return nil, nil, "", fmt.Errorf("list answer has %d records, want 100", len(list.Result))
	}
	return tokenBody, listBody, tok.AccessToken, nil
}

// configWith100Incidents adds incidents so a page of 100 exists.
func configWith100Incidents(dir string) (string, error) {
	var recs []map[string]string
	for i := 0; i < 100; i++ {
		recs = append(recs, map[string]string{
			"sys_id":            fmt.Sprintf("%032x", 0xbe0000+i),
			"number":            fmt.Sprintf("INC1%06d", i),
			"short_description": fmt.Sprintf("Load test incident %d", i),
			"priority":          strconv.Itoa(i%5 + 1),
			"active":            "true",
			"caller_id":         "6816f79cc0a8016401c5a33be04be441",
		})
	}
	data, err := json.Marshal(map[string]any{"rows": []any{map[string]any{"table": "incident", "records": recs}}})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "config.json")
	return path, os.WriteFile(path, data, 0o600)
}

func run(sncheck string, dur time.Duration, conns, threads int) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk is not installed (apt-get install wrk)")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "loadrun")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, err := configWith100Incidents(dir)
	if err != nil {
		return err
	}
	fake, err := start("fake", func(addr string) []string {
		return []string{sncheck, "serve", "--addr", addr, "--config", cfg, "--log-level", "error"}
	})
	if err != nil {
		return err
	}
	tokenBody, listBody, token, err := fetchBodies(fake.url)
	if err != nil {
		fake.stop()
		return err
	}
	tokFile, listFile := filepath.Join(dir, "token.json"), filepath.Join(dir, "list.json")
	_ = os.WriteFile(tokFile, tokenBody, 0o600)
	_ = os.WriteFile(listFile, listBody, 0o600)
	ceil, err := start("ceiling", func(addr string) []string {
		return []string{self, "-serve-ceiling", addr, tokFile, listFile}
	})
	if err != nil {
		fake.stop()
		return err
	}

	type row struct {
		name       string
		fake, ceil result
	}
	var rows []row
	for _, sc := range []struct {
		name   string
		script string
	}{{"token (password grant)", tokenScript()}, {"table GET 100 records", listScript(token)}} {
		c, err := load(ceil, sc.script, dur, conns, threads)
		if err != nil {
			return err
		}
		f, err := load(fake, sc.script, dur, conns, threads)
		if err != nil {
			return err
		}
		rows = append(rows, row{sc.name, f, c})
	}
	fakeRSS, _ := peakRSS(fake.cmd.Process.Pid)
	ceilRSS, _ := peakRSS(ceil.cmd.Process.Pid)
	fake.stop()
	ceil.stop()

	fmt.Printf("loadrun %s: wrk -t%d -c%d -d%s on loopback, %d cores\n\n", time.Now().UTC().Format("2006-01-02"), threads, conns, dur, numCPU())
	fmt.Printf("| scenario | fake req/s | ceiling req/s | ratio | fake p99 | ceiling p99 | fake CPU/req | ceiling CPU/req |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Printf("| %s | %.0f | %.0f | %.2f | %s | %s | %s | %s |\n", r.name, r.fake.reqs, r.ceil.reqs, r.fake.reqs/r.ceil.reqs,
			r.fake.p99, r.ceil.p99, r.fake.cpuReq, r.ceil.cpuReq)
	}
	fmt.Printf("| start-up to first token answer | %s | %s | %.2f× | | | | |\n", fake.startup.Round(time.Microsecond), ceil.startup.Round(time.Microsecond),
		float64(fake.startup)/float64(ceil.startup))
	fmt.Printf("| peak RSS | %.1f MiB | %.1f MiB | %.2f× | | | | |\n", float64(fakeRSS)/(1<<20), float64(ceilRSS)/(1<<20), float64(fakeRSS)/float64(ceilRSS))
	return nil
}

func numCPU() int {
	data, _ := os.ReadFile("/proc/cpuinfo")
	return bytes.Count(data, []byte("processor\t:"))
}
