//go:build integration

package image

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
	"github.com/podbay/podbay/internal/testenv"
)

var insecure = PullOptions{InsecureRegistry: true}

func newStore(t *testing.T) *Store {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("integration tests need root")
	}
	s, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func layerCount(t *testing.T, s *Store) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(s.Root(), "layers"))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// withExtraLayer returns base plus one small layer holding file.
func withExtraLayer(t *testing.T, base v1.Image, file string, opts ...tarball.LayerOption) v1.Image {
	t.Helper()
	data := tarOf(t, []entry{{name: file, body: "hello " + file}})
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, opts...)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, l)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestPullDedupAndMount(t *testing.T) {
	ctx := context.Background()
	reg := testenv.StartRegistry(t)
	bb := testenv.BusyboxImage(t)
	ref1 := testenv.PushImage(t, reg, "test/busybox:1", bb)
	ref2 := testenv.PushImage(t, reg, "test/app:1", withExtraLayer(t, bb, "app.txt"))
	s := newStore(t)
	var progress bytes.Buffer
	img1, err := s.Pull(ctx, ref1, PullOptions{InsecureRegistry: true, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "Copying blob") {
		t.Errorf("progress = %q", progress.String())
	}
	img2, err := s.Pull(ctx, ref2, insecure)
	if err != nil {
		t.Fatal(err)
	}
	if img2.Layers[0] != img1.Layers[0] || len(img2.Layers) != 2 {
		t.Fatalf("layers %v vs %v", img1.Layers, img2.Layers)
	}
	if n := layerCount(t, s); n != 2 {
		t.Errorf("layer dirs = %d, want 2 (shared base unpacked once)", n)
	}
	got, err := s.Get(ctx, img2.ID[:12])
	if err != nil || got.ID != img2.ID {
		t.Fatalf("Get by prefix: %v %v", got, err)
	}
	if got, err := s.Get(ctx, ref1); err != nil || got.ID != img1.ID {
		t.Fatalf("Get by name: %v", err)
	}
	if got.Config.Config.Cmd[0] != "sh" {
		t.Errorf("config cmd = %v", got.Config.Config.Cmd)
	}

	dirs, err := s.LayerDirs(ctx, img2)
	if err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	target := filepath.Join(run, "rootfs")
	if err := MountRootfs(ctx, dirs, filepath.Join(run, "upper"), filepath.Join(run, "work"), target); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { UnmountRootfs(target) })
	for _, f := range []string{"bin/busybox", "app.txt", "etc/passwd"} {
		if _, err := os.Stat(filepath.Join(target, f)); err != nil {
			t.Errorf("through the mount: %v", err)
		}
	}
	if l, err := os.Readlink(filepath.Join(target, "bin/sh")); err != nil || l != "busybox" {
		t.Errorf("bin/sh -> %q, %v", l, err)
	}
	if err := UnmountRootfs(target); err != nil {
		t.Fatal(err)
	}
	if err := UnmountRootfs(target); err != nil {
		t.Fatalf("second unmount: %v", err)
	}
	if _, err := os.Stat(filepath.Join(target, "bin/busybox")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("still mounted: %v", err)
	}
}

func TestMountLongLowerdirAndNoLayers(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	var lowers []string
	for i := range 120 {
		d := filepath.Join(base, strings.Repeat("x", 80)+string(rune('a'+i%26))+strings.Repeat("y", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "f"+string(rune('a'+i%26))), []byte("x"), 0o644)
		lowers = append(lowers, d)
	}
	for _, tc := range []struct {
		name   string
		lowers []string
		mount  func(lowers []string, upper, work, target string) error
	}{
		{"auto", lowers, func(l []string, u, w, tg string) error { return MountRootfs(ctx, l, u, w, tg) }},
		{"symlinks", lowers, mountShortLinks},
		{"none", nil, func(l []string, u, w, tg string) error { return MountRootfs(ctx, l, u, w, tg) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := t.TempDir()
			target := filepath.Join(run, "rootfs")
			for _, d := range []string{"rootfs", "upper", "work"} {
				os.MkdirAll(filepath.Join(run, d), 0o755)
			}
			if err := tc.mount(tc.lowers, filepath.Join(run, "upper"), filepath.Join(run, "work"), target); err != nil {
				t.Fatal(err)
			}
			defer UnmountRootfs(target)
			if err := os.WriteFile(filepath.Join(target, "new"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(run, "upper", "new")); err != nil {
				t.Errorf("write did not reach upper: %v", err)
			}
			if len(tc.lowers) > 0 {
				if _, err := os.Stat(filepath.Join(target, "fa")); err != nil {
					t.Errorf("lower file: %v", err)
				}
			}
			if err := UnmountRootfs(target); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(linksDir(target)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("links dir left behind")
			}
		})
	}
}

func TestPullZstdAndManifestList(t *testing.T) {
	ctx := context.Background()
	reg := testenv.StartRegistry(t)
	bb := testenv.BusyboxImage(t)
	zimg := withExtraLayer(t, bb, "z.txt", tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
	zref := testenv.PushImage(t, reg, "test/zstd:1", zimg)
	arm := withExtraLayer(t, bb, "arm.txt")
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: zimg, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	lref := testenv.PushIndex(t, reg, "test/list:1", idx)
	s := newStore(t)
	got, err := s.Pull(ctx, zref, insecure)
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := s.LayerDirs(ctx, got)
	if b, err := os.ReadFile(filepath.Join(dirs[0], "z.txt")); err != nil || string(b) != "hello z.txt" {
		t.Fatalf("zstd layer content %q %v", b, err)
	}
	fromList, err := s.Pull(ctx, lref, insecure)
	if err != nil {
		t.Fatal(err)
	}
	if fromList.ID != got.ID {
		t.Errorf("manifest list resolved to %s, want the amd64 image %s", fromList.ID, got.ID)
	}
	armID, _ := arm.ConfigName()
	s2 := newStore(t)
	armImg, err := s2.Pull(ctx, lref, PullOptions{InsecureRegistry: true, Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}})
	if err != nil || armImg.ID != armID.Hex {
		t.Errorf("platform override: %v %v, want %s", armImg, err, armID.Hex)
	}
	idxDigest, _ := idx.Digest()
	if _, err := s.Get(ctx, strings.Split(lref, ":1")[0]+"@"+idxDigest.String()); err != nil {
		t.Errorf("get by list digest: %v", err)
	}
}

func TestPushPullBackAndRemove(t *testing.T) {
	ctx := context.Background()
	reg := testenv.StartRegistry(t)
	s := newStore(t)
	ref := testenv.PushImage(t, reg, "test/busybox:1", testenv.BusyboxImage(t))
	img, err := s.Pull(ctx, ref, insecure)
	if err != nil {
		t.Fatal(err)
	}
	pushed := reg + "/copy/busybox:2"
	if err := s.Tag(ctx, ref, pushed); err != nil {
		t.Fatal(err)
	}
	if err := s.Push(ctx, pushed, insecure); err != nil {
		t.Fatal(err)
	}
	s2 := newStore(t)
	back, err := s2.Pull(ctx, pushed, insecure)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != img.ID || back.Digest != img.Digest {
		t.Errorf("round trip changed the image: %s/%s vs %s/%s", back.ID, back.Digest, img.ID, img.Digest)
	}
	// untag, then refuse by ID while two names remain, then delete with GC
	if _, err := s.Remove(ctx, img.ID, RemoveOptions{}); err == nil {
		t.Fatal("remove by ID of a multi-name image should need force")
	}
	rep, err := s.Remove(ctx, pushed, RemoveOptions{})
	if err != nil || len(rep.Untagged) != 1 || len(rep.Deleted) != 0 {
		t.Fatalf("untag: %+v %v", rep, err)
	}
	rep, err = s.Remove(ctx, ref, RemoveOptions{})
	if err != nil || len(rep.Deleted) != 1 || rep.LayersRemoved != 1 {
		t.Fatalf("delete: %+v %v", rep, err)
	}
	if n := layerCount(t, s); n != 0 {
		t.Errorf("%d layers left after rmi", n)
	}
	blobs, _ := os.ReadDir(filepath.Join(s.Root(), "blobs", "sha256"))
	if len(blobs) != 0 {
		t.Errorf("%d blobs left after rmi", len(blobs))
	}
	if _, err := s.Get(ctx, ref); !errors.Is(err, ErrNotFound) {
		t.Errorf("get after rmi: %v", err)
	}
}

func TestPullErrors(t *testing.T) {
	ctx := context.Background()
	reg := testenv.StartRegistry(t)
	s := newStore(t)
	_, err := s.Pull(ctx, reg+"/nope/missing:1", insecure)
	t.Logf("missing: %v", err)
	if err == nil || !strings.Contains(err.Error(), reg+"/nope/missing:1") || !strings.Contains(err.Error(), "unknown") {
		t.Errorf("missing image error = %v", err)
	}
	_, err = s.Pull(ctx, "127.0.0.1:1/x/y:1", insecure)
	t.Logf("unreachable: %v", err)
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("unreachable error = %v", err)
	}
	if _, err := s.Pull(ctx, "Bad//Ref", insecure); err == nil || !strings.Contains(err.Error(), "invalid reference") {
		t.Errorf("malformed error = %v", err)
	}
	ref := testenv.PushImage(t, reg, "test/busybox:1", testenv.BusyboxImage(t))
	_, err = s.Pull(ctx, ref, PullOptions{})
	t.Logf("https: %v", err)
	if err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("plain http without --tls-verify=false: %v", err)
	}
	imgs, _ := s.List(ctx)
	if len(imgs) != 0 || layerCount(t, s) != 0 {
		t.Errorf("failed pulls left %d images, %d layers", len(imgs), layerCount(t, s))
	}
}

// A registry that serves a layer whose bytes do not match its digest: the
// pull fails naming the layer and the mismatch, and stores nothing. The
// compressed digest is checked only by the registry client as it reads
// (ingest does not hash the stream twice), so this guards that check.
func TestPullCorruptBlob(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	reg := testenv.StartRegistryIn(t, dir)
	img := withExtraLayer(t, testenv.BusyboxImage(t), "extra.txt")
	ref := testenv.PushImage(t, reg, "test/corrupt:1", img)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	dig, err := layers[len(layers)-1].Digest()
	if err != nil {
		t.Fatal(err)
	}
	path := testenv.BlobData(dir, dig.String())
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the registry's copy of layer %s: %v", dig, err)
	}
	// The gzip header's MTIME (bytes 4-7) is in no checksum: the layer still
	// decompresses to the content the image config names, so only the
	// compressed digest can tell.
	data[4] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	_, err = s.Pull(ctx, ref, insecure)
	t.Logf("corrupt blob: %v", err)
	if err == nil || !strings.Contains(err.Error(), dig.String()) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("pull of a corrupt layer: err = %v, want a checksum error naming %s", err, dig)
	}
	imgs, _ := s.List(ctx)
	if len(imgs) != 0 || layerCount(t, s) != 0 {
		t.Errorf("failed pull left %d images, %d layers", len(imgs), layerCount(t, s))
	}
	blobs, _ := os.ReadDir(filepath.Join(s.Root(), "blobs", "sha256"))
	if len(blobs) != 0 {
		t.Errorf("failed pull left %d blobs", len(blobs))
	}
}

func TestAuthFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "auth.json")
	os.WriteFile(p, []byte(`{"auths":{"reg.example:5000":{"auth":"dXNlcjpwYXNz"}}}`), 0o600)
	repo, _ := name.NewRepository("reg.example:5000/a/b")
	a, err := authFiles(p).Resolve(repo)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := a.Authorization()
	if cfg.Username != "user" || cfg.Password != "pass" {
		t.Errorf("auth = %+v", cfg)
	}
}

func TestLoadSave(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	dir := t.TempDir()
	// docker-archive built by ggcr
	tag, _ := name.NewTag("example.com/test/busybox:1")
	docker := filepath.Join(dir, "docker.tar")
	if err := tarball.WriteToFile(docker, tag, testenv.BusyboxImage(t)); err != nil {
		t.Fatal(err)
	}
	imgs, err := s.Load(ctx, docker)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].Names[0] != "example.com/test/busybox:1" {
		t.Fatalf("loaded %+v", imgs)
	}
	// oci-archive round trip into a fresh store
	oci := filepath.Join(dir, "oci.tar")
	if err := s.Save(ctx, "example.com/test/busybox:1", oci); err != nil {
		t.Fatal(err)
	}
	s2 := newStore(t)
	back, err := s2.Load(ctx, oci)
	if err != nil {
		t.Fatal(err)
	}
	if back[0].ID != imgs[0].ID || back[0].Digest != imgs[0].Digest || back[0].Names[0] != imgs[0].Names[0] {
		t.Errorf("oci round trip: %+v vs %+v", back[0], imgs[0])
	}
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	dir := t.TempDir()
	// import a rootfs tarball with changes
	rootfs := filepath.Join(dir, "rootfs.tar")
	os.WriteFile(rootfs, testenv.BusyboxTar(t), 0o644)
	imp, err := s.Import(ctx, rootfs, "imported:1", []string{"ENV PATH=/bin", `CMD ["sh"]`, "WORKDIR /tmp"})
	if err != nil {
		t.Fatal(err)
	}
	if imp.Names[0] != "docker.io/library/imported:1" || imp.Config.Config.Cmd[0] != "sh" || imp.Config.Config.WorkingDir != "/tmp" {
		t.Errorf("imported %+v", imp)
	}
	// zstd-compressed rootfs tarballs import too; a truncated one is refused
	var zbuf bytes.Buffer
	zw, _ := zstd.NewWriter(&zbuf)
	zw.Write(testenv.BusyboxTar(t))
	zw.Close()
	zfile := filepath.Join(dir, "rootfs.tar.zst")
	os.WriteFile(zfile, zbuf.Bytes(), 0o644)
	zimp, err := s.Import(ctx, zfile, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(zimp.Names) != 0 || zimp.Layers[0] != imp.Layers[0] {
		t.Errorf("zstd import: names %v layers %v vs %v", zimp.Names, zimp.Layers, imp.Layers)
	}
	trunc := filepath.Join(dir, "trunc.tar")
	os.WriteFile(trunc, testenv.BusyboxTar(t)[:500000], 0o644)
	_, err = s.Import(ctx, trunc, "trunc:1", nil)
	t.Logf("truncated import: %v", err)
	if err == nil || !strings.Contains(err.Error(), "trunc.tar") {
		t.Errorf("truncated import: %v", err)
	}
}

func TestLoadCorrupt(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	dir := t.TempDir()
	ref := "example.com/test/busybox:1"
	tag, _ := name.NewTag(ref)
	docker := filepath.Join(dir, "docker.tar")
	if err := tarball.WriteToFile(docker, tag, testenv.BusyboxImage(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, docker); err != nil {
		t.Fatal(err)
	}
	oci := filepath.Join(dir, "oci.tar")
	if err := s.Save(ctx, ref, oci); err != nil {
		t.Fatal(err)
	}
	// a corrupt archive: one clear error, nothing left
	before := layerCount(t, s)
	data, _ := os.ReadFile(oci)
	bad := filepath.Join(dir, "bad.tar")
	os.WriteFile(bad, data[:len(data)/2], 0o644)
	s3 := newStore(t)
	_, err := s3.Load(ctx, bad)
	t.Logf("corrupt: %v", err)
	if err == nil || !strings.Contains(err.Error(), "bad.tar") {
		t.Errorf("corrupt archive error = %v", err)
	}
	if n := layerCount(t, s3); n != 0 {
		t.Errorf("corrupt load left %d layers", n)
	}
	tmp, _ := os.ReadDir(filepath.Join(s3.Root(), "tmp"))
	if len(tmp) != 0 || layerCount(t, s) != before {
		t.Errorf("corrupt load left temp files %v", tmp)
	}
	garbage := filepath.Join(dir, "garbage")
	os.WriteFile(garbage, []byte("not a tar at all, clearly"), 0o644)
	_, err = s3.Load(ctx, garbage)
	t.Logf("garbage: %v", err)
	if err == nil {
		t.Error("garbage loaded")
	}
}
