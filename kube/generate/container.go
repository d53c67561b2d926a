package generate

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/podbay/podbay/podspec"
)

// defaultTerminationMessagePath is the kubelet's default terminationMessagePath.
const defaultTerminationMessagePath = "/dev/termination-log"

// deriveContainer builds a Kubernetes container from the runtime's description,
// leaving out what the image or Kubernetes defaults already give.
func (g *generator) deriveContainer(p *Pod, c *podspec.Container) corev1.Container {
	var img *ImageConfig
	st := p.state(c.Name)
	out := corev1.Container{Name: c.Name, Image: c.Image, Stdin: c.Stdin, StdinOnce: c.StdinOnce, TTY: c.TTY}
	if st != nil {
		img = st.ImageConfig
		if st.Image != "" {
			out.Image = st.Image
		}
	}
	if c.PullPolicy != "" && c.PullPolicy != defaultPullPolicy(out.Image) {
		out.ImagePullPolicy = corev1.PullPolicy(c.PullPolicy)
	}
	out.Command, out.Args = commandOf(c, img)
	out.Command, out.Args = g.unmarkAll(p.Spec.Name, out.Command), g.unmarkAll(p.Spec.Name, out.Args)
	if img == nil || c.WorkingDir != img.WorkingDir {
		out.WorkingDir = c.WorkingDir
	}
	out.Env = g.envOf(p, c, img)
	for _, ef := range c.EnvFrom {
		out.EnvFrom = append(out.EnvFrom, envFromOf(ef))
	}
	for _, cp := range c.Ports {
		out.Ports = append(out.Ports, corev1.ContainerPort{Name: cp.Name, ContainerPort: int32(cp.ContainerPort),
			HostPort: int32(cp.HostPort), HostIP: cp.HostIP, Protocol: protocol(cp.Protocol)})
	}
	out.Resources = resourcesOf(c.Resources)
	out.SecurityContext = securityContext(c.Security, p.Spec.Security)
	for _, m := range c.Mounts {
		if !g.keepsVolume(p, m.Volume) {
			continue
		}
		vm := corev1.VolumeMount{Name: m.Volume, MountPath: m.Destination, SubPath: m.SubPath, ReadOnly: m.ReadOnly}
		if m.Propagation != "" {
			vm.MountPropagation = ptr(corev1.MountPropagationMode(m.Propagation))
		}
		out.VolumeMounts = append(out.VolumeMounts, vm)
	}
	out.LivenessProbe, out.ReadinessProbe, out.StartupProbe = probeOf(c.Liveness), probeOf(c.Readiness), probeOf(c.Startup)
	out.Lifecycle = lifecycleOf(c)
	if c.RestartPolicy != "" {
		out.RestartPolicy = ptr(corev1.ContainerRestartPolicy(c.RestartPolicy))
	}
	if c.TerminationMessagePath != defaultTerminationMessagePath {
		out.TerminationMessagePath = c.TerminationMessagePath
	}
	return out
}

// defaultPullPolicy is Kubernetes' default: Always for :latest or no tag, else IfNotPresent.
func defaultPullPolicy(image string) string {
	if strings.Contains(image, "@") {
		return string(corev1.PullIfNotPresent)
	}
	last := image[strings.LastIndex(image, "/")+1:]
	_, tag, hasTag := strings.Cut(last, ":")
	if !hasTag || tag == "latest" {
		return string(corev1.PullAlways)
	}
	return string(corev1.PullIfNotPresent)
}

// commandOf returns command and args, leaving out what equals the image's entrypoint
// and cmd; a command recorded as the whole process (entrypoint first) becomes args.
func commandOf(c *podspec.Container, img *ImageConfig) ([]string, []string) {
	cmd, args := c.Command, c.Args
	if img == nil {
		return cmd, args
	}
	proc := slices.Concat(cmd, args)
	if cmd == nil {
		proc = slices.Concat(img.Entrypoint, cmpSlice(args, img.Cmd))
	}
	entry := img.Entrypoint
	switch {
	case slices.Equal(proc, slices.Concat(entry, img.Cmd)):
		return nil, nil
	case len(entry) > 0 && len(args) == 0 && len(cmd) > len(entry) && hasPrefix(cmd, entry):
		return nil, cmd[len(entry):]
	case len(entry) > 0 && len(args) > 0 && slices.Equal(cmd, entry):
		return nil, args
	}
	return cmd, args
}

func cmpSlice(a, def []string) []string {
	if len(a) == 0 {
		return def
	}
	return a
}

func hasPrefix(list, prefix []string) bool {
	return len(list) >= len(prefix) && slices.Equal(list[:len(prefix)], prefix)
}

// envOf returns the variables the user set: not the image's, not envFrom's, not service links.
func (g *generator) envOf(p *Pod, c *podspec.Container, img *ImageConfig) []corev1.EnvVar {
	fromImage := map[string]bool{}
	if img != nil {
		for _, e := range img.Env {
			fromImage[e] = true
		}
	}
	fromRefs := g.envFromValues(p, c.EnvFrom)
	var out []corev1.EnvVar
	for _, e := range c.Env {
		if e.From != nil {
			if vf := valueFromOf(e.From); vf != nil {
				out = append(out, corev1.EnvVar{Name: e.Name, ValueFrom: vf})
			}
			continue
		}
		if fromImage[e.Name+"="+e.Value] {
			continue
		}
		if v, ok := fromRefs[e.Name]; ok && v == e.Value {
			continue
		}
		out = append(out, corev1.EnvVar{Name: e.Name, Value: g.unmark(p.Spec.Name, e.Value)})
	}
	return out
}

// envFromValues returns the variables envFrom sources set, as the pod resolved them.
func (g *generator) envFromValues(p *Pod, refs []podspec.EnvFromSource) map[string]string {
	out := map[string]string{}
	for _, ef := range refs {
		switch ef.Kind {
		case "configMap":
			if cm := p.configMap(ef.Name); cm != nil {
				for k, v := range cm.Data {
					out[ef.Prefix+k] = v
				}
			}
		case "secret":
			if s := p.secret(ef.Name); s != nil {
				for k, v := range s.Data {
					out[ef.Prefix+k] = string(v)
				}
			}
		}
	}
	return out
}

func envFromOf(ef podspec.EnvFromSource) corev1.EnvFromSource {
	out := corev1.EnvFromSource{Prefix: ef.Prefix}
	ref := corev1.LocalObjectReference{Name: ef.Name}
	if ef.Kind == "secret" {
		out.SecretRef = &corev1.SecretEnvSource{LocalObjectReference: ref, Optional: optional(ef.Optional)}
	} else {
		out.ConfigMapRef = &corev1.ConfigMapEnvSource{LocalObjectReference: ref, Optional: optional(ef.Optional)}
	}
	return out
}

func optional(b bool) *bool {
	if !b {
		return nil
	}
	return ptr(true)
}

// valueFromOf turns a recorded env source back into a reference; service links give nil.
func valueFromOf(s *podspec.EnvSource) *corev1.EnvVarSource {
	switch s.Kind {
	case "configMapKeyRef":
		return &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: s.Name}, Key: s.Key, Optional: optional(s.Optional)}}
	case "secretKeyRef":
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: s.Name}, Key: s.Key, Optional: optional(s.Optional)}}
	case "fieldRef":
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: s.FieldPath}}
	case "resourceFieldRef":
		r := &corev1.ResourceFieldSelector{ContainerName: s.Container, Resource: s.Resource}
		if s.Divisor != "" {
			if q, err := resource.ParseQuantity(s.Divisor); err == nil {
				r.Divisor = q
			}
		}
		return &corev1.EnvVarSource{ResourceFieldRef: r}
	}
	return nil
}

// resourcesOf spells limits and requests; requests equal to the limits are left out.
func resourcesOf(r podspec.Resources) corev1.ResourceRequirements {
	var out corev1.ResourceRequirements
	set := func(l *corev1.ResourceList, name corev1.ResourceName, q *resource.Quantity) {
		if *l == nil {
			*l = corev1.ResourceList{}
		}
		(*l)[name] = *q
	}
	if r.CPULimit > 0 {
		set(&out.Limits, corev1.ResourceCPU, resource.NewMilliQuantity(r.CPULimit, resource.DecimalSI))
	}
	if r.MemoryLimit > 0 {
		set(&out.Limits, corev1.ResourceMemory, resource.NewQuantity(r.MemoryLimit, resource.BinarySI))
	}
	if r.CPURequest > 0 && r.CPURequest != r.CPULimit {
		set(&out.Requests, corev1.ResourceCPU, resource.NewMilliQuantity(r.CPURequest, resource.DecimalSI))
	}
	if r.MemoryRequest > 0 && r.MemoryRequest != r.MemoryLimit {
		set(&out.Requests, corev1.ResourceMemory, resource.NewQuantity(r.MemoryRequest, resource.BinarySI))
	}
	return out
}
