package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
	maxCachedDirs  = 512
)

// errEscape and errSymlink explain why an entry was refused.
var (
	errEscape  = errors.New("path escapes the layer directory")
	errSymlink = errors.New("path goes through a symlink")
)

// extractor unpacks one layer tar stream into a directory, never writing outside it.
type extractor struct {
	rootPath string
	rootFD   int
	dirs     map[string]int // relative dir -> O_PATH fd
	dirMeta  []*tar.Header  // applied after all entries, deepest last
	buf      []byte
	log      *slog.Logger
}

// extract unpacks the tar stream r into dir, which must exist.
func extract(ctx context.Context, r io.Reader, dir string, log *slog.Logger) error {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening layer directory %s: %w", dir, err)
	}
	x := &extractor{rootPath: dir, rootFD: fd, dirs: map[string]int{}, buf: make([]byte, 1<<20), log: log}
	defer x.close()
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading layer tar: %w", err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
	}
	return x.finishDirs()
}

func (x *extractor) close() {
	x.dropDirs("")
	unix.Close(x.rootFD)
}

// cleanName turns a tar entry name into a clean path relative to the layer root ("" is the root).
func cleanName(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("absolute path: %w", errEscape)
	}
	if strings.ContainsRune(name, 0) {
		return "", errors.New("NUL byte in name")
	}
	p := path.Clean(name)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", errEscape
	}
	if p == "." {
		return "", nil
	}
	return p, nil
}

// entry applies one tar header.
func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader, tar.TypeXHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
		return nil
	}
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "" {
		if hdr.Typeflag != tar.TypeDir {
			return errors.New("layer root must be a directory")
		}
		x.dirMeta = append(x.dirMeta, withName(hdr, ""))
		return nil
	}
	if len(x.dirs) > maxCachedDirs {
		x.dropDirs("")
	}
	dir, base := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	pfd, err := x.openDir(dir, true)
	if err != nil {
		return err
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		return x.whiteout(hdr, dir, pfd, base)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		if st.Mode&unix.S_IFMT == unix.S_IFDIR && hdr.Typeflag == tar.TypeDir {
			return x.dirEntry(hdr, rel, pfd, base, true)
		}
		if err := x.remove(rel, pfd, base, &st); err != nil {
			return err
		}
	}
	return x.create(hdr, rel, pfd, base, r)
}

// create makes a new filesystem object for hdr at pfd/base.
func (x *extractor) create(hdr *tar.Header, rel string, pfd int, base string, r io.Reader) error {
	perm := uint32(hdr.Mode) & 0o7777
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.dirEntry(hdr, rel, pfd, base, false)
	case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archives use TypeRegA
		return x.regular(hdr, pfd, base, r)
	case tar.TypeSymlink:
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return fmt.Errorf("creating symlink: %w", err)
		}
		return x.meta(hdr, pfd, base)
	case tar.TypeLink:
		return x.hardlink(hdr, pfd, base)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		mode := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[hdr.Typeflag]
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := unix.Mknodat(pfd, base, mode|perm, int(dev)); err != nil {
			return fmt.Errorf("creating device node: %w", err)
		}
		return x.meta(hdr, pfd, base)
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
}

// dirEntry creates (unless it exists) a directory; its metadata is applied at the end.
func (x *extractor) dirEntry(hdr *tar.Header, rel string, pfd int, base string, exists bool) error {
	if !exists {
		if err := unix.Mkdirat(pfd, base, 0o755); err != nil {
			return fmt.Errorf("creating directory: %w", err)
		}
	}
	x.dirMeta = append(x.dirMeta, withName(hdr, rel))
	return nil
}

func withName(hdr *tar.Header, rel string) *tar.Header {
	h := *hdr
	h.Name = rel
	return &h
}

// regular writes a regular file, streaming its content.
func (x *extractor) regular(hdr *tar.Header, pfd int, base string, r io.Reader) error {
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("creating file: %w", err)
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	if _, err := io.CopyBuffer(struct{ io.Writer }{f}, r, x.buf); err != nil {
		return fmt.Errorf("writing file: %w", err)
	}
	if err := f.Chown(hdr.Uid, hdr.Gid); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode)&0o7777); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	for k, v := range xattrs(hdr) {
		if err := unix.Fsetxattr(fd, k, []byte(v), 0); err != nil {
			x.xattrFailed(hdr, k, err)
		}
	}
	return setTimes(pfd, base, hdr)
}

// hardlink links pfd/base to another entry of this layer.
func (x *extractor) hardlink(hdr *tar.Header, pfd int, base string) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	if target == "" {
		return fmt.Errorf("hard link target %q: is the layer root", hdr.Linkname)
	}
	tdir, tbase := path.Split(target)
	tfd, err := x.openDir(strings.TrimSuffix(tdir, "/"), false)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	if err := unix.Linkat(tfd, tbase, pfd, base, 0); err != nil {
		return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
	}
	return nil
}

// whiteout turns .wh. entries into overlayfs whiteouts and opaque markers.
func (x *extractor) whiteout(hdr *tar.Header, dir string, pfd int, base string) error {
	if base == whiteoutOpaque {
		fd, err := unix.Openat(pfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("opening opaque directory: %w", err)
		}
		defer unix.Close(fd)
		if err := unix.Fsetxattr(fd, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
			return fmt.Errorf("marking directory opaque: %w", err)
		}
		return nil
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		return nil // aufs bookkeeping, meaningless for overlayfs
	}
	victim := strings.TrimPrefix(base, whiteoutPrefix)
	if victim == "" || victim == "." || victim == ".." {
		return errors.New("invalid whiteout name")
	}
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, victim, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		if err := x.remove(path.Join(dir, victim), pfd, victim, &st); err != nil {
			return err
		}
	}
	if err := unix.Mknodat(pfd, victim, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("creating whiteout: %w", err)
	}
	if err := unix.Fchownat(pfd, victim, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	return nil
}

// meta applies ownership, mode, xattrs and times to a non-regular entry.
func (x *extractor) meta(hdr *tar.Header, pfd int, base string) error {
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if hdr.Typeflag != tar.TypeSymlink {
		if err := unix.Fchmodat(pfd, base, uint32(hdr.Mode)&0o7777, 0); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	if xa := xattrs(hdr); len(xa) > 0 {
		p := filepath.Join(x.rootPath, hdr.Name)
		for k, v := range xa {
			if err := unix.Lsetxattr(p, k, []byte(v), 0); err != nil {
				x.xattrFailed(hdr, k, err)
			}
		}
	}
	return setTimes(pfd, base, hdr)
}

func (x *extractor) xattrFailed(hdr *tar.Header, key string, err error) {
	if x.log != nil {
		x.log.Warn("xattr not set", "entry", hdr.Name, "xattr", key, "err", err)
	}
}

// finishDirs applies directory metadata once their content is written, deepest first.
func (x *extractor) finishDirs() error {
	for i := len(x.dirMeta) - 1; i >= 0; i-- {
		hdr := x.dirMeta[i]
		if err := x.dirMetaApply(hdr); err != nil {
			return fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
	}
	return nil
}

func (x *extractor) dirMetaApply(hdr *tar.Header) error {
	fd, err := x.openDir(hdr.Name, false)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil // replaced by a later entry
	}
	if err != nil {
		return err
	}
	rfd, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(rfd)
	if err := unix.Fchown(rfd, hdr.Uid, hdr.Gid); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Fchmod(rfd, uint32(hdr.Mode)&0o7777); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	for k, v := range xattrs(hdr) {
		if err := unix.Fsetxattr(rfd, k, []byte(v), 0); err != nil {
			x.xattrFailed(hdr, k, err)
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime(hdr).UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
	return unix.UtimesNanoAt(rfd, "", ts, unix.AT_EMPTY_PATH)
}

func setTimes(pfd int, base string, hdr *tar.Header) error {
	ts := []unix.Timespec{unix.NsecToTimespec(atime(hdr).UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
	if err := unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting times: %w", err)
	}
	return nil
}

func atime(hdr *tar.Header) time.Time {
	if hdr.AccessTime.IsZero() {
		return hdr.ModTime
	}
	return hdr.AccessTime
}

// xattrs returns the extended attributes recorded in PAX records.
func xattrs(hdr *tar.Header) map[string]string {
	var out map[string]string
	for k, v := range hdr.PAXRecords {
		if key, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			if out == nil {
				out = map[string]string{}
			}
			out[key] = v
		}
	}
	return out
}
