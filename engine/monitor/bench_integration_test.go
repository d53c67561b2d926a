//go:build integration

package monitor_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/podbay/podbay/engine/monitor"
	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/engine/runtime/runtimetest"
)

// benchBundle writes a bundle running sleep and returns its directory.
func benchBundle(b *testing.B) string {
	b.Helper()
	spec, err := runtime.NewSpec(runtime.WithRootfs(runtimetest.Rootfs(b), true), runtime.WithArgs("sleep", "1000"))
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), "bundle")
	if err := runtime.WriteBundle(dir, spec); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkRuncRunDetached is the reference: a bare `runc run -d`.
func BenchmarkRuncRunDetached(b *testing.B) {
	bundle := benchBundle(b)
	rt, err := runtime.New("runc", filepath.Join(b.TempDir(), "state"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		id := uniqueID("bench")
		cmd := exec.Command(rt.Path(), append(rt.GlobalArgs(), "run", "--detach", "--bundle", bundle, id)...)
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		rt.Delete(ctx, id, runtime.DeleteOptions{Force: true})
		b.StartTimer()
	}
}

// BenchmarkLaunch starts a monitor running one container, as `podbay run -d` does.
func BenchmarkLaunch(b *testing.B) {
	bundle := benchBundle(b)
	base := b.TempDir()
	rt, err := runtime.New("runc", filepath.Join(base, "state"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		id := uniqueID("bench")
		dir := filepath.Join(base, id)
		cfg := monitor.Config{ID: id, Runtime: rt.Path(), RuntimeRoot: rt.Root(), Dir: dir, Containers: []monitor.Container{{
			ID: id, Bundle: bundle, LogPath: filepath.Join(dir, "log"), ExitFile: filepath.Join(dir, "exit"),
		}}}
		if _, err := monitor.Launch(ctx, monitorBin, cfg); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		rt.Delete(ctx, id, runtime.DeleteOptions{Force: true})
		deadline := time.Now().Add(10 * time.Second)
		for _, err := monitor.ReadExit(cfg.Containers[0].ExitFile); err != nil && time.Now().Before(deadline); _, err = monitor.ReadExit(cfg.Containers[0].ExitFile) {
			time.Sleep(time.Millisecond)
		}
		b.StartTimer()
	}
}

// BenchmarkMonitorRSS reports the VmRSS of the monitor of a pod of two
// containers whose probes of every kind run (newProbedPod), as rss-kB: the
// figure the tests only hold to a sanity bound (rssSanityKiB). Each
// iteration launches a pod, waits for ten readiness probes, measures and
// stops it; ns/op is that whole cycle.
func BenchmarkMonitorRSS(b *testing.B) {
	var total int
	for b.Loop() {
		p := newProbedPod(b)
		started, err := p.launch()
		if err != nil {
			b.Fatal(err)
		}
		p.waitProbed()
		total += vmRSS(b, started.MonitorPid)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err = monitor.StopAll(ctx, &p.cfg, -1)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total)/float64(b.N), "rss-kB")
}
