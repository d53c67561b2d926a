package pod

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/podspec"
)

// ViewOf is the spec a container was created from: its pod's settings, the
// container and the volumes it mounts (podspec.Pod.View). The infra has
// none.
func ViewOf(c *state.Container) podspec.Pod {
	var v podspec.Pod
	if len(c.Config) > 0 {
		_ = json.Unmarshal(c.Config, &v) // a record made before podspec reads as empty
	}
	return v
}

// putSpec records a pod's spec in its record.
func putSpec(tx *state.Tx, p *state.Pod, spec podspec.Pod) error {
	raw, err := json.Marshal(recordedSpec(spec))
	if err != nil {
		return fmt.Errorf("pod %s: recording its spec: %w", p.Name, err)
	}
	p.Spec = raw
	return tx.PutPod(p)
}

// joinPodSpec adds a container that pod podID's spec does not hold yet
// (made by run --pod) to it, and returns the container's view of the pod;
// a container the spec holds (a played one) keeps its own view. The new
// container takes a Kubernetes name made from its own and gives its
// volumes names the pod's others do not use, so that generate exports the
// pod as it runs.
func (m *Manager) joinPodSpec(ctx context.Context, podID, runtimeName string, own podspec.Pod) (podspec.Pod, error) {
	view := own
	err := m.State.Update(ctx, func(tx *state.Tx) error {
		p, err := tx.Pod(podID)
		if err != nil {
			return fmt.Errorf("pod %s was removed meanwhile: %w", podID, err)
		}
		spec := SpecOf(p)
		if containerNamed(&spec, runtimeName) != "" {
			return nil
		}
		ctr := *own.Container()
		ctr.RuntimeName = runtimeName
		ctr.Name = uniqueContainerName(&spec, podspec.KubeName(strings.TrimPrefix(runtimeName, p.Name+"-")))
		ctr.Mounts = slices.Clone(ctr.Mounts)
		for _, v := range own.Volumes {
			name := uniqueVolumeName(&spec, ctr.Name+"-"+v.Name)
			for i := range ctr.Mounts {
				if ctr.Mounts[i].Volume == v.Name {
					ctr.Mounts[i].Volume = name
				}
			}
			v.Name = name
			spec.Volumes = append(spec.Volumes, v)
		}
		spec.Containers = append(spec.Containers, ctr)
		view, _ = spec.View(ctr.Name)
		return putSpec(tx, p, spec)
	})
	return view, err
}

// leavePodSpec takes a removed container out of its pod's spec, with the
// volumes no other container mounts.
func leavePodSpec(tx *state.Tx, p *state.Pod, runtimeName string) error {
	spec := SpecOf(p)
	name := containerNamed(&spec, runtimeName)
	if name == "" {
		return nil
	}
	drop := func(c podspec.Container) bool { return c.Name == name }
	spec.InitContainers = slices.DeleteFunc(spec.InitContainers, drop)
	spec.Containers = slices.DeleteFunc(spec.Containers, drop)
	spec.Volumes = slices.DeleteFunc(spec.Volumes, func(v podspec.Volume) bool { return !anyMounts(&spec, v.Name) })
	return putSpec(tx, p, spec)
}

// containerNamed is the Kubernetes name of the container whose runtime
// name is runtimeName, "" when the spec has none.
func containerNamed(spec *podspec.Pod, runtimeName string) string {
	for _, list := range [][]podspec.Container{spec.InitContainers, spec.Containers} {
		for _, c := range list {
			if c.RuntimeName == runtimeName || (c.RuntimeName == "" && spec.Name+"-"+c.Name == runtimeName) {
				return c.Name
			}
		}
	}
	return ""
}

func anyMounts(spec *podspec.Pod, volume string) bool {
	for _, list := range [][]podspec.Container{spec.InitContainers, spec.Containers} {
		for _, c := range list {
			if slices.ContainsFunc(c.Mounts, func(m podspec.Mount) bool { return m.Volume == volume }) {
				return true
			}
		}
	}
	return false
}

func uniqueContainerName(spec *podspec.Pod, name string) string {
	taken := func(n string) bool {
		return slices.ContainsFunc(spec.InitContainers, func(c podspec.Container) bool { return c.Name == n }) ||
			slices.ContainsFunc(spec.Containers, func(c podspec.Container) bool { return c.Name == n })
	}
	return unique(name, taken)
}

func uniqueVolumeName(spec *podspec.Pod, name string) string {
	return unique(name, func(n string) bool {
		return slices.ContainsFunc(spec.Volumes, func(v podspec.Volume) bool { return v.Name == n })
	})
}

// unique is name, or name-2, name-3... whichever is not taken.
func unique(name string, taken func(string) bool) string {
	out := name
	for i := 2; taken(out); i++ {
		out = fmt.Sprintf("%s-%d", name, i)
	}
	return out
}
