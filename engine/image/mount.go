package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/podbay/podbay/internal/mounts"
)

// maxMountData is the longest option string mount(2) accepts (one page, with its NUL).
const maxMountData = 4095

// MountRootfs mounts an overlayfs at target with lowers (top first) below a private upper and work dir.
// With no layers it bind-mounts upper; overlong lowerdir lists use lowerdir+ or short symlinks.
func MountRootfs(ctx context.Context, lowers []string, upper, work, target string) error {
	for _, d := range []string{upper, work, target} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("mounting rootfs at %s: %w", target, err)
		}
	}
	if len(lowers) == 0 {
		if err := unix.Mount(upper, target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("mounting rootfs at %s: bind %s: %w", target, upper, err)
		}
		return nil
	}
	for _, l := range lowers {
		if strings.ContainsAny(l, ":,") {
			return fmt.Errorf("mounting rootfs at %s: layer path %q contains ':' or ','", target, l)
		}
	}
	data := overlayData(lowers, upper, work)
	if len(data) <= maxMountData {
		return mountOverlay(data, target)
	}
	err := mountNewAPI(lowers, upper, work, target)
	if err == nil {
		return nil
	}
	if lerr := mountShortLinks(lowers, upper, work, target); lerr != nil {
		return fmt.Errorf("mounting rootfs at %s: %w", target, errors.Join(err, lerr))
	}
	return nil
}

// mountShortLinks links each layer as <target>.l/<n> and mounts with paths relative to that
// directory, from a thread with its own working directory (Podman's trick, without a child process).
func mountShortLinks(lowers []string, upper, work, target string) error {
	dir := linksDir(target)
	short, err := shortLinks(lowers, dir)
	if err != nil {
		return err
	}
	for i := range short {
		short[i] = filepath.Base(short[i])
	}
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	data := overlayData(short, abs(upper), abs(work))
	target = abs(target)
	done := make(chan error, 1)
	go func() {
		// The thread is never unlocked: it dies with the goroutine, taking its private cwd along.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			done <- fmt.Errorf("unshare CLONE_FS: %w", err)
			return
		}
		if err := unix.Chdir(dir); err != nil {
			done <- err
			return
		}
		done <- mountOverlay(data, target)
	}()
	return <-done
}

func overlayData(lowers []string, upper, work string) string {
	return "lowerdir=" + strings.Join(lowers, ":") + ",upperdir=" + upper + ",workdir=" + work
}

func mountOverlay(data, target string) error {
	if len(data) > maxMountData {
		return fmt.Errorf("mounting rootfs at %s: overlay options are %d bytes, over the %d limit", target, len(data), maxMountData)
	}
	if err := unix.Mount("overlay", target, "overlay", 0, data); err != nil {
		return fmt.Errorf("mounting overlay at %s: %w", target, err)
	}
	return nil
}

// mountNewAPI uses fsopen/fsconfig with one "lowerdir+" per layer (Linux 6.8+): no length limit.
func mountNewAPI(lowers []string, upper, work, target string) error {
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(fd)
	for _, l := range lowers {
		if err := unix.FsconfigSetString(fd, "lowerdir+", l); err != nil {
			return fmt.Errorf("overlay lowerdir+ %s: %w", l, err)
		}
	}
	if err := unix.FsconfigSetString(fd, "upperdir", upper); err != nil {
		return fmt.Errorf("overlay upperdir: %w", err)
	}
	if err := unix.FsconfigSetString(fd, "workdir", work); err != nil {
		return fmt.Errorf("overlay workdir: %w", err)
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("creating overlay: %w", err)
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("fsmount overlay: %w", err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attaching overlay at %s: %w", target, err)
	}
	return nil
}

// linksDir is where short symlinks to the layers live while target is mounted.
func linksDir(target string) string { return filepath.Clean(target) + ".l" }

// shortLinks makes dir/<n> symlinks to each layer and returns their paths.
func shortLinks(lowers []string, dir string) ([]string, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	out := make([]string, len(lowers))
	for i, l := range lowers {
		out[i] = filepath.Join(dir, strconv.FormatInt(int64(i), 36))
		if err := os.Symlink(l, out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// UnmountRootfs unmounts target (lazily if busy); it is not an error if nothing is mounted.
func UnmountRootfs(target string) error {
	if err := mounts.Unmount(target); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	if err := os.RemoveAll(linksDir(target)); err != nil {
		return fmt.Errorf("unmounting rootfs %s: %w", target, err)
	}
	return nil
}
