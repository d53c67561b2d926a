package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// appLayers are three layers owned by the test's user: a base with a
// directory tree, a symlink and a hard link; a layer that changes a file,
// whites one out and adds a symlink; a top layer with one file.
func appLayers(t testing.TB) []v1.Layer {
	return []v1.Layer{
		gzipLayer(t, []entry{
			{name: "bin/", typ: tar.TypeDir},
			{name: "bin/app", body: "#!app\n", mode: 0o755},
			{name: "bin/sh", typ: tar.TypeSymlink, link: "app"},
			{name: "bin/app2", typ: tar.TypeLink, link: "bin/app"},
			{name: "etc/", typ: tar.TypeDir, mode: 0o750},
			{name: "etc/config", body: "v1"},
			{name: "etc/old", body: "removed by the next layer"},
		}),
		gzipLayer(t, []entry{
			{name: "etc/config", body: "v2"},
			{name: "etc/.wh.old"},
			{name: "etc/alias", typ: tar.TypeSymlink, link: "/etc/config"},
		}),
		gzipLayer(t, []entry{{name: "data/top", body: "top"}}),
	}
}

// TestPullMultiLayer pulls a three-layer image: every layer is unpacked
// once into its own directory (whiteouts as overlayfs whiteouts), its blob,
// the manifest and the config are stored under their digests, the image
// record names the reference, and a second pull fetches nothing.
func TestPullMultiLayer(t *testing.T) {
	ctx := context.Background()
	reg := startRegistry(t)
	img := imageOf(t, "amd64", appLayers(t)...)
	ref := reg.push(t, "test/app:1", img)
	s := openStore(t)
	var progress bytes.Buffer
	got, err := s.Pull(ctx, ref, PullOptions{InsecureRegistry: true, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	assertImageRecord(t, got, img, []string{ref})
	dirs, err := s.LayerDirs(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 3 {
		t.Fatalf("LayerDirs = %v, want 3 directories", dirs)
	}
	assertAppLayers(t, dirs[2], dirs[1], dirs[0])
	assertBlobs(t, s, img)
	if left := dirNames(t, s, "tmp"); len(left) != 0 {
		t.Errorf("tmp/ holds %v after the pull", left)
	}
	if n := strings.Count(progress.String(), " done\n"); n != 3 {
		t.Errorf("progress reports %d layers copied, want 3:\n%s", n, progress.String())
	}

	progress.Reset()
	again, err := s.Pull(ctx, ref, PullOptions{InsecureRegistry: true, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != got.ID || !slices.Equal(again.Names, []string{ref}) {
		t.Errorf("second pull: ID %s names %v, want %s [%s]", again.ID, again.Names, got.ID, ref)
	}
	if n := strings.Count(progress.String(), "skipped: already exists"); n != 3 {
		t.Errorf("second pull skipped %d layers, want 3:\n%s", n, progress.String())
	}
	if n := len(dirNames(t, s, "layers")); n != 3 {
		t.Errorf("%d layer directories after the second pull, want 3", n)
	}
	if byPrefix, err := s.Get(ctx, got.ID[:12]); err != nil || byPrefix.ID != got.ID {
		t.Errorf("Get by ID prefix: %v, %v", byPrefix, err)
	}
}

// assertImageRecord checks what Pull returned against the pushed image.
func assertImageRecord(t *testing.T, got *Image, want v1.Image, names []string) {
	t.Helper()
	id, err := want.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	m, err := want.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	dig := mustDigest(t, want)
	if got.ID != id.Hex || got.Digest != dig.String() || !slices.Contains(got.Digests, dig.String()) {
		t.Errorf("pulled ID %s digest %s digests %v, want %s and %s", got.ID, got.Digest, got.Digests, id.Hex, dig)
	}
	if !slices.Equal(got.Names, names) {
		t.Errorf("names = %v, want %v", got.Names, names)
	}
	if !slices.Equal(got.Layers, diffIDs(t, want)) {
		t.Errorf("layers = %v, want the config's diffIDs %v", got.Layers, diffIDs(t, want))
	}
	if got.Size != size {
		t.Errorf("size = %d, want %d (compressed layers plus config)", got.Size, size)
	}
	cf, _ := want.ConfigFile()
	if !slices.Equal(got.Config.Config.Cmd, cf.Config.Cmd) || !got.Created.Equal(cf.Created.Time) {
		t.Errorf("config: cmd %v created %v, want %v %v", got.Config.Config.Cmd, got.Created, cf.Config.Cmd, cf.Created)
	}
}

// assertAppLayers checks the three unpacked directories of appLayers.
func assertAppLayers(t *testing.T, base, mid, top string) {
	t.Helper()
	assertAppBase(t, base, mid)
	wantFile(t, filepath.Join(top, "data/top"), "top", 0o644)
}

// assertAppBase checks the unpacked directories of appLayers' bottom two.
func assertAppBase(t *testing.T, base, mid string) {
	t.Helper()
	wantFile(t, filepath.Join(base, "bin/app"), "#!app\n", 0o755)
	wantFile(t, filepath.Join(base, "etc/config"), "v1", 0o644)
	wantFile(t, filepath.Join(base, "etc/old"), "removed by the next layer", 0o644)
	wantLink(t, filepath.Join(base, "bin/sh"), "app")
	a, errA := os.Stat(filepath.Join(base, "bin/app"))
	b, errB := os.Stat(filepath.Join(base, "bin/app2"))
	if errA != nil || errB != nil || !os.SameFile(a, b) {
		t.Errorf("bin/app2 is not a hard link of bin/app: %v %v", errA, errB)
	}
	if st, err := os.Stat(filepath.Join(base, "etc")); err != nil || st.Mode().Perm() != 0o750 {
		t.Errorf("etc/: %v %v, want mode 0750", st, err)
	}
	wantFile(t, filepath.Join(mid, "etc/config"), "v2", 0o644)
	wantLink(t, filepath.Join(mid, "etc/alias"), "/etc/config")
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(mid, "etc/old"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("etc/old in the middle layer: %v mode %o rdev %d, want an overlayfs whiteout (char 0:0)", err, st.Mode, st.Rdev)
	}
	if _, err := os.Lstat(filepath.Join(mid, "bin")); err == nil {
		t.Error("the middle layer holds bin/: layers must be unpacked apart")
	}
}

func wantFile(t *testing.T, p, body string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil || string(data) != body {
		t.Errorf("%s = %q, %v; want %q", p, data, err, body)
		return
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != mode {
		t.Errorf("%s mode %v, want %v", p, st.Mode().Perm(), mode)
	}
}

func wantLink(t *testing.T, p, target string) {
	t.Helper()
	if got, err := os.Readlink(p); err != nil || got != target {
		t.Errorf("%s -> %q, %v; want -> %q", p, got, err, target)
	}
}

// assertBlobs checks that the store holds img's layer blobs, manifest and
// config, each under the digest of its content.
func assertBlobs(t *testing.T, s *Store, img v1.Image) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	want := []v1.Hash{mustDigest(t, img), m.Config.Digest}
	for _, l := range m.Layers {
		want = append(want, l.Digest)
	}
	for _, d := range want {
		data, err := os.ReadFile(s.blobPath(d.String()))
		if err != nil {
			t.Errorf("blob %s: %v", d, err)
			continue
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != d.Hex {
			t.Errorf("blob %s holds content of digest %x", d, sum)
		}
	}
	if n := len(dirNames(t, s, "blobs/sha256")); n != len(want) {
		t.Errorf("%d blobs stored, want %d", n, len(want))
	}
}

// TestPullByDigest pulls by manifest digest (the image gets no name and is
// found by that digest), then by tag (the same image gains the name and no
// layer is fetched again).
func TestPullByDigest(t *testing.T) {
	ctx := context.Background()
	reg := startRegistry(t)
	img := imageOf(t, "amd64", appLayers(t)...)
	tagged := reg.push(t, "test/app:1", img)
	byDigest := reg.host + "/test/app@" + mustDigest(t, img).String()
	s := openStore(t)
	got, err := s.Pull(ctx, byDigest, plainHTTP)
	if err != nil {
		t.Fatal(err)
	}
	assertImageRecord(t, got, img, nil)
	if found, err := s.Get(ctx, byDigest); err != nil || found.ID != got.ID {
		t.Errorf("Get(%s): %v, %v", byDigest, found, err)
	}
	var progress bytes.Buffer
	named, err := s.Pull(ctx, tagged, PullOptions{InsecureRegistry: true, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if named.ID != got.ID || !slices.Equal(named.Names, []string{tagged}) {
		t.Errorf("pull by tag after digest: ID %s names %v, want %s [%s]", named.ID, named.Names, got.ID, tagged)
	}
	if n := strings.Count(progress.String(), "skipped: already exists"); n != 3 {
		t.Errorf("pull by tag fetched layers again:\n%s", progress.String())
	}
	if imgs, _ := s.List(ctx); len(imgs) != 1 {
		t.Errorf("%d images stored, want 1", len(imgs))
	}
}
