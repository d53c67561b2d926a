//go:build integration

package network

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/podbay/podbay/internal/mounts"
	"golang.org/x/sys/unix"
)

// childNetNSChurn is the envChild role of TestConcurrentNetNSStayUsable's
// processes.
const childNetNSChurn = "netns-churn"

// netnsRunroot returns a runroot of the test's own; whatever a failing
// test leaves mounted there is unmounted at its end.
func netnsRunroot(t *testing.T) string {
	t.Helper()
	runroot := filepath.Join(t.TempDir(), "run")
	t.Cleanup(func() {
		if err := mounts.UnmountUnder(filepath.Dir(runroot)); err != nil {
			t.Error(err)
		}
	})
	return runroot
}

// assertNothingMounted checks that nothing is mounted under runroot and
// that it can be deleted.
func assertNothingMounted(t *testing.T, runroot string) {
	t.Helper()
	if m, err := mounts.Under(runroot); err != nil || len(m) > 0 {
		t.Fatalf("mounted under the runroot: %q, %v", m, err)
	}
	if err := os.RemoveAll(runroot); err != nil {
		t.Fatalf("removing the runroot: %v", err)
	}
}

// TestLastNetNSUnmountsItsDir: the namespace directory stays a mount point
// while it holds a namespace, and its last RemoveNetNS unmounts it, so that
// the runroot can be deleted.
func TestLastNetNSUnmountsItsDir(t *testing.T) {
	runroot := netnsRunroot(t)
	a, err := NewNetNS(runroot, "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewNetNS(runroot, "b")
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := mounts.Under(runroot); len(m) != 3 {
		t.Errorf("mounted under the runroot with two namespaces: %q, want the directory and both", m)
	}
	if err := RemoveNetNS(a); err != nil {
		t.Fatal(err)
	}
	if !IsNetNS(b) {
		t.Fatal("removing one namespace unmounted the other")
	}
	if err := SetupLoopback(b); err != nil {
		t.Fatal(err)
	}
	if m, _ := mounts.Under(runroot); len(m) != 2 {
		t.Errorf("mounted under the runroot with one namespace: %q, want the directory and it", m)
	}
	if err := RemoveNetNS(b); err != nil {
		t.Fatal(err)
	}
	assertNothingMounted(t, runroot)
	// The next namespace mounts the directory again.
	c, err := NewNetNS(runroot, "c")
	if err != nil || !IsNetNS(c) {
		t.Fatalf("NewNetNS after the directory was released: %v", err)
	}
	if err := RemoveNetNS(c); err != nil {
		t.Fatal(err)
	}
	assertNothingMounted(t, runroot)
}

// TestRemoveNetNSTakesTheDirLock: the removal of the last namespace checks
// that the directory is empty, and unmounts it, under the lock NewNetNS
// holds while it adds a file there. Here the test holds the lock and adds
// a file while a RemoveNetNS waits: the directory stays mounted.
func TestRemoveNetNSTakesTheDirLock(t *testing.T) {
	runroot := netnsRunroot(t)
	last, err := NewNetNS(runroot, "last")
	if err != nil {
		t.Fatal(err)
	}
	dir := NetNSDir(runroot)
	l, err := lockFile(netnsDirLock(dir))
	if err != nil {
		t.Fatal(err)
	}
	removed := make(chan error, 1)
	go func() { removed <- RemoveNetNS(last) }()
	waitGone(t, last)
	next := filepath.Join(dir, "next") // what NewNetNS adds under the lock
	if err := os.WriteFile(next, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	l()
	if err := <-removed; err != nil {
		t.Fatal(err)
	}
	if m, _ := mounts.Under(runroot); len(m) != 1 || m[0] != dir {
		t.Errorf("mounts = %q, want %s kept for the file added under the lock", m, dir)
	}
	if err := RemoveNetNS(next); err != nil {
		t.Fatal(err)
	}
	assertNothingMounted(t, runroot)
}

// waitGone waits until path no longer exists.
func waitGone(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, err := os.Stat(path); err == nil; _, err = os.Stat(path) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still there", path)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRemoveNetNSLeavesOtherDirs: RemoveNetNS of a namespace in a
// directory NewNetNS did not make (iproute2's /run/netns, say) leaves that
// directory's mount alone.
func TestRemoveNetNSLeavesOtherDirs(t *testing.T) {
	dir := filepath.Join(netnsRunroot(t), "foreign")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(dir, dir, "none", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	ns := filepath.Join(dir, "x")
	if err := os.WriteFile(ns, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := RemoveNetNS(ns); err != nil {
		t.Fatal(err)
	}
	if m, _ := mounts.Under(filepath.Dir(dir)); len(m) != 1 || m[0] != dir {
		t.Errorf("mounts = %q, want %s kept", m, dir)
	}
}

// TestConcurrentNetNSStayUsable: processes and goroutines create and
// remove namespaces in one runroot at once; every namespace stays mounted
// and enterable until its own removal (no RemoveNetNS unmounts the
// directory from under a new one), and at the end nothing is mounted.
func TestConcurrentNetNSStayUsable(t *testing.T) {
	const procs, workers, rounds = 4, 4, 10
	runroot := netnsRunroot(t)
	errs := make([]error, procs+1)
	var wg sync.WaitGroup
	for i := range procs {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), envChild+"="+childNetNSChurn, "NT_RUNROOT="+runroot,
				"NT_PREFIX=p"+strconv.Itoa(i), fmt.Sprintf("NT_SHAPE=%d,%d", workers, rounds))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("process %d: %w\n%s", i, err, out)
			}
		})
	}
	wg.Go(func() { errs[procs] = churnNetNS(runroot, "self", workers, rounds) })
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	assertNothingMounted(t, runroot)
}

// childChurn is one process of TestConcurrentNetNSStayUsable.
func childChurn() int {
	var workers, rounds int
	if _, err := fmt.Sscanf(os.Getenv("NT_SHAPE"), "%d,%d", &workers, &rounds); err != nil {
		fmt.Fprintln(os.Stderr, "NT_SHAPE:", err)
		return 2
	}
	if err := churnNetNS(os.Getenv("NT_RUNROOT"), os.Getenv("NT_PREFIX"), workers, rounds); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// churnNetNS has workers goroutines each create, check and remove rounds
// namespaces in turn; a namespace is checked once made and again after the
// other goroutines had a chance to remove theirs.
func churnNetNS(runroot, prefix string, workers, rounds int) error {
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				if errs[w] = churnOnce(runroot, fmt.Sprintf("%s-%d-%d", prefix, w, r)); errs[w] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func churnOnce(runroot, name string) error {
	ns, err := NewNetNS(runroot, name)
	if err != nil {
		return err
	}
	for check := range 2 {
		if !IsNetNS(ns) {
			return fmt.Errorf("netns %s not mounted (check %d)", ns, check)
		}
		if err := InNetNS(ns, func() error { return nil }); err != nil {
			return fmt.Errorf("check %d: %w", check, err)
		}
		runtime.Gosched()
	}
	return RemoveNetNS(ns)
}
