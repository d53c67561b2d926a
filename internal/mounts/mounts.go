// Package mounts finds and removes the mounts under a directory, as this
// process's /proc/self/mountinfo lists them: what `system reset` and the
// removal of a pod's run directory must undo before deleting files, since a
// mount point cannot be removed (EBUSY) and removing a mounted file
// system's files would empty it, not unmount it.
package mounts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Under returns the mount points strictly under dir, deepest first (for a
// point mounted more than once, once per mount, the latest first). A
// missing dir has none.
func Under(dir string) ([]string, error) {
	dir, err := resolve(dir)
	if err != nil || dir == "" {
		return nil, err
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("listing mounts under %s: %w", dir, err)
	}
	return under(string(data), dir), nil
}

// UnmountUnder unmounts every mount strictly under dir, deepest first;
// dir itself stays mounted if it is a mount point. A mount that will not go
// while in use is detached (MNT_DETACH).
func UnmountUnder(dir string) error {
	points, err := Under(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range points {
		errs = append(errs, Unmount(p))
	}
	return errors.Join(errs...)
}

// Unmount unmounts the mount on top of path, detaching it when busy. A
// path that is not (or no longer) a mount point is not an error.
func Unmount(path string) error {
	err := unix.Unmount(path, 0)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(path, unix.MNT_DETACH)
	}
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmounting %s: %w", path, err)
	}
	return nil
}

// resolve makes dir absolute and free of symbolic links, as mountinfo
// names it; "" when it does not exist.
func resolve(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("listing mounts under %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("listing mounts under %s: %w", dir, err)
	}
	return real, nil
}

// under picks from mountinfo the mount points strictly under dir (absolute
// and clean), deepest first, later mounts of one point before earlier ones.
func under(mountinfo, dir string) []string {
	prefix := strings.TrimSuffix(dir, "/") + "/"
	var out []string
	for _, line := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		if p := unescape(f[4]); strings.HasPrefix(p, prefix) {
			out = append(out, p)
		}
	}
	slices.Reverse(out) // mountinfo lists mounts in the order they were made
	slices.SortStableFunc(out, func(a, b string) int {
		return strings.Count(b, "/") - strings.Count(a, "/")
	})
	return out
}

// unescape decodes the octal escapes (\040 for a space) that mountinfo
// uses for space, tab, newline and backslash.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
