//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// service is a podbay system service of a test's env, and the docker CLI
// pointed at it.
type service struct {
	e      *env
	sock   string
	config string // DOCKER_CONFIG: none of the host's settings
	cmd    *exec.Cmd
	out    bytes.Buffer
}

// startService starts `podbay system service --time 0 unix://SOCK` over
// e's roots and waits until it answers; the test's end stops it.
func startService(t *testing.T, e *env) *service {
	t.Helper()
	for _, bin := range []string{"docker"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is needed (hack/install-deps.sh installs it): %v", bin, err)
		}
	}
	dir := t.TempDir()
	s := &service{e: e, sock: filepath.Join(dir, "podbay.sock"), config: filepath.Join(dir, "docker-config")}
	if err := os.Mkdir(s.config, 0o700); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(filepath.Join(binDir, "podbay"), "--root", e.root, "--runroot", e.runroot, "--log-level", "info",
		"system", "service", "--time", "0", "unix://"+s.sock)
	s.cmd.Env = append(os.Environ(), e.extraEnv...)
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-exited
			t.Errorf("the service did not stop on SIGINT")
		}
		if t.Failed() {
			t.Logf("service output:\n%s", s.out.String())
		}
	})
	waitFor(t, "the service's socket", 30*time.Second, func() bool {
		c, err := net.Dial("unix", s.sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return s
}

// docker runs the docker CLI against the service.
func (s *service) docker(stdin []byte, args ...string) result {
	s.e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+s.sock, "DOCKER_CONFIG="+s.config)
	return runCommand(s.e.t, cmd, stdin)
}

// ok runs docker and fails the test unless it exits 0.
func (s *service) ok(args ...string) string {
	s.e.t.Helper()
	r := s.docker(nil, args...)
	if r.code != 0 {
		s.e.t.Fatalf("docker %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// TestDockerCLIContainers: the docker CLI through podbay's socket pulls,
// lists images, runs in the foreground (--rm: nothing left, the exit code
// kept) and in the background, lists, follows logs, execs, inspects,
// stops and removes; what it made is podbay's (podbay ps sees it).
func TestDockerCLIContainers(t *testing.T) {
	e := newEnv(t)
	s := startService(t, e)
	if v := s.ok("version", "--format", "{{.Server.APIVersion}}"); strings.TrimSpace(v) != "1.41" {
		t.Errorf("server API version %q, want 1.41", v)
	}
	img := strings.TrimPrefix(e.busybox, "")
	if out := s.ok("pull", img); !strings.Contains(out, "Downloaded newer image") {
		t.Errorf("pull output:\n%s", out)
	}
	if out := s.ok("images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, "/library/busybox:latest") {
		t.Errorf("images:\n%s", out)
	}
	if out := s.ok("run", "--rm", img, "echo", "hello from docker"); out != "hello from docker\n" {
		t.Errorf("run --rm output %q", out)
	}
	if r := s.docker(nil, "run", "--rm", img, "sh", "-c", "echo out; echo err >&2; exit 3"); r.code != 3 || r.stdout != "out\n" || r.stderr != "err\n" {
		t.Errorf("run --rm exit code %d (want 3), stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if out := s.ok("ps", "-aq"); strings.TrimSpace(out) != "" {
		t.Errorf("run --rm left containers: %q", out)
	}
	id := strings.TrimSpace(s.ok("run", "-d", "--name", "web", "-e", "MSG=hi", img, "sh", "-c", "echo started $MSG; exec sleep 1000"))
	if len(id) != 64 {
		t.Fatalf("run -d printed %q, want an ID", id)
	}
	if out := s.ok("ps", "--format", "{{.Names}} {{.State}}"); strings.TrimSpace(out) != "web running" {
		t.Errorf("ps: %q", out)
	}
	if !strings.Contains(e.ok("ps", "--format", "{{.Names}}"), "web") {
		t.Errorf("podbay ps does not show the docker container")
	}
	if strings.Contains(s.ok("ps", "-a", "--format", "{{.Names}}"), "infra") {
		t.Errorf("docker ps shows a pod's infra container")
	}
	if out := s.ok("exec", "web", "sh", "-c", "echo exec $MSG; cat /etc/hostname"); !strings.HasPrefix(out, "exec hi\n") {
		t.Errorf("exec output %q", out)
	}
	if r := s.docker(nil, "exec", "web", "sh", "-c", "exit 4"); r.code != 4 {
		t.Errorf("exec exit code %d, want 4", r.code)
	}
	if out := s.ok("inspect", "--format", "{{.State.Status}} {{.Name}} {{.HostConfig.NetworkMode}} {{index .Config.Env 0}}", "web"); strings.TrimSpace(out) != "running /web bridge MSG=hi" {
		t.Errorf("inspect: %q", out)
	}
	if out := s.ok("inspect", "--format", "{{.NetworkSettings.Networks.bridge.IPAddress}}", "web"); net.ParseIP(strings.TrimSpace(out)) == nil {
		t.Errorf("inspect: no IP address on the default network: %q", out)
	}
	// logs -f follows until the container stops.
	logs := exec.Command("docker", "logs", "-f", "web")
	logs.Env = append(os.Environ(), "DOCKER_HOST=unix://"+s.sock, "DOCKER_CONFIG="+s.config)
	var logOut bytes.Buffer
	logs.Stdout = &logOut
	if err := logs.Start(); err != nil {
		t.Fatal(err)
	}
	followed := make(chan error, 1)
	go func() { followed <- logs.Wait() }()
	s.ok("exec", "web", "sh", "-c", "echo more > /proc/1/fd/1")
	waitFor(t, "logs -f to show new output", 30*time.Second, func() bool { return strings.Contains(logOut.String(), "more") })
	s.ok("stop", "-t", "1", "web")
	select {
	case err := <-followed:
		if err != nil || logOut.String() != "started hi\nmore\n" {
			t.Errorf("logs -f: %v, %q", err, logOut.String())
		}
	case <-time.After(30 * time.Second):
		_ = logs.Process.Kill()
		t.Errorf("logs -f did not end when the container stopped")
	}
	if out := s.ok("ps", "-a", "--format", "{{.State}}", "--filter", "name=web"); strings.TrimSpace(out) != "exited" {
		t.Errorf("after stop: %q", out)
	}
	s.ok("rm", "web")
	if r := s.docker(nil, "inspect", "web"); r.code == 0 || !strings.Contains(r.stderr, "No such") {
		t.Errorf("inspect of a removed container: exit %d, %s", r.code, r.stderr)
	}
	if out := e.ok("pod", "ps", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("the container's pod outlived it: %q", out)
	}
}

// TestDockerCLIInteractive: docker run of an image not pulled yet pulls it,
// docker run -i passes stdin (its end closes the container's, so cat ends),
// and docker run -it on a terminal gets a shell:
// what is typed runs, the terminal has the client's size, the exit code is
// the shell's.
func TestDockerCLIInteractive(t *testing.T) {
	e := newEnv(t)
	s := startService(t, e)
	// Not pulled: the create's 404 makes the client pull, then create again.
	if r := s.docker([]byte("line one\nline two\n"), "run", "-i", "--rm", "--network", "none", e.busybox, "cat"); r.code != 0 || r.stdout != "line one\nline two\n" {
		t.Errorf("run -i cat: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	} else if !strings.Contains(r.stderr, "Unable to find image") {
		t.Errorf("run of an image not pulled: stderr %q, want the client's pull", r.stderr)
	}
	cmd := exec.Command("docker", "run", "-it", "--rm", "--name", "tty", e.busybox, "sh")
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+s.sock, "DOCKER_CONFIG="+s.config)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 33, Cols: 101})
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	var mu sync.Mutex
	var out bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	seen := func(s string) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			return strings.Contains(out.String(), s)
		}
	}
	waitFor(t, "the shell's prompt", 60*time.Second, seen("# "))
	if _, err := ptmx.Write([]byte("stty size; echo $((6*7))-done; tty\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the command's output", 30*time.Second, seen("42-done"))
	waitFor(t, "the terminal's size", 30*time.Second, seen("33 101"))
	waitFor(t, "a terminal in the container", 30*time.Second, seen("/dev/pts/"))
	if _, err := ptmx.Write([]byte("exit 5\n")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 5 {
			t.Errorf("docker run -it: %v, want exit status 5", err)
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		mu.Lock()
		t.Fatalf("docker run -it did not end after exit; output:\n%s", out.String())
	}
	waitFor(t, "--rm to remove the container", 30*time.Second, func() bool { return strings.TrimSpace(s.ok("ps", "-aq")) == "" })

	// docker exec -it in a running container: a terminal, the exit code.
	s.ok("run", "-d", "--name", "box", "--network", "none", e.busybox, "sleep", "1000")
	exec1 := exec.Command("docker", "exec", "-it", "box", "sh")
	exec1.Env = cmd.Env
	ptmx2, err := pty.StartWithSize(exec1, &pty.Winsize{Rows: 20, Cols: 70})
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx2.Close()
	out.Reset()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx2.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	if _, err := ptmx2.Write([]byte("[ -t 0 ] && echo is-a-terminal; echo $((7*6))-exec\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the exec's output", 60*time.Second, seen("42-exec"))
	waitFor(t, "a terminal for the exec", 30*time.Second, seen("\nis-a-terminal"))
	// The client sets the size right after the exec starts (API 1.41 has
	// no size in the start request): ask again until it shows.
	asked := 0
	waitFor(t, "the client's terminal size", 30*time.Second, func() bool {
		if asked++; asked%25 == 1 {
			_, _ = ptmx2.Write([]byte("stty size\n"))
		}
		return seen("20 70")()
	})
	if _, err := ptmx2.Write([]byte("exit 6\n")); err != nil {
		t.Fatal(err)
	}
	go func() { done <- exec1.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 6 {
			t.Errorf("docker exec -it: %v, want exit status 6", err)
		}
	case <-time.After(60 * time.Second):
		_ = exec1.Process.Kill()
		t.Fatalf("docker exec -it did not end")
	}
	s.ok("rm", "-f", "box")
}

// TestDockerCLINetworksVolumes: containers on a user network reach each
// other by name and by network alias; a named volume keeps what one
// container wrote for the next; networks and volumes are created, listed,
// inspected and removed through the docker CLI, and a published port
// answers on the host.
func TestDockerCLINetworksVolumes(t *testing.T) {
	e := newEnv(t)
	s := startService(t, e)
	s.ok("pull", e.busybox)
	s.ok("network", "create", "appnet")
	s.ok("volume", "create", "--label", "app=demo", "data")
	if out := s.ok("network", "ls", "--format", "{{.Name}}"); !strings.Contains(out, "appnet") || !strings.Contains(out, "bridge") {
		t.Errorf("network ls:\n%s", out)
	}
	if out := s.ok("volume", "ls", "--filter", "label=app=demo", "--format", "{{.Name}}"); strings.TrimSpace(out) != "data" {
		t.Errorf("volume ls: %q", out)
	}
	s.ok("run", "--rm", "-v", "data:/data", "--network", "none", e.busybox, "sh", "-c", "echo stored > /data/f")
	port := freeTCPPort(t)
	s.ok("run", "-d", "--name", "db", "--network", "appnet", "--network-alias", "database", "-p", fmt.Sprintf("127.0.0.1:%d:80", port),
		"-v", "data:/data", e.busybox, "httpd", "-f", "-p", "80", "-h", "/data")
	for _, host := range []string{"db", "database"} {
		if out := s.ok("run", "--rm", "--network", "appnet", e.busybox, "wget", "-qO-", "http://"+host+"/f"); out != "stored\n" {
			t.Errorf("wget http://%s/f from another container: %q", host, out)
		}
	}
	waitFor(t, "the published port", 30*time.Second, func() bool {
		return httpBody(fmt.Sprintf("http://127.0.0.1:%d/f", port)) == "stored\n"
	})
	if out := s.ok("port", "db"); !strings.Contains(out, fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Errorf("docker port: %q", out)
	}
	if out := s.ok("network", "inspect", "--format", "{{range .Containers}}{{.Name}}{{end}}", "appnet"); strings.TrimSpace(out) != "db" {
		t.Errorf("network inspect: containers %q, want db", out)
	}
	if r := s.docker(nil, "volume", "rm", "data"); r.code == 0 || !strings.Contains(r.stderr, "in use") {
		t.Errorf("volume rm of a volume in use: exit %d, %s", r.code, r.stderr)
	}
	if r := s.docker(nil, "run", "--rm", "--network", "nosuchnet", e.busybox, "true"); r.code == 0 || !strings.Contains(r.stderr, "nosuchnet") {
		t.Errorf("run on a missing network: exit %d, %s", r.code, r.stderr)
	}
	s.ok("rm", "-f", "db")
	s.ok("network", "rm", "appnet")
	s.ok("volume", "rm", "data")
	if out := s.ok("volume", "ls", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("volumes left: %q", out)
	}
	if out := e.ok("network", "ls", "--format", "{{.Name}}"); strings.Contains(out, "appnet") {
		t.Errorf("podbay network ls still shows appnet:\n%s", out)
	}
}

// freeTCPPort is a port nothing listens on now.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// httpBody is the body of a GET, "" on any error.
func httpBody(url string) string {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return ""
	}
	return string(b)
}

// TestDockerCLIImagesAndLifecycle: docker tag, history, save and load,
// rmi (refused while a container uses the image); kill, restart, stats,
// container prune; events streams what happens.
func TestDockerCLIImagesAndLifecycle(t *testing.T) {
	e := newEnv(t)
	s := startService(t, e)
	s.ok("pull", e.busybox)
	s.ok("tag", e.busybox, "example.com/mine/box:v1")
	if out := s.ok("images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, "example.com/mine/box:v1") {
		t.Errorf("images after tag:\n%s", out)
	}
	if out := s.ok("history", "-q", "example.com/mine/box:v1"); strings.TrimSpace(out) == "" {
		t.Errorf("history: empty")
	}
	archive := filepath.Join(t.TempDir(), "box.tar")
	s.ok("save", "-o", archive, "example.com/mine/box:v1")
	s.ok("rmi", "example.com/mine/box:v1")
	if out := s.ok("load", "-i", archive); !strings.Contains(out, "Loaded image") {
		t.Errorf("load: %q", out)
	}
	s.ok("image", "inspect", "example.com/mine/box:v1")

	events := exec.Command("docker", "events", "--format", "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}")
	events.Env = append(os.Environ(), "DOCKER_HOST=unix://"+s.sock, "DOCKER_CONFIG="+s.config)
	var evOut bytes.Buffer
	var evMu sync.Mutex
	events.Stdout = writerFunc(func(p []byte) (int, error) { evMu.Lock(); defer evMu.Unlock(); return evOut.Write(p) })
	if err := events.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = events.Process.Kill(); _ = events.Wait() }()
	seen := func(what ...string) func() bool { // a line with every part
		return func() bool {
			evMu.Lock()
			defer evMu.Unlock()
			for _, l := range strings.Split(evOut.String(), "\n") {
				if !slices.ContainsFunc(what, func(w string) bool { return !strings.Contains(l, w) }) {
					return true
				}
			}
			return false
		}
	}
	// The stream is up once it shows a volume made after it started.
	waitFor(t, "the events stream", 30*time.Second, func() bool {
		s.ok("volume", "create", "probe")
		return seen("volume create probe")()
	})

	s.ok("run", "-d", "--name", "life", "--network", "none", e.busybox, "sleep", "1000")
	if out := s.ok("rmi", "example.com/mine/box:v1"); !strings.Contains(out, "Untagged") { // one of two names: untagged while in use, as Docker does
		t.Errorf("rmi of a second name: %q", out)
	}
	if r := s.docker(nil, "rmi", e.busybox); r.code == 0 || !strings.Contains(r.stderr, "is using") {
		t.Errorf("rmi of an image in use: exit %d, %s", r.code, r.stderr)
	}
	if out := s.ok("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}", "life"); !strings.HasPrefix(out, "life ") {
		t.Errorf("stats: %q", out)
	}
	s.ok("restart", "-t", "1", "life")
	if out := s.ok("inspect", "--format", "{{.State.Status}}", "life"); strings.TrimSpace(out) != "running" {
		t.Errorf("after restart: %q", out)
	}
	s.ok("kill", "life")
	waitFor(t, "the killed container to exit", 30*time.Second, func() bool {
		return strings.TrimSpace(s.ok("inspect", "--format", "{{.State.Status}}", "life")) == "exited"
	})
	if out := s.ok("container", "prune", "-f"); !strings.Contains(out, "Deleted Containers") {
		t.Errorf("container prune: %q", out)
	}
	if out := s.ok("ps", "-aq"); strings.TrimSpace(out) != "" {
		t.Errorf("prune left %q", out)
	}
	for _, ev := range []string{"create", "start", "die", "destroy"} {
		waitFor(t, "the event "+ev, 30*time.Second, seen("container "+ev+" ", " life"))
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
