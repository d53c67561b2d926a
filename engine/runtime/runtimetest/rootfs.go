// Package runtimetest builds small root filesystems and bundles for tests that run real containers.
package runtimetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Busybox is the static busybox binary the test root filesystems are made of.
const Busybox = "/bin/busybox"

// Passwd and Group are the /etc files of a test root filesystem: root, and
// app (1000:1000) who is also in group "extra" (2000).
const (
	Passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	Group  = "root:x:0:\napp:x:1000:\nextra:x:2000:app\nnogroup:x:65534:\n"
)

// Rootfs builds a root filesystem in a temporary directory: busybox with
// its applet links in /bin, /etc/passwd and /etc/group. It fails the test
// when busybox is missing.
func Rootfs(t testing.TB) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "root", "home/app"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(Busybox)
	if err != nil {
		t.Fatalf("test rootfs needs %s (apt-get install busybox-static): %v", Busybox, err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(Busybox, "--list").Output()
	if err != nil {
		t.Fatalf("listing busybox applets: %v", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "etc/passwd"), Passwd)
	writeFile(t, filepath.Join(root, "etc/group"), Group)
	return root
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
