//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestRunForegroundStreamsAndKeepsExitCode(t *testing.T) {
	e := pulled(t)
	r := e.run("run", "--rm", "--name", "fg", e.busybox, "sh", "-c", "echo out; echo err >&2; exit 3")
	if r.code != 3 {
		t.Fatalf("exit code %d, want 3 (stderr %q)", r.code, r.stderr)
	}
	if r.stdout != "out\n" || !strings.Contains(r.stderr, "err\n") {
		t.Errorf("stdout %q stderr %q", r.stdout, r.stderr)
	}
	if rows := e.ps(); len(rows) != 0 {
		t.Errorf("--rm left %v", rows)
	}
}

func TestDetachedLifecycle(t *testing.T) {
	e := pulled(t)
	id := strings.TrimSpace(e.ok("run", "-d", "--name", "web", e.busybox, "sh", "-c", "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done"))
	if len(id) != 64 {
		t.Fatalf("run -d printed %q, want a 64-hex-digit ID", id)
	}
	rows := e.ps()
	if len(rows) != 1 || rows[0].State != "running" || rows[0].Names[0] != "web" || rows[0].Id != id || rows[0].Pid == 0 {
		t.Fatalf("ps: %+v", rows)
	}
	if out := e.ok("exec", "web", "sh", "-c", "echo in $(pwd)"); out != "in /\n" {
		t.Errorf("exec printed %q", out)
	}
	if r := e.run("exec", "web", "sh", "-c", "exit 7"); r.code != 7 {
		t.Errorf("exec exit code %d, want 7", r.code)
	}
	waitFor(t, "the first log line", 5*time.Second, func() bool { return e.ok("logs", "web") == "started\n" })
	e.ok("stop", "-t", "30", "web") // the trap ends it at once; a loaded machine may take seconds to run it
	rows = e.ps()
	if rows[0].State != "exited" || rows[0].ExitCode != 0 {
		t.Fatalf("after stop: %+v", rows[0])
	}
	if out := e.ok("logs", "web"); out != "started\nbye\n" {
		t.Errorf("logs after stop: %q", out)
	}
	if out := e.ok("logs", "-t", "--tail", "1", "web"); !strings.HasSuffix(out, " bye\n") || !strings.HasPrefix(out, "20") {
		t.Errorf("logs -t --tail 1: %q", out)
	}
	e.ok("start", "web")
	if st := e.ps()[0].State; st != "running" {
		t.Fatalf("after start: %s", st)
	}
	e.ok("restart", "-t", "5", "web")
	e.ok("kill", "-s", "KILL", "web")
	if out := strings.TrimSpace(e.ok("wait", "web")); out != "137" {
		t.Errorf("wait after kill -s KILL printed %q, want 137", out)
	}
	e.ok("rm", "web")
	if rows := e.ps(); len(rows) != 0 {
		t.Errorf("after rm: %+v", rows)
	}
}

func TestSpecSeenFromInside(t *testing.T) {
	e := pulled(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "f"), []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `id -u; id -g; pwd; echo $FOO; cat /data/f; touch /data/x 2>/dev/null && echo rw || echo ro;
grep CapEff /proc/self/status; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max;
touch /rootfile 2>/dev/null && echo rootrw || echo rootro; ulimit -n; hostname; cat /etc/hostname`
	out := e.ok("run", "--rm", "-e", "FOO=bar", "-w", "/tmp", "-u", "app", "-v", host+":/data:ro",
		"--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN", "--memory", "64m", "--read-only", "--hostname", "box",
		e.busybox, "sh", "-c", script)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{"1000", "1000", "/tmp", "bar", "from host", "ro"}
	for i, w := range want {
		if i >= len(lines) || lines[i] != w {
			t.Fatalf("line %d: got %q, want %q (all: %q)", i, at(lines, i), w, out)
		}
	}
	// A non-root process has no effective capabilities; check the root case below.
	if lines[7] != strconv.Itoa(64<<20) {
		t.Errorf("memory limit %q, want %d", lines[7], 64<<20)
	}
	if lines[8] != "rootro" {
		t.Errorf("--read-only: root filesystem is writable")
	}
	hard := rlimitHard(t)
	if n, _ := strconv.ParseUint(lines[9], 10, 64); n == 0 || n > hard {
		t.Errorf("RLIMIT_NOFILE %q: want clamped to the hard limit %d", lines[9], hard)
	}
	if lines[10] != "box" || lines[11] != "box" {
		t.Errorf("hostname %q, /etc/hostname %q", lines[10], lines[11])
	}
	caps := e.ok("run", "--rm", "--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN", e.busybox, "grep", "CapEff", "/proc/self/status")
	mask := parseCaps(t, caps)
	const capChown, capNetAdmin, capKill, capSysAdmin = 0, 12, 5, 21
	if mask&(1<<capNetAdmin) == 0 || mask&(1<<capChown) != 0 || mask&(1<<capKill) == 0 || mask&(1<<capSysAdmin) != 0 {
		t.Errorf("CapEff %#x: want NET_ADMIN and KILL, no CHOWN or SYS_ADMIN", mask)
	}
	if out := e.ok("run", "--rm", "--entrypoint", "echo", e.busybox, "a", "b"); out != "a b\n" {
		t.Errorf("--entrypoint: %q", out)
	}
	if out := e.ok("run", "--rm", "--network", "host", e.busybox, "hostname"); strings.TrimSpace(out) != mustHostname(t) {
		t.Errorf("--network host: hostname %q", out)
	}
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "<missing>"
}

func mustHostname(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func rlimitHard(t *testing.T) uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	return rl.Max
}

func parseCaps(t *testing.T, line string) uint64 {
	f := strings.Fields(line)
	if len(f) != 2 {
		t.Fatalf("CapEff line %q", line)
	}
	v, err := strconv.ParseUint(f[1], 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestTwentyConcurrentRuns(t *testing.T) {
	e := pulled(t)
	var wg sync.WaitGroup
	errs := make([]string, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := e.run("run", "-d", e.busybox, "sleep", "1000")
			if r.code != 0 {
				errs[i] = r.stderr
			}
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != "" {
			t.Errorf("run %d: %s", i, err)
		}
	}
	rows := e.ps()
	names := map[string]bool{}
	for _, r := range rows {
		if r.State != "running" {
			t.Errorf("%s: %s", r.Names[0], r.State)
		}
		names[r.Names[0]] = true
	}
	if len(rows) != 20 || len(names) != 20 {
		t.Errorf("ps shows %d containers with %d names, want 20 and 20", len(rows), len(names))
	}
	e.ok("rm", "-af")
}

// TestConcurrentStartsOfOneContainer: five `start`s of one created
// container at once all succeed, and it runs once, under one monitor.
// (Before the start lock, the others failed with "already running", and a
// start could force-delete the runtime record of the container another had
// just started, killing it.)
func TestConcurrentStartsOfOneContainer(t *testing.T) {
	e := pulled(t)
	e.ok("create", "--name", "once", e.busybox, "sleep", "1000")
	results := e.runConcurrently(5, "start", "once")
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("start %d: exit %d: %s", i, r.code, r.stderr)
		}
	}
	st := e.inspect("once")["State"].(map[string]any)
	pid := int(st["Pid"].(float64))
	if st["Status"] != "running" || pid <= 0 || syscall.Kill(pid, 0) != nil {
		t.Fatalf("after the starts: %v", st)
	}
	if mons := processesMentioning(filepath.Join(e.runroot, "containers")); len(mons) != 1 {
		t.Errorf("monitors: %v, want one", mons)
	}
	e.ok("rm", "-f", "once")
}

func TestKilledMonitorStillTellsTheTruth(t *testing.T) {
	e := pulled(t)
	e.ok("run", "-d", "--name", "orphan", e.busybox, "sh", "-c", "echo hi; exec sleep 1000")
	st := e.inspect("orphan")["State"].(map[string]any)
	mon := int(st["ConmonPid"].(float64))
	if mon == 0 {
		t.Fatal("inspect shows no monitor pid")
	}
	if err := syscall.Kill(mon, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the monitor to die", 5*time.Second, func() bool { return syscall.Kill(mon, 0) != nil || isZombie(mon) })
	if rows := e.ps(); rows[0].State != "running" {
		t.Fatalf("with the monitor killed, ps says %s; the container still runs", rows[0].State)
	}
	if out := e.ok("logs", "orphan"); out != "hi\n" {
		t.Errorf("logs: %q", out)
	}
	e.ok("stop", "-t", "1", "orphan")
	if rows := e.ps(); rows[0].State != "exited" {
		t.Errorf("after stop: %s", rows[0].State)
	}
	e.ok("rm", "orphan")
}

// A container that neither its monitor nor the runtime knows any more (the
// monitor killed, runc's record gone: what a command killed while runc was
// still creating the container leaves) is still removed by rm -f: its
// processes are found in its cgroup. Before, rm -f left it running.
func TestRemoveKillsWhatOnlyTheCgroupKnows(t *testing.T) {
	e := pulled(t)
	id := strings.TrimSpace(e.ok("run", "-d", "--name", "unknown", e.busybox, "sleep", "1000"))
	st := e.inspect("unknown")["State"].(map[string]any)
	mon, pid := int(st["ConmonPid"].(float64)), int(st["Pid"].(float64))
	if mon == 0 || pid == 0 {
		t.Fatalf("inspect shows monitor %d, pid %d", mon, pid)
	}
	if err := syscall.Kill(mon, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the monitor to die", 5*time.Second, func() bool { return syscall.Kill(mon, 0) != nil || isZombie(mon) })
	if err := os.RemoveAll(filepath.Join(e.runroot, "runtime", id)); err != nil {
		t.Fatal(err)
	}
	e.ok("rm", "-f", "unknown")
	waitFor(t, "the container's process to die", 5*time.Second, func() bool { return syscall.Kill(pid, 0) != nil || isZombie(pid) })
	if p := processesInContainerCgroups(t); len(p) > 0 {
		t.Errorf("processes left in container cgroups: %v", p)
	}
}

func isZombie(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] == 'Z'
}

func TestBadInputChangesNothing(t *testing.T) {
	e := pulled(t)
	e.ok("run", "-d", "--name", "taken", e.busybox, "sleep", "1000")
	e.fails([]string{"missing:1", "manifest unknown"}, "run", "--tls-verify=false", e.registry+"/library/missing:1")
	e.fails([]string{"UPPER/Case"}, "pull", "UPPER/Case::x")
	e.fails([]string{"taken", "already in use"}, "run", "-d", "--name", "taken", e.busybox, "true")
	e.fails([]string{"taken", "running"}, "rm", "taken")
	e.ok("create", "--name", "stopped", e.busybox, "true")
	e.fails([]string{"stopped", "running"}, "exec", "stopped", "true")
	e.fails([]string{"127.0.0.1:1"}, "pull", "--tls-verify=false", "127.0.0.1:1/x/y:z")
	corrupt := filepath.Join(t.TempDir(), "corrupt.tar")
	if err := os.WriteFile(corrupt, []byte("this is not a tar archive"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.fails([]string{"corrupt.tar"}, "load", "-i", corrupt)
	e.fails([]string{"/nonexistent"}, "run", "--rm", e.busybox, "/nonexistent")
	rows := e.ps()
	if len(rows) != 2 {
		t.Errorf("after the failures ps shows %d containers, want 2 (taken, stopped): %+v", len(rows), rows)
	}
	if imgs := strings.Count(e.ok("images", "-q"), "\n"); imgs != 1 {
		t.Errorf("after the failures there are %d images, want 1", imgs)
	}
}

func TestSeccompProfiles(t *testing.T) {
	e := pulled(t)
	mode := func(args ...string) string {
		out := e.ok(append(append([]string{"run", "--rm"}, args...), e.busybox, "grep", "^Seccomp:", "/proc/self/status")...)
		return strings.TrimSpace(strings.TrimPrefix(out, "Seccomp:"))
	}
	if m := mode(); m != "2" {
		t.Errorf("default: seccomp mode %s, want 2 (filter)", m)
	}
	if m := mode("--security-opt", "seccomp=unconfined"); m != "0" {
		t.Errorf("seccomp=unconfined: mode %s, want 0", m)
	}
	if m := mode("--privileged"); m != "0" {
		t.Errorf("--privileged: mode %s, want 0", m)
	}
	// The filter refuses what it should: unshare without CAP_SYS_ADMIN.
	r := e.run("run", "--rm", "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", e.busybox, "unshare", "-u", "true")
	if r.code != 0 {
		t.Fatalf("unshare with SYS_ADMIN and no filter: exit %d %s", r.code, r.stderr)
	}
	if r := e.run("run", "--rm", e.busybox, "unshare", "-u", "true"); r.code == 0 {
		t.Error("unshare without CAP_SYS_ADMIN succeeded under the default profile")
	}
}

func TestVersionAndSystemInfo(t *testing.T) {
	e := pulled(t)
	if out := e.ok("version"); !strings.Contains(out, "Version:") || !strings.Contains(out, "go1.") {
		t.Errorf("version: %q", out)
	}
	e.ok("run", "-d", "--name", "counted", e.busybox, "sleep", "1000")
	var info struct {
		Host struct {
			CgroupVersion string
			OciRuntime    struct{ Path string }
		}
		Store struct {
			GraphRoot      string
			ContainerStore struct{ Number, Running int }
			ImageStore     struct{ Number int }
		}
	}
	if err := json.Unmarshal([]byte(e.ok("system", "info", "--format", "json")), &info); err != nil {
		t.Fatal(err)
	}
	if info.Store.GraphRoot != e.root || info.Store.ContainerStore.Number != 1 || info.Store.ContainerStore.Running != 1 ||
		info.Store.ImageStore.Number != 1 || !strings.HasSuffix(info.Host.OciRuntime.Path, "runc") || info.Host.CgroupVersion == "" {
		t.Errorf("system info: %+v", info)
	}
	e.fails([]string{"--force"}, "system", "reset")
	e.ok("system", "reset", "--force")
	if _, err := os.Stat(e.root); !os.IsNotExist(err) {
		t.Errorf("system reset left %s: %v", e.root, err)
	}
}
