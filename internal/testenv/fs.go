package testenv

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// ExtDir returns an empty directory on an ext2/3/4 filesystem, removed
// when the test ends, for tests of what only those filesystems do (inode
// flags such as FS_TOPDIR_FL): t.TempDir() when TMPDIR is on one, else a
// directory under the user's cache directory or the test's working
// directory (the package's source). None of them on ext2/3/4 fails the
// test, naming the places tried.
func ExtDir(t testing.TB) string {
	t.Helper()
	var bases []string
	if d, err := os.UserCacheDir(); err == nil {
		bases = append(bases, d)
	}
	if d, err := os.Getwd(); err == nil {
		bases = append(bases, d)
	}
	return dirOn(t, "ext2/3/4", unix.EXT4_SUPER_MAGIC, bases)
}

// TmpfsDir returns an empty directory on a tmpfs, removed when the test
// ends, for tests of what happens on a filesystem without ext4's inode
// flags: t.TempDir() when TMPDIR is on a tmpfs, else a directory under
// /dev/shm or $XDG_RUNTIME_DIR. None of them on a tmpfs fails the test,
// naming the places tried.
func TmpfsDir(t testing.TB) string {
	t.Helper()
	bases := []string{"/dev/shm"}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		bases = append(bases, d)
	}
	return dirOn(t, "tmpfs", unix.TMPFS_MAGIC, bases)
}

// dirOn returns t.TempDir() if it is on a filesystem of type magic, else a
// new directory in the first of bases that is.
func dirOn(t testing.TB, fs string, magic uint32, bases []string) string {
	t.Helper()
	tmp := t.TempDir()
	var tried []string
	for _, base := range append([]string{tmp}, bases...) {
		var st unix.Statfs_t
		if err := unix.Statfs(base, &st); err != nil {
			tried = append(tried, fmt.Sprintf("%s (%v)", base, err))
			continue
		}
		if uint32(st.Type) != magic {
			tried = append(tried, fmt.Sprintf("%s (filesystem type %#x)", base, st.Type))
			continue
		}
		if base == tmp {
			return tmp
		}
		d, err := os.MkdirTemp(base, ".podbay-test-")
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s (%v)", base, err))
			continue
		}
		t.Cleanup(func() {
			if err := os.RemoveAll(d); err != nil {
				t.Errorf("removing %s: %v", d, err)
			}
		})
		return d
	}
	t.Fatalf("this test needs a writable directory on %s (set TMPDIR to one); tried: %s", fs, strings.Join(tried, ", "))
	return ""
}
