//go:build integration

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/podbay/podbay/internal/testenv"
)

// mountTmpfs mounts a tmpfs of sizeMB at dir (in the tests' private mount
// namespace); it is reset and unmounted when the test ends.
func mountTmpfs(t *testing.T, e *env, dir string, sizeMB int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%dm,mode=0700", sizeMB)); err != nil {
		t.Fatalf("mounting a %d MiB tmpfs at %s: %v", sizeMB, dir, err)
	}
	t.Cleanup(func() {
		e.run("system", "reset", "--force")
		if err := syscall.Unmount(dir, 0); err != nil {
			_ = syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
}

// fill writes a file into dir until the filesystem is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return p
		}
	}
}

// TestReliabilityFullDisk runs podbay on an 8 MiB tmpfs as --root: pulling a
// bigger image and playing a pod on a full disk fail with a clear error, the
// store stays usable, and once there is room the same commands succeed.
func TestReliabilityFullDisk(t *testing.T) {
	e := newEnv(t)
	mountTmpfs(t, e, e.root, 8)
	big := testenv.PushImage(t, e.registry, "library/big", testenv.BigImage(t, 3, 24))
	e.ok("pull", "-q", "--tls-verify=false", e.busybox)
	e.ok("tag", e.busybox, "docker.io/library/busybox:1.36")
	images := e.ok("images")

	const noSpace = "no space left on device"
	r := e.fails([]string{noSpace, "big"}, "pull", "-q", "--tls-verify=false", big)
	t.Logf("pull on a full disk: %s", r.stderr)
	if strings.Contains(r.stderr, "unreachable") {
		t.Errorf("a full disk is reported as an unreachable registry: %s", r.stderr)
	}
	if got := e.ok("images"); got != images {
		t.Errorf("a failed pull changed the image list:\n%s\nwas:\n%s", got, images)
	}
	bigPod := twoBoxManifest(t, "pod", "big-pod")
	data, _ := os.ReadFile(bigPod)
	if err := os.WriteFile(bigPod, []byte(strings.ReplaceAll(string(data), "docker.io/library/busybox:1.36", big)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("play of a big image on a full disk: %s", e.fails([]string{noSpace}, "kube", "play", "-q", "--tls-verify=false", bigPod).stderr)
	e.agree(0, 0)

	// A full disk while a pod is made: the play fails and takes back what it made.
	small := twoBoxManifest(t, "configmap", "small-pod")
	filler := fill(t, e.root)
	t.Logf("play on a full disk: %s", e.fails([]string{noSpace}, "kube", "play", "-q", small).stderr)
	e.ok("images")
	e.agree(0, 0)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	e.ok("kube", "play", "-q", small)
	e.agree(1, 3)
	e.ok("kube", "down", small)

	// A bigger disk: the same pull and play succeed.
	if err := syscall.Mount("tmpfs", e.root, "tmpfs", syscall.MS_REMOUNT, "size=96m,mode=0700"); err != nil {
		t.Fatalf("growing the tmpfs: %v", err)
	}
	e.ok("pull", "-q", "--tls-verify=false", big)
	e.ok("kube", "play", "-q", "--tls-verify=false", bigPod)
	e.agree(1, 3)
	e.ok("kube", "down", bigPod)
	e.agree(0, 0)
}
