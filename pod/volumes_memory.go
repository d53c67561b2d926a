package pod

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/podbay/podbay/podspec"
)

// A memory-backed emptyDir is, as the kubelet makes it, one tmpfs for the
// whole pod: mounted once under the pod's run directory
// (<runroot>/pods/<id>/volumes/<name>), bind-mounted into every container
// that names it, so that they share its files and a container's restart
// keeps them; it goes with the pod (removePodDir).

// mountMemoryVolume mounts a tmpfs of size bytes (0: tmpfs's default) on
// dir, which it creates.
func mountMemoryVolume(dir string, size int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data := "mode=1777"
	if size > 0 {
		data += ",size=" + strconv.FormatInt(size, 10)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, data); err != nil {
		return fmt.Errorf("mounting a tmpfs on %s: %w", dir, err)
	}
	return nil
}

// memoryVolumeSize sizes a memory-backed emptyDir as the kubelet does
// (calculateEmptyDirMemorySize): the pod's memory limit when it has one,
// and sizeLimit (0: unset) when that is smaller; 0 for neither, where the
// kubelet takes the node's memory.
func memoryVolumeSize(spec *podspec.Pod, sizeLimit int64) int64 {
	size := podMemoryLimit(spec)
	if sizeLimit > 0 && (size == 0 || sizeLimit < size) {
		size = sizeLimit
	}
	return size
}

// podMemoryLimit is the memory limit of the pod's cgroup as the kubelet
// sets it (resourcehelper.PodLimits): the app containers' and sidecars'
// limits added up, or a regular init container's with the sidecars
// started before it if that is more; 0 unless every container has one.
func podMemoryLimit(spec *podspec.Pod) int64 {
	var sidecars, inits int64
	for _, c := range spec.InitContainers {
		l := c.Resources.MemoryLimit
		switch {
		case l <= 0:
			return 0
		case c.IsSidecar():
			sidecars += l
		default:
			inits = max(inits, l+sidecars)
		}
	}
	sum := sidecars
	for _, c := range spec.Containers {
		if c.Resources.MemoryLimit <= 0 {
			return 0
		}
		sum += c.Resources.MemoryLimit
	}
	return max(sum, inits)
}

// removePodDir removes a pod's directory, after unmounting its memory
// volumes (anything mounted under it; a pod without volumes has nothing to
// look for).
func (m *Manager) removePodDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "volumes")); err == nil {
		if err := m.host().UnmountUnder(dir); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	return nil
}
