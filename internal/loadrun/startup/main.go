// Command startup times the phases of the fake's start-up in a fresh
// process, as `sncheck serve` runs them: parsing the embedded seed (and the
// config file given as its argument), building the server, reading the
// seeded credentials for the banner, and answering the first token request.
// It then prints the live heap and the peak RSS. internal/loadrun runs it
// several times and prints the medians next to the process start-up it
// measures from outside.
//
//	go run ./internal/loadrun/startup [config.json]
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/fixtures"
)

func main() {
	// STARTUP_CPUPROFILE=file profiles this one cold start at a high rate,
	// since it lasts only tens of milliseconds.
	if path := os.Getenv("STARTUP_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "startup:", err)
			os.Exit(1)
		}
		runtime.SetCPUProfileRate(4000)
		_ = pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "startup:", err)
		os.Exit(1) //nolint:gocritic // the profile of a failed start is not needed
	}
}

func run() error {
	var phases []phase
	mark, faults := time.Now(), minorFaults()
	lap := func(name string) {
		now, f := time.Now(), minorFaults()
		phases = append(phases, phase{Name: name, NS: now.Sub(mark).Nanoseconds(), Faults: f - faults})
		mark, faults = now, f
	}
	phases = append(phases, phase{Name: "page faults before main (binary, runtime, package init)", Faults: faults})
	if _, err := fixtures.Default(); err != nil {
		return err
	}
	lap("fixtures.Default (parse the embedded seed, once per process)")
	var opts fakesn.Options
	if len(os.Args) > 1 {
		// As `sncheck serve --config FILE` reads it.
		data, err := os.ReadFile(os.Args[1])
		if err != nil {
			return err
		}
		if opts.Config, err = fixtures.Parse(data); err != nil {
			return err
		}
		lap("fixtures.Parse (the config file)")
	}
	srv, err := fakesn.New(opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	lap("fakesn.New (seed, store, indexes)")
	// What `sncheck serve` reads for its banner.
	srv.RecordField("sys_user", fixtures.AdminSysID, "user_name")
	srv.CheckUserPassword("admin", "admin")
	srv.RecordField("oauth_entity", fixtures.OAuthEntitySysID, "client_id")
	srv.CheckClientSecret(fixtures.OAuthClientID, fixtures.OAuthClientSecret)
	lap("banner credentials (serve reads the seeded admin and client)")
	form := url.Values{"grant_type": {"password"}, "client_id": {fixtures.OAuthClientID},
		"client_secret": {fixtures.OAuthClientSecret}, "username": {"admin"}, "password": {"admin"}}.Encode()
	client := &http.Client{Transport: srv.Transport()}
	resp, err := client.Post("http://instance.test/oauth_token.do", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("first token request: status %d", resp.StatusCode)
	}
	lap("first token request (in memory)")
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	phases = append(phases, phase{Name: "live heap after start-up (MiB)", MiB: float64(m.HeapAlloc) / (1 << 20)})
	if hwm, ok := peakRSS(); ok {
		phases = append(phases, phase{Name: "peak RSS (MiB)", MiB: hwm})
	}
	runtime.KeepAlive(srv)
	return json.NewEncoder(os.Stdout).Encode(phases)
}

type phase struct {
	Name string  `json:"name"`
	NS   int64   `json:"ns,omitempty"`
	MiB  float64 `json:"mib,omitempty"`
	// Faults are minor page faults: on a virtual machine each costs
	// microseconds, and they are much of a cold start.
	Faults int64 `json:"faults,omitempty"`
}

// minorFaults is this process's minor page faults so far (Linux).
func minorFaults() int64 {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 8 {
		return 0
	}
	n, _ := strconv.ParseInt(f[7], 10, 64)
	return n
}

// peakRSS is this process's VmHWM on Linux.
func peakRSS() (float64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err == nil
		}
	}
	return 0, false
}
