//go:build integration

package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/podbay/podbay/engine/network"
)

// assertRunrootFree checks that nothing is mounted under the roots and that
// the runroot can be deleted (as rm -rf would: a mount point left there
// fails it with EBUSY).
func (e *env) assertRunrootFree(when string) {
	e.t.Helper()
	if m := mountsUnder(e.t, e.root, e.runroot); len(m) > 0 {
		e.t.Fatalf("%s: mounted under the roots: %q", when, m)
	}
	if err := os.RemoveAll(e.runroot); err != nil {
		e.t.Fatalf("%s: removing the runroot: %v", when, err)
	}
}

// startPods creates pods of one running container each and checks that
// their network namespaces are mounted under the runroot.
func (e *env) startPods(names ...string) {
	e.t.Helper()
	for _, name := range names {
		e.ok("pod", "create", "--name", name)
		e.ok("run", "-d", "--pod", name, "--name", name+"-c", e.busybox, "sleep", "1000")
	}
	m := mountsUnder(e.t, e.runroot)
	for _, p := range e.pods() {
		if ns := filepath.Join(e.runroot, "netns", p.Id); !slices.Contains(m, ns) {
			e.t.Fatalf("pod %s: its namespace %s is not mounted: %q", p.Name, ns, m)
		}
	}
}

// TestNoMountLeftAfterLastPod (issue 15, leftovers): while pods run, their
// network namespaces, the directory holding them and their containers' root
// filesystems are mounted under the runroot. Removing one pod keeps the
// other's namespace; removing the last leaves nothing mounted, so the
// runroot can be deleted. So does `system reset` of running pods.
func TestNoMountLeftAfterLastPod(t *testing.T) {
	e := pulled(t)
	e.startPods("first", "second")
	e.ok("pod", "rm", "-f", "first")
	second := e.pods()
	if len(second) != 1 {
		t.Fatalf("pods after removing one: %+v", second)
	}
	if ns := filepath.Join(e.runroot, "netns", second[0].Id); !slices.Contains(mountsUnder(t, e.runroot), ns) {
		t.Fatalf("removing the first pod unmounted the second's namespace %s", ns)
	}
	e.ok("exec", "second-c", "true")
	e.ok("pod", "rm", "-f", "second")
	e.assertRunrootFree("after the last pod's removal")

	e.startPods("third", "fourth")
	e.ok("system", "reset", "--force")
	e.assertRunrootFree("after system reset --force")
}

// TestPruneRemovesStrayNetNS: a namespace left by a killed command for a
// pod that has no record (here made directly) keeps the namespace directory
// mounted; system prune removes it, and the directory's mount with it.
func TestPruneRemovesStrayNetNS(t *testing.T) {
	e := newEnv(t)
	stray, err := network.NewNetNS(e.runroot, strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	if m := mountsUnder(t, e.runroot); !slices.Contains(m, stray) {
		t.Fatalf("the stray namespace is not mounted: %q", m)
	}
	e.ok("system", "prune")
	if _, err := os.Lstat(stray); !os.IsNotExist(err) {
		t.Errorf("system prune left %s: %v", stray, err)
	}
	e.assertRunrootFree("after system prune")
}
