// Command startup times the phases of the fake's start-up in a fresh
// process, as `sncheck serve` runs them: parsing the embedded seed, building
// the server, reading the seeded credentials for the banner, and answering
// the first token request. internal/loadrun runs it several times and
// prints the medians next to the process start-up it measures from outside.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
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
	ctx := context.Background()
	var phases []phase
	mark := time.Now()
	lap := func(name string) {
		now := time.Now()
		phases = append(phases, phase{Name: name, NS: now.Sub(mark).Nanoseconds()})
		mark = now
	}
	if _, err := fixtures.Default(); err != nil {
		return err
	}
	lap("fixtures.Default (parse and validate the embedded seed)")
	srv, err := fakesn.New(fakesn.Options{})
	if err != nil {
		return err
	}
	defer srv.Close()
	lap("fakesn.New (seed, store, indexes)")
	if _, err := srv.Snapshot(ctx); err != nil {
		return err
	}
	lap("Server.Snapshot (serve reads the banner's credentials)")
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
	return json.NewEncoder(os.Stdout).Encode(phases)
}

type phase struct {
	Name string `json:"name"`
	NS   int64  `json:"ns"`
}
