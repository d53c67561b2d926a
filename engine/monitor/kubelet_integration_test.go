//go:build integration

package monitor_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/podbay/podbay/engine/monitor"
	"github.com/podbay/podbay/engine/runtime"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
	"golang.org/x/sys/unix"
)

// fast is a probe timing for tests: every 50 ms, one failure is enough.
func fast(p monitor.Probe) *monitor.Probe {
	p.Period, p.Timeout = 50*time.Millisecond, 2*time.Second
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 1
	}
	return &p
}

// last returns the container added last, for setting its kubelet fields.
func (p *pod) last() *monitor.Container { return &p.cfg.Containers[len(p.cfg.Containers)-1] }

func (p *pod) exec(id string, args ...string) error {
	var out strings.Builder
	code, err := p.rt.Exec(context.Background(), id, runtime.ExecOptions{Args: args, Stdout: &out, Stderr: &out})
	if err == nil && code != 0 {
		p.t.Fatalf("exec %q: exit %d: %s", args, code, out.String())
	}
	return err
}

func (p *pod) waitStatus(id, what string, cond func(*monitor.Status) bool) *monitor.Status {
	p.t.Helper()
	var st *monitor.Status
	waitFor(p.t, what, func() bool {
		var err error
		st, err = monitor.ReadStatus(p.cfg.StatusPath(id))
		return err == nil && cond(st)
	})
	return st
}

func TestLivenessRestartsWithBackoff(t *testing.T) {
	p := newPod(t)
	p.cfg.BackoffBase, p.cfg.BackoffMax = 100*time.Millisecond, time.Second
	p.add([]string{"sleep", "1000"}) // pid 1 of its namespace: ignores SIGTERM, so SIGKILL ends it
	c := p.last()
	c.Restart, c.GracePeriod = monitor.RestartAlways, 100*time.Millisecond
	c.Probes.Liveness = fast(monitor.Probe{Exec: []string{"test", "-e", "/dev/shm/alive"}, FailureThreshold: 2})
	if _, err := p.launch(); err != nil {
		t.Fatal(err)
	}
	first := p.waitStatus(c.ID, "a first restart", func(st *monitor.Status) bool { return st.RestartCount == 1 && st.Pid > 0 })
	second := p.waitStatus(c.ID, "a second restart", func(st *monitor.Status) bool { return st.RestartCount == 2 && st.Pid > 0 })
	if first.LastExitCode != 137 || second.LastExitCode != 137 {
		t.Errorf("last exit codes %d, %d, want 137 (killed after the grace period)", first.LastExitCode, second.LastExitCode)
	}
	// The second back-off is twice the base: the runs start at least that far apart.
	if gap := second.StartedAt.Sub(first.StartedAt); gap < 2*p.cfg.BackoffBase {
		t.Errorf("restarts %v apart, want at least the back-off of %v", gap, 2*p.cfg.BackoffBase)
	}
	if err := stopContainer(p, c.ID, -1); err != nil {
		t.Fatal(err)
	}
	if e := waitExit(t, *c); e.RestartCount < 2 {
		t.Errorf("exit = %+v", e)
	}
}

func stopContainer(p *pod, id string, grace time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return monitor.StopContainer(ctx, &p.cfg, id, grace)
}

func TestLivenessFailureRestartNeverStaysDead(t *testing.T) {
	p := newPod(t)
	p.add([]string{"sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.05; done"})
	c := p.last()
	c.Probes.Liveness = fast(monitor.Probe{Exec: []string{"false"}})
	if _, err := p.launch(); err != nil {
		t.Fatal(err)
	}
	if e := waitExit(t, *c); e.RestartCount != 0 || e.Code != 0 {
		t.Errorf("exit = %+v, want the TERM trap's 0 and no restart", e)
	}
}

func TestReadinessToggles(t *testing.T) {
	p := newPod(t)
	p.add([]string{"sleep", "1000"})
	c := p.last()
	c.Probes.Readiness = fast(monitor.Probe{Exec: []string{"test", "-e", "/dev/shm/ready"}})
	if _, err := p.launch(); err != nil {
		t.Fatal(err)
	}
	if st, err := monitor.ReadStatus(p.cfg.StatusPath(c.ID)); err != nil || st.Ready {
		t.Fatalf("status before any probe = %+v, %v; want not ready", st, err)
	}
	p.exec(c.ID, "touch", "/dev/shm/ready")
	p.waitStatus(c.ID, "ready", func(st *monitor.Status) bool { return st.Ready })
	p.exec(c.ID, "rm", "/dev/shm/ready")
	p.waitStatus(c.ID, "not ready", func(st *monitor.Status) bool { return !st.Ready })
	p.exec(c.ID, "touch", "/dev/shm/ready")
	p.waitStatus(c.ID, "ready again", func(st *monitor.Status) bool { return st.Ready })
	if err := stopContainer(p, c.ID, -1); err != nil {
		t.Fatal(err)
	}
	if e := waitExit(t, *c); e.Code != 137 {
		t.Errorf("exit = %+v", e)
	}
}

func TestReadyWithoutProbes(t *testing.T) {
	p := newPod(t)
	c := p.add([]string{"sleep", "1000"})
	if _, err := p.launch(); err != nil {
		t.Fatal(err)
	}
	if st, err := monitor.ReadStatus(p.cfg.StatusPath(c.ID)); err != nil || !st.Ready {
		t.Errorf("status = %+v, %v; want ready", st, err)
	}
	if err := stopContainer(p, c.ID, -1); err != nil {
		t.Fatal(err)
	}
	waitExit(t, c)
}

// newNetNS creates a named network namespace with loopback up.
func newNetNS(t *testing.T) string {
	t.Helper()
	name := uniqueID("ns")
	for _, args := range [][]string{{"netns", "add", name}, {"-n", name, "link", "set", "lo", "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return filepath.Join("/run/netns", name)
}

func TestNetworkProbesFromPodNetns(t *testing.T) {
	p := newPod(t)
	ns := newNetNS(t)
	script := "mkdir /dev/shm/www && echo ok > /dev/shm/www/index.html && httpd -p 127.0.0.1:8080 -h /dev/shm/www && { nc -ll -p 9000 -e true & exec sleep 1000; }"
	p.add([]string{"sh", "-c", script}, runtime.WithNamespacePath(specs.NetworkNamespace, ns))
	c := p.last()
	c.NetNS, c.GracePeriod = ns, 100*time.Millisecond
	c.Probes.Readiness = fast(monitor.Probe{HTTPGet: &monitor.HTTPGet{Path: "/index.html", Port: 8080, Headers: map[string]string{"X-Probe": "1"}}})
	// The startup probe holds the liveness probe back until nc listens,
	// however long the script takes to get there.
	c.Probes.Startup = fast(monitor.Probe{TCPSocket: &monitor.TCPSocket{Port: 9000}, FailureThreshold: 1000})
	c.Probes.Liveness = fast(monitor.Probe{TCPSocket: &monitor.TCPSocket{Port: 9000}, FailureThreshold: 3})
	if _, err := p.launch(); err != nil {
		t.Fatal(err)
	}
	p.waitStatus(c.ID, "ready through httpGet in the pod's netns", func(st *monitor.Status) bool { return st.Ready })
	p.exec(c.ID, "rm", "/dev/shm/www/index.html") // 404 from now on
	p.waitStatus(c.ID, "not ready after a 404", func(st *monitor.Status) bool { return !st.Ready })
	p.exec(c.ID, "killall", "nc") // the tcp liveness probe fails from now on
	if e := waitExit(t, *c); e.Code != 137 || e.RestartCount != 0 {
		t.Errorf("exit = %+v, want 137 from the liveness kill", e)
	}
}

func TestTCPLivenessKillsInNetns(t *testing.T) {
	p := newPod(t)
	ns := newNetNS(t)
	p.add([]string{"sleep", "1000"}, runtime.WithNamespacePath(specs.NetworkNamespace, ns))
	c := p.last()
	c.NetNS, c.GracePeriod = ns, 50*time.Millisecond
	c.Probes.Liveness = fast(monitor.Probe{TCPSocket: &monitor.TCPSocket{Port: 9000}})
	if _, err := p.launch(); err != nil {
		t.Fatal(err)
	}
	if e := waitExit(t, *c); e.Code != 137 {
		t.Errorf("exit = %+v, want 137: nothing listens on 9000 in the netns", e)
	}
}

func TestPostStart(t *testing.T) {
	p := newPod(t)
	p.add([]string{"sh", "-c", "while [ ! -e /dev/shm/hook ]; do sleep 0.02; done; echo saw-$(cat /dev/shm/hook); exit 0"})
	c := p.last()
	c.PostStart = &monitor.Handler{Exec: []string{"sh", "-c", "echo poststart > /dev/shm/hook"}}
	if _, err := p.launch(); err != nil {
		t.Fatal(err)
	}
	if e := waitExit(t, *c); e.Code != 0 {
		t.Errorf("exit = %+v", e)
	}
	data, _ := os.ReadFile(c.LogPath)
	if !strings.Contains(string(data), "saw-poststart") {
		t.Errorf("log = %s", data)
	}
}

func TestFailingPostStartKills(t *testing.T) {
	p := newPod(t)
	p.add([]string{"sleep", "1000"})
	c := p.last()
	c.GracePeriod = 50 * time.Millisecond
	c.PostStart = &monitor.Handler{Exec: []string{"false"}}
	if _, err := p.launch(); err != nil {
		t.Fatal(err)
	}
	if e := waitExit(t, *c); e.Code != 137 {
		t.Errorf("exit = %+v, want 137", e)
	}
}

// TestPreStopThenGraceThenKill: the preStop hook runs, SIGTERM is ignored
// (sleep is its namespace's pid 1), and SIGKILL follows the grace period.
// The grace period leaves the hook (a runtime exec) seconds to run on a
// loaded machine; the test waits it out.
func TestPreStopThenGraceThenKill(t *testing.T) {
	p := newPod(t)
	marks := t.TempDir()
	p.add([]string{"sleep", "1000"}, runtime.WithBindMount(marks, "/marks", false))
	c := p.last()
	c.GracePeriod = 5 * time.Second
	c.PreStop = &monitor.Handler{Exec: []string{"sh", "-c", "echo prestop > /marks/prestop"}}
	if _, err := p.launch(); err != nil {
		t.Fatal(err)
	}
	if err := stopContainer(p, c.ID, 0); err != nil {
		t.Fatal(err)
	}
	e, err := monitor.ReadExit(c.ExitFile)
	if err != nil || e.Code != 137 {
		t.Fatalf("exit after StopContainer = %+v, %v; want 137 (SIGTERM ignored, SIGKILL after the grace period)", e, err)
	}
	if data, err := os.ReadFile(filepath.Join(marks, "prestop")); err != nil || string(data) != "prestop\n" {
		t.Errorf("preStop marker = %q, %v", data, err)
	}
}

func TestStopSignal(t *testing.T) {
	p := newPod(t)
	p.add([]string{"sh", "-c", "trap 'exit 7' USR1; while :; do sleep 0.02; done"})
	c := p.last()
	c.StopSignal = int(syscall.SIGUSR1)
	if _, err := p.launch(); err != nil {
		t.Fatal(err)
	}
	waitLogOrRun(t, p, c.ID)
	if err := stopContainer(p, c.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if e, err := monitor.ReadExit(c.ExitFile); err != nil || e.Code != 7 {
		t.Errorf("exit = %+v, %v; want 7 from the USR1 trap", e, err)
	}
}

// waitLogOrRun waits until the shell of container id has set its traps
// (its first sleep child exists).
func waitLogOrRun(t *testing.T, p *pod, id string) {
	t.Helper()
	waitFor(t, "the shell's loop", func() bool {
		var out strings.Builder
		code, err := p.rt.Exec(context.Background(), id, runtime.ExecOptions{Args: []string{"sh", "-c", "ps | grep -q '[s]leep 0.02'"}, Stdout: &out, Stderr: &out})
		return err == nil && code == 0
	})
}

func TestStartupProbeGatesLiveness(t *testing.T) {
	p := newPod(t)
	p.add([]string{"sleep", "1000"})
	c := p.last()
	c.GracePeriod = 50 * time.Millisecond
	c.Probes.Startup = fast(monitor.Probe{Exec: []string{"sh", "-c", "echo try >> /dev/shm/tries; test -e /dev/shm/started"}, FailureThreshold: 1000})
	c.Probes.Liveness = fast(monitor.Probe{Exec: []string{"false"}})
	if _, err := p.launch(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three startup probes", func() bool {
		var out strings.Builder
		code, err := p.rt.Exec(context.Background(), c.ID, runtime.ExecOptions{Args: []string{"cat", "/dev/shm/tries"}, Stdout: &out})
		return err == nil && code == 0 && strings.Count(out.String(), "try") >= 3
	})
	if _, err := os.Stat(c.ExitFile); err == nil {
		t.Fatal("the failing liveness probe ran before the startup probe passed")
	}
	if st, err := monitor.ReadStatus(p.cfg.StatusPath(c.ID)); err != nil || st.Ready {
		t.Errorf("status before startup = %+v, %v; want not ready", st, err)
	}
	p.exec(c.ID, "touch", "/dev/shm/started")
	if e := waitExit(t, *c); e.Code != 137 {
		t.Errorf("exit = %+v, want 137 from the liveness kill", e)
	}
}

// stopsOnTerm is a container command that ends at once on SIGTERM.
var stopsOnTerm = []string{"sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"}

// TestStopAllSidecarsLast: StopAll runs the main container's preStop and
// stops it before the sidecar's preStop runs. The grace periods are long
// (a preStop is a runtime exec, which a loaded machine can make take a
// second or more, and it counts against the grace period); the containers
// end on SIGTERM, so the test does not wait for them.
func TestStopAllSidecarsLast(t *testing.T) {
	p := newPod(t)
	marks := t.TempDir()
	main := p.add(stopsOnTerm, runtime.WithBindMount(marks, "/marks", false))
	p.last().GracePeriod = 20 * time.Second
	p.last().PreStop = &monitor.Handler{Exec: []string{"sh", "-c", "echo main >> /marks/order"}}
	side := p.add(stopsOnTerm, runtime.WithBindMount(marks, "/marks", false))
	p.last().Sidecar = true
	p.last().PreStop = &monitor.Handler{Exec: []string{"sh", "-c", "echo sidecar >> /marks/order"}}
	p.last().GracePeriod = 20 * time.Second
	started, err := p.launch()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := monitor.StopAll(ctx, &p.cfg, 0); err != nil {
		t.Fatal(err)
	}
	if processAlive(started.MonitorPid) {
		t.Error("monitor still running after StopAll")
	}
	em, err1 := monitor.ReadExit(main.ExitFile)
	es, err2 := monitor.ReadExit(side.ExitFile)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if em.Code != 0 || es.Code != 0 {
		t.Errorf("exit codes %d and %d, want 0 and 0: both end on SIGTERM, within their grace periods", em.Code, es.Code)
	}
	if es.FinishedAt.Before(em.FinishedAt) {
		t.Errorf("sidecar finished at %v, before the main container (%v)", es.FinishedAt, em.FinishedAt)
	}
	if data, _ := os.ReadFile(filepath.Join(marks, "order")); string(data) != "main\nsidecar\n" {
		t.Errorf("preStop order = %q", data)
	}
	if err := monitor.StopAll(ctx, &p.cfg, 0); err != nil {
		t.Errorf("StopAll without a monitor = %v", err)
	}
}

// TestMonitorRSSWithProbes runs a pod of two containers whose probes of
// every kind run: they pass and keep running, and the monitor's VmRSS stays
// within the sanity bound (its figure is BenchmarkMonitorRSS's).
func TestMonitorRSSWithProbes(t *testing.T) {
	p := newProbedPod(t)
	started, err := p.launch()
	if err != nil {
		t.Fatal(err)
	}
	p.waitProbed()
	checkRSS(t, started.MonitorPid, "monitor of a pod of two containers with probes running")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := monitor.StopAll(ctx, &p.cfg, -1); err != nil {
		t.Fatal(err)
	}
}

// newProbedPod makes a pod of two containers with probes of every kind:
// exec readiness, httpGet liveness and tcpSocket startup against a local
// server.
func newProbedPod(t testing.TB) *pod {
	t.Helper()
	p := newPod(t)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	port, err := strconv.Atoi(srv.URL[strings.LastIndexByte(srv.URL, ':')+1:])
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		p.add([]string{"sleep", "1000"})
		c := p.last()
		c.Probes.Readiness = fast(monitor.Probe{Exec: []string{"sh", "-c", "echo x >> /dev/shm/n"}})
		c.Probes.Liveness = fast(monitor.Probe{HTTPGet: &monitor.HTTPGet{Port: port}, FailureThreshold: 100})
		c.Probes.Startup = fast(monitor.Probe{TCPSocket: &monitor.TCPSocket{Port: port}, FailureThreshold: 100})
	}
	return p
}

// waitProbed waits until the launched pod of newProbedPod is ready and
// its first container has passed ten readiness probes.
func (p *pod) waitProbed() {
	p.t.Helper()
	for _, c := range p.cfg.Containers {
		p.waitStatus(c.ID, "ready", func(st *monitor.Status) bool { return st.Ready })
	}
	waitFor(p.t, "ten readiness probes", func() bool {
		var out strings.Builder
		_, err := p.rt.Exec(context.Background(), p.cfg.Containers[0].ID, runtime.ExecOptions{Args: []string{"cat", "/dev/shm/n"}, Stdout: &out})
		return err == nil && strings.Count(out.String(), "x") >= 10
	})
}

// listenIn opens a TCP listener on addr inside the network namespace at
// nsPath, from a thread that is thrown away afterwards.
func listenIn(t *testing.T, nsPath, addr string) net.Listener {
	t.Helper()
	type result struct {
		l   net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread ends with this goroutine
		fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			ch <- result{err: err}
			return
		}
		l, err := net.Listen("tcp", addr)
		ch <- result{l, err}
	}()
	res := <-ch
	if res.err != nil {
		t.Fatalf("listening in %s: %v", nsPath, res.err)
	}
	t.Cleanup(func() { res.l.Close() })
	return res.l
}

// serveHealth answers grpc.health.v1.Health/Check over h2c with SERVING
// while serving is true, NOT_SERVING otherwise.
func serveHealth(l net.Listener, serving *atomic.Bool) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status")
		status := byte(2)
		if serving.Load() {
			status = 1
		}
		w.Write([]byte{0, 0, 0, 0, 2, 0x08, status})
		w.Header().Set("Grpc-Status", "0")
	})
	go http.Serve(l, h2c.NewHandler(h, &http2.Server{}))
}

func TestGRPCProbeFromPodNetns(t *testing.T) {
	p := newPod(t)
	ns := newNetNS(t)
	var serving atomic.Bool
	serving.Store(true)
	serveHealth(listenIn(t, ns, "127.0.0.1:50051"), &serving)
	p.add([]string{"sleep", "1000"}, runtime.WithNamespacePath(specs.NetworkNamespace, ns))
	c := p.last()
	c.NetNS = ns
	c.Probes.Readiness = fast(monitor.Probe{GRPC: &monitor.GRPC{Port: 50051, Service: "app"}})
	if _, err := p.launch(); err != nil {
		t.Fatal(err)
	}
	p.waitStatus(c.ID, "ready through gRPC health in the pod's netns", func(st *monitor.Status) bool { return st.Ready })
	serving.Store(false)
	p.waitStatus(c.ID, "not ready once NOT_SERVING", func(st *monitor.Status) bool { return !st.Ready })
	if err := stopContainer(p, c.ID, -1); err != nil {
		t.Fatal(err)
	}
	waitExit(t, *c)
}
