package play

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/podbay/podbay/kube/manifest"
	"github.com/podbay/podbay/podspec"
)

// podBuilder translates one pod template into one pod.Spec.
type podBuilder struct {
	t    *translator
	obj  *manifest.Object
	base string // path of the pod template in the object: "" for a Pod, "spec.template"...
	tmpl *corev1.PodTemplateSpec
	ns   string
	inst instance
	out  *podspec.Pod
	errs []error
}

// path returns the field path of a pod spec field, e.g. "spec.containers[0]".
func (p *podBuilder) path(rel string) string {
	if p.base == "" {
		return rel
	}
	return p.base + "." + rel
}

func (p *podBuilder) fail(rel, format string, args ...any) {
	p.errs = append(p.errs, p.obj.Finding(p.path(rel), format, args...))
}

func (p *podBuilder) warn(rel, format string, args ...any) {
	p.t.warn(p.obj.Warning(p.path(rel), format, args...))
}

// runtimeRef returns the marker for a field the runtime fills, noting it on the pod.
func (p *podBuilder) runtimeRef(field string) string {
	for _, f := range p.out.RuntimeFields {
		if f == field {
			return podspec.RuntimeRef(field)
		}
	}
	p.out.RuntimeFields = append(p.out.RuntimeFields, field)
	return podspec.RuntimeRef(field)
}

func (p *podBuilder) build() (*podspec.Pod, error) {
	s := &p.tmpl.Spec
	p.out = &podspec.Pod{
		Name: p.inst.name, Namespace: p.ns, Hostname: s.Hostname, Subdomain: s.Subdomain,
		Labels: p.tmpl.Labels, Annotations: p.tmpl.Annotations,
		ShareProcessNamespace: s.ShareProcessNamespace != nil && *s.ShareProcessNamespace,
		HostPID:               s.HostPID, HostIPC: s.HostIPC,
		RestartPolicy:                 string(s.RestartPolicy),
		TerminationGracePeriodSeconds: 30,
		Owner:                         p.inst.owner, Job: p.inst.job,
		Source: source(p.inst.name, p.ns, p.tmpl),
	}
	if p.inst.hostname != "" {
		p.out.Hostname = p.inst.hostname
	}
	if p.out.Hostname == "" {
		p.out.Hostname = p.inst.name
	}
	if p.inst.subdomain != "" && p.out.Subdomain == "" {
		p.out.Subdomain = p.inst.subdomain
	}
	if s.TerminationGracePeriodSeconds != nil {
		p.out.TerminationGracePeriodSeconds = *s.TerminationGracePeriodSeconds
	}
	p.restartPolicy()
	p.network()
	p.out.Security = podSecurity(s.SecurityContext)
	p.volumes()
	p.containers()
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	for _, m := range p.t.opts.Mutators {
		if err := m(p.out); err != nil {
			return nil, p.obj.Finding(p.path("spec"), "%v", err)
		}
	}
	return p.out, nil
}

func (p *podBuilder) restartPolicy() {
	isJob := p.inst.job != nil
	switch {
	case p.out.RestartPolicy == "" && isJob:
		p.warn("spec.restartPolicy", "a Job's pods need restartPolicy OnFailure or Never: using Never")
		p.out.RestartPolicy = string(corev1.RestartPolicyNever)
	case p.out.RestartPolicy == "":
		p.out.RestartPolicy = string(corev1.RestartPolicyAlways)
	case isJob && p.out.RestartPolicy == string(corev1.RestartPolicyAlways):
		p.fail("spec.restartPolicy", `Unsupported value: "Always": supported values: "OnFailure", "Never"`)
	}
}

// network sets the network mode, host aliases and DNS.
func (p *podBuilder) network() {
	s := &p.tmpl.Spec
	n := &p.out.Network
	n.Mode = podspec.NetworkBridge
	if s.HostNetwork {
		n.Mode = podspec.NetworkHost
	}
	switch net := p.t.opts.Network; net {
	case "":
	case podspec.NetworkHost, podspec.NetworkNone, podspec.NetworkBridge:
		n.Mode = net
	default:
		if !s.HostNetwork {
			n.Networks = strings.Split(net, ",")
		}
	}
	for _, h := range s.HostAliases {
		n.HostAliases = append(n.HostAliases, podspec.HostAlias{IP: h.IP, Names: h.Hostnames})
	}
	n.DNS = p.dns()
}

// dns computes resolv.conf settings from dnsPolicy and dnsConfig as the kubelet does.
func (p *podBuilder) dns() podspec.DNSSpec {
	s := &p.tmpl.Spec
	hostNet := p.out.Network.Mode == podspec.NetworkHost
	policy := s.DNSPolicy
	switch {
	case policy == "" && hostNet:
		policy = corev1.DNSDefault
	case policy == "":
		policy = corev1.DNSClusterFirst
	case policy == corev1.DNSClusterFirst && hostNet:
		policy = corev1.DNSDefault
	case policy == corev1.DNSClusterFirstWithHostNet:
		policy = corev1.DNSClusterFirst
	}
	d := podspec.DNSSpec{Policy: string(policy)}
	if policy == corev1.DNSClusterFirst {
		d.Searches = []string{p.ns + ".svc.cluster.local", "svc.cluster.local", "cluster.local"}
		d.Options = []string{"ndots:5"}
	}
	c := s.DNSConfig
	if c == nil {
		return d
	}
	d.Servers = append(d.Servers, c.Nameservers...)
	for _, sr := range c.Searches {
		if !contains(d.Searches, sr) {
			d.Searches = append(d.Searches, sr)
		}
	}
	for _, o := range c.Options {
		opt := o.Name
		if o.Value != nil {
			opt += ":" + *o.Value
		}
		d.Options = mergeOption(d.Options, o.Name, opt)
	}
	return d
}

func mergeOption(opts []string, name, opt string) []string {
	for i, o := range opts {
		if n, _, _ := strings.Cut(o, ":"); n == name {
			opts[i] = opt
			return opts
		}
	}
	return append(opts, opt)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func podSecurity(sc *corev1.PodSecurityContext) podspec.PodSecurity {
	if sc == nil {
		return podspec.PodSecurity{}
	}
	out := podspec.PodSecurity{RunAsUser: sc.RunAsUser, RunAsGroup: sc.RunAsGroup, RunAsNonRoot: sc.RunAsNonRoot,
		FSGroup: sc.FSGroup, SupplementalGroups: sc.SupplementalGroups, SeccompProfile: seccomp(sc.SeccompProfile)}
	for _, s := range sc.Sysctls {
		if out.Sysctls == nil {
			out.Sysctls = map[string]string{}
		}
		out.Sysctls[s.Name] = s.Value
	}
	return out
}

// seccomp spells a profile as RuntimeDefault, Unconfined or Localhost/<path>.
func seccomp(sp *corev1.SeccompProfile) string {
	if sp == nil {
		return ""
	}
	if sp.Type == corev1.SeccompProfileTypeLocalhost && sp.LocalhostProfile != nil {
		return fmt.Sprintf("%s/%s", sp.Type, *sp.LocalhostProfile)
	}
	return string(sp.Type)
}
