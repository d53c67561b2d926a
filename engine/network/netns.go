package network

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// nsfsMagic is the statfs type of a bind-mounted namespace file.
const nsfsMagic = 0x6e736673

// NetNSDir is where a runroot keeps its network namespace bind mounts.
func NetNSDir(runroot string) string { return filepath.Join(runroot, "netns") }

// NewNetNS creates a network namespace and bind-mounts it at
// <runroot>/netns/<name>, so that it outlives the creating process. The
// directory is made a shared mount point (as `ip netns` does) so that an
// unmount also reaches copies held by other mount namespaces; RemoveNetNS
// of its last namespace unmounts it again.
func NewNetNS(runroot, name string) (string, error) {
	if name == "" || filepath.Base(name) != name {
		return "", fmt.Errorf("netns name %q: must be a plain file name", name)
	}
	path := filepath.Join(NetNSDir(runroot), name)
	if err := claimNetNSFile(path); err != nil {
		return "", err
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is never unlocked once it changed namespace: Go then
		// ends it with the goroutine instead of reusing it.
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		src := fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		errc <- unix.Mount(src, path, "none", unix.MS_BIND, "")
	}()
	if err := <-errc; err != nil {
		return "", errors.Join(fmt.Errorf("creating netns %s: %w", path, err), RemoveNetNS(path))
	}
	return path, nil
}

// claimNetNSFile creates the empty file a namespace is mounted on, in its
// directory made a shared mount point. Both happen under the directory's
// lock, which RemoveNetNS takes to unmount the directory once it is empty:
// the file keeps the directory mounted from then on, so the namespace
// mounted on it later, without the lock, stays reachable.
func claimNetNSFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating netns directory: %w", err)
	}
	unlock, err := lockFile(netnsDirLock(dir))
	if err != nil {
		return err
	}
	defer unlock()
	if err := sharedMountDir(dir); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fmt.Errorf("creating netns %s: %w", path, err)
	}
	return f.Close()
}

// netnsDirLock is the lock of a namespace directory, beside it.
func netnsDirLock(dir string) string { return dir + ".lock" }

// sharedMountDir makes dir a mount point with shared propagation (its
// lock held).
func sharedMountDir(dir string) error {
	if err := unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, ""); err == nil {
		return nil
	} else if !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("making %s shared: %w", dir, err)
	}
	// Not a mount point yet.
	if err := unix.Mount(dir, dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind-mounting %s: %w", dir, err)
	}
	if err := unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("making %s shared: %w", dir, err)
	}
	return nil
}

// RemoveNetNS unmounts and deletes a namespace made by NewNetNS. A missing
// one is not an error. When it was the last one, the directory's own mount
// goes too, so that nothing stays mounted under the runroot.
func RemoveNetNS(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil &&
		!errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmounting netns %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing netns %s: %w", path, err)
	}
	return releaseEmptyDir(filepath.Dir(path))
}

// releaseEmptyDir unmounts a namespace directory made by NewNetNS once it
// holds no namespace file, under its lock. A directory without that lock
// beside it (say, iproute2's /run/netns) is not NewNetNS's: left alone.
func releaseEmptyDir(dir string) error {
	lockPath := netnsDirLock(dir)
	if _, err := os.Stat(lockPath); err != nil {
		return nil
	}
	unlock, err := lockFile(lockPath)
	if err != nil {
		return err
	}
	defer unlock()
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist), err == nil && len(entries) > 0:
		return nil
	case err != nil:
		return fmt.Errorf("releasing netns directory: %w", err)
	}
	return unmountDir(dir)
}

// ReleaseNetNSDir undoes the shared bind mount NewNetNS puts on
// <runroot>/netns whatever it holds, for tests that delete the runroot
// (`system reset` unmounts everything under the runroot).
func ReleaseNetNSDir(runroot string) error { return unmountDir(NetNSDir(runroot)) }

func unmountDir(dir string) error {
	if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil &&
		!errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmounting %s: %w", dir, err)
	}
	return nil
}

// IsNetNS reports whether path is a live, mounted network namespace.
func IsNetNS(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == nsfsMagic
}

// InNetNS runs fn on an OS thread that has entered the namespace at path.
// Only fn's own goroutine is inside: goroutines it starts are not.
func InNetNS(path string, fn func() error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening netns %s: %w", path, err)
	}
	defer f.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("entering netns %s: %w", path, err)
			return
		}
		// Never unlocked: the thread dies with this goroutine.
		errc <- fn()
	}()
	return <-errc
}

// SetupLoopback brings up "lo" in the namespace at path, through netlink:
// for pods with no network, and by Attach in place of the loopback plugin.
func SetupLoopback(path string) error {
	return InNetNS(path, func() error {
		lo, err := netlink.LinkByName("lo")
		if err == nil {
			err = netlink.LinkSetUp(lo)
		}
		if err != nil {
			return fmt.Errorf("bringing up lo in %s: %w", path, err)
		}
		return nil
	})
}
