// Command loadrun measures the fake against a bare net/http ceiling in the
// same run: it starts `sncheck serve` and a ceiling server answering the
// same request shapes with constant bodies of the same sizes, loads each in
// turn with wrk on loopback, and prints req/s, p99, CPU per request, peak
// RSS and start-up time for both, their ratios, and the targets.
//
// Load and start-up are measured several times, alternating fake and
// ceiling, and the medians are printed: on a shared machine one run says
// little. A second part seeds a large incident table (-large records) and
// measures the serve start-up with it, its peak RSS and the latency of a
// filtered, ordered query over it.
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
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

type config struct {
	sncheck     string
	dur         time.Duration
	conns       int
	threads     int
	runs        int
	startups    int
	large       int
	largeDur    time.Duration
	startupProg string
}

func main() {
	var c config
	flag.StringVar(&c.sncheck, "sncheck", "bin/sncheck", "the sncheck binary to load")
	flag.DurationVar(&c.dur, "duration", 5*time.Second, "load duration per scenario and run")
	flag.IntVar(&c.conns, "connections", 16, "concurrent keep-alive connections")
	flag.IntVar(&c.threads, "threads", 2, "wrk threads")
	flag.IntVar(&c.runs, "runs", 3, "load runs per scenario (medians are printed)")
	flag.IntVar(&c.startups, "startups", 9, "start-ups measured per server (medians are printed)")
	flag.IntVar(&c.large, "large", 100_000, "incidents in the large-table part; 0 skips it")
	flag.DurationVar(&c.largeDur, "large-duration", 5*time.Second, "load duration of the large-table query")
	flag.StringVar(&c.startupProg, "startup-phases", "", "a build of ./internal/loadrun/startup to time the in-process start-up phases; empty skips them")
	serveCeil := flag.String("serve-ceiling", "", "internal: serve the ceiling on this address (token body file, list body file as args)")
	flag.Parse()
	if *serveCeil != "" {
		if err := serveCeiling(*serveCeil, flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, "loadrun:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(c); err != nil {
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
func start(name string, argsFor func(addr string) []string, limit time.Duration) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := argsFor(addr)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	base := "http://" + addr
	// A fresh transport per start: no idle connection may outlive a server.
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for time.Since(begin) < limit {
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
	_ = cmd.Wait()
	return nil, fmt.Errorf("%s did not answer a token request within %s", name, limit)
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
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

// loadAvg is the 1-minute load average, to show how busy the machine was.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

type result struct {
	reqs   float64
	p50    time.Duration
	p99    time.Duration
	cpuReq time.Duration
	total  int64
}

var (
	reqRe   = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	p50Re   = regexp.MustCompile(`\s50%\s+([0-9.]+)(us|ms|s)`)
	p99Re   = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)`)
	countRe = regexp.MustCompile(`(\d+) requests in`)
	non2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	units   = map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}
)

func parseLatency(re *regexp.Regexp, out []byte) time.Duration {
	m := re.FindSubmatch(out)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return time.Duration(v * float64(units[string(m[2])]))
}

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
	r.p50, r.p99 = parseLatency(p50Re, out), parseLatency(p99Re, out)
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

func getScript(path, token string) string {
	return fmt.Sprintf(`wrk.method = "GET"
wrk.path = %q
wrk.headers["Authorization"] = "Bearer %s"
wrk.headers["Accept"] = "application/json"
`, path, token)
}

const (
	listPath = "/api/now/table/incident?sysparm_limit=100"
	// largePath is the filtered, ordered query.
	largePath = "/api/now/table/incident?sysparm_query=active%3Dtrue%5Epriority%3D1%5EORDERBYDESCsys_updated_on&sysparm_limit=100"
)

// fetchToken runs a password grant and returns the answer and the token.
func fetchToken(base string) ([]byte, string, error) {
	resp, err := http.Post(base+"/oauth_token.do", "application/x-www-form-urlencoded", strings.NewReader(tokenForm))
	if err != nil {
		return nil, "", err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return nil, "", fmt.Errorf("token answer %d: %s", resp.StatusCode, body)
	}
	return body, tok.AccessToken, nil
}

// fetchList GETs path with a bearer token and checks it holds 100 records.
func fetchList(base, path, token string) ([]byte, error) {
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", path, res.StatusCode)
	}
	var list struct {
		Result []json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &list); err != nil || len(list.Result) != 100 {
		return nil, fmt.Errorf("GET %s: %d records, want 100", path, len(list.Result))
	}
	return body, nil
}

// writeConfig writes a config adding n incidents (sys_ids that never clash
// with the seed's). Above 100 they vary like real data, for the query.
func writeConfig(dir, name string, n int) (string, error) {
	rng := rand.New(rand.NewPCG(7, 11))
	users := []string{"6816f79cc0a8016401c5a33be04be441", "681ccaf9c0a8016400b98a06818d57c7", "46d44a23a9fe19810012d100cca80666"}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	recs := make([]map[string]string, n)
	for i := range recs {
		updated := start.Add(time.Duration(rng.Int64N(int64(400 * 24 * time.Hour))))
		recs[i] = map[string]string{
			"sys_id":            fmt.Sprintf("be%030x", i),
			"number":            fmt.Sprintf("INC1%06d", i),
			"short_description": fmt.Sprintf("Load test incident %d", i),
			"priority":          strconv.Itoa(i%5 + 1),
			"active":            "true",
			"caller_id":         users[0],
		}
		if n > 100 {
			recs[i]["active"] = []string{"true", "false"}[rng.IntN(2)]
			recs[i]["priority"] = strconv.Itoa(1 + rng.IntN(5))
			recs[i]["caller_id"] = users[rng.IntN(len(users))]
			recs[i]["sys_updated_on"] = updated.Format("2006-01-02 15:04:05")
		}
	}
	data, err := json.Marshal(map[string]any{"rows": []any{map[string]any{"table": "incident", "records": recs}}})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, data, 0o600)
}

func median[T int64 | float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// samples collects one scenario's runs.
type samples struct {
	reqs          []float64
	p99, cpu, p50 []time.Duration
}

func (s *samples) add(r result) {
	s.reqs = append(s.reqs, r.reqs)
	s.p50 = append(s.p50, r.p50)
	s.p99 = append(s.p99, r.p99)
	s.cpu = append(s.cpu, r.cpuReq)
}

func run(c config) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk is not installed (apt-get install -y wrk)")
	}
	if _, err := os.Stat(c.sncheck); err != nil {
		return fmt.Errorf("no sncheck binary at %s (go build -o bin/sncheck ./cmd/sncheck): %w", c.sncheck, err)
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
	cfg, err := writeConfig(dir, "config.json", 100)
	if err != nil {
		return err
	}
	loadBefore := loadAvg()
	fakeArgs := func(config string) func(string) []string {
		return func(addr string) []string {
			return []string{c.sncheck, "serve", "--addr", addr, "--config", config, "--log-level", "error"}
		}
	}

	// The answers the ceiling repeats, taken from the fake.
	probe, err := start("fake", fakeArgs(cfg), 20*time.Second)
	if err != nil {
		return err
	}
	tokenBody, token, err := fetchToken(probe.url)
	if err != nil {
		probe.stop()
		return err
	}
	listBody, err := fetchList(probe.url, listPath, token)
	probe.stop()
	if err != nil {
		return err
	}
	tokFile, listFile := filepath.Join(dir, "token.json"), filepath.Join(dir, "list.json")
	_ = os.WriteFile(tokFile, tokenBody, 0o600)
	_ = os.WriteFile(listFile, listBody, 0o600)
	ceilArgs := func(addr string) []string { return []string{self, "-serve-ceiling", addr, tokFile, listFile} }

	// Start-up, alternating so that both see the same machine.
	var fakeUp, ceilUp []time.Duration
	for range c.startups {
		for _, which := range []string{"ceiling", "fake"} {
			args := ceilArgs
			if which == "fake" {
				args = fakeArgs(cfg)
			}
			s, err := start(which, args, 20*time.Second)
			if err != nil {
				return err
			}
			s.stop()
			if which == "fake" {
				fakeUp = append(fakeUp, s.startup)
			} else {
				ceilUp = append(ceilUp, s.startup)
			}
		}
	}
	phases, err := startupPhases(c.startupProg, c.startups)
	if err != nil {
		return err
	}

	// Load: one long-lived process each, runs alternating.
	fake, err := start("fake", fakeArgs(cfg), 20*time.Second)
	if err != nil {
		return err
	}
	defer fake.stop()
	ceil, err := start("ceiling", ceilArgs, 20*time.Second)
	if err != nil {
		return err
	}
	defer ceil.stop()
	_, token, err = fetchToken(fake.url)
	if err != nil {
		return err
	}
	type scenario struct {
		name, script string
		fake, ceil   samples
	}
	scenarios := []*scenario{
		{name: "token (password grant, keep-alive)", script: tokenScript()},
		{name: fmt.Sprintf("table GET 100 records (%d KB)", len(listBody)/1000), script: getScript(listPath, token)},
	}
	for range c.runs {
		for _, sc := range scenarios {
			r, err := load(ceil, sc.script, c.dur, c.conns, c.threads)
			if err != nil {
				return err
			}
			sc.ceil.add(r)
			if r, err = load(fake, sc.script, c.dur, c.conns, c.threads); err != nil {
				return err
			}
			sc.fake.add(r)
		}
	}
	fakeRSS, _ := peakRSS(fake.cmd.Process.Pid)
	ceilRSS, _ := peakRSS(ceil.cmd.Process.Pid)

	var large *largeResult
	if c.large > 0 {
		if large, err = runLarge(c, dir); err != nil {
			return err
		}
	}

	fmt.Printf("loadrun %s: %d cores, load average %s before and %s after; wrk -t%d -c%d -d%s on loopback;\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), numCPU(), loadBefore, loadAvg(), c.threads, c.conns, c.dur)
	fmt.Printf("medians of %d load runs and %d start-ups per server, fake and ceiling alternating.\n\n", c.runs, c.startups)
	fmt.Printf("| scenario | fake | ceiling | ratio | target | met |\n|---|---|---|---|---|---|\n")
	verdict := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "NO"
	}
	for _, sc := range scenarios {
		if len(sc.fake.reqs) == 0 {
			continue // -runs 0
		}
		f, ce := median(sc.fake.reqs), median(sc.ceil.reqs)
		fmt.Printf("| %s, req/s | %.0f | %.0f | %.2f× | ≥ 0.5× | %s |\n", sc.name, f, ce, f/ce, verdict(f/ce >= 0.5))
	}
	fu, cu := median(fakeUp), median(ceilUp)
	fmt.Printf("| start-up to first token answer | %s | %s | %.2f× | ≤ 2× | %s |\n", round(fu), round(cu),
		float64(fu)/float64(cu), verdict(float64(fu) <= 2*float64(cu)))
	fmt.Printf("| peak RSS after the load runs | %.1f MiB | %.1f MiB | %.2f× | | |\n", mib(fakeRSS), mib(ceilRSS), float64(fakeRSS)/float64(ceilRSS))
	if large != nil {
		fmt.Printf("| %dk incidents: serve start-up (parse config, seed, first token) | %s | | | | |\n", c.large/1000, round(large.startup))
		// The 20 ms target is for the Go benchmark (BenchmarkTableQuery), which
		// has the machine to itself; over HTTP it is shown for reference.
		fmt.Printf("| %dk incidents: query over HTTP p50 / p99, 1 connection | %s / %s | | | (≤ 20 ms in BenchmarkTableQuery) | |\n", c.large/1000,
			round(large.query.p50), round(large.query.p99))
		fmt.Printf("| %dk incidents: peak RSS | %.1f MiB | | | ≤ 400 MB | %s |\n", c.large/1000, mib(large.rss), verdict(large.rss <= 400e6))
	}

	fmt.Printf("\n| detail (medians) | fake p99 | ceiling p99 | fake CPU/req | ceiling CPU/req |\n|---|---|---|---|---|\n")
	for _, sc := range scenarios {
		if len(sc.fake.reqs) == 0 {
			continue
		}
		fmt.Printf("| %s | %s | %s | %s | %s |\n", sc.name, round(median(sc.fake.p99)), round(median(sc.ceil.p99)),
			round(median(sc.fake.cpu)), round(median(sc.ceil.cpu)))
	}
	fmt.Printf("\nstart-up samples: fake %s; ceiling %s\n", fmtDurs(fakeUp), fmtDurs(ceilUp))
	if len(phases) > 0 {
		fmt.Printf("\nin-process start-up phases of the fake (medians of %d cold starts):\n", c.startups)
		for _, p := range phases {
			fmt.Printf("  %-62s %s\n", p.name, p)
		}
	}
	return nil
}

type largeResult struct {
	startup time.Duration
	rss     int64
	query   result
}

// runLarge starts the fake with c.large extra incidents and loads the
// filtered, ordered query with one connection, so that the latencies are
// per request and not queueing.
func runLarge(c config, dir string) (*largeResult, error) {
	cfg, err := writeConfig(dir, "large.json", c.large)
	if err != nil {
		return nil, err
	}
	s, err := start("fake (large)", func(addr string) []string {
		return []string{c.sncheck, "serve", "--addr", addr, "--config", cfg, "--log-level", "error"}
	}, 2*time.Minute)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	_, token, err := fetchToken(s.url)
	if err != nil {
		return nil, err
	}
	if _, err := fetchList(s.url, largePath, token); err != nil {
		return nil, err
	}
	q, err := load(s, getScript(largePath, token), c.largeDur, 1, 1)
	if err != nil {
		return nil, err
	}
	rss, _ := peakRSS(s.cmd.Process.Pid)
	return &largeResult{startup: s.startup, rss: rss, query: q}, nil
}

type phaseMedian struct {
	name   string
	ns     int64
	mib    float64
	faults int64
}

func (p phaseMedian) String() string {
	var parts []string
	if p.ns != 0 {
		parts = append(parts, round(time.Duration(p.ns)).String())
	}
	if p.mib != 0 {
		parts = append(parts, fmt.Sprintf("%.1f MiB", p.mib))
	}
	if p.faults != 0 {
		parts = append(parts, fmt.Sprintf("%d page faults", p.faults))
	}
	return strings.Join(parts, ", ")
}

// startupPhases runs the startup program n times and returns each phase's
// median.
func startupPhases(prog string, n int) ([]phaseMedian, error) {
	if prog == "" {
		return nil, nil
	}
	var names []string
	ns, mibs, faults := map[string][]int64{}, map[string][]float64{}, map[string][]int64{}
	for range n {
		out, err := exec.Command(prog).Output()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", prog, err)
		}
		var ps []struct {
			Name   string  `json:"name"`
			NS     int64   `json:"ns"`
			MiB    float64 `json:"mib"`
			Faults int64   `json:"faults"`
		}
		if err := json.Unmarshal(out, &ps); err != nil {
			return nil, fmt.Errorf("%s: %w", prog, err)
		}
		for _, p := range ps {
			if _, ok := ns[p.Name]; !ok {
				names = append(names, p.Name)
			}
			ns[p.Name] = append(ns[p.Name], p.NS)
			mibs[p.Name] = append(mibs[p.Name], p.MiB)
			faults[p.Name] = append(faults[p.Name], p.Faults)
		}
	}
	out := make([]phaseMedian, 0, len(names))
	for _, name := range names {
		out = append(out, phaseMedian{name, median(ns[name]), median(mibs[name]), median(faults[name])})
	}
	return out, nil
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(100 * time.Nanosecond)
}

func fmtDurs(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Round(100 * time.Microsecond).String()
	}
	return strings.Join(parts, " ")
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func numCPU() int {
	data, _ := os.ReadFile("/proc/cpuinfo")
	return bytes.Count(data, []byte("processor\t:"))
}
