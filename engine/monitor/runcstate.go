package monitor

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podbay/podbay/internal/cgroups"
)

// cgroupRemoveWait bounds the wait for a dead container's cgroups to empty.
const cgroupRemoveWait = time.Second

// deleteStoppedRunc does for a stopped runc container what `runc delete`
// does (libcontainer's destroy: remove the cgroups, then the state
// directory) without starting a runc process, which costs more than all
// the rest of an exit. The caller vouches, by setting Container.Cgroup,
// that this is all runc would do: the container had a PID namespace of its
// own (every process in it died with its init: nothing to kill) and no
// hooks. It reports false when a cgroup will not go; the caller then runs
// `runtime delete --force`.
func deleteStoppedRunc(root, id, cgroup string) bool {
	if root == "" || id == "" || cgroup == "" || strings.Contains(id, "/") {
		return false
	}
	mounts, err := cgroups.Mounts()
	if err != nil {
		return false
	}
	deadline := time.Now().Add(cgroupRemoveWait)
	for _, m := range mounts {
		if !removeCgroupTree(filepath.Join(m, cgroup), deadline) {
			return false
		}
	}
	return os.RemoveAll(filepath.Join(root, id)) == nil
}

// removeCgroupTree removes cgroup directory p and any below it, deepest
// first, retrying while the kernel still counts exiting tasks in them.
func removeCgroupTree(p string, deadline time.Time) bool {
	entries, err := os.ReadDir(p)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.IsDir() && !removeCgroupTree(filepath.Join(p, e.Name()), deadline) {
			return false
		}
	}
	for delay := time.Millisecond; ; delay = min(2*delay, 20*time.Millisecond) {
		err := unix.Rmdir(p)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return true
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return false
		}
		time.Sleep(delay) // the tasks of a dead PID namespace are still exiting
	}
}
