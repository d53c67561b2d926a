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
// unmount also reaches copies held by other mount namespaces.
func NewNetNS(runroot, name string) (string, error) {
	if name == "" || filepath.Base(name) != name {
		return "", fmt.Errorf("netns name %q: must be a plain file name", name)
	}
	dir := NetNSDir(runroot)
	if err := sharedMountDir(dir); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return "", fmt.Errorf("creating netns %s: %w", path, err)
	}
	f.Close()
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
		os.Remove(path)
		return "", fmt.Errorf("creating netns %s: %w", path, err)
	}
	return path, nil
}

// sharedMountDir makes dir a mount point with shared propagation.
func sharedMountDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating netns directory: %w", err)
	}
	unlock, err := lockFile(dir + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
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
// one is not an error.
func RemoveNetNS(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil &&
		!errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmounting netns %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing netns %s: %w", path, err)
	}
	return nil
}

// ReleaseNetNSDir undoes the shared bind mount NewNetNS puts on
// <runroot>/netns, for `system reset` and tests that delete the runroot.
func ReleaseNetNSDir(runroot string) error {
	dir := NetNSDir(runroot)
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
