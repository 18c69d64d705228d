// Package container runs the fake as a Docker container through
// testcontainers-go, with the same control API client as the in-process
// fake. It builds the image from the repository when it is not present.
package container

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/sncheck/sncheck/fakesn"
)

// DefaultImage is the image `make image` builds.
const DefaultImage = "sncheck/fakesn:dev"

// Port is the port the fake listens on inside the container.
const Port = "8080/tcp"

type config struct {
	image      string
	adminToken string
	env        map[string]string
	repoRoot   string
	buildLog   io.Writer
}

// Option configures Run.
type Option func(*config)

// WithImage uses another image name.
func WithImage(name string) Option { return func(c *config) { c.image = name } }

// WithAdminToken sets the control API token; by default Run makes a random one.
func WithAdminToken(token string) Option { return func(c *config) { c.adminToken = token } }

// WithEnv passes FAKESN_* settings (sncheck serve's flags) to the fake.
func WithEnv(env map[string]string) Option {
	return func(c *config) {
		for k, v := range env {
			c.env[k] = v
		}
	}
}

// WithRepoRoot says where the repository is, to build the image when it
// is missing; by default it is found from the working directory.
func WithRepoRoot(dir string) Option { return func(c *config) { c.repoRoot = dir } }

// WithBuildLog receives the image build's output.
func WithBuildLog(w io.Writer) Option { return func(c *config) { c.buildLog = w } }

// Container is a running fake.
type Container struct {
	testcontainers.Container
	url   string
	token string
	admin *fakesn.AdminClient
}

// AdminToken is the fake's control-API token (a secret: do not print it).
func (c *Container) AdminToken() string { return c.token }

// URL is the fake's base URL as reachable from the host.
func (c *Container) URL() string { return c.url }

// Controller drives the fake over its control API.
func (c *Container) Controller() fakesn.Controller { return c.admin }

// Run starts the fake in a container and waits until it answers.
func Run(ctx context.Context, opts ...Option) (*Container, error) {
	cfg := &config{image: DefaultImage, env: map[string]string{}, buildLog: io.Discard}
	for _, o := range opts {
		o(cfg)
	}
	if cfg.adminToken == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		cfg.adminToken = hex.EncodeToString(b[:])
	}
	if err := ensureImage(ctx, cfg); err != nil {
		return nil, err
	}
	useLocalDaemonHost()
	env := map[string]string{"FAKESN_ADMIN_TOKEN": cfg.adminToken}
	for k, v := range cfg.env {
		env[k] = v
	}
	ctr, err := testcontainers.Run(ctx, cfg.image,
		testcontainers.WithExposedPorts(Port),
		testcontainers.WithEnv(env),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/_fakesn/health").WithPort(Port).
			WithHeaders(map[string]string{fakesn.AdminTokenHeader: cfg.adminToken}).
			WithStartupTimeout(30*time.Second).WithPollInterval(20*time.Millisecond)),
	)
	if err != nil {
		if ctr != nil {
			_ = ctr.Terminate(context.Background())
		}
		return nil, fmt.Errorf("container: starting %s: %w", cfg.image, err)
	}
	host, err := ctr.Host(ctx)
	if err == nil {
		var port string
		if p, perr := ctr.MappedPort(ctx, Port); perr == nil {
			port = p.Port()
		} else {
			err = perr
		}
		if err == nil {
			url := "http://" + host + ":" + port
			return &Container{Container: ctr, url: url, token: cfg.adminToken, admin: fakesn.NewAdminClient(url, cfg.adminToken, nil)}, nil
		}
	}
	_ = ctr.Terminate(context.Background())
	return nil, fmt.Errorf("container: finding the fake's address: %w", err)
}

// RunForTest starts the fake for a test, terminates it when the test ends,
// and skips the test, saying why, when Docker is not available.
func RunForTest(tb testing.TB, opts ...Option) *Container {
	tb.Helper()
	if err := DockerAvailable(); err != nil {
		tb.Skipf("container: Docker is not available: %v", err)
	}
	c, err := Run(context.Background(), opts...)
	if c != nil {
		testcontainers.CleanupContainer(tb, c.Container)
	}
	if err != nil {
		tb.Fatalf("%v", err)
	}
	return c
}

// useLocalDaemonHost makes testcontainers reach published ports on
// localhost when the Docker daemon is local (a unix socket). Inside a
// container that has /.dockerenv, testcontainers otherwise guesses the
// bridge gateway, which a sandboxed host cannot reach. An explicit
// TESTCONTAINERS_HOST_OVERRIDE or a remote DOCKER_HOST is left alone.
func useLocalDaemonHost() {
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") != "" {
		return
	}
	if h := os.Getenv("DOCKER_HOST"); h != "" && !strings.HasPrefix(h, "unix://") {
		return
	}
	os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "localhost")
}

// DockerAvailable reports why Docker cannot be used, or nil.
func DockerAvailable() error {
	if _, err := exec.LookPath("docker"); err != nil {
		return errors.New("no docker command on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		return fmt.Errorf("docker engine not reachable: %s", strings.TrimSpace(string(out)))
	}
	return nil
}

func ensureImage(ctx context.Context, cfg *config) error {
	return EnsureImage(ctx, cfg.image, cfg.repoRoot, cfg.buildLog)
}

// EnsureImage builds image from the repository at root (found from the
// working directory when empty) unless Docker already has it.
func EnsureImage(ctx context.Context, image, root string, log io.Writer) error {
	if exec.CommandContext(ctx, "docker", "image", "inspect", image).Run() == nil {
		return nil
	}
	if root == "" {
		var err error
		if root, err = findRepoRoot(); err != nil {
			return err
		}
	}
	if log == nil {
		log = io.Discard
	}
	return BuildImage(ctx, root, image, log)
}

// BuildImage builds the fake's image from the repository at root.
func BuildImage(ctx context.Context, root, image string, log io.Writer) error {
	stage, err := os.MkdirTemp("", "sncheck-image-")
	if err != nil {
		return fmt.Errorf("container: %w", err)
	}
	defer os.RemoveAll(stage)
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(stage, "sncheck"), "./cmd/sncheck")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	var out bytes.Buffer
	build.Stdout, build.Stderr = io.MultiWriter(log, &out), io.MultiWriter(log, &out)
	if err := build.Run(); err != nil {
		return fmt.Errorf("container: building the static binary: %w\n%s", err, tail(out.Bytes()))
	}
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		return fmt.Errorf("container: reading the host's CA bundle: %w", err)
	}
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		return fmt.Errorf("container: %w", err)
	}
	for name, data := range map[string][]byte{"ca-certificates.crt": certs, "Dockerfile": dockerfile} {
		if err := os.WriteFile(filepath.Join(stage, name), data, 0o644); err != nil {
			return fmt.Errorf("container: %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, "docker", "build", "-t", image, stage)
	out.Reset()
	cmd.Stdout, cmd.Stderr = io.MultiWriter(log, &out), io.MultiWriter(log, &out)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("container: docker build: %w\n%s", err, tail(out.Bytes()))
	}
	return nil
}

// tail keeps the end of a command's output for an error message.
func tail(b []byte) []byte {
	if len(b) > 4096 {
		return b[len(b)-4096:]
	}
	return b
}

func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("container: %w", err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(data), "module github.com/sncheck/sncheck\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("container: image missing and no sncheck repository found above the working directory to build it from (use WithRepoRoot, or `make image`)")
		}
		dir = parent
	}
}
