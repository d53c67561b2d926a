//go:build integration

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podbay/podbay/internal/cgroups"
	"github.com/podbay/podbay/internal/fixture"
	"github.com/podbay/podbay/internal/testenv"
)

// nextNet numbers each test's default network, bridge and subnet.
var nextNet atomic.Int32

// binDir holds podbay and podbay-monitor, built once for the whole run.
var binDir string

// TestMain runs the tests inside a private network and mount namespace
// (testenv.InPrivateNamespaces): bridges, veths and iptables rules vanish
// with them and never touch the host's network. It builds the binaries
// first: the lean podbay hands the kube commands to podbay-kube, as installed.
func TestMain(m *testing.M) {
	os.Exit(testenv.InPrivateNamespaces(func() int {
		dir, err := os.MkdirTemp("", "podbay-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binDir = dir
		if err := testenv.BuildBinaries(dir, "podbay", "podbay-kube", "podbay-monitor"); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			return 1
		}
		// The run's pods and containers get cgroups under a parent of their
		// own: what is left under it at the end is this run's leak, whatever
		// other podbay runs on the machine do meanwhile.
		cgroupParent = fmt.Sprintf("/podbay-test-%d", os.Getpid())
		os.Setenv("PODBAY_CGROUP_PARENT", cgroupParent)
		code := m.Run()
		if left := cgroupsLeft(); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: cgroups left behind by the tests (removed now): %v\n", left)
			return 1
		}
		return code
	}, "runc", "iptables", "docker-registry"))
}

// cgroupParent is the cgroup that holds this run's pods and containers.
var cgroupParent string

// cgroupsLeft lists the cgroups left under this run's parent in every
// mounted hierarchy, by name (every test has removed what it made by the
// end of the run: a pod's or a container's cgroup left behind is a leak),
// and removes them, children first, and the parent, so that the host stays
// clean.
func cgroupsLeft() []string {
	mounts, err := cgroups.Mounts()
	if err != nil {
		return []string{err.Error()}
	}
	names := map[string]bool{}
	for _, m := range mounts {
		parent := filepath.Join(m, cgroupParent)
		ents, _ := os.ReadDir(parent)
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			dir := filepath.Join(parent, e.Name())
			names[e.Name()] = true
			kids, _ := os.ReadDir(dir)
			for _, k := range kids {
				if k.IsDir() {
					os.Remove(filepath.Join(dir, k.Name()))
				}
			}
			os.Remove(dir)
		}
		os.Remove(parent)
	}
	var left []string
	for n := range names {
		left = append(left, cgroupParent+"/"+n)
	}
	sort.Strings(left)
	return left
}

// env is one test's podbay: its own roots, and a registry holding busybox.
type env struct {
	t        *testing.T
	extraEnv []string // PODBAY_* settings of this test
	root     string
	runroot  string
	registry string
	busybox  string // fully qualified reference in the registry
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	n := nextNet.Add(1)
	e := &env{t: t, root: filepath.Join(dir, "root"), runroot: filepath.Join(dir, "run"), extraEnv: []string{
		fmt.Sprintf("PODBAY_DEFAULT_NETWORK=pbt%d", n), fmt.Sprintf("PODBAY_DEFAULT_BRIDGE=pbt%d", n),
		fmt.Sprintf("PODBAY_DEFAULT_SUBNET=10.%d.%d.0/24", 200+n/250, n%250),
	}}
	e.registry = testenv.StartRegistry(t)
	img, err := fixture.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	e.busybox = testenv.PushImage(t, e.registry, "library/busybox", img)
	t.Cleanup(e.teardown)
	return e
}

// pulled returns an env whose store already has busybox.
func pulled(t *testing.T) *env {
	e := newEnv(t)
	e.ok("pull", "-q", "--tls-verify=false", e.busybox)
	return e
}

type result struct {
	stdout, stderr string
	code           int
}

func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runIn(nil, args...)
}

// runConcurrently runs the same podbay command n times at once and returns
// the results in start order.
func (e *env) runConcurrently(n int, args ...string) []result {
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = e.run(args...) })
	}
	wg.Wait()
	return results
}

func (e *env) runIn(stdin []byte, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "podbay"), append([]string{"--root", e.root, "--runroot", e.runroot}, args...)...)
	cmd.Env = append(os.Environ(), e.extraEnv...)
	return runCommand(e.t, cmd, stdin)
}

// runCommand runs cmd with stdin (nil: none) and returns its output and
// exit code; a command that cannot run fails the test.
func runCommand(t *testing.T, cmd *exec.Cmd, stdin []byte) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	return r
}

// ok runs podbay and fails the test unless it exits 0.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("podbay %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs podbay, wants a non-zero exit and one clear error line
// containing every want.
func (e *env) fails(want []string, args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code == 0 {
		e.t.Fatalf("podbay %s: want failure, got exit 0\nstdout: %s", strings.Join(args, " "), r.stdout)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 1 {
		e.t.Errorf("podbay %s: want one error line, got %d:\n%s", strings.Join(args, " "), len(lines), r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			e.t.Errorf("podbay %s: error %q does not contain %q", strings.Join(args, " "), strings.TrimSpace(r.stderr), w)
		}
	}
	return r
}

type psRow struct {
	Id       string
	Names    []string
	Image    string
	State    string
	ExitCode int
	Pid      int
	Pod      string
	PodName  string
}

func (e *env) ps() []psRow {
	e.t.Helper()
	var rows []psRow
	if err := json.Unmarshal([]byte(e.ok("ps", "-a", "--format", "json")), &rows); err != nil {
		e.t.Fatal(err)
	}
	return rows
}

func (e *env) inspect(name string) map[string]any {
	e.t.Helper()
	var out []map[string]any
	if err := json.Unmarshal([]byte(e.ok("inspect", name)), &out); err != nil || len(out) != 1 {
		e.t.Fatalf("inspect %s: %v", name, err)
	}
	return out[0]
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// teardown removes everything and checks that nothing is left: no mount
// under the roots, no process started from them.
func (e *env) teardown() {
	e.t.Helper()
	r := e.run("system", "reset", "--force")
	if r.code != 0 {
		e.t.Errorf("system reset: %s", r.stderr)
	}
	if m := mountsUnder(e.t, e.root, e.runroot); len(m) > 0 {
		e.t.Errorf("mounts left behind: %v", m)
	}
	if p := processesMentioning(e.runroot); len(p) > 0 {
		e.t.Errorf("processes left behind: %v", p)
	}
}

func mountsUnder(t *testing.T, dirs ...string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		for _, d := range dirs {
			if strings.HasPrefix(f[4], d) {
				out = append(out, f[4])
			}
		}
	}
	return out
}

// processesMentioning lists processes whose command line names dir.
func processesMentioning(dir string) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		s := strings.ReplaceAll(string(cmdline), "\x00", " ")
		if strings.Contains(s, dir) {
			out = append(out, e.Name()+": "+s)
		}
	}
	return out
}

// processesInContainerCgroups lists the processes in standalone containers'
// cgroups (<parent>/<64-hex id>): a container whose monitor is gone keeps no
// podbay path on its command line, but it cannot leave its cgroup.
func processesInContainerCgroups(t *testing.T) []string {
	t.Helper()
	mounts, err := cgroups.Mounts()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range mounts {
		ents, _ := os.ReadDir(filepath.Join(m, cgroupParent))
		for _, e := range ents {
			if len(e.Name()) != 64 || !e.IsDir() {
				continue
			}
			data, err := os.ReadFile(filepath.Join(m, cgroupParent, e.Name(), "cgroup.procs"))
			if err == nil && len(strings.TrimSpace(string(data))) > 0 {
				out = append(out, filepath.Join(m, cgroupParent, e.Name())+": "+strings.Join(strings.Fields(string(data)), ","))
			}
		}
		if len(out) > 0 {
			return out // one hierarchy shows them all
		}
	}
	return out
}
