// Package topdir marks a directory as the top of unrelated directory
// trees, so that ext2/3/4 spread the directories made in it over the
// filesystem's block groups (chattr +T, FS_TOPDIR_FL).
//
// Why podbay cares: on ext4 without a journal, allocating an inode skips,
// one by one, every inode of its block group deleted in the last minute or
// more (fs/ext4/ialloc.c, recently_deleted). A new directory otherwise goes
// into its parent's group, so unpacking a layer right after an image or a
// store was removed allocates each file past the hundreds of inodes just
// freed there: each of busybox's 268 symlinks took 0.2 ms. Spread, each new layer
// or container directory starts in the group with the fewest directories.
package topdir

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// flag is FS_TOPDIR_FL (include/uapi/linux/fs.h); x/sys/unix lacks it.
const flag = 0x00020000

// Make creates dir (with its parents) and marks it; a dir that exists
// already is left as it is, so that a command that finds it pays a single
// mkdir. The mark is only a placement hint: Make fails only when it cannot
// create dir.
func Make(dir string, mode os.FileMode) error {
	err := os.Mkdir(dir, mode)
	if errors.Is(err, os.ErrNotExist) {
		if err = os.MkdirAll(filepath.Dir(dir), 0o755); err == nil {
			err = os.Mkdir(dir, mode)
		}
	}
	switch {
	case errors.Is(err, os.ErrExist):
		return nil
	case err != nil:
		return err
	}
	_ = Mark(dir)
	return nil
}

// Mark sets the flag on dir unless it is set already. A filesystem without
// inode flags, or without this one (tmpfs, xfs, btrfs), is not an error:
// those place directories their own way.
func Mark(dir string) error {
	f, flags, err := flagsOf(dir)
	if err != nil {
		if unsupported(err) {
			return nil
		}
		return err
	}
	defer f.Close()
	if flags&flag != 0 {
		return nil
	}
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags|flag)); err != nil {
		if unsupported(err) {
			return nil
		}
		return &os.PathError{Op: "set inode flags", Path: dir, Err: err}
	}
	return nil
}

// IsMarked reports whether dir has the flag.
func IsMarked(dir string) (bool, error) {
	f, flags, err := flagsOf(dir)
	if err != nil {
		return false, err
	}
	f.Close()
	return flags&flag != 0, nil
}

// flagsOf opens dir and reads its inode flags; the caller closes the file.
func flagsOf(dir string) (*os.File, uint32, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, 0, err
	}
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		f.Close()
		return nil, 0, &os.PathError{Op: "get inode flags", Path: dir, Err: err}
	}
	return f, flags, nil
}

func unsupported(err error) bool {
	return errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL)
}
