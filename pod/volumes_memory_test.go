package pod

import (
	"testing"

	"github.com/podbay/podbay/podspec"
)

func withMemory(limits ...int64) []podspec.Container {
	var cs []podspec.Container
	for _, l := range limits {
		cs = append(cs, podspec.Container{Resources: podspec.Resources{MemoryLimit: l}})
	}
	return cs
}

// TestMemoryVolumeSize: sizeLimit, bounded by the pod's memory limit when
// every container has one (kubelet's calculateEmptyDirMemorySize).
func TestMemoryVolumeSize(t *testing.T) {
	const mi = 1 << 20
	sidecar := podspec.Container{RestartPolicy: "Always", Resources: podspec.Resources{MemoryLimit: 8 * mi}}
	for _, tc := range []struct {
		name      string
		spec      podspec.Pod
		sizeLimit int64
		want      int64
	}{
		{"nothing set: tmpfs's default", podspec.Pod{Containers: withMemory(0, 0)}, 0, 0},
		{"sizeLimit alone", podspec.Pod{Containers: withMemory(0)}, 16 * mi, 16 * mi},
		{"one container without a limit: no pod limit", podspec.Pod{Containers: withMemory(32*mi, 0)}, 0, 0},
		{"the pod's limit: the sum of the containers'", podspec.Pod{Containers: withMemory(32*mi, 32*mi)}, 0, 64 * mi},
		{"sizeLimit under the pod's limit", podspec.Pod{Containers: withMemory(32*mi, 32*mi)}, 16 * mi, 16 * mi},
		{"sizeLimit over the pod's limit", podspec.Pod{Containers: withMemory(32*mi, 32*mi)}, 128 * mi, 64 * mi},
		{"an init container larger than the apps", podspec.Pod{InitContainers: withMemory(100 * mi), Containers: withMemory(32 * mi)}, 0, 100 * mi},
		{"an init container without a limit", podspec.Pod{InitContainers: withMemory(0), Containers: withMemory(32 * mi)}, 0, 0},
		{"a sidecar counts with the apps and the later init containers",
			podspec.Pod{InitContainers: append([]podspec.Container{sidecar}, withMemory(60*mi)...), Containers: withMemory(32 * mi)}, 0, 68 * mi},
	} {
		if got := memoryVolumeSize(&tc.spec, tc.sizeLimit); got != tc.want {
			t.Errorf("%s: size %d MiB, want %d MiB", tc.name, got/mi, tc.want/mi)
		}
	}
}

// TestMemoryVolumeIsOneBindForAll: every container that names a memory
// volume bind-mounts the pod's one directory (its tmpfs), read-only where
// its mount says so, at its own path.
func TestMemoryVolumeIsOneBindForAll(t *testing.T) {
	vols := map[string]preparedVolume{"cache": {source: "/run/podbay/pods/p/volumes/cache"}}
	a := &podspec.Container{Name: "a", Mounts: []podspec.Mount{{Volume: "cache", Destination: "/cache"}}}
	b := &podspec.Container{Name: "b", Mounts: []podspec.Mount{{Volume: "cache", Destination: "/data", ReadOnly: true}}}
	ma, err := mountOptions(a, vols)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := mountOptions(b, vols)
	if err != nil {
		t.Fatal(err)
	}
	if len(ma) != 1 || len(mb) != 1 || ma[0].Type != "bind" || mb[0].Type != "bind" || ma[0].Source != mb[0].Source {
		t.Fatalf("mounts %+v and %+v: want binds of one source", ma, mb)
	}
	if ma[0].Destination != "/cache" || mb[0].Destination != "/data" || len(mb[0].Options) != 2 || mb[0].Options[1] != "ro" {
		t.Errorf("mounts %+v and %+v", ma, mb)
	}
}
