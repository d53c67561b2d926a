package image

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// openDir returns an O_PATH descriptor of the layer directory rel, resolved beneath the
// layer root without following any symlink; with create, missing directories are made.
func (x *extractor) openDir(rel string, create bool) (int, error) {
	if rel == "" || rel == "." {
		return x.rootFD, nil
	}
	if fd, ok := x.dirs[rel]; ok {
		return fd, nil
	}
	parent, base := path.Split(rel)
	pfd, err := x.openDir(strings.TrimSuffix(parent, "/"), create)
	if err != nil {
		return -1, err
	}
	how := &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	fd, err := unix.Openat2(pfd, base, how)
	if errors.Is(err, unix.ENOENT) && create {
		if err := unix.Mkdirat(pfd, base, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, fmt.Errorf("creating directory %q: %w", rel, err)
		}
		fd, err = unix.Openat2(pfd, base, how)
	}
	switch {
	case errors.Is(err, unix.ELOOP):
		return -1, fmt.Errorf("%q: %w", rel, errSymlink)
	case errors.Is(err, unix.ENOTDIR):
		var st unix.Stat_t
		if unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return -1, fmt.Errorf("%q: %w", rel, errSymlink)
		}
		return -1, fmt.Errorf("%q: %w", rel, unix.ENOTDIR)
	case errors.Is(err, unix.EXDEV):
		return -1, fmt.Errorf("%q: %w", rel, errEscape)
	case err != nil:
		return -1, fmt.Errorf("opening directory %q: %w", rel, err)
	}
	x.dirs[rel] = fd
	return fd, nil
}

// remove deletes the existing entry pfd/base (rel) so a later tar entry can replace it.
func (x *extractor) remove(rel string, pfd int, base string, st *unix.Stat_t) error {
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := unix.Unlinkat(pfd, base, 0); err != nil {
			return fmt.Errorf("replacing existing entry: %w", err)
		}
		return nil
	}
	x.dropDirs(rel)
	// Parents were resolved without symlinks, so the joined path stays inside the layer.
	if err := os.RemoveAll(filepath.Join(x.rootPath, rel)); err != nil {
		return fmt.Errorf("replacing existing directory: %w", err)
	}
	return nil
}

// dropDirs closes cached descriptors of rel and everything below it ("" drops all).
func (x *extractor) dropDirs(rel string) {
	for k, fd := range x.dirs {
		if rel == "" || k == rel || strings.HasPrefix(k, rel+"/") {
			unix.Close(fd)
			delete(x.dirs, k)
		}
	}
}
