package topdir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMarkSetsTheFlagOnce(t *testing.T) {
	dir := t.TempDir()
	if err := Mark(dir); err != nil {
		t.Fatalf("Mark: %v", err)
	}
	marked, err := IsMarked(dir)
	if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EOPNOTSUPP) {
		// A filesystem without inode flags (tmpfs): Mark must not fail,
		// which is asserted above.
		t.Logf("%s has no inode flags: only checked that Mark does not fail", dir)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if !marked {
		t.Fatalf("%s: FS_TOPDIR_FL not set after Mark", dir)
	}
	// Again: already set, no error, still set.
	if err := Mark(dir); err != nil {
		t.Fatalf("second Mark: %v", err)
	}
	if marked, _ := IsMarked(dir); !marked {
		t.Fatal("flag lost on the second Mark")
	}
}

func TestMarkNotInherited(t *testing.T) {
	dir := t.TempDir()
	if err := Mark(dir); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if marked, err := IsMarked(sub); err == nil && marked {
		t.Fatal("a directory made in a marked one is marked too: its own subdirectories would be spread")
	}
}

func TestMarkMissingDirectory(t *testing.T) {
	err := Mark(filepath.Join(t.TempDir(), "nope"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Mark of a missing directory: %v, want not-exist", err)
	}
}

func TestMakeMarksOnlyWhatItCreates(t *testing.T) {
	base := t.TempDir()
	made := filepath.Join(base, "a", "b")
	if err := Make(made, 0o700); err != nil {
		t.Fatalf("Make: %v", err)
	}
	old := filepath.Join(base, "old")
	if err := os.Mkdir(old, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Make(old, 0o700); err != nil {
		t.Fatalf("Make of an existing directory: %v", err)
	}
	marked, err := IsMarked(made)
	if err != nil {
		t.Logf("%s has no inode flags: only checked that Make made it", base)
		return
	}
	if !marked {
		t.Error("a directory Make created is not marked")
	}
	if marked, _ := IsMarked(old); marked {
		t.Error("Make marked a directory it found")
	}
}
