// This example runs the fake's image with plain `docker run`, as a CI job in
// any language would, and measures the time from `docker run` to the first
// answered token request.
package docker_test

import (
	"context"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sncheck/sncheck/harness/container"
)

func TestDockerRun(t *testing.T) {
	if testing.Short() {
		t.Skip("example: skipped in -short mode: runs a Docker container")
	}
	if err := container.DockerAvailable(); err != nil {
		t.Skipf("example: Docker is not available: %v", err)
	}
	ctx := context.Background()
	if err := container.EnsureImage(ctx, container.DefaultImage, "", nil); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	// The same command a user types; -p 127.0.0.1::8080 picks a free port.
	out, err := exec.Command("docker", "run", "-d", "--rm", "-p", "127.0.0.1::8080",
		"-e", "FAKESN_ADMIN_TOKEN=example-admin-token", container.DefaultImage).CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", id).Run() })
	port, err := exec.Command("docker", "port", id, "8080/tcp").Output()
	if err != nil {
		t.Fatalf("docker port: %v", err)
	}
	base := "http://" + strings.TrimSpace(strings.SplitN(string(port), "\n", 2)[0])

	form := url.Values{"grant_type": {"password"}, "client_id": {"sncheck-client"},
		"client_secret": {"sncheck-secret"}, "username": {"admin"}, "password": {"admin"}}
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.PostForm(base+"/oauth_token.do", form)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("no answered token request 30 s after docker run (last error %v)", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	answered := time.Now()
	t.Logf("docker run to first answered token request: %s", answered.Sub(start).Round(time.Millisecond))
	// Most of that is Docker creating the container; the fake's own share
	// starts when the container's process does.
	if out, err := exec.Command("docker", "inspect", "-f", "{{.State.StartedAt}}", id).Output(); err == nil {
		if started, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(out))); err == nil {
			t.Logf("container process start to first answered token request: %s", answered.Sub(started).Round(time.Millisecond))
		}
	}
}
