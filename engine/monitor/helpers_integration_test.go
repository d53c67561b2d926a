//go:build integration

package monitor_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/podbay/podbay/engine/monitor"
	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/engine/runtime/runtimetest"
)

// monitorBin is the podbay-monitor binary built for these tests.
var monitorBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "podbay-monitor-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	monitorBin = filepath.Join(dir, "podbay-monitor")
	args := []string{"build", "-o", monitorBin}
	if os.Getenv("PODBAY_MONITOR_RACE") != "" { // a race-enabled monitor (far above the RSS budget)
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, "github.com/podbay/podbay/cmd/podbay-monitor")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building podbay-monitor: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// pod is a monitor config under construction, in its own temp roots.
type pod struct {
	t      testing.TB
	rt     *runtime.Runtime
	rootfs string
	cfg    monitor.Config
}

func newPod(t testing.TB) *pod {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("integration tests need root")
	}
	base := t.TempDir()
	rt, err := runtime.New("runc", filepath.Join(base, "runc"))
	if err != nil {
		t.Fatalf("integration tests need runc: %v", err)
	}
	p := &pod{t: t, rt: rt, rootfs: runtimetest.Rootfs(t)}
	p.cfg = monitor.Config{ID: uniqueID("pod"), Runtime: rt.Path(), RuntimeRoot: rt.Root(), Dir: filepath.Join(base, "mon")}
	t.Cleanup(p.cleanup)
	return p
}

func uniqueID(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return "pbtest-" + prefix + "-" + hex.EncodeToString(b)
}

// add puts a container running args into the pod and returns its config.
func (p *pod) add(args []string, opts ...runtime.SpecOpt) monitor.Container {
	p.t.Helper()
	id := uniqueID("ctr")
	dir := filepath.Join(p.t.TempDir(), id)
	spec, err := runtime.NewSpec(append([]runtime.SpecOpt{
		runtime.WithRootfs(p.rootfs, true), runtime.WithArgs(args...), runtime.WithHostname("t"),
	}, opts...)...)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := runtime.WriteBundle(dir, spec); err != nil {
		p.t.Fatal(err)
	}
	c := monitor.Container{ID: id, Bundle: dir, LogPath: filepath.Join(dir, "ctr.log"), ExitFile: filepath.Join(dir, "exit.json")}
	p.cfg.Containers = append(p.cfg.Containers, c)
	return c
}

func (p *pod) launch() (*monitor.Started, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return monitor.Launch(ctx, monitorBin, p.cfg)
}

// cleanup removes every container of the pod, then waits for its monitor
// to finish (killing it after a deadline), so that nothing writes into the
// test's directories once they are removed.
func (p *pod) cleanup() {
	for _, c := range p.cfg.Containers {
		p.rt.Delete(context.Background(), c.ID, runtime.DeleteOptions{Force: true})
	}
	data, err := os.ReadFile(p.cfg.PidPath())
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for isMonitor(pid) && processAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if isMonitor(pid) && processAlive(pid) {
		p.t.Errorf("monitor %d still running at cleanup; killing it", pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func isMonitor(pid int) bool {
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return bytes.Contains(cmdline, []byte("podbay-monitor"))
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitExit(t testing.TB, c monitor.Container) *monitor.Exit {
	t.Helper()
	var e *monitor.Exit
	waitFor(t, "exit file of "+c.ID, func() bool {
		var err error
		e, err = monitor.ReadExit(c.ExitFile)
		return err == nil
	})
	return e
}

func processAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie is not alive: field 3 is the state.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

func vmRSS(t testing.TB, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// rssSanityKiB bounds a monitor's VmRSS in the tests. It is no budget: the
// figure (about 3.6 MiB for a pod of two containers) is a benchmark result
// (BenchmarkMonitorRSS here, the rss case of make bench), and on a loaded
// machine it moves by more than any tight bound allows. Four times the
// figure only catches a gross regression (the Go runtime's defaults back, a
// buffer per probe never freed); whether heavy packages stay out of the
// monitor is TestLinksNoHeavyPackages's question (cmd/podbay-monitor).
const rssSanityKiB = 16 << 10

// checkRSS logs the VmRSS of monitor pid and fails the test above
// rssSanityKiB (unless the monitor was built with the race detector).
func checkRSS(t testing.TB, pid int, what string) {
	t.Helper()
	rss := vmRSS(t, pid)
	t.Logf("%s: VmRSS %d kB (%s)", what, rss, rssParts(pid))
	if os.Getenv("PODBAY_MONITOR_RACE") == "" && rss >= rssSanityKiB {
		t.Errorf("%s: monitor VmRSS %d kB, want < %d kB (a sanity bound, four times the usual figure)", what, rss, rssSanityKiB)
	}
}

// rssParts returns the anonymous and file parts of pid's RSS, for the log.
func rssParts(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	var parts []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "RssAnon") || strings.HasPrefix(line, "RssFile") || strings.HasPrefix(line, "Threads") {
			parts = append(parts, strings.Join(strings.Fields(line), " "))
		}
	}
	return strings.Join(parts, ", ")
}

var _ = specs.PIDNamespace
