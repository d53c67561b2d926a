package play

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"

	"github.com/podbay/podbay/podspec"
)

func (p *podBuilder) containers() {
	s := &p.tmpl.Spec
	for i := range s.InitContainers {
		rel := "spec.initContainers[" + itoa(i) + "]"
		p.out.InitContainers = append(p.out.InitContainers, p.container(&s.InitContainers[i], rel))
	}
	for i := range s.Containers {
		rel := "spec.containers[" + itoa(i) + "]"
		p.out.Containers = append(p.out.Containers, p.container(&s.Containers[i], rel))
	}
}

func (p *podBuilder) container(c *corev1.Container, rel string) podspec.Container {
	out := podspec.Container{
		Name: c.Name, RuntimeName: p.out.Name + "-" + c.Name, Image: c.Image,
		PullPolicy: pullPolicy(c.ImagePullPolicy, c.Image), WorkingDir: c.WorkingDir,
		Stdin: c.Stdin, StdinOnce: c.StdinOnce, TTY: c.TTY,
		TerminationMessagePath: c.TerminationMessagePath,
		Resources:              resources(c.Resources),
		Security:               p.containerSecurity(c.SecurityContext),
	}
	if c.RestartPolicy != nil {
		out.RestartPolicy = string(*c.RestartPolicy)
	}
	env := p.env(c, rel)
	out.Env, out.EnvFrom = env.vars, env.from
	mapping := expansion.MappingFuncFor(env.values)
	out.Command = expandAll(c.Command, mapping)
	out.Args = expandAll(c.Args, mapping)
	out.Ports = p.ports(c, rel)
	out.Mounts = p.mounts(c, rel, mapping)
	out.Liveness = p.probe(c, c.LivenessProbe, rel+".livenessProbe")
	out.Readiness = p.probe(c, c.ReadinessProbe, rel+".readinessProbe")
	out.Startup = p.probe(c, c.StartupProbe, rel+".startupProbe")
	if l := c.Lifecycle; l != nil {
		out.Lifecycle.PostStart = p.handler(c, l.PostStart, rel+".lifecycle.postStart")
		out.Lifecycle.PreStop = p.handler(c, l.PreStop, rel+".lifecycle.preStop")
		if l.StopSignal != nil {
			out.StopSignal = string(*l.StopSignal)
		}
	}
	return out
}

func expandAll(in []string, mapping func(string) string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expansion.Expand(s, mapping)
	}
	return out
}

// pullPolicy defaults as Kubernetes does: Always for :latest or no tag, else IfNotPresent.
func pullPolicy(set corev1.PullPolicy, image string) string {
	if set != "" {
		return string(set)
	}
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

// resources converts limits and requests; requests default to limits as in Kubernetes.
func resources(r corev1.ResourceRequirements) podspec.Resources {
	var out podspec.Resources
	if q, ok := r.Limits[corev1.ResourceCPU]; ok {
		out.CPULimit = q.MilliValue()
	}
	if q, ok := r.Limits[corev1.ResourceMemory]; ok {
		out.MemoryLimit = q.Value()
	}
	out.CPURequest, out.MemoryRequest = out.CPULimit, out.MemoryLimit
	if q, ok := r.Requests[corev1.ResourceCPU]; ok {
		out.CPURequest = q.MilliValue()
	}
	if q, ok := r.Requests[corev1.ResourceMemory]; ok {
		out.MemoryRequest = q.Value()
	}
	return out
}

// containerSecurity merges the pod's security context under the container's, as the kubelet does.
func (p *podBuilder) containerSecurity(sc *corev1.SecurityContext) podspec.ContainerSecurity {
	ps := p.out.Security
	out := podspec.ContainerSecurity{RunAsUser: ps.RunAsUser, RunAsGroup: ps.RunAsGroup,
		RunAsNonRoot: ps.RunAsNonRoot, SeccompProfile: ps.SeccompProfile}
	if sc == nil {
		return out
	}
	if sc.RunAsUser != nil {
		out.RunAsUser = sc.RunAsUser
	}
	if sc.RunAsGroup != nil {
		out.RunAsGroup = sc.RunAsGroup
	}
	if sc.RunAsNonRoot != nil {
		out.RunAsNonRoot = sc.RunAsNonRoot
	}
	if sc.SeccompProfile != nil {
		out.SeccompProfile = seccomp(sc.SeccompProfile)
	}
	out.Privileged = sc.Privileged != nil && *sc.Privileged
	out.ReadOnlyRootfs = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
	out.AllowPrivilegeEscalation = sc.AllowPrivilegeEscalation
	if sc.Capabilities != nil {
		for _, c := range sc.Capabilities.Add {
			out.CapAdd = append(out.CapAdd, string(c))
		}
		for _, c := range sc.Capabilities.Drop {
			out.CapDrop = append(out.CapDrop, string(c))
		}
	}
	if sc.ProcMount != nil {
		out.ProcMount = string(*sc.ProcMount)
	}
	return out
}

// ports converts container ports and collects the pod's host port mappings.
func (p *podBuilder) ports(c *corev1.Container, rel string) []podspec.ContainerPort {
	var out []podspec.ContainerPort
	for i, cp := range c.Ports {
		path := rel + ".ports[" + itoa(i) + "]"
		cport, ok := p.port(cp.ContainerPort, path+".containerPort")
		hport, ok2 := p.port(cp.HostPort, path+".hostPort")
		if !ok || !ok2 {
			continue
		}
		proto := string(cp.Protocol)
		if proto == "" {
			proto = string(corev1.ProtocolTCP)
		}
		port := podspec.ContainerPort{Name: cp.Name, ContainerPort: cport, Protocol: proto, HostPort: hport, HostIP: cp.HostIP}
		p.publishPort(&port, path)
		out = append(out, port)
	}
	return out
}

func (p *podBuilder) port(v int32, path string) (uint16, bool) {
	if v < 0 || v > 65535 {
		p.fail(path, "port %d is out of range 1-65535", v)
		return 0, false
	}
	return uint16(v), true
}

// namedPort resolves a probe or hook port, by number or by container port name.
func (p *podBuilder) namedPort(c *corev1.Container, v intstr.IntOrString, path string) uint16 {
	if v.Type == intstr.Int {
		n, _ := p.port(v.IntVal, path)
		return n
	}
	for _, cp := range c.Ports {
		if cp.Name == v.StrVal {
			return uint16(cp.ContainerPort)
		}
	}
	p.fail(path, "container %q has no port named %q", c.Name, v.StrVal)
	return 0
}

func (p *podBuilder) probe(c *corev1.Container, pr *corev1.Probe, rel string) *podspec.Probe {
	if pr == nil {
		return nil
	}
	out := &podspec.Probe{InitialDelaySeconds: pr.InitialDelaySeconds, PeriodSeconds: orInt(pr.PeriodSeconds, 10),
		TimeoutSeconds: orInt(pr.TimeoutSeconds, 1), SuccessThreshold: orInt(pr.SuccessThreshold, 1),
		FailureThreshold: orInt(pr.FailureThreshold, 3)}
	h := p.action(c, handlerSource{exec: pr.Exec, http: pr.HTTPGet, tcp: pr.TCPSocket}, rel)
	out.Handler = h
	if g := pr.GRPC; g != nil {
		port, _ := p.port(g.Port, rel+".grpc.port")
		out.GRPC = &podspec.GRPCAction{Port: port}
		if g.Service != nil {
			out.GRPC.Service = *g.Service
		}
	}
	return out
}

func (p *podBuilder) handler(c *corev1.Container, h *corev1.LifecycleHandler, rel string) *podspec.Handler {
	if h == nil {
		return nil
	}
	out := p.action(c, handlerSource{exec: h.Exec, http: h.HTTPGet, tcp: h.TCPSocket}, rel)
	if h.Sleep != nil {
		out.SleepSeconds = h.Sleep.Seconds
	}
	return &out
}

type handlerSource struct {
	exec *corev1.ExecAction
	http *corev1.HTTPGetAction
	tcp  *corev1.TCPSocketAction
}

func (p *podBuilder) action(c *corev1.Container, h handlerSource, rel string) podspec.Handler {
	var out podspec.Handler
	if h.exec != nil {
		out.Exec = h.exec.Command
	}
	if g := h.http; g != nil {
		out.HTTPGet = &podspec.HTTPGetAction{Path: g.Path, Host: g.Host, Scheme: string(g.Scheme),
			Port: p.namedPort(c, g.Port, rel+".httpGet.port")}
		if out.HTTPGet.Path == "" {
			out.HTTPGet.Path = "/"
		}
		if out.HTTPGet.Scheme == "" {
			out.HTTPGet.Scheme = string(corev1.URISchemeHTTP)
		}
		for _, hd := range g.HTTPHeaders {
			if out.HTTPGet.Headers == nil {
				out.HTTPGet.Headers = map[string]string{}
			}
			out.HTTPGet.Headers[hd.Name] = hd.Value
		}
	}
	if tc := h.tcp; tc != nil {
		out.TCPSocket = &podspec.TCPSocketAction{Host: tc.Host, Port: p.namedPort(c, tc.Port, rel+".tcpSocket.port")}
	}
	return out
}

func orInt(v, def int32) int32 {
	if v == 0 {
		return def
	}
	return v
}
