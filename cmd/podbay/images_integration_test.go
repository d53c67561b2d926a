//go:build integration

package main

import (
	"archive/tar"
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestImageCommands(t *testing.T) {
	e := newEnv(t)
	id := strings.TrimSpace(e.ok("pull", "-q", "--tls-verify=false", e.busybox))
	var imgs []struct {
		Id    string
		Names []string
		Size  int64
	}
	if err := json.Unmarshal([]byte(e.ok("images", "--format", "json")), &imgs); err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].Id != id || imgs[0].Names[0] != e.busybox {
		t.Fatalf("images: %+v", imgs)
	}
	e.ok("tag", e.busybox, "localhost/mine:v1")
	if out := e.ok("run", "--rm", "localhost/mine:v1", "echo", "tagged"); out != "tagged\n" {
		t.Errorf("run by new tag: %q", out)
	}
	var insp []struct {
		Id       string
		RepoTags []string
	}
	// A short name matches local images in any registry, as with Podman.
	if err := json.Unmarshal([]byte(e.ok("image", "inspect", "mine:v1")), &insp); err != nil || insp[0].Id != id {
		t.Fatalf("image inspect by short name: %+v %v", insp, err)
	}
	if err := json.Unmarshal([]byte(e.ok("image", "inspect", "localhost/mine:v1")), &insp); err != nil || insp[0].Id != id {
		t.Fatalf("image inspect: %+v %v", insp, err)
	}

	archive := filepath.Join(t.TempDir(), "bb.tar")
	e.ok("save", "-o", archive, "localhost/mine:v1")
	e.ok("rmi", "localhost/mine:v1", e.busybox)
	if out := e.ok("images", "-q"); out != "" {
		t.Fatalf("after rmi: %q", out)
	}
	if out := e.ok("load", "-i", archive); !strings.Contains(out, "Loaded image: ") {
		t.Errorf("load printed %q", out)
	}
	if out := e.ok("run", "--rm", "localhost/mine:v1", "echo", "loaded"); out != "loaded\n" {
		t.Errorf("run after load: %q", out)
	}

	// push to the registry under a new name and pull it back into an empty store.
	e.ok("tag", "localhost/mine:v1", e.registry+"/pushed/bb:2")
	e.ok("push", "--tls-verify=false", e.registry+"/pushed/bb:2")
	e.ok("rm", "-af")
	e.ok("rmi", "-f", e.registry+"/pushed/bb:2", "localhost/mine:v1")
	if got := strings.TrimSpace(e.ok("pull", "-q", "--tls-verify=false", e.registry+"/pushed/bb:2")); got != id {
		t.Errorf("pulled back %s, want %s", got, id)
	}

	// rmi of an image a container uses needs -f, which removes the container.
	e.ok("create", "--name", "user", e.registry+"/pushed/bb:2", "true")
	e.fails([]string{"in use", "user"}, "rmi", e.registry+"/pushed/bb:2")
	e.ok("rmi", "-f", e.registry+"/pushed/bb:2")
	if rows := e.ps(); len(rows) != 0 {
		t.Errorf("rmi -f left containers: %+v", rows)
	}
}

func TestImportWithChanges(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	tarball := filepath.Join(dir, "rootfs.tar")
	writeRootfsTar(t, tarball)
	id := strings.TrimSpace(e.ok("import", tarball, "localhost/imported:1", "-c", "ENV GREETING=imported", "-c", `CMD ["sh", "-c", "echo $GREETING"]`, "-c", "WORKDIR /tmp"))
	if len(id) != 64 {
		t.Fatalf("import printed %q", id)
	}
	if out := e.ok("run", "--rm", "localhost/imported:1"); out != "imported\n" {
		t.Errorf("run imported image: %q", out)
	}
	if out := e.ok("run", "--rm", "localhost/imported:1", "pwd"); out != "/tmp\n" {
		t.Errorf("WORKDIR: %q", out)
	}
}

// writeRootfsTar writes a tarball holding busybox as /bin/sh and friends.
func writeRootfsTar(t *testing.T, path string) {
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("busybox-static is needed: %v", err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"bin/", "tmp/", "etc/"} {
		must(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755}))
	}
	must(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin))}))
	_, err = tw.Write(bin)
	must(err)
	for _, l := range []string{"sh", "echo", "pwd"} {
		must(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + l, Linkname: "busybox", Mode: 0o777}))
	}
	must(tw.Close())
}

// TestKilledCommandsAreCleanedUp kills `run -d` at random points; the next
// command and `system prune` leave no mount, process or record behind.
func TestKilledCommandsAreCleanedUp(t *testing.T) {
	e := pulled(t)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	for i := 0; i < 10; i++ {
		cmd := exec.Command(filepath.Join(binDir, "podbay"), "--root", e.root, "--runroot", e.runroot,
			"run", "-d", "--name", "victim", e.busybox, "sleep", "1000")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Intn(150)) * time.Millisecond) // a random kill point, not synchronisation
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		// The next command may reuse the name: the half-created one is cleaned up.
		e.ok("rm", "-fi", "victim")
		e.ok("system", "prune")
		if m := mountsUnder(t, e.root, e.runroot); len(m) > 0 {
			t.Fatalf("round %d: mounts left after prune: %v", i, m)
		}
		if rows := e.ps(); len(rows) != 0 {
			t.Fatalf("round %d: containers left after prune: %+v", i, rows)
		}
		if p := processesMentioning(e.runroot); len(p) > 0 {
			t.Fatalf("round %d: processes left: %v", i, p)
		}
		if p := processesInContainerCgroups(t); len(p) > 0 {
			t.Fatalf("round %d: container processes left: %v", i, p)
		}
	}
}
