//go:build integration

package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReliabilityKilledPodMonitor kills the monitor(s) of a played pod: ps,
// pod ps and inspect still tell the truth (running while the processes run,
// exited once one is killed), logs are still read, and stop, rm and kube
// down still work and leave nothing behind.
func TestReliabilityKilledPodMonitor(t *testing.T) {
	e := kubeEnv(t)
	base := e.baseline()
	file := twoBoxManifest(t, "pod", "orphans")
	e.ok("kube", "play", "-q", file)
	waitFor(t, "both containers' first line", 10*time.Second, func() bool {
		return e.ok("logs", "orphans-main") == "main up\n" && e.ok("logs", "orphans-side") == "side up\n"
	})
	monitors := map[int]bool{}
	pids := map[string]int{}
	for _, name := range []string{"orphans-main", "orphans-side"} {
		st := e.inspect(name)["State"].(map[string]any)
		mon := int(st["ConmonPid"].(float64))
		if !alive(mon) {
			t.Fatalf("%s: inspect shows no live monitor (pid %d)", name, mon)
		}
		monitors[mon] = true
		pids[name] = int(st["Pid"].(float64))
	}
	for mon := range monitors {
		if err := syscall.Kill(mon, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the monitors to die", 10*time.Second, func() bool {
		for mon := range monitors {
			if alive(mon) {
				return false
			}
		}
		return true
	})
	t.Logf("killed %d monitor(s) of a pod of two containers", len(monitors))
	// The processes still run: so say ps, pod ps and the runtime.
	e.agree(1, 3)
	if p := e.pods(); len(p) != 1 || p[0].Status != "Running" {
		t.Errorf("pod ps with the monitors killed, both containers still running: %+v", p)
	}
	for name, want := range map[string]string{"orphans-main": "main up\n", "orphans-side": "side up\n"} {
		if out := e.ok("logs", name); out != want {
			t.Errorf("logs %s with the monitor killed: %q, want %q", name, out, want)
		}
	}
	// A process that dies now has nobody to record it: ps must notice.
	if err := syscall.Kill(pids["orphans-main"], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ps to see orphans-main exit", 10*time.Second, func() bool {
		for _, r := range e.ps() {
			if r.Names[0] == "orphans-main" {
				return r.State == "exited"
			}
		}
		return false
	})
	if st := e.inspect("orphans-main")["State"].(map[string]any); st["Running"] != false {
		t.Errorf("inspect of the killed container: %v", st)
	}
	e.ok("stop", "-t", "1", "orphans-side")
	for _, r := range e.ps() {
		if r.Names[0] == "orphans-side" && r.State != "exited" {
			t.Errorf("after stop: orphans-side %s", r.State)
		}
	}
	e.agree(1, 1) // only the infra runs
	e.ok("rm", "orphans-side")
	e.ok("kube", "down", file)
	e.agree(0, 0)
	e.ok("system", "prune")
	if left := base.check(keptRows); len(left) > 0 {
		t.Errorf("left behind:\n%s", strings.Join(left, "\n"))
	}
}
