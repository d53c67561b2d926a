//go:build integration

package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sys/unix"
)

// ownedLayer is a gzip layer of entries owned by several users, written
// with their headers as given (tarOf makes everything the test user's).
func ownedLayer(t *testing.T, hdrs []*tar.Header) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		h.Format, h.ModTime = tar.FormatPAX, time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestPullForeignOwners pulls, from the in-process registry, an image of
// two random.Image layers (root-owned, no timestamps) and two layers of
// files of several owners, a setuid binary, a symlink owned by another
// user and an opaque directory: ownership, modes and the opaque marker
// survive the pull. This is the part of pulling that needs root (chown to
// other users, trusted.* xattrs); the unprivileged pull tests are in
// pull_test.go.
func TestPullForeignOwners(t *testing.T) {
	ctx := context.Background()
	rnd, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	lower := ownedLayer(t, []*tar.Header{
		{Name: "srv/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 1000, Gid: 1000},
		{Name: "srv/old", Typeflag: tar.TypeReg, Mode: 0o644, Uid: 1000, Gid: 1000, Size: 3},
	})
	upper := ownedLayer(t, []*tar.Header{
		{Name: "srv/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 1000, Gid: 1000},
		{Name: "srv/.wh..wh..opq", Typeflag: tar.TypeReg},
		{Name: "srv/data", Typeflag: tar.TypeReg, Mode: 0o640, Uid: 1000, Gid: 1001, Size: 5},
		{Name: "usr/bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "usr/bin/su", Typeflag: tar.TypeReg, Mode: 0o4755, Size: 7},
		{Name: "home/nobody/", Typeflag: tar.TypeDir, Mode: 0o700, Uid: 65534, Gid: 65534},
		{Name: "home/nobody/link", Typeflag: tar.TypeSymlink, Linkname: "/srv/data", Uid: 65534, Gid: 65534},
	})
	img, err := mutate.AppendLayers(rnd, lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	reg := startRegistry(t)
	ref := reg.push(t, "test/owners:1", img)
	s := newStore(t) // fails unless root
	got, err := s.Pull(ctx, ref, plainHTTP)
	if err != nil {
		t.Fatal(err)
	}
	assertImageRecord(t, got, img, []string{ref})
	dirs, err := s.LayerDirs(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs[2:] { // the random layers: one root-owned file each
		ents, err := os.ReadDir(d)
		if err != nil || len(ents) != 1 || !strings.HasPrefix(ents[0].Name(), "random_file_") {
			t.Fatalf("random layer %s holds %v (%v)", d, ents, err)
		}
		wantOwner(t, filepath.Join(d, ents[0].Name()), 0, 0, 0)
	}
	wantOwner(t, filepath.Join(dirs[1], "srv"), 1000, 1000, 0o750)
	wantOwner(t, filepath.Join(dirs[1], "srv/old"), 1000, 1000, 0o644)
	top := dirs[0]
	wantOwner(t, filepath.Join(top, "srv"), 1000, 1000, 0o750)
	if v, err := getxattr(filepath.Join(top, "srv"), "trusted.overlay.opaque"); v != "y" {
		t.Errorf("srv/ in the top layer: opaque = %q, %v", v, err)
	}
	wantOwner(t, filepath.Join(top, "srv/data"), 1000, 1001, 0o640)
	wantOwner(t, filepath.Join(top, "usr/bin/su"), 0, 0, 0o4755)
	wantOwner(t, filepath.Join(top, "home/nobody"), 65534, 65534, 0o700)
	wantOwner(t, filepath.Join(top, "home/nobody/link"), 65534, 65534, 0o777)
}

// wantOwner checks the owner and permission bits of p (not following a symlink).
func wantOwner(t *testing.T, p string, uid, gid, perm uint32) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Errorf("%s: %v", p, err)
		return
	}
	if st.Uid != uid || st.Gid != gid || st.Mode&0o7777 != perm {
		t.Errorf("%s: %d:%d mode %o, want %d:%d mode %o", p, st.Uid, st.Gid, st.Mode&0o7777, uid, gid, perm)
	}
}
