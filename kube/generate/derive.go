package generate

import (
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podbay/podbay/podspec"
)

// defaultGracePeriod is Kubernetes' terminationGracePeriodSeconds default.
const defaultGracePeriod = 30

// derivePod builds the Kubernetes Pod of a pod made without kube play.
func (g *generator) derivePod(p *Pod) *corev1.Pod {
	s := &p.Spec
	out := &corev1.Pod{TypeMeta: typeMeta("v1", "Pod"), ObjectMeta: metav1.ObjectMeta{
		Name: s.Name, Namespace: exportNamespace(s.Namespace), Labels: copyMap(s.Labels),
		Annotations: g.annotations(s.Annotations)}}
	ps := &out.Spec
	if s.Hostname != "" && s.Hostname != s.Name {
		ps.Hostname = s.Hostname
	}
	if s.Owner == nil || s.Owner.Kind != "StatefulSet" {
		ps.Subdomain = s.Subdomain // a StatefulSet's pods get theirs from its serviceName
	}
	ps.HostNetwork = s.Network.Mode == podspec.NetworkHost
	if len(s.Network.Networks) > 0 {
		g.note("pod %q: networks %v have no Kubernetes equivalent: the pod gets the cluster network", s.Name, s.Network.Networks)
	}
	if s.Network.Mode == podspec.NetworkNone {
		g.note("pod %q: network mode none has no Kubernetes equivalent: the pod gets the cluster network", s.Name)
	}
	if s.ShareProcessNamespace {
		ps.ShareProcessNamespace = ptr(true)
	}
	ps.HostPID, ps.HostIPC = s.HostPID, s.HostIPC
	if s.RestartPolicy != "" && s.RestartPolicy != string(corev1.RestartPolicyAlways) {
		ps.RestartPolicy = corev1.RestartPolicy(s.RestartPolicy)
	}
	if s.TerminationGracePeriodSeconds != defaultGracePeriod {
		ps.TerminationGracePeriodSeconds = ptr(s.TerminationGracePeriodSeconds)
	}
	for _, h := range s.Network.HostAliases {
		ps.HostAliases = append(ps.HostAliases, corev1.HostAlias{IP: h.IP, Hostnames: h.Names})
	}
	ps.DNSPolicy, ps.DNSConfig = dnsOf(s)
	ps.SecurityContext = podSecurityContext(s.Security)
	ps.Volumes = g.deriveVolumes(p)
	for i := range s.InitContainers {
		ps.InitContainers = append(ps.InitContainers, g.deriveContainer(p, &s.InitContainers[i]))
	}
	for i := range s.Containers {
		ps.Containers = append(ps.Containers, g.deriveContainer(p, &s.Containers[i]))
	}
	addPublished(s, ps.Containers)
	return out
}

// addPublished gives the declared ports their published host port and
// declares, on the first container, the published ports no container
// declares.
func addPublished(s *podspec.Pod, cs []corev1.Container) {
	if len(cs) == 0 {
		return
	}
	published := map[string]podspec.PortMapping{}
	for _, m := range s.Network.Ports {
		if _, ok := published[portKey(m.ContainerPort, m.Protocol)]; !ok {
			published[portKey(m.ContainerPort, m.Protocol)] = m
		}
	}
	declared := map[string]bool{}
	for i := range cs {
		for j := range cs[i].Ports {
			cp := &cs[i].Ports[j]
			key := portKey(uint16(cp.ContainerPort), string(cp.Protocol))
			if m, ok := published[key]; ok && cp.HostPort == 0 && !declared[key] {
				cp.HostPort, cp.HostIP = int32(m.HostPort), m.HostIP
			}
			declared[key] = true
		}
	}
	for _, m := range s.Network.Ports {
		if declared[portKey(m.ContainerPort, m.Protocol)] {
			continue
		}
		declared[portKey(m.ContainerPort, m.Protocol)] = true
		cs[0].Ports = append(cs[0].Ports, corev1.ContainerPort{ContainerPort: int32(m.ContainerPort),
			HostPort: int32(m.HostPort), HostIP: m.HostIP, Protocol: protocol(m.Protocol)})
	}
}

func portKey(port uint16, proto string) string {
	return itoa(int(port)) + "/" + strings.ToUpper(cmpOr(proto, "TCP"))
}

// protocol spells a protocol for a port, leaving out the TCP default.
func protocol(p string) corev1.Protocol {
	p = strings.ToUpper(p)
	if p == "" || p == string(corev1.ProtocolTCP) {
		return ""
	}
	return corev1.Protocol(p)
}

// clusterSearches are the search domains kube play adds for dnsPolicy ClusterFirst.
func clusterSearches(ns string) []string {
	if ns == "" {
		ns = "default"
	}
	return []string{ns + ".svc.cluster.local", "svc.cluster.local", "cluster.local"}
}

// dnsOf returns the dnsPolicy and dnsConfig that make the pod's resolv.conf.
func dnsOf(s *podspec.Pod) (corev1.DNSPolicy, *corev1.PodDNSConfig) {
	d := s.Network.DNS
	hostNet := s.Network.Mode == podspec.NetworkHost
	var policy corev1.DNSPolicy
	searches, options := d.Searches, d.Options
	switch d.Policy {
	case string(corev1.DNSNone):
		policy = corev1.DNSNone
	case string(corev1.DNSDefault):
		if !hostNet {
			policy = corev1.DNSDefault
		}
	default:
		searches = without(searches, clusterSearches(s.Namespace))
		options = without(options, []string{"ndots:5"})
		if hostNet && d.Policy == string(corev1.DNSClusterFirst) {
			policy = corev1.DNSClusterFirstWithHostNet
		}
	}
	if len(d.Servers)+len(searches)+len(options) == 0 {
		return policy, nil
	}
	c := &corev1.PodDNSConfig{Nameservers: d.Servers, Searches: searches}
	for _, o := range options {
		name, value, hasValue := strings.Cut(o, ":")
		opt := corev1.PodDNSConfigOption{Name: name}
		if hasValue {
			opt.Value = ptr(value)
		}
		c.Options = append(c.Options, opt)
	}
	return policy, c
}

func without(list, drop []string) []string {
	var out []string
	for _, x := range list {
		if !contains(drop, x) {
			out = append(out, x)
		}
	}
	return out
}

func podSecurityContext(s podspec.PodSecurity) *corev1.PodSecurityContext {
	sc := &corev1.PodSecurityContext{RunAsUser: s.RunAsUser, RunAsGroup: s.RunAsGroup, RunAsNonRoot: s.RunAsNonRoot,
		FSGroup: s.FSGroup, SupplementalGroups: s.SupplementalGroups, SeccompProfile: seccompProfile(s.SeccompProfile)}
	names := make([]string, 0, len(s.Sysctls))
	for k := range s.Sysctls {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		sc.Sysctls = append(sc.Sysctls, corev1.Sysctl{Name: k, Value: s.Sysctls[k]})
	}
	if isZero(sc) {
		return nil
	}
	return sc
}

// seccompProfile parses RuntimeDefault, Unconfined or Localhost/<path>.
func seccompProfile(s string) *corev1.SeccompProfile {
	if s == "" {
		return nil
	}
	if path, ok := strings.CutPrefix(s, string(corev1.SeccompProfileTypeLocalhost)+"/"); ok {
		return &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr(path)}
	}
	return &corev1.SeccompProfile{Type: corev1.SeccompProfileType(s)}
}
