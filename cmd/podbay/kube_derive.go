//go:build !lean

package main

import (
	"context"
	"strconv"
	"strings"

	"github.com/podbay/podbay/podspec"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/kube/generate"
	"github.com/podbay/podbay/pod"
)

// derivePodSpec rebuilds the pod-level spec of a pod made on the command
// line (no Kubernetes source) from its recorded options.
func derivePodSpec(st *pod.PodStatus) podspec.Pod {
	o := st.Options
	s := podspec.Pod{Name: st.Pod.Name, Labels: st.Pod.Labels, RestartPolicy: "Always", TerminationGracePeriodSeconds: 10}
	if o.Hostname != "" && o.Hostname != st.Pod.Name {
		s.Hostname = o.Hostname
	}
	switch o.Network {
	case "host":
		s.Network.Mode = podspec.NetworkHost
	case "none":
		s.Network.Mode = podspec.NetworkNone
	default:
		s.Network.Mode = podspec.NetworkBridge
		if o.Network != "" {
			s.Network.Networks = []string{o.Network}
		}
	}
	for _, p := range o.Ports {
		s.Network.Ports = append(s.Network.Ports, podspec.PortMapping{HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: strings.ToUpper(p.Protocol)})
	}
	for _, h := range o.AddHosts {
		name, ip, _ := strings.Cut(h, ":")
		s.Network.HostAliases = append(s.Network.HostAliases, podspec.HostAlias{IP: ip, Names: []string{name}})
	}
	s.Network.DNS = podspec.DNSSpec{Servers: o.DNS, Searches: o.DNSSearch, Options: o.DNSOpts}
	for _, sh := range o.Share {
		if sh == "pid" {
			s.ShareProcessNamespace = true
		}
	}
	return s
}

// deriveContainer rebuilds a container of a command-line pod.
func deriveContainer(c *state.Container, podName string) podspec.Container {
	o := pod.ContainerOptionsOf(c)
	name := kubeName(strings.TrimPrefix(c.Name, podName+"-"))
	kc := podspec.Container{Name: name, RuntimeName: c.Name, Image: o.Image, Args: o.Command, WorkingDir: o.Workdir, PullPolicy: "IfNotPresent"}
	if o.EntrySet {
		kc.Command = o.Entrypoint
	}
	for _, e := range o.Env {
		k, v, _ := strings.Cut(e, "=")
		kc.Env = append(kc.Env, podspec.EnvVar{Name: k, Value: v})
	}
	kc.Security = podspec.ContainerSecurity{Privileged: o.Privileged, ReadOnlyRootfs: o.ReadOnly, CapAdd: o.CapAdd, CapDrop: o.CapDrop}
	if uid, gid, ok := strings.Cut(o.User, ":"); o.User != "" {
		if n, err := strconv.ParseInt(uid, 10, 64); err == nil {
			kc.Security.RunAsUser = &n
		}
		if g, err := strconv.ParseInt(gid, 10, 64); ok && err == nil {
			kc.Security.RunAsGroup = &g
		}
	}
	kc.Resources.MemoryLimit = o.Memory
	kc.Resources.CPULimit = int64(o.CPUs * 1000)
	for i, v := range o.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 {
			continue
		}
		kc.Mounts = append(kc.Mounts, podspec.Mount{Volume: hostPathVolumeName(i), Destination: parts[1], ReadOnly: len(parts) == 3 && strings.Contains(parts[2], "ro")})
	}
	return kc
}

func hostPathVolumeName(i int) string { return "host-" + strconv.Itoa(i) }

// addHostPathVolumes declares the bind mounts (-v) of a standalone container
// as hostPath volumes.
func addHostPathVolumes(s *podspec.Pod, o pod.ContainerOptions) {
	for i, v := range o.Volumes {
		src, _, _ := strings.Cut(v, ":")
		s.Volumes = append(s.Volumes, podspec.Volume{Name: hostPathVolumeName(i), Kind: podspec.VolumeHostPath, HostPath: &podspec.HostPathSource{Path: src}})
	}
}

// containerState reports what runs now: the image as the user named it and
// the image's own configuration, so its defaults are left out.
func containerState(ctx context.Context, m *pod.Manager, c *state.Container, podName string) (generate.ContainerState, error) {
	o := pod.ContainerOptionsOf(c)
	name := kubeName(strings.TrimPrefix(c.Name, podName+"-"))
	if o.Kube != nil {
		name = o.Kube.Name
	}
	cs := generate.ContainerState{Name: name, Image: o.Image}
	if img, err := m.Images.Get(ctx, c.ImageID); err == nil {
		cfg := img.Config.Config
		cs.ImageConfig = &generate.ImageConfig{Entrypoint: cfg.Entrypoint, Cmd: cfg.Cmd, Env: cfg.Env, WorkingDir: cfg.WorkingDir, User: cfg.User}
	}
	return cs, nil
}

// claimObjects exports named volumes given by name as claims of 1Gi.
func claimObjects(names []string) []runtime.Object {
	var out []runtime.Object
	for _, n := range names {
		out = append(out, &corev1.PersistentVolumeClaim{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
			ObjectMeta: metav1.ObjectMeta{Name: n},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		})
	}
	return out
}
