package image

import (
	"path/filepath"
	"testing"

	"github.com/podbay/podbay/internal/topdir"
)

// Layers are unpacked in tmp: Open marks it so that the filesystem spreads
// them (see internal/topdir).
func TestOpenSpreadsUnpackedLayers(t *testing.T) {
	root := t.TempDir()
	if _, err := Open(root, nil); err != nil {
		t.Fatal(err)
	}
	marked, err := topdir.IsMarked(filepath.Join(root, "tmp"))
	if err != nil {
		t.Logf("no inode flags here (%v): nothing to check", err)
		return
	}
	if !marked {
		t.Fatal("the store's tmp directory is not marked as a top directory")
	}
}
