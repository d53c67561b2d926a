package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// SystemdBinary is the system manager the tests boot.
const SystemdBinary = "/lib/systemd/systemd"

// Systemd is a real systemd booted as PID 1 of a private PID, mount and UTS
// namespace, in a cgroup of its own; the test's network namespace is
// kept. The machine's own PID 1 need not be systemd (here it is not): this
// one manages only the units the test gives it, from a private unit path,
// with a private /run, and everything it starts dies with it.
type Systemd struct {
	t      testing.TB
	Pid    int // systemd's pid as the test sees it (1 inside)
	cgroup string
	cmd    *exec.Cmd
	exited chan struct{}

	mu  sync.Mutex
	log bytes.Buffer // the console: systemd's log and the services' output
}

// SystemdOptions say what the booted systemd sees.
type SystemdOptions struct {
	// UnitDirs are searched for units after the minimal targets the
	// harness provides and before the generators' output.
	UnitDirs []string
	// GeneratorDir holds the only generators it runs.
	GeneratorDir string
	// Env is the manager's environment; generators see it.
	Env []string
}

// innerScript prepares systemd's mounts: a private /run; the pty as its
// console; and a /sys/fs/cgroup of its own, a new tmpfs holding the host's
// hierarchies, made read-only. systemd remounts /sys/fs/cgroup read-only
// (a remount changes the file system, which the host's is otherwise) and
// mounts every cgroup controller it finds unmounted (new hierarchies, for
// the whole machine): on this read-only tmpfs it cannot.
const innerScript = `set -e
mount -t tmpfs -o mode=755 tmpfs /run
mount --bind "$CONSOLE" /dev/console
mkdir /run/.cgroup
for d in /sys/fs/cgroup/*; do
	[ -d "$d" ] && [ ! -L "$d" ] || continue
	mkdir "/run/.cgroup/${d##*/}"
	mount --bind "$d" "/run/.cgroup/${d##*/}"
done
mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
for d in /run/.cgroup/*; do
	mkdir "/sys/fs/cgroup/${d##*/}"
	mount --move "$d" "/sys/fs/cgroup/${d##*/}"
	rmdir "$d"
done
rmdir /run/.cgroup
mount -o remount,ro /sys/fs/cgroup
exec env -i "$@"`

// minimalTargets are the targets ordinary services depend on, empty: the
// host's would pull in the whole boot.
var minimalTargets = []string{"default.target", "sysinit.target", "basic.target", "shutdown.target",
	"network.target", "network-online.target", "multi-user.target", "sockets.target", "timers.target",
	"paths.target", "local-fs.target", "final.target"}

// targetDeps chain the boot as systemd's own targets do.
var targetDeps = map[string]string{
	"basic.target":      "Requires=sysinit.target\nAfter=sysinit.target\n",
	"multi-user.target": "Requires=basic.target\nAfter=basic.target\n",
	"default.target":    "Requires=multi-user.target\nAfter=multi-user.target\n",
}

// powerOff is how the manager ends (SIGRTMIN+4 starts poweroff.target):
// every service is stopped first (they conflict with shutdown.target),
// then the manager exits, and its namespaces with it.
var powerOff = map[string]string{
	"poweroff.target": "[Unit]\nDefaultDependencies=no\nRequires=podbay-test-exit.service\nAfter=podbay-test-exit.service\n",
	"exit.target":     "[Unit]\nDefaultDependencies=no\nRequires=podbay-test-exit.service\nAfter=podbay-test-exit.service\n",
	"podbay-test-exit.service": "[Unit]\nDefaultDependencies=no\nRequires=shutdown.target final.target\nAfter=shutdown.target final.target\n" +
		"SuccessAction=exit-force\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
}

// BootSystemd boots a systemd for the test and returns once systemctl
// answers; the test's cleanup powers it off (its units are stopped) and
// removes its cgroups. The log is printed when the test failed (or
// $PODBAY_TEST_SYSTEMD_LOG is set).
func BootSystemd(t testing.TB, o SystemdOptions) *Systemd {
	t.Helper()
	for _, p := range []string{SystemdBinary, "/usr/bin/unshare", "/usr/bin/nsenter", "/bin/systemctl"} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("booting systemd needs %s: %v", p, err)
		}
	}
	dir := t.TempDir()
	units := filepath.Join(dir, "units")
	if err := os.MkdirAll(units, 0o755); err != nil {
		t.Fatal(err)
	}
	files := maps.Clone(powerOff)
	for _, tgt := range minimalTargets {
		files[tgt] = "[Unit]\nDescription=" + tgt + " (podbay test)\nDefaultDependencies=no\n" + targetDeps[tgt]
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(units, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	envDir := filepath.Join(dir, "env-generators")
	if err := os.MkdirAll(envDir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Systemd{t: t, cgroup: fmt.Sprintf("podbay-systemd-%d-%d", os.Getpid(), time.Now().UnixNano()), exited: make(chan struct{})}
	procs, err := s.makeCgroups()
	if err != nil {
		s.removeCgroups()
		t.Fatal(err)
	}
	master, slave, err := pty.Open()
	if err != nil {
		s.removeCgroups()
		t.Fatalf("opening the console's pty: %v", err)
	}
	go s.readConsole(master)
	unitPath := strings.Join(append(append([]string{"/run/systemd/transient", "/run/systemd/generator.early", units}, o.UnitDirs...),
		"/run/systemd/generator", "/run/systemd/generator.late"), ":")
	env := append([]string{"container=podbay-test", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"SYSTEMD_UNIT_PATH=" + unitPath, "SYSTEMD_GENERATOR_PATH=" + o.GeneratorDir,
		"SYSTEMD_ENVIRONMENT_GENERATOR_PATH=" + envDir}, o.Env...)
	// The outer shell joins the cgroups, then becomes unshare, whose child
	// (PID 1 of the new namespaces) prepares the mounts and becomes systemd.
	outer := `for f in $PROCS; do echo $$ > "$f" || exit 1; done; exec unshare --pid --fork --kill-child=SIGKILL --mount --mount-proc --uts --propagation private -- /bin/sh -c "$INNER" sh "$@"`
	args := append(append([]string{"-c", outer, "sh"}, env...), SystemdBinary, "--log-target=console", "--log-level=info",
		"--default-standard-output=tty", "--default-standard-error=tty", "--show-status=false")
	s.cmd = exec.Command("/bin/sh", args...)
	s.cmd.Env = append(os.Environ(), "PROCS="+strings.Join(procs, " "), "INNER="+innerScript, "CONSOLE="+slave.Name())
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // a killed test takes systemd along
	s.cmd.Stdin, s.cmd.Stdout, s.cmd.Stderr = nil, slave, slave
	if err := s.cmd.Start(); err != nil {
		s.removeCgroups()
		t.Fatalf("starting systemd: %v", err)
	}
	slave.Close()
	go func() { s.cmd.Wait(); master.Close(); close(s.exited) }()
	t.Cleanup(s.shutdown)
	if err := s.awaitManager(); err != nil {
		t.Fatalf("booting systemd: %v\nconsole:\n%s", err, s.Log())
	}
	return s
}

// makeCgroups creates the manager's cgroup in every mounted hierarchy and
// returns the cgroup.procs files to join.
func (s *Systemd) makeCgroups() ([]string, error) {
	mounts, err := cgroupMounts()
	if err != nil {
		return nil, err
	}
	var procs []string
	for _, m := range mounts {
		dir := filepath.Join(m, s.cgroup)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating cgroup %s: %w", dir, err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if b, err := os.ReadFile(filepath.Join(m, f)); err == nil {
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					return nil, fmt.Errorf("cgroup %s: %w", dir, err)
				}
			}
		}
		procs = append(procs, filepath.Join(dir, "cgroup.procs"))
	}
	return procs, nil
}

// cgroupMounts lists the writable cgroup hierarchies (v1 and v2).
func cgroupMounts() ([]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 6 || len(g) < 1 || (g[0] != "cgroup" && g[0] != "cgroup2") || !strings.HasPrefix(f[5], "rw") {
			continue
		}
		out = append(out, f[4])
	}
	if len(out) == 0 {
		return nil, errors.New("no writable cgroup hierarchy mounted")
	}
	return out, nil
}

// removeCgroups removes the manager's cgroups, deepest first.
func (s *Systemd) removeCgroups() []string { return RemoveCgroupTree(s.cgroup) }

// RemoveCgroupTree removes the cgroup at path (from a hierarchy's root)
// and its descendants, deepest first, in every hierarchy; it returns
// those it could not remove (a process still in them).
func RemoveCgroupTree(path string) []string {
	mounts, _ := cgroupMounts()
	var left []string
	for _, m := range mounts {
		var dirs []string
		filepath.WalkDir(filepath.Join(m, path), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := os.Remove(dirs[i]); err != nil && !os.IsNotExist(err) {
				left = append(left, dirs[i])
			}
		}
	}
	return left
}

func (s *Systemd) readConsole(r io.Reader) {
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		s.mu.Lock()
		s.log.Write(bytes.ReplaceAll(buf[:n], []byte("\r\n"), []byte("\n")))
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// Log is what systemd and the services wrote on the console.
func (s *Systemd) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// awaitManager finds systemd (unshare's child) and waits until systemctl
// answers (the boot may still be running its jobs).
func (s *Systemd) awaitManager() error {
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return errors.New("systemd exited")
		default:
		}
		if s.Pid == 0 {
			s.Pid = childOf(s.cmd.Process.Pid)
		}
		if s.Pid != 0 {
			out, err := s.Run("systemctl", "is-system-running")
			state := strings.TrimSpace(out)
			if state == "initializing" || state == "starting" || state == "running" || state == "degraded" {
				return nil
			}
			last = fmt.Errorf("is-system-running: %q, %v", state, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("systemd did not come up in 60s: %v", last)
}

// childOf is the first child of pid whose command is systemd, or 0.
func childOf(pid int) int {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, f := range strings.Fields(string(data)) {
		c, _ := strconv.Atoi(f)
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", c)); strings.TrimSpace(string(comm)) == "systemd" {
			return c
		}
	}
	return 0
}

// Run runs a command inside the manager's namespaces (its /run, /proc and
// PID namespace: podbay's state records pids as that namespace numbers
// them) and returns its combined output.
func (s *Systemd) Run(args ...string) (string, error) {
	cmd := exec.Command("nsenter", append([]string{"--target", strconv.Itoa(s.Pid), "--mount", "--pid", "--uts", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Show reads a unit's property (systemctl show -p NAME --value).
func (s *Systemd) Show(unit, property string) string {
	s.t.Helper()
	out, err := s.Run("systemctl", "show", "-p", property, "--value", unit)
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// UnitCgroup is the path of a unit's cgroup in the unified hierarchy (the
// one systemd tracks processes in), as the test sees it.
func (s *Systemd) UnitCgroup(unit string) string {
	return filepath.Join("/sys/fs/cgroup/unified", s.cgroup, "system.slice", unit)
}

// MountInfo is the manager's mount table (the mounts its services made).
func (s *Systemd) MountInfo() string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", s.Pid))
	return string(b)
}

// shutdown powers the manager off (SIGRTMIN+4: its units are stopped, so
// their ExecStopPost runs), kills it if that takes more than a minute,
// and removes its cgroups.
func (s *Systemd) shutdown() {
	if s.Pid != 0 {
		syscall.Kill(s.Pid, syscall.Signal(34+4))
	}
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		s.t.Errorf("systemd did not power off in 60s: killed")
		if s.Pid != 0 {
			syscall.Kill(s.Pid, syscall.SIGKILL)
		}
		s.cmd.Process.Kill()
		<-s.exited
	}
	if left := s.removeCgroups(); len(left) > 0 {
		s.t.Errorf("cgroups left by systemd's units: %v", left)
	}
	if s.t.Failed() || os.Getenv("PODBAY_TEST_SYSTEMD_LOG") != "" {
		s.t.Logf("systemd's console:\n%s", s.Log())
	}
}
