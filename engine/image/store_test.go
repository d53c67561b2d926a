package image

import (
	"path/filepath"
	"testing"

	"github.com/podbay/podbay/internal/testenv"
	"github.com/podbay/podbay/internal/topdir"
)

// Layers are unpacked in tmp: Open marks it so that the filesystem spreads
// them (see internal/topdir). The flag is ext2/3/4's: the store is opened on
// one.
func TestOpenSpreadsUnpackedLayers(t *testing.T) {
	root := testenv.ExtDir(t)
	if _, err := Open(root, nil); err != nil {
		t.Fatal(err)
	}
	marked, err := topdir.IsMarked(filepath.Join(root, "tmp"))
	if err != nil || !marked {
		t.Fatalf("the store's tmp directory: marked %v, %v; want marked as a top directory", marked, err)
	}
}

// TestOpenWithoutInodeFlags: on a filesystem without FS_TOPDIR_FL (a tmpfs)
// the store opens all the same (the flag is only a placement hint) and can
// pull.
func TestOpenWithoutInodeFlags(t *testing.T) {
	s, err := Open(testenv.TmpfsDir(t), nil)
	if err != nil {
		t.Fatalf("Open on a tmpfs: %v", err)
	}
	if marked, _ := topdir.IsMarked(filepath.Join(s.Root(), "tmp")); marked {
		t.Error("tmp/ marked on a tmpfs")
	}
	reg := startRegistry(t)
	ref := reg.push(t, "test/app:1", imageOf(t, "amd64", appLayers(t)...))
	if _, err := s.Pull(t.Context(), ref, plainHTTP); err != nil {
		t.Fatalf("pull into a store on a tmpfs: %v", err)
	}
}
