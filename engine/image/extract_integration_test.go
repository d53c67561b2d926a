//go:build integration

package image

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/podbay/podbay/internal/testenv"
	"golang.org/x/sys/unix"
)

func TestExtractSpecialEntries(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root (mknod, chown, trusted xattrs)")
	}
	lower, err := extractTo(t, []entry{
		{name: "etc/", typ: tar.TypeDir},
		{name: "etc/gone", body: "x"},
		{name: "etc/kept", body: "x"},
		{name: "opaque/", typ: tar.TypeDir},
		{name: "opaque/hidden", body: "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "etc/.wh.gone", Typeflag: tar.TypeReg},
		{Name: "opaque/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "opaque/.wh..wh..opq", Typeflag: tar.TypeReg},
		{Name: "opaque/new", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "dev/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3},
		{Name: "dev/loop9", Typeflag: tar.TypeBlock, Mode: 0o660, Devmajor: 7, Devminor: 9, Gid: 6},
		{Name: "owned", Typeflag: tar.TypeReg, Mode: 0o4755, Uid: 1000, Gid: 1000,
			PAXRecords: map[string]string{"SCHILY.xattr.user.test": "v", "SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"}},
		{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "owned", Uid: 1000, Gid: 1000},
		{Name: ".wh..wh.plnk", Typeflag: tar.TypeDir, Mode: 0o700},
	} {
		h.Format = tar.FormatPAX
		tw.WriteHeader(h)
	}
	tw.Close()
	upperLayer := filepath.Join(t.TempDir(), "layer")
	os.Mkdir(upperLayer, 0o755)
	if err := extract(context.Background(), &buf, upperLayer, nil); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(upperLayer, "etc/gone"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout: %v mode %o rdev %d", err, st.Mode, st.Rdev)
	}
	if v, _ := getxattr(filepath.Join(upperLayer, "opaque"), "trusted.overlay.opaque"); v != "y" {
		t.Errorf("opaque xattr = %q", v)
	}
	if err := unix.Lstat(filepath.Join(upperLayer, "dev/null"), &st); err != nil || st.Rdev != unix.Mkdev(1, 3) || st.Mode&0o777 != 0o666 {
		t.Errorf("char device: %v %+v", err, st)
	}
	if err := unix.Lstat(filepath.Join(upperLayer, "dev/loop9"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK || st.Gid != 6 {
		t.Errorf("block device: %v %+v", err, st)
	}
	if err := unix.Lstat(filepath.Join(upperLayer, "owned"), &st); err != nil || st.Uid != 1000 || st.Mode&0o7777 != 0o4755 {
		t.Errorf("owned: %v uid %d mode %o (setuid must survive chown)", err, st.Uid, st.Mode&0o7777)
	}
	if v, _ := getxattr(filepath.Join(upperLayer, "owned"), "user.test"); v != "v" {
		t.Errorf("user xattr = %q", v)
	}
	if v, _ := getxattr(filepath.Join(upperLayer, "owned"), "security.capability"); len(v) != 20 {
		t.Errorf("file capability xattr len %d", len(v))
	}
	if err := unix.Lstat(filepath.Join(upperLayer, "link"), &st); err != nil || st.Uid != 1000 {
		t.Errorf("symlink owner: %v %d", err, st.Uid)
	}
	if _, err := os.Lstat(filepath.Join(upperLayer, ".wh..wh.plnk")); err == nil {
		t.Error("aufs metadata dir extracted")
	}

	// Through overlayfs the whiteout and the opaque dir hide the lower layer's files.
	run := t.TempDir()
	target := filepath.Join(run, "rootfs")
	if err := MountRootfs(context.Background(), []string{upperLayer, lower}, filepath.Join(run, "u"), filepath.Join(run, "w"), target); err != nil {
		t.Fatal(err)
	}
	defer UnmountRootfs(target)
	for f, want := range map[string]bool{"etc/gone": false, "etc/kept": true, "opaque/hidden": false, "opaque/new": true} {
		_, err := os.Stat(filepath.Join(target, f))
		if (err == nil) != want {
			t.Errorf("%s visible=%v, want %v", f, err == nil, want)
		}
	}
}

func getxattr(p, key string) (string, error) {
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(p, key, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// TestConcurrentPulls runs stores sharing a root, like concurrent podbay processes.
func TestConcurrentPulls(t *testing.T) {
	ctx := context.Background()
	reg := testenv.StartRegistry(t)
	ref := testenv.PushImage(t, reg, "test/busybox:1", testenv.BusyboxImage(t))
	root := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(root, nil)
			if err == nil {
				_, err = s.Pull(ctx, ref, insecure)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s, _ := Open(root, nil)
	imgs, _ := s.List(ctx)
	if len(imgs) != 1 || len(imgs[0].Names) != 1 || layerCount(t, s) != 1 {
		t.Fatalf("after concurrent pulls: %d images %+v, %d layers", len(imgs), imgs, layerCount(t, s))
	}
	tmp, _ := os.ReadDir(filepath.Join(root, "tmp"))
	if len(tmp) != 0 {
		t.Errorf("temp dirs left: %v", tmp)
	}
}

func TestPruneStaleTemp(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	live, err := s.newTemp("layer")
	if err != nil {
		t.Fatal(err)
	}
	defer live.release()
	stale := filepath.Join(root, "tmp", "layer-crashed")
	os.MkdirAll(filepath.Join(stale, "rootfs"), 0o755)
	os.WriteFile(stale+".lock", nil, 0o600) // its owner died: nobody holds the lock
	orphan := filepath.Join(root, "layers", "0123")
	os.MkdirAll(orphan, 0o755)
	if _, err := Open(root, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("stale temp dir survived Open")
	}
	if _, err := os.Stat(live.path); err != nil {
		t.Error("live temp dir removed")
	}
	if err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(orphan); err == nil {
		t.Error("unreferenced layer survived Prune")
	}
}

// BenchmarkPullBig pulls a 3-layer ~120 MB image from the local registry into an empty store.
func BenchmarkPullBig(b *testing.B) {
	reg := testenv.StartRegistry(b)
	ref := testenv.PushImage(b, reg, "bench/big:1", testenv.BigImage(b, 3, 120))
	b.SetBytes(120 << 20)
	for b.Loop() {
		s, err := Open(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Pull(context.Background(), ref, insecure); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPullWhileRemoving races pulls against rmi of the same image in one root:
// a pull whose layers are garbage-collected before it commits must fetch them again.
func TestPullWhileRemoving(t *testing.T) {
	ctx := context.Background()
	reg := testenv.StartRegistry(t)
	ref := testenv.PushImage(t, reg, "test/busybox:1", testenv.BusyboxImage(t))
	root := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 3 {
		wg.Go(func() {
			s, _ := Open(root, nil)
			for range 5 {
				if _, err := s.Pull(ctx, ref, insecure); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Go(func() {
		s, _ := Open(root, nil)
		for range 10 {
			s.Remove(ctx, ref, RemoveOptions{Force: true}) // ErrNotFound is expected at times
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s, _ := Open(root, nil)
	img, err := s.Pull(ctx, ref, insecure)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LayerDirs(ctx, img); err != nil {
		t.Fatalf("image committed without its layers: %v", err)
	}
}
