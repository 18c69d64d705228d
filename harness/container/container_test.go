package container_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sncheck/sncheck/fakesn"
	"github.com/sncheck/sncheck/harness/container"
	"github.com/sncheck/sncheck/suites"
)

func TestMain(m *testing.M) {
	// The reaper image cannot be pulled here; cleanup is registered per
	// container instead.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	os.Exit(m.Run())
}

func TestContainerServesTheFake(t *testing.T) {
	if testing.Short() {
		t.Skip("container: skipped in -short mode: builds an image and starts Docker containers")
	}
	c := container.RunForTest(t)
	ctx := context.Background()

	if err := c.Controller().Health(ctx); err != nil {
		t.Fatalf("Health: %v", err)
	}
	form := url.Values{"grant_type": {"password"}, "client_id": {"sncheck-client"}, "client_secret": {"sncheck-secret"},
		"username": {"admin"}, "password": {"admin"}}
	resp, err := http.PostForm(c.URL()+"/oauth_token.do", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(tok.AccessToken) != 86 || tok.ExpiresIn != 1799 {
		t.Fatalf("token answer: status %d, token length %d, expires_in %d (%v); want 200, 86, 1799", resp.StatusCode, len(tok.AccessToken), tok.ExpiresIn, err)
	}

	// The control API works with the container's admin token and the
	// clock moves the container's token expiry.
	if _, err := c.Controller().AdvanceClock(ctx, 1800*time.Second); err != nil {
		t.Fatalf("AdvanceClock: %v", err)
	}
	req, _ := http.NewRequest(http.MethodGet, c.URL()+"/api/now/table/sys_user?sysparm_limit=1", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("after 1800 s the token still works: status %d, want 401", res.StatusCode)
	}

	// Without the token the control API is refused: the container listens
	// beyond loopback.
	err = fakesn.NewAdminClient(c.URL(), "", nil).Health(ctx)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("control API without the admin token: got %v, want a 403 refusal", err)
	}
}

// TestInstanceSuiteAgainstTheContainer runs the whole instance suite, as
// `sncheck check --url` does, against the fake in a container.
func TestInstanceSuiteAgainstTheContainer(t *testing.T) {
	if testing.Short() {
		t.Skip("container: skipped in -short mode: builds an image and starts Docker containers")
	}
	c := container.RunForTest(t)
	bin := filepath.Join(t.TempDir(), "sncheck")
	build := exec.Command("go", "build", "-o", bin, "./cmd/sncheck")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building sncheck: %v\n%s", err, out)
	}
	save := filepath.Join(t.TempDir(), "run.json")
	cmd := exec.Command(bin, "check", "--url", c.URL(), "--save", save)
	cmd.Env = append(os.Environ(), "SNCHECK_ADMIN_TOKEN="+c.AdminToken(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sncheck check against the container: %v\n%s", err, out)
	}
	run, err := suites.ReadRunFile(save)
	if err != nil {
		t.Fatal(err)
	}
	if run.Target.Name != "fake-url" || run.Summary.Failed != 0 || run.Summary.Passed < 40 {
		t.Errorf("run: target %q, %d passed, %d failed; want the fake at a URL with every check passing\n%s",
			run.Target.Name, run.Summary.Passed, run.Summary.Failed, out)
	}
	if strings.Contains(string(out), c.AdminToken()) {
		t.Error("the output shows the admin token")
	}
}
