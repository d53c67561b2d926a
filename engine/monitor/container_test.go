package monitor

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestExitDirGone: a failed exit write is quiet only when the container's
// directory is gone (removed while the container was exiting).
func TestExitDirGone(t *testing.T) {
	dir := t.TempDir()
	ctr := filepath.Join(dir, "ctr")
	if err := os.Mkdir(ctr, 0o755); err != nil {
		t.Fatal(err)
	}
	exitFile := filepath.Join(ctr, "exit")
	if err := WriteExit(exitFile, Exit{Code: 3}); err != nil {
		t.Fatal(err)
	}
	if exitDirGone(exitFile, os.ErrNotExist) {
		t.Error("the directory exists: the failure must be reported")
	}
	if err := os.RemoveAll(ctr); err != nil {
		t.Fatal(err)
	}
	err := WriteExit(exitFile, Exit{Code: 3})
	if err == nil {
		t.Fatal("writing into a removed directory succeeded")
	}
	if !exitDirGone(exitFile, err) {
		t.Errorf("removed directory: %v not taken for a removal", err)
	}
	if exitDirGone(exitFile, errors.New("disk full")) {
		t.Error("an error other than a missing file must be reported")
	}
}
