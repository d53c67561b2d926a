package topdir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/podbay/podbay/internal/testenv"
)

// The flag is ext2/3/4's: these tests run on one (testenv.ExtDir), and
// TestMarkWithoutTheFlag on a tmpfs.

func TestMarkSetsTheFlagOnce(t *testing.T) {
	dir := testenv.ExtDir(t)
	if err := Mark(dir); err != nil {
		t.Fatalf("Mark: %v", err)
	}
	marked, err := IsMarked(dir)
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
	dir := testenv.ExtDir(t)
	if err := Mark(dir); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if marked, err := IsMarked(dir); err != nil || !marked {
		t.Fatalf("%s: marked %v, %v; want marked", dir, marked, err)
	}
	if marked, err := IsMarked(sub); err != nil || marked {
		t.Fatalf("%s: marked %v, %v; want unmarked: a directory made in a marked one must not be, or its own subdirectories would be spread", sub, marked, err)
	}
}

func TestMarkMissingDirectory(t *testing.T) {
	err := Mark(filepath.Join(t.TempDir(), "nope"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Mark of a missing directory: %v, want not-exist", err)
	}
}

func TestMakeMarksOnlyWhatItCreates(t *testing.T) {
	base := testenv.ExtDir(t)
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
	if marked, err := IsMarked(made); err != nil || !marked {
		t.Errorf("a directory Make created: marked %v, %v; want marked", marked, err)
	}
	if marked, err := IsMarked(old); err != nil || marked {
		t.Errorf("a directory Make found: marked %v, %v; want left unmarked", marked, err)
	}
}

// TestMarkWithoutTheFlag: on a filesystem without the flag (a tmpfs), Mark
// and Make succeed, as documented, and the directory is not marked. Since
// Linux 6.0 a tmpfs reads inode flags (IsMarked says false) but refuses to
// set this one; before, it had none (IsMarked fails with ENOTTY).
func TestMarkWithoutTheFlag(t *testing.T) {
	dir := testenv.TmpfsDir(t)
	if err := Mark(dir); err != nil {
		t.Fatalf("Mark on a tmpfs: %v, want no error", err)
	}
	made := filepath.Join(dir, "a", "b")
	if err := Make(made, 0o700); err != nil {
		t.Fatalf("Make on a tmpfs: %v, want no error", err)
	}
	for _, d := range []string{dir, made} {
		marked, err := IsMarked(d)
		if marked || (err != nil && !unsupported(err)) {
			t.Errorf("%s on a tmpfs: marked %v, %v; want unmarked (or no inode flags)", d, marked, err)
		}
	}
	if st, err := os.Stat(made); err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
		t.Errorf("Make on a tmpfs made %v, %v; want a directory of mode 0700", st, err)
	}
}
