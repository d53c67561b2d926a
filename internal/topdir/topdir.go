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

	"golang.org/x/sys/unix"
)

// flag is FS_TOPDIR_FL (include/uapi/linux/fs.h); x/sys/unix lacks it.
const flag = 0x00020000

// Mark sets the flag on dir unless it is set already. A filesystem without
// inode flags (tmpfs, overlayfs, btrfs' lack of this one) is not an error:
// the flag is a placement hint, and those place directories their own way.
func Mark(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	fd := int(f.Fd())
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		if unsupported(err) {
			return nil
		}
		return &os.PathError{Op: "get inode flags", Path: dir, Err: err}
	}
	if flags&flag != 0 {
		return nil
	}
	if err := unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags|flag)); err != nil {
		if unsupported(err) {
			return nil
		}
		return &os.PathError{Op: "set inode flags", Path: dir, Err: err}
	}
	return nil
}

// IsMarked reports whether dir has the flag.
func IsMarked(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		return false, &os.PathError{Op: "get inode flags", Path: dir, Err: err}
	}
	return flags&flag != 0, nil
}

func unsupported(err error) bool {
	return errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL)
}
