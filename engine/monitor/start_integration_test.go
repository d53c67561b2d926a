//go:build integration

package monitor_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podbay/podbay/engine/monitor"
	"github.com/podbay/podbay/engine/runtime"
)

// start hands c to the pod's monitor through monitor.Start.
func (p *pod) start(c monitor.Container) (*monitor.StartedContainer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return monitor.Start(ctx, monitorBin, p.cfg, c)
}

func TestStartOneMonitorPerPod(t *testing.T) {
	p := newPod(t)
	var started []*monitor.StartedContainer
	for i := range 3 {
		c := p.add([]string{"sh", "-c", fmt.Sprintf("echo ready-%d; exec sleep 1000", i)})
		sc, err := p.start(c)
		if err != nil {
			t.Fatal(err)
		}
		if sc.ID != c.ID || sc.Pid <= 0 || sc.MonitorPid <= 0 || sc.StartedAt.IsZero() {
			t.Fatalf("started = %+v", sc)
		}
		if i > 0 && sc.MonitorPid != started[0].MonitorPid {
			t.Fatalf("container %d runs under monitor %d, not %d", i, sc.MonitorPid, started[0].MonitorPid)
		}
		started = append(started, sc)
		waitLog(t, c, fmt.Sprintf("ready-%d", i))
		if i == 1 {
			checkRSS(t, sc.MonitorPid, "one monitor, two containers added one by one")
			if os.Getenv("PB_DEBUG_RSS") != "" {
				d, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", sc.MonitorPid))
				os.WriteFile("/tmp/pbm-add-smaps", d, 0o644)
			}
		}
	}
	t.Logf("one monitor, three containers: VmRSS %d kB", vmRSS(t, started[0].MonitorPid))
	for _, c := range p.cfg.Containers {
		if err := p.rt.Kill(context.Background(), c.ID, syscall.SIGKILL, runtime.KillOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range p.cfg.Containers {
		if e := waitExit(t, c); e.Code != 137 {
			t.Errorf("exit of %s = %+v", c.ID, e)
		}
	}
	waitFor(t, "monitor exit", func() bool { return !processAlive(started[0].MonitorPid) })
}

func TestStartFailedAddKeepsOthers(t *testing.T) {
	p := newPod(t)
	good := p.add([]string{"sleep", "1000"})
	first, err := p.start(good)
	if err != nil {
		t.Fatal(err)
	}
	bad := p.add([]string{"/nonexistent"})
	_, err = p.start(bad)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent") || !strings.Contains(err.Error(), bad.ID) {
		t.Fatalf("err = %v, want the runtime's error naming /nonexistent and the container", err)
	}
	t.Logf("failed add: %v", err)
	if !processAlive(first.Pid) || !processAlive(first.MonitorPid) {
		t.Fatal("a failed add took down the pod")
	}
	if _, err := p.rt.State(context.Background(), bad.ID); err == nil {
		t.Error("the failed container is still known to runc")
	}
	again := p.add([]string{"sleep", "1000"})
	sc, err := p.start(again)
	if err != nil || sc.MonitorPid != first.MonitorPid {
		t.Fatalf("add after a failure = %+v, %v", sc, err)
	}
	if _, err := p.start(again); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second add of a running container: err = %v", err)
	}
	for _, c := range []monitor.Container{good, again} {
		if err := p.rt.Kill(context.Background(), c.ID, syscall.SIGKILL, runtime.KillOptions{}); err != nil {
			t.Fatal(err)
		}
		waitExit(t, c)
	}
	waitFor(t, "monitor exit", func() bool { return !processAlive(first.MonitorPid) })
}

// TestRepeatedAddsOfARunningContainer: adds of a running container, one
// right after the other's answer, are each answered "already running".
// A request that came while the monitor was still finishing the one
// before for the same id was skipped as busy and never answered, while
// the pod had containers to keep the monitor from idling.
func TestRepeatedAddsOfARunningContainer(t *testing.T) {
	p := newPod(t)
	c := p.add([]string{"sleep", "1000"})
	if _, err := p.start(c); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := monitor.Start(ctx, monitorBin, p.cfg, c)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "already running") {
			t.Fatalf("add %d of a running container: err = %v", i+2, err)
		}
	}
	if err := p.rt.Kill(context.Background(), c.ID, syscall.SIGKILL, runtime.KillOptions{}); err != nil {
		t.Fatal(err)
	}
	waitExit(t, c)
}

// TestStartRacesMonitorExit adds a container right when the monitor's only
// container ends: either the old monitor takes it or a new one starts.
func TestStartRacesMonitorExit(t *testing.T) {
	p := newPod(t)
	monitors := map[int]bool{}
	for i := range 20 {
		a := p.add([]string{"true"})
		b := p.add([]string{"true"})
		sa, err := p.start(a)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if i%2 == 1 {
			waitExit(t, a) // the monitor is exiting, or gone
		}
		sb, err := p.start(b)
		if err != nil {
			t.Fatalf("round %d: add racing the monitor's exit: %v", i, err)
		}
		monitors[sa.MonitorPid], monitors[sb.MonitorPid] = true, true
		for _, c := range []monitor.Container{a, b} {
			if e := waitExit(t, c); e.Code != 0 {
				t.Fatalf("round %d: exit of %s = %+v", i, c.ID, e)
			}
		}
	}
	t.Logf("40 containers ran under %d monitors", len(monitors))
	waitFor(t, "every monitor to exit", func() bool {
		for pid := range monitors {
			if isMonitor(pid) && processAlive(pid) {
				return false
			}
		}
		return true
	})
}

func waitLog(t *testing.T, c monitor.Container, want string) {
	t.Helper()
	waitFor(t, want+" in the log", func() bool {
		data, _ := os.ReadFile(c.LogPath)
		return strings.Contains(string(data), want)
	})
}
