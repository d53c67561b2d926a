//go:build integration

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// notifySocket is a notify socket as systemd opens one for a Type=notify
// service: the test reads what the service says.
type notifySocket struct {
	path string
	conn *net.UnixConn
	got  []string
	out  *strings.Builder // the service's output, shown on failure
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	p := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &notifySocket{path: p, conn: conn}
}

// await reads datagrams until one contains want, and fails the test if
// one containing refuse comes first.
func (n *notifySocket) await(t *testing.T, want, refuse string) {
	t.Helper()
	buf := make([]byte, 4096)
	for {
		if err := n.conn.SetReadDeadline(time.Now().Add(60 * time.Second)); err != nil {
			t.Fatal(err)
		}
		k, err := n.conn.Read(buf)
		if err != nil {
			t.Fatalf("waiting for %q (got %q): %v\nthe service's output:\n%s", want, n.got, err, n.out)
		}
		msg := string(buf[:k])
		n.got = append(n.got, msg)
		if refuse != "" && strings.Contains(msg, refuse) {
			t.Fatalf("%q came before %q: %q", refuse, want, n.got)
		}
		if strings.Contains(msg, want) {
			return
		}
	}
}

// startService starts kube play --service-container as systemd would,
// with $NOTIFY_SOCKET and $PODBAY_SYSTEMD_UNIT.
func (e *env) startService(n *notifySocket, args ...string) (*exec.Cmd, *strings.Builder) {
	e.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "podbay"), append([]string{"--root", e.root, "--runroot", e.runroot,
		"kube", "play", "--replace", "--service-container=true"}, args...)...)
	cmd.Env = append(append(os.Environ(), e.extraEnv...), "NOTIFY_SOCKET="+n.path, "PODBAY_SYSTEMD_UNIT=app.service")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	n.out = &out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &out
}

// exitStatus waits for the service's process to end.
func exitStatus(t *testing.T, cmd *exec.Cmd, out *strings.Builder) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the service did not end:\n%s", out)
		return 0
	}
}

// serviceManifest is a pod whose readiness and exit the test controls
// through files in hostDir: ready, then exit (with status 3).
func serviceManifest(t *testing.T, hostDir string) string {
	return writeKubeManifest(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: svc}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: docker.io/library/busybox:1.36
    command: ["sh", "-c", "trap 'exit 0' TERM; while [ ! -f /host/exit ]; do sleep 0.1; done; exit 3"]
    readinessProbe:
      exec: {command: ["test", "-f", "/host/ready"]}
      periodSeconds: 1
    volumeMounts: [{name: host, mountPath: /host}]
  volumes:
  - {name: host, hostPath: {path: %s, type: Directory}}
`, hostDir))
}

// TestKubePlayServiceContainer (issue 18): kube play --service-container
// stays as the service's main process; it says READY=1 only once the pod
// is ready (its status names the pod it waits for until then), and when
// the containers exit it exits as --service-exit-code-propagation says.
func TestKubePlayServiceContainer(t *testing.T) {
	e := kubeEnv(t)
	host := t.TempDir()
	n := newNotifySocket(t)
	cmd, out := e.startService(n, "--service-exit-code-propagation=any", serviceManifest(t, host))
	n.await(t, "STATUS=waiting for svc (0/1 ready)", "READY=1")
	if rows := e.pods(); len(rows) != 1 || rows[0].Status != "Running" {
		t.Fatalf("while waiting for readiness: pods %+v", rows)
	}
	if err := os.WriteFile(filepath.Join(host, "ready"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	n.await(t, "READY=1", "")
	if err := os.WriteFile(filepath.Join(host, "exit"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code := exitStatus(t, cmd, out); code != 3 {
		t.Errorf("exit status %d, want the container's 3\n%s", code, out)
	}
	e.ok("kube", "down", serviceManifest(t, host))
}

// TestKubePlayServiceContainerStops: SIGTERM (systemctl stop) makes the
// service say STOPPING=1, take its pods down and exit 0.
func TestKubePlayServiceContainerStops(t *testing.T) {
	e := kubeEnv(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "ready"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	n := newNotifySocket(t)
	cmd, out := e.startService(n, serviceManifest(t, host))
	n.await(t, "READY=1", "")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	n.await(t, "STOPPING=1", "")
	if code := exitStatus(t, cmd, out); code != 0 {
		t.Errorf("exit status %d after SIGTERM\n%s", code, out)
	}
	if rows := e.pods(); len(rows) != 0 {
		t.Errorf("pods left after the stop: %+v", rows)
	}
}

// TestRunAndPodForSystemd: what a .container or .pod unit runs. run
// --replace and pod create --replace take the place of what has the name;
// pod rm -i ignores a missing pod; run --sdnotify=conmon in the foreground
// says READY=1 once the container runs, labels it with its unit, and on
// SIGTERM stops it and (--rm) removes it.
func TestRunAndPodForSystemd(t *testing.T) {
	e := pulled(t)
	first := strings.TrimSpace(e.ok("run", "-d", "--name", "web", e.busybox, "sleep", "1000"))
	second := strings.TrimSpace(e.ok("run", "-d", "--name", "web", "--replace", e.busybox, "sleep", "1000"))
	if rows := e.ps(); len(rows) != 1 || rows[0].Id != second || first == second {
		t.Errorf("after run --replace: %+v (first %s, second %s)", rows, first, second)
	}
	e.ok("rm", "-f", "web")
	e.ok("pod", "create", "--name", "p")
	e.ok("pod", "create", "--name", "p", "--replace")
	if rows := e.pods(); len(rows) != 1 {
		t.Errorf("after pod create --replace: %+v", rows)
	}
	e.ok("pod", "rm", "-f", "p")
	e.ok("pod", "rm", "-i", "nosuch")

	n := newNotifySocket(t)
	cmd := exec.Command(filepath.Join(binDir, "podbay"), "--root", e.root, "--runroot", e.runroot, "run", "--name", "svc",
		"--replace", "--rm", "--sdnotify=conmon", e.busybox, "sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait")
	cmd.Env = append(append(os.Environ(), e.extraEnv...), "NOTIFY_SOCKET="+n.path, "PODBAY_SYSTEMD_UNIT=svc.service")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr, n.out = &out, &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.await(t, "READY=1", "")
	if labels, _ := e.inspect("svc")["Labels"].(map[string]any); labels["PODBAY_SYSTEMD_UNIT"] != "svc.service" {
		t.Errorf("labels %v: want the unit", labels)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitStatus(t, cmd, &out); code != 0 {
		t.Errorf("exit status %d after SIGTERM\n%s", code, &out)
	}
	if rows := e.ps(); len(rows) != 0 {
		t.Errorf("containers left after the stop: %+v", rows)
	}
	e.fails([]string{"--sdnotify", "conmon or ignore"}, "run", "--sdnotify=container", e.busybox, "true")
}
