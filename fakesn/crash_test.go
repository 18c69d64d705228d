//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fakesn

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestCrashDataDir runs `sncheck serve --data-dir` under a write load,
// SIGKILLs it mid-load, restarts it on the same directory and checks that
// every acknowledged write is there with its acknowledged values, a few
// times over.
func TestCrashDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped under -short: it builds sncheck, runs it as a process and SIGKILLs it")
	}
	bin := buildSncheck(t)
	dir := filepath.Join(t.TempDir(), "data")
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("data dir %s, rand seed %d", dir, seed)

	const (
		cycles  = 4
		workers = 8
	)
	var (
		all      []*crashRecord      // every record any cycle inserted and saw acknowledged
		numbers  = map[string]bool{} // acknowledged incident numbers, for uniqueness
		verified int                 // acknowledged writes checked after a kill
	)
	for cycle := range cycles {
		srv := startSncheck(t, bin, dir)
		// Everything acknowledged before the previous kill is still there.
		checkRecords(t, srv.url, all)
		// Then load, and kill mid-load once enough writes were acknowledged.
		load := &crashLoad{killAfter: int64(150 + rng.IntN(250)), reached: make(chan struct{})}
		var wg sync.WaitGroup
		results := make([][]*crashRecord, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[w] = crashWorker(srv.url, fmt.Sprintf("c%d-w%d", cycle, w), load)
			}()
		}
		select {
		case <-load.reached:
		case <-srv.done:
			t.Fatalf("cycle %d: sncheck serve exited under load; stderr:\n%s", cycle, srv.stderr())
		}
		srv.kill(t)
		wg.Wait()

		var writes, inFlight int
		for _, recs := range results {
			for _, r := range recs {
				if r.wrong != "" {
					t.Errorf("cycle %d: %s", cycle, r.wrong)
				}
				if r.pending != nil {
					inFlight++
				}
				if r.acked == nil {
					continue // its insert was in flight: may or may not exist
				}
				if numbers[r.number] {
					t.Errorf("incident number %s was issued twice", r.number)
				}
				numbers[r.number] = true
				writes += r.ackedWrites
				all = append(all, r)
			}
		}
		if writes == 0 {
			t.Fatalf("cycle %d: no write was acknowledged before the kill; stderr:\n%s", cycle, srv.stderr())
		}
		srv = startSncheck(t, bin, dir)
		landed := checkRecords(t, srv.url, all)
		verified += writes
		t.Logf("cycle %d: killed after %d acknowledged writes (aim %d) with %d in flight (%d of those landed); all %d records (%d acknowledged writes so far) checked after restart",
			cycle, writes, load.killAfter, inFlight, landed, len(all), verified)
		if strings.Contains(srv.stderr(), "torn record") {
			t.Logf("cycle %d: restart found a torn tail: %s", cycle, firstLine(srv.stderr(), "torn record"))
		}
		srv.kill(t)
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("%d acknowledged writes (%d records) verified across %d SIGKILL/restart cycles", verified, len(all), cycles)
}

// crashRecord is one incident a worker wrote, and what the fake answered.
type crashRecord struct {
	sysID, number string
	acked         *crashState // last acknowledged state; nil until the insert is
	pending       *crashState // a write sent but not answered when the fake died
	ackedWrites   int
	wrong         string // an answer that did not echo the write
}

// crashLoad counts acknowledged writes and says when to kill.
type crashLoad struct {
	acked     atomic.Int64
	killAfter int64
	reached   chan struct{} // closed when acked reaches killAfter
}

type crashState struct {
	value string // short_description
	mod   int    // sys_mod_count
}

// crashWorker inserts incidents and patches each a few times until the
// fake stops answering.
func crashWorker(base, name string, load *crashLoad) []*crashRecord {
	client := &http.Client{Timeout: 60 * time.Second}
	var recs []*crashRecord
	var cur *crashRecord
	for i := 0; ; i++ {
		value := fmt.Sprintf("%s-%d", name, i)
		var req *http.Request
		if cur == nil || cur.acked.mod >= 3 {
			cur = &crashRecord{pending: &crashState{value: value}}
			recs = append(recs, cur)
			req, _ = http.NewRequest(http.MethodPost, base+"/api/now/table/incident", strings.NewReader(`{"short_description":"`+value+`"}`))
		} else {
			cur.pending = &crashState{value: value, mod: cur.acked.mod + 1}
			req, _ = http.NewRequest(http.MethodPatch, base+"/api/now/table/incident/"+cur.sysID, strings.NewReader(`{"short_description":"`+value+`"}`))
		}
		req.SetBasicAuth("admin", "admin")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		res, ok := crashDo(client, req)
		if !ok {
			return recs // the fake is gone; cur.pending may or may not have landed
		}
		got := crashState{value: res["short_description"], mod: atoi(res["sys_mod_count"])}
		if got != *cur.pending || cur.sysID != "" && res["sys_id"] != cur.sysID {
			cur.wrong = fmt.Sprintf("%s %s answered %+v for %s, want %+v", req.Method, req.URL.Path, res, cur.sysID, *cur.pending)
			return recs
		}
		cur.sysID, cur.number = res["sys_id"], res["number"]
		cur.acked, cur.pending = &got, nil
		cur.ackedWrites++
		if load.acked.Add(1) == load.killAfter {
			close(load.reached)
		}
	}
}

// crashDo sends req and returns the record of a 200/201 answer.
func crashDo(client *http.Client, req *http.Request) (map[string]string, bool) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return nil, false
	}
	var env struct {
		Result map[string]any `json:"result"`
	}
	if json.Unmarshal(body, &env) != nil {
		return nil, false
	}
	m := map[string]string{}
	for k, v := range env.Result {
		if s, ok := v.(string); ok {
			m[k] = s
		}
	}
	return m, true
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

// checkRecords reads every record back and compares it with what was
// acknowledged: the acknowledged state, or the in-flight write's when that
// write landed before the kill. It returns how many in-flight writes had.
func checkRecords(t *testing.T, base string, recs []*crashRecord) (landed int) {
	t.Helper()
	client := &http.Client{Timeout: 60 * time.Second}
	var mu sync.Mutex
	var errs []string
	next := make(chan *crashRecord)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				req, _ := http.NewRequest(http.MethodGet, base+"/api/now/table/incident/"+r.sysID+"?sysparm_fields=sys_id,number,short_description,sys_mod_count", nil)
				req.SetBasicAuth("admin", "admin")
				req.Header.Set("Accept", "application/json")
				got, ok := crashDo(client, req)
				var msg string
				switch {
				case !ok:
					msg = fmt.Sprintf("%s (%s): acknowledged record is gone", r.sysID, r.number)
				case got["number"] != r.number:
					msg = fmt.Sprintf("%s: number %s, want %s", r.sysID, got["number"], r.number)
				default:
					st := crashState{value: got["short_description"], mod: atoi(got["sys_mod_count"])}
					if st == *r.acked {
						break
					}
					if r.pending != nil && st == *r.pending {
						// The in-flight write landed; later checks expect it.
						r.acked, r.pending = &st, nil
						mu.Lock()
						landed++
						mu.Unlock()
						break
					}
					msg = fmt.Sprintf("%s (%s): short_description %q sys_mod_count %d, want the acknowledged %q %d",
						r.sysID, r.number, st.value, st.mod, r.acked.value, r.acked.mod)
				}
				if msg != "" {
					mu.Lock()
					errs = append(errs, msg)
					mu.Unlock()
				}
			}
		}()
	}
	for _, r := range recs {
		next <- r
	}
	close(next)
	wg.Wait()
	for i, e := range errs {
		if i == 20 {
			t.Errorf("... and %d more", len(errs)-20)
			break
		}
		t.Error(e)
	}
	return landed
}

// buildSncheck builds the CLI from the module root into a temp dir.
func buildSncheck(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("crash test skipped: no go tool on PATH to build sncheck: %v", err)
	}
	out, err := exec.Command(goTool, "env", "GOMOD").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		t.Fatalf("go env GOMOD: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "sncheck")
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/sncheck")
	cmd.Dir = filepath.Dir(string(bytes.TrimSpace(out)))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/sncheck: %v\n%s", err, out)
	}
	return bin
}

// sncheckProc is a running `sncheck serve`.
type sncheckProc struct {
	cmd     *exec.Cmd
	url     string
	done    chan struct{} // closed when the process has exited
	errMu   sync.Mutex
	errBuf  bytes.Buffer
	drained sync.WaitGroup
}

func (p *sncheckProc) Write(b []byte) (int, error) {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.errBuf.Write(b)
}

func (p *sncheckProc) stderr() string {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.errBuf.String()
}

// kill sends SIGKILL and waits for the process to be gone, so its flock
// on the data directory is released.
func (p *sncheckProc) kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.drained.Wait()
}

const listeningPrefix = "sncheck serve: listening on "

func startSncheck(t *testing.T, bin, dir string) *sncheckProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &sncheckProc{done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", dir)
	p.cmd.Stderr = p
	// An io.Pipe, not StdoutPipe: Wait then returns only after the output
	// is copied, so a line printed just before an exit is not lost.
	stdout, pw := io.Pipe()
	p.cmd.Stdout = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting sncheck serve: %v", err)
	}
	go func() { _ = p.cmd.Wait(); pw.Close(); close(p.done) }()
	t.Cleanup(func() { cancel(); <-p.done })

	first := make(chan string, 1)
	p.drained.Add(1)
	go func() {
		defer p.drained.Done()
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			first <- sc.Text()
		} else {
			first <- ""
		}
		for sc.Scan() { // keep the pipe drained
		}
	}()
	select {
	case line := <-first:
		url, ok := strings.CutPrefix(line, listeningPrefix)
		if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
			<-p.done
			t.Fatalf("sncheck serve's first stdout line = %q, want %q; stderr:\n%s", line, listeningPrefix+"http://HOST:PORT", p.stderr())
		}
		p.url = url
	case <-time.After(2 * time.Minute):
		t.Fatalf("sncheck serve printed no URL within 2 minutes; stderr:\n%s", p.stderr())
	}
	return p
}

func firstLine(s, containing string) string {
	for line := range strings.Lines(s) {
		if strings.Contains(line, containing) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
