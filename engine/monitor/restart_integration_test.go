//go:build integration

package monitor_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/podbay/podbay/engine/monitor"
	"github.com/podbay/podbay/engine/runtime"
)

func TestRestartOnFailure(t *testing.T) {
	p := newPod(t)
	p.cfg.BackoffBase, p.cfg.BackoffMax = 5*time.Millisecond, 20*time.Millisecond
	c := p.add([]string{"sh", "-c", "echo run; exit 2"})
	p.cfg.Containers[0].Restart = monitor.RestartOnFailure
	started, err := p.launch()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three runs", func() bool {
		data, _ := os.ReadFile(c.LogPath)
		return strings.Count(string(data), " stdout F run\n") >= 3
	})
	if err := monitor.RequestStop(&p.cfg, c.ID); err != nil {
		t.Fatal(err)
	}
	e := waitExit(t, c)
	if data, _ := os.ReadFile(filepath.Join(p.cfg.Dir, "monitor.log")); len(data) > 0 {
		t.Logf("monitor log:\n%s", data)
	}
	if e.Code != 2 || e.RestartCount < 2 {
		t.Errorf("exit = %+v, want code 2 after restarts", e)
	}
	waitFor(t, "monitor exit", func() bool { return !processAlive(started.MonitorPid) })
	for _, f := range []string{p.cfg.StopPath(c.ID), p.cfg.StatusPath(c.ID)} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s left behind", f)
		}
	}
}

func TestRestartOnFailureSuccessEnds(t *testing.T) {
	p := newPod(t)
	p.cfg.BackoffBase = time.Millisecond
	c := p.add([]string{"true"})
	p.cfg.Containers[0].Restart = monitor.RestartOnFailure
	if _, err := p.launch(); err != nil {
		t.Fatal(err)
	}
	if e := waitExit(t, c); e.Code != 0 || e.RestartCount != 0 {
		t.Errorf("exit = %+v", e)
	}
}

func TestRestartAlways(t *testing.T) {
	p := newPod(t)
	p.cfg.BackoffBase = time.Millisecond
	c := p.add([]string{"sleep", "1000"})
	p.cfg.Containers[0].Restart = monitor.RestartAlways
	started, err := p.launch()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first := started.Containers[0].Pid
	if err := p.rt.Kill(ctx, c.ID, syscall.SIGKILL, runtime.KillOptions{}); err != nil {
		t.Fatal(err)
	}
	var st *monitor.Status
	waitFor(t, "the restart", func() bool {
		st, err = monitor.ReadStatus(p.cfg.StatusPath(c.ID))
		return err == nil && st.RestartCount == 1
	})
	if st.Pid == first || st.LastExitCode != 137 {
		t.Errorf("status = %+v (first pid %d)", st, first)
	}
	rs, err := p.rt.State(ctx, c.ID)
	if err != nil || rs.Status != specs.StateRunning || rs.Pid != st.Pid {
		t.Fatalf("runtime state = %+v, %v", rs, err)
	}
	if _, err := os.Stat(c.ExitFile); !os.IsNotExist(err) {
		t.Error("exit file written for a restarted run")
	}
	if err := monitor.RequestStop(&p.cfg, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := p.rt.Kill(ctx, c.ID, syscall.SIGKILL, runtime.KillOptions{}); err != nil {
		t.Fatal(err)
	}
	if e := waitExit(t, c); e.Code != 137 || e.RestartCount != 1 {
		t.Errorf("exit = %+v", e)
	}
	waitFor(t, "monitor exit", func() bool { return !processAlive(started.MonitorPid) })
}

func TestStopDuringBackoff(t *testing.T) {
	p := newPod(t)
	p.cfg.BackoffBase = time.Hour // the restart never comes by itself
	c := p.add([]string{"sh", "-c", "exit 1"})
	p.cfg.Containers[0].Restart = monitor.RestartAlways
	started, err := p.launch()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the container to end its first run", func() bool {
		_, err := p.rt.State(context.Background(), c.ID)
		return err != nil
	})
	if err := monitor.RequestStop(&p.cfg, c.ID); err != nil {
		t.Fatal(err)
	}
	if e := waitExit(t, c); e.Code != 1 || e.RestartCount != 0 {
		t.Errorf("exit = %+v", e)
	}
	waitFor(t, "monitor exit", func() bool { return !processAlive(started.MonitorPid) })
}
