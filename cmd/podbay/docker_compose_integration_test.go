//go:build integration

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// composeProject is a three-service Compose project (build excluded): web
// publishes a port and serves a bind-mounted file, api and cache answer by
// service name, cache keeps its data in a named volume.
const composeProject = `version: "3.8"
services:
  web:
    image: ${IMG}
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    ports: ["127.0.0.1:${PORT}:80"]
    volumes:
      - ./index.html:/www/index.html:ro
    depends_on: [api, cache]
  api:
    image: ${IMG}
    command: ["sh", "-c", "mkdir -p /www && echo api-ok > /www/status && exec httpd -f -p 8080 -h /www"]
    expose: ["8080"]
    environment:
      CACHE_URL: http://cache:6379
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://localhost:8080/status"]
      interval: 2s
  cache:
    image: ${IMG}
    command: ["sh", "-c", "[ -f /data/v ] || echo cached > /data/v; mkdir -p /www; cp /data/v /www/v; exec httpd -f -p 6379 -h /www"]
    expose: ["6379"]
    volumes: ["cachedata:/data"]
volumes:
  cachedata:
`

// compose runs docker-compose on the project in dir against the service.
func (s *service) compose(dir string, extraEnv []string, args ...string) result {
	s.e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker-compose", append([]string{"--no-ansi", "-p", "proj"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "DOCKER_HOST=unix://"+s.sock, "DOCKER_CONFIG="+s.config), extraEnv...)
	return runCommand(s.e.t, cmd, nil)
}

// TestDockerCompose: docker-compose brings the three-service project up
// through podbay's socket (service names resolve across containers, the
// published port answers), and down, leaving nothing; kube generate
// --compose-project exports the running project as Kubernetes YAML that
// kube validate accepts and kube play runs answering the same way.
func TestDockerCompose(t *testing.T) {
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Fatalf("docker-compose is needed (hack/install-deps.sh installs it): %v", err)
	}
	e := newEnv(t)
	s := startService(t, e)
	s.ok("pull", e.busybox)
	dir := t.TempDir()
	port := freeTCPPort(t)
	for name, data := range map[string]string{"docker-compose.yml": composeProject, "index.html": "hello from web\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vars := []string{"IMG=" + e.busybox, fmt.Sprintf("PORT=%d", port)}
	if r := s.compose(dir, vars, "up", "-d"); r.code != 0 {
		t.Fatalf("compose up: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	answering := func(what string) {
		t.Helper()
		url := fmt.Sprintf("http://127.0.0.1:%d/index.html", port)
		waitFor(t, what+": web on the published port", 60*time.Second, func() bool { return httpBody(url) == "hello from web\n" })
	}
	answering("compose")
	for _, c := range []struct{ url, want string }{{"http://api:8080/status", "api-ok\n"}, {"http://cache:6379/v", "cached\n"}} {
		var out string
		waitFor(t, c.url+" from web", 60*time.Second, func() bool {
			r := s.compose(dir, vars, "exec", "-T", "web", "wget", "-qO-", c.url)
			out = r.stdout
			return r.code == 0 && out == c.want
		})
	}
	if out := s.compose(dir, vars, "ps"); !strings.Contains(out.stdout, "proj_api_1") || !strings.Contains(out.stdout, "Up") {
		t.Errorf("compose ps:\n%s", out.stdout)
	}
	if out := s.ok("inspect", "--format", "{{.State.Health.Status}}", "proj_api_1"); !strings.Contains("healthy starting", strings.TrimSpace(out)) {
		t.Errorf("api's health: %q", out)
	}
	yamlFile := filepath.Join(dir, "proj.yaml")
	e.ok("kube", "generate", "--compose-project", "proj", "-f", yamlFile)
	if r := s.compose(dir, vars, "down", "-v", "-t", "1"); r.code != 0 {
		t.Fatalf("compose down: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if out := s.ok("ps", "-aq"); strings.TrimSpace(out) != "" {
		t.Errorf("containers left after down: %q", out)
	}
	if out := s.ok("volume", "ls", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("volumes left after down -v: %q", out)
	}
	if out := s.ok("network", "ls", "--format", "{{.Name}}"); strings.Contains(out, "proj_default") {
		t.Errorf("network left after down: %q", out)
	}
	if out := e.ok("pod", "ps", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("pods left after down: %q", out)
	}
	exported, err := os.ReadFile(yamlFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exported:\n%s", exported)
	for _, want := range []string{"kind: Deployment", "kind: Service", "kind: ConfigMap", "kind: PersistentVolumeClaim", "name: api", "name: cache", "name: web"} {
		if !strings.Contains(string(exported), want) {
			t.Errorf("the export lacks %q", want)
		}
	}
	e.ok("kube", "validate", yamlFile)
	e.ok("kube", "play", yamlFile)
	answering("kube play")
	var out string
	waitFor(t, "api through its Service from web", 60*time.Second, func() bool {
		r := e.run("exec", "web-pod-0-web", "wget", "-qO-", "http://api:8080/status")
		out = r.stdout
		return r.code == 0 && out == "api-ok\n"
	})
	e.ok("kube", "down", yamlFile)
}

// TestDockerServiceSocket: the service's unix socket is mode 0660; the
// service exits by itself after --time idle seconds; under socket
// activation (LISTEN_FDS, LISTEN_PID, the socket as fd 3) it serves the
// socket it is given, through the lean podbay's hand-over to podbay-kube.
func TestDockerServiceSocket(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "podbay.sock")
	cmd := exec.Command(filepath.Join(binDir, "podbay"), "--root", e.root, "--runroot", e.runroot, "system", "service", "--time", "1", "unix://"+sock)
	cmd.Env = append(os.Environ(), e.extraEnv...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitFor(t, "the socket", 30*time.Second, func() bool { _, err := os.Stat(sock); return err == nil })
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o660 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket %v: mode %v, want a socket with mode 0660", err, fi.Mode())
	}
	if body := unixGet(t, sock, "/_ping"); body != "OK" {
		t.Errorf("_ping: %q", body)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the idle service exited with %v, want 0", err)
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the service did not exit after 1 s without requests")
	}

	// Socket activation: the listening socket as fd 3, LISTEN_PID set by
	// the shell that execs podbay (it keeps the shell's pid).
	activated := filepath.Join(dir, "activated.sock")
	l, err := net.Listen("unix", activated)
	if err != nil {
		t.Fatal(err)
	}
	ul := l.(*net.UnixListener)
	f, err := ul.File()
	if err != nil {
		t.Fatal(err)
	}
	ul.SetUnlinkOnClose(false) // the socket stays for the service
	ul.Close()
	cmd = exec.Command("sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"`, "sh", filepath.Join(binDir, "podbay"),
		"--root", e.root, "--runroot", e.runroot, "system", "service", "--time", "0")
	cmd.Env = append(os.Environ(), e.extraEnv...)
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	if body := unixGet(t, activated, "/v1.41/_ping"); body != "OK" {
		t.Errorf("_ping on the activated socket: %q", body)
	}
	if _, err := os.Stat(filepath.Join(e.runroot, "podbay.sock")); err == nil {
		t.Errorf("an activated service made a socket of its own")
	}
}

// unixGet is the body of a GET on a unix socket ("" on error), retried
// until the server answers or a deadline.
func unixGet(t *testing.T, sock, path string) string {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	var body string
	waitFor(t, "an answer on "+sock, 30*time.Second, func() bool {
		resp, err := c.Get("http://podbay" + path)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return true
	})
	return body
}
