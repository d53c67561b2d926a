//go:build integration

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sharedCachePod has two containers mounting one memory-backed emptyDir
// (cache): a appends a line to /cache/x at every start. b alone mounts
// scratch, whose size the pod's memory limit sets.
const sharedCachePod = `apiVersion: v1
kind: Pod
metadata: {name: shared}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: a
    image: docker.io/library/busybox:1.36
    command: ["sh", "-c", "echo from-a >> /cache/x; exec sleep 1000"]
    resources: {limits: {memory: 32Mi}}
    volumeMounts: [{name: cache, mountPath: /cache}]
  - name: b
    image: docker.io/library/busybox:1.36
    command: ["sleep", "1000"]
    resources: {limits: {memory: 32Mi}}
    volumeMounts: [{name: cache, mountPath: /shared}, {name: scratch, mountPath: /scratch}]
  volumes:
  - {name: cache, emptyDir: {medium: Memory, sizeLimit: 16Mi}}
  - {name: scratch, emptyDir: {medium: Memory}}
`

// TestMemoryEmptyDirSharedByThePod (issue 21): a memory-backed emptyDir is
// one tmpfs for the pod, sized by its sizeLimit or else by the pod's memory
// limit; what one container writes there the other reads, a container's
// restart (podbay restart, or a crash the monitor restarts) keeps it, and
// kube down unmounts it.
func TestMemoryEmptyDirSharedByThePod(t *testing.T) {
	e := kubeEnv(t)
	m := writeKubeManifest(t, sharedCachePod)
	e.ok("kube", "play", m)
	e.waitCat("shared-b", "/shared/x", "from-a\n")
	e.ok("exec", "shared-b", "sh", "-c", "echo from-b > /shared/y")
	if out := e.ok("exec", "shared-a", "cat", "/cache/y"); out != "from-b\n" {
		t.Errorf("a reads %q from b's file, want from-b", out)
	}
	for dst, size := range map[string]string{"/shared": "size=16384k", "/scratch": "size=65536k"} {
		line := e.ok("exec", "shared-b", "grep", " "+dst+" ", "/proc/mounts")
		if !strings.HasPrefix(line, "tmpfs ") || !strings.Contains(line, size) || !strings.Contains(line, "nosuid,nodev") {
			t.Errorf("%s in b: %q, want a nosuid, nodev tmpfs of %s", dst, line, size)
		}
	}
	pods := e.pods()
	if len(pods) != 1 {
		t.Fatalf("pods: %+v", pods)
	}
	vols := filepath.Join(e.runroot, "pods", pods[0].Id, "volumes")
	if got := mountsUnder(t, vols); len(got) != 2 {
		t.Errorf("mounts under %s: %q, want one tmpfs per volume", vols, got)
	}

	e.ok("restart", "shared-a")
	e.waitCat("shared-b", "/shared/x", "from-a\nfrom-a\n")
	// A crash: the monitor restarts a (restartPolicy Always) after its back-off.
	pid := int(e.inspect("shared-a")["State"].(map[string]any)["Pid"].(float64))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.waitCat("shared-b", "/shared/x", "from-a\nfrom-a\nfrom-a\n")
	if out := e.ok("exec", "shared-a", "cat", "/cache/y"); out != "from-b\n" {
		t.Errorf("after a's restarts, a reads %q from b's file, want from-b", out)
	}

	e.ok("kube", "down", m)
	e.assertRunrootFree("after kube down of a pod with memory volumes")
}

// TestFailedPlayUnmountsMemoryVolume: a play that fails once the pod's
// memory volume is mounted (its init container exits 3) removes the pod,
// and the tmpfs with it.
func TestFailedPlayUnmountsMemoryVolume(t *testing.T) {
	e := kubeEnv(t)
	m := writeKubeManifest(t, `apiVersion: v1
kind: Pod
metadata: {name: failing}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: setup
    image: docker.io/library/busybox:1.36
    command: ["sh", "-c", "echo half > /cache/x; exit 3"]
    volumeMounts: [{name: cache, mountPath: /cache}]
  containers:
  - name: app
    image: docker.io/library/busybox:1.36
    command: ["sleep", "1000"]
    volumeMounts: [{name: cache, mountPath: /cache}]
  volumes:
  - {name: cache, emptyDir: {medium: Memory}}
`)
	e.fails([]string{"setup", "exited with code 3"}, "kube", "play", m)
	if pods := e.pods(); len(pods) != 0 {
		t.Errorf("pods after the failed play: %+v", pods)
	}
	e.assertRunrootFree("after a failed play of a pod with a memory volume")
}

// TestPruneUnmountsStrayMemoryVolume: the memory volume of a play killed
// before it recorded its pod (here a tmpfs mounted where a pod's would be)
// goes with system prune, and the pod's directory with it.
func TestPruneUnmountsStrayMemoryVolume(t *testing.T) {
	e := newEnv(t)
	pod := filepath.Join(e.runroot, "pods", strings.Repeat("cd", 32))
	vol := filepath.Join(pod, "volumes", "cache")
	if err := os.MkdirAll(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", vol, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
		t.Fatal(err)
	}
	e.ok("system", "prune")
	if _, err := os.Lstat(pod); !os.IsNotExist(err) {
		t.Errorf("system prune left %s: %v", pod, err)
	}
	e.assertRunrootFree("after system prune")
}

// waitCat waits until file in container ctr holds want.
func (e *env) waitCat(ctr, file, want string) {
	e.t.Helper()
	waitFor(e.t, fmt.Sprintf("%s in %s to hold %q", file, ctr, want), 60*time.Second, func() bool {
		return e.run("exec", ctr, "cat", file).stdout == want
	})
}
