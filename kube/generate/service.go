package generate

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The NodePort range of a default cluster.
const (
	minNodePort = 30000
	maxNodePort = 32767
)

// service builds the Service selecting a workload's pods, with its container ports;
// ports published on the host keep their port as nodePort when it is in range.
func (g *generator) service(w *workload) *corev1.Service {
	hostPorts := w.hostPorts()
	svc := &corev1.Service{TypeMeta: typeMeta("v1", "Service"),
		ObjectMeta: metav1.ObjectMeta{Name: w.meta.Name, Namespace: w.meta.Namespace},
		Spec:       corev1.ServiceSpec{Selector: copyMap(w.tmpl.Labels)}}
	if w.kind == "StatefulSet" {
		svc.Name = cmpOr(w.grp.first.Spec.Subdomain, w.meta.Name)
	}
	names := map[string]bool{}
	for _, c := range serviceContainers(&w.tmpl.Spec) {
		for _, cp := range c.Ports {
			proto := cmpOr(string(cp.Protocol), string(corev1.ProtocolTCP))
			name := strings.ToLower(cp.Name)
			if name == "" || names[name] {
				name = strings.ToLower(proto) + "-" + itoa(int(cp.ContainerPort))
			}
			if names[name] {
				continue
			}
			names[name] = true
			sp := corev1.ServicePort{Name: name, Protocol: corev1.Protocol(proto), Port: cp.ContainerPort,
				TargetPort: intstr.FromInt32(cp.ContainerPort)}
			if hp := hostPorts[portKey(uint16(cp.ContainerPort), proto)]; hp != 0 {
				if hp >= minNodePort && hp <= maxNodePort {
					sp.NodePort, svc.Spec.Type = hp, corev1.ServiceTypeNodePort
				} else {
					g.note("Service %q: port %d is published on host port %d, outside the NodePort range %d-%d: the Service is ClusterIP for it",
						svc.Name, cp.ContainerPort, hp, minNodePort, maxNodePort)
				}
			}
			svc.Spec.Ports = append(svc.Spec.Ports, sp)
		}
	}
	if len(svc.Spec.Ports) == 0 {
		g.note("%s %q declares no container port: no Service", w.kind, w.meta.Name)
		return nil
	}
	return svc
}

// serviceContainers are the containers whose ports a Service exposes: app and sidecar containers.
func serviceContainers(s *corev1.PodSpec) []corev1.Container {
	out := append([]corev1.Container{}, s.Containers...)
	for _, c := range s.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			out = append(out, c)
		}
	}
	return out
}

// hostPorts maps "port/PROTO" to the host port it is published on, from the
// template's hostPorts and the first pod's published mappings.
func (w *workload) hostPorts() map[string]int32 {
	out := map[string]int32{}
	for _, c := range serviceContainers(&w.tmpl.Spec) {
		for _, cp := range c.Ports {
			if cp.HostPort != 0 {
				out[portKey(uint16(cp.ContainerPort), string(cp.Protocol))] = cp.HostPort
			}
		}
	}
	for _, m := range w.grp.first.Spec.Network.Ports {
		out[portKey(m.ContainerPort, m.Protocol)] = int32(m.HostPort)
	}
	return out
}
