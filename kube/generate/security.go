package generate

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podbay/podbay/podspec"
)

// defaultCapabilities is podbay's default set (Podman's), in Kubernetes spelling.
var defaultCapabilities = []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}

// clusterCapabilities is the default set of containerd and CRI-O: podbay's plus
// AUDIT_WRITE, MKNOD and NET_RAW, so dropping one of those still matters on a cluster.
var clusterCapabilities = append([]string{"AUDIT_WRITE", "MKNOD", "NET_RAW"}, defaultCapabilities...)

// capName spells a capability as Kubernetes does: NET_ADMIN, never CAP_NET_ADMIN or net_admin.
func capName(c string) string {
	return strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
}

// capabilities keeps the changes to the defaults: adds outside podbay's set (all adds
// once ALL is dropped) and drops of what a runtime grants by default, sorted, unique.
func capabilities(add, drop []string) *corev1.Capabilities {
	var out corev1.Capabilities
	drops := map[string]bool{}
	for _, d := range drop {
		drops[capName(d)] = true
	}
	for _, a := range add {
		n := capName(a)
		if drops["ALL"] || drops[n] || !contains(defaultCapabilities, n) {
			out.Add = appendCap(out.Add, n)
		}
	}
	for n := range drops {
		if n == "ALL" || contains(clusterCapabilities, n) {
			out.Drop = appendCap(out.Drop, n)
		}
	}
	slices.Sort(out.Add)
	slices.Sort(out.Drop)
	if len(out.Add)+len(out.Drop) == 0 {
		return nil
	}
	return &out
}

func appendCap(list []corev1.Capability, n string) []corev1.Capability {
	if slices.Contains(list, corev1.Capability(n)) {
		return list
	}
	return append(list, corev1.Capability(n))
}

// securityContext keeps what the container sets beyond the pod's security context.
func securityContext(s podspec.ContainerSecurity, ps podspec.PodSecurity) *corev1.SecurityContext {
	sc := &corev1.SecurityContext{AllowPrivilegeEscalation: s.AllowPrivilegeEscalation,
		Capabilities: capabilities(s.CapAdd, s.CapDrop)}
	if !eqPtr(s.RunAsUser, ps.RunAsUser) {
		sc.RunAsUser = s.RunAsUser
	}
	if !eqPtr(s.RunAsGroup, ps.RunAsGroup) {
		sc.RunAsGroup = s.RunAsGroup
	}
	if !eqPtr(s.RunAsNonRoot, ps.RunAsNonRoot) {
		sc.RunAsNonRoot = s.RunAsNonRoot
	}
	if s.SeccompProfile != ps.SeccompProfile {
		sc.SeccompProfile = seccompProfile(s.SeccompProfile)
	}
	if s.Privileged {
		sc.Privileged = ptr(true)
	}
	if s.ReadOnlyRootfs {
		sc.ReadOnlyRootFilesystem = ptr(true)
	}
	if s.ProcMount != "" {
		sc.ProcMount = ptr(corev1.ProcMountType(s.ProcMount))
	}
	if isZero(sc) {
		return nil
	}
	return sc
}

func eqPtr[T comparable](a, b *T) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// probeOf spells a probe, leaving out the Kubernetes defaults.
func probeOf(p *podspec.Probe) *corev1.Probe {
	if p == nil {
		return nil
	}
	out := &corev1.Probe{InitialDelaySeconds: p.InitialDelaySeconds,
		PeriodSeconds: unlessDefault(p.PeriodSeconds, 10), TimeoutSeconds: unlessDefault(p.TimeoutSeconds, 1),
		SuccessThreshold: unlessDefault(p.SuccessThreshold, 1), FailureThreshold: unlessDefault(p.FailureThreshold, 3)}
	h := handlerOf(&p.Handler)
	out.Exec, out.HTTPGet, out.TCPSocket = h.Exec, h.HTTPGet, h.TCPSocket
	if p.GRPC != nil {
		out.GRPC = &corev1.GRPCAction{Port: int32(p.GRPC.Port)}
		if p.GRPC.Service != "" {
			out.GRPC.Service = ptr(p.GRPC.Service)
		}
	}
	return out
}

func unlessDefault(v, def int32) int32 {
	if v == def {
		return 0
	}
	return v
}

func handlerOf(h *podspec.Handler) *corev1.LifecycleHandler {
	out := &corev1.LifecycleHandler{}
	if h.Exec != nil {
		out.Exec = &corev1.ExecAction{Command: h.Exec}
	}
	if g := h.HTTPGet; g != nil {
		out.HTTPGet = &corev1.HTTPGetAction{Path: g.Path, Host: g.Host, Port: intstr.FromInt32(int32(g.Port))}
		if g.Scheme != "" && g.Scheme != string(corev1.URISchemeHTTP) {
			out.HTTPGet.Scheme = corev1.URIScheme(g.Scheme)
		}
		names := make([]string, 0, len(g.Headers))
		for k := range g.Headers {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			out.HTTPGet.HTTPHeaders = append(out.HTTPGet.HTTPHeaders, corev1.HTTPHeader{Name: k, Value: g.Headers[k]})
		}
	}
	if t := h.TCPSocket; t != nil {
		out.TCPSocket = &corev1.TCPSocketAction{Host: t.Host, Port: intstr.FromInt32(int32(t.Port))}
	}
	if h.SleepSeconds > 0 {
		out.Sleep = &corev1.SleepAction{Seconds: h.SleepSeconds}
	}
	return out
}

func lifecycleOf(c *podspec.Container) *corev1.Lifecycle {
	l := &corev1.Lifecycle{}
	if c.Lifecycle.PostStart != nil {
		l.PostStart = handlerOf(c.Lifecycle.PostStart)
	}
	if c.Lifecycle.PreStop != nil {
		l.PreStop = handlerOf(c.Lifecycle.PreStop)
	}
	if c.StopSignal != "" {
		l.StopSignal = ptr(corev1.Signal(c.StopSignal))
	}
	if isZero(l) {
		return nil
	}
	return l
}
