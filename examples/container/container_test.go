// This example is a user's Go test with the fake in a Docker container,
// through testcontainers-go. The image is built from this repository when
// it is missing (or run `make image` first).
package container_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness/container"
)

func TestMain(m *testing.M) {
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true") // no reaper image to pull here
	os.Exit(m.Run())
}

func TestAgainstTheFakeInAContainer(t *testing.T) {
	if testing.Short() {
		t.Skip("example: skipped in -short mode: starts a Docker container")
	}
	c := container.RunForTest(t, container.WithEnv(map[string]string{"FAKESN_CLOCK": "fake"}))

	resp, err := http.PostForm(c.URL()+"/oauth_token.do", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"sncheck-client"}, "client_secret": {"sncheck-secret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("client credentials grant: status %d, want 200", resp.StatusCode)
	}

	// The container's fake is driven like the in-process one.
	ctl := c.Controller()
	if _, err := ctl.AdvanceClock(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	entries, err := ctl.Journal(context.Background(), fakesn.JournalFilter{GrantType: "client_credentials"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Status != http.StatusOK {
		t.Errorf("journal: %+v, want one successful client_credentials grant", entries)
	}
}
