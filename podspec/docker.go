package podspec

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// DockerAnnotation marks the pod of one that holds a container made
// through the Docker API (see FromDocker); the value is "container".
const DockerAnnotation = "podbay.io/docker"

// DockerCreate is the body of the Docker Engine API's POST
// /containers/create: the container's Config with its HostConfig and
// NetworkingConfig. Only the fields FromDocker translates are declared;
// the decoder ignores the others.
type DockerCreate struct {
	Hostname     string
	User         string
	Tty          bool
	OpenStdin    bool
	StdinOnce    bool
	Env          []string
	Cmd          StrSlice
	Entrypoint   StrSlice
	Image        string
	Labels       map[string]string
	WorkingDir   string
	ExposedPorts map[string]struct{}
	Healthcheck  *DockerHealthcheck
	StopSignal   string
	StopTimeout  *int64

	HostConfig       DockerHostConfig
	NetworkingConfig DockerNetworkingConfig
}

// StrSlice is a Docker command: a JSON array of strings, or one string
// (the shell form of old clients). nil when absent, empty when cleared.
type StrSlice []string

// UnmarshalJSON reads an array or a string.
func (s *StrSlice) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = nil
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = StrSlice{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("want a string or an array of strings: %w", err)
	}
	*s = append(StrSlice{}, list...)
	return nil
}

// DockerHealthcheck is a container's HEALTHCHECK; durations in nanoseconds.
type DockerHealthcheck struct {
	Test        []string
	Interval    int64
	Timeout     int64
	StartPeriod int64
	Retries     int
}

// DockerHostConfig holds the host-side settings of a Docker container.
type DockerHostConfig struct {
	Binds             []string
	Mounts            []DockerMount
	Tmpfs             map[string]string
	PortBindings      map[string][]DockerPortBinding
	PublishAllPorts   bool
	NetworkMode       string
	RestartPolicy     DockerRestartPolicy
	AutoRemove        bool
	Memory            int64
	MemoryReservation int64
	NanoCpus          int64
	CpuShares         int64
	CpuQuota          int64
	CpuPeriod         int64
	CapAdd            []string
	CapDrop           []string
	Privileged        bool
	ReadonlyRootfs    bool
	Init              *bool
	ExtraHosts        []string
	Dns               []string
	DnsSearch         []string
	DnsOptions        []string
	SecurityOpt       []string
	PidMode           string
	IpcMode           string
	Sysctls           map[string]string
}

// DockerMount is one entry of HostConfig.Mounts.
type DockerMount struct {
	Type     string // bind, volume, tmpfs
	Source   string
	Target   string
	ReadOnly bool
}

// DockerPortBinding publishes a container port on the host; an empty
// HostPort asks for any free port.
type DockerPortBinding struct {
	HostIp   string
	HostPort string
}

// DockerRestartPolicy is the container's restart policy.
type DockerRestartPolicy struct {
	Name              string
	MaximumRetryCount int
}

// DockerNetworkingConfig holds the container's settings per network.
type DockerNetworkingConfig struct {
	EndpointsConfig map[string]*DockerEndpoint
}

// DockerEndpoint is a container's settings on one network.
type DockerEndpoint struct {
	Aliases []string
}

// Docker's defaults where Kubernetes has others: a healthcheck every 30 s,
// a 30 s timeout, unhealthy after 3 failures.
const (
	dockerHealthInterval = 30
	dockerHealthTimeout  = 30
	dockerHealthRetries  = 3
)

// FromDocker translates a Docker create body into the container's own
// pod: one container named name, with the pod-level settings a Docker
// container has (network, aliases, published ports, host name, restart
// policy). Docker's default network (NetworkMode "", "default" or
// "bridge") is podbay's default network and a user network is that
// network: the pod joins it, and peers on it know the pod by its name
// and aliases. "none" and "host" make a standalone container. Init runs
// the container in a pod that shares its process namespace, whose infra
// reaps orphans as Docker's init does. A published port whose host port
// is empty keeps host port 0: the caller picks a free one. Pure: nothing
// is checked on the host.
func FromDocker(name string, d DockerCreate) (Pod, error) {
	var errs []error
	fail := func(field, v, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s %q: %s", field, v, fmt.Sprintf(format, args...)))
	}
	hc := &d.HostConfig
	c := Container{Name: KubeName(name), RuntimeName: name, Image: d.Image, PullPolicy: "IfNotPresent",
		WorkingDir: d.WorkingDir, TTY: d.Tty, Stdin: d.OpenStdin, StdinOnce: d.OpenStdin && d.StdinOnce,
		StopSignal: d.StopSignal}
	p := Pod{Name: name, Hostname: d.Hostname, RestartPolicy: CLIRestartPolicy, TerminationGracePeriodSeconds: CLIGracePeriod,
		Annotations: map[string]string{DockerAnnotation: "container"}}
	if d.Image == "" {
		fail("Image", d.Image, "the image is required")
	}
	switch {
	case d.Entrypoint == nil:
		c.Args = d.Cmd
	case len(d.Entrypoint) == 0 || len(d.Entrypoint) == 1 && d.Entrypoint[0] == "":
		c.Command = d.Cmd // the image's entrypoint cleared: the command alone
	default:
		c.Command, c.Args = d.Entrypoint, d.Cmd
	}
	for _, e := range d.Env {
		if k, v, ok := strings.Cut(e, "="); ok && k != "" {
			c.Env = append(c.Env, EnvVar{Name: k, Value: v})
		}
	}
	if err := user(&c, d.User); err != nil {
		fail("User", d.User, "%v", err)
	}
	if d.StopTimeout != nil && *d.StopTimeout >= 0 {
		p.TerminationGracePeriodSeconds = *d.StopTimeout
	}
	var err error
	if p.RestartPolicy, err = restartPolicy(hc.RestartPolicy.Name); err != nil {
		fail("HostConfig.RestartPolicy.Name", hc.RestartPolicy.Name, "want no, always, unless-stopped or on-failure")
	}
	dockerNetwork(&p, d, fail)
	for _, port := range sortedKeys(d.ExposedPorts) {
		num, proto, err := dockerPort(port)
		if err != nil {
			fail("ExposedPorts", port, "%v", err)
			continue
		}
		c.Ports = append(c.Ports, ContainerPort{ContainerPort: num, Protocol: proto})
	}
	dockerPublish(&p, &c, d, fail)
	c.Resources = dockerResources(hc)
	c.Security = ContainerSecurity{Privileged: hc.Privileged, ReadOnlyRootfs: hc.ReadonlyRootfs,
		CapAdd: hc.CapAdd, CapDrop: hc.CapDrop, SeccompProfile: SeccompRuntimeDefault, RunAsUser: c.Security.RunAsUser,
		RunAsGroup: c.Security.RunAsGroup}
	for _, so := range hc.SecurityOpt {
		switch so {
		case "seccomp=unconfined", "seccomp:unconfined":
			c.Security.SeccompProfile = SeccompUnconfined
		case "no-new-privileges", "no-new-privileges=true", "no-new-privileges:true":
			c.Security.AllowPrivilegeEscalation = new(false)
		case "label=disable", "label:disable", "apparmor=unconfined", "apparmor:unconfined":
		default:
			fail("HostConfig.SecurityOpt", so, "supported are seccomp=unconfined, no-new-privileges and label=disable")
		}
	}
	if hc.Init != nil && *hc.Init {
		p.ShareProcessNamespace = true
	}
	switch hc.PidMode {
	case "":
	case "host":
		p.HostPID = true
	default:
		fail("HostConfig.PidMode", hc.PidMode, "supported is host")
	}
	switch hc.IpcMode {
	case "", "private", "shareable":
	case "host":
		p.HostIPC = true
	default:
		fail("HostConfig.IpcMode", hc.IpcMode, "supported are private, shareable and host")
	}
	p.Security.Sysctls = hc.Sysctls
	if c.Readiness, err = dockerHealth(d.Healthcheck); err != nil {
		fail("Healthcheck.Test", strings.Join(d.Healthcheck.Test, " "), "%v", err)
	}
	dockerVolumes(&p, &c, hc, fail)
	p.Containers = []Container{c}
	return p, errors.Join(errs...)
}

// dockerNetwork sets the pod's network, aliases, DNS and extra hosts.
func dockerNetwork(p *Pod, d DockerCreate, fail func(field, v, format string, args ...any)) {
	hc := &d.HostConfig
	mode := hc.NetworkMode
	switch {
	case mode == "" || mode == "default" || mode == "bridge":
		p.Network.Mode = NetworkBridge
	case mode == NetworkNone || mode == NetworkHost:
		p.Network.Mode = mode
	case strings.HasPrefix(mode, "container:"):
		fail("HostConfig.NetworkMode", mode, "joining another container's network is not supported")
	default:
		p.Network.Mode, p.Network.Networks = NetworkBridge, []string{mode}
	}
	for net, ep := range d.NetworkingConfig.EndpointsConfig {
		if ep == nil || (net != mode && !(p.Network.Networks == nil && (net == "bridge" || net == "default"))) {
			continue
		}
		p.Network.Aliases = append(p.Network.Aliases, ep.Aliases...)
	}
	slices.Sort(p.Network.Aliases)
	p.Network.Aliases = slices.Compact(p.Network.Aliases)
	for _, h := range hc.ExtraHosts {
		name, ip, ok := strings.Cut(h, ":")
		if !ok || name == "" || ip == "" {
			fail("HostConfig.ExtraHosts", h, "want NAME:IP")
			continue
		}
		p.Network.HostAliases = append(p.Network.HostAliases, HostAlias{IP: ip, Names: []string{name}})
	}
	p.Network.DNS = DNSSpec{Servers: hc.Dns, Searches: hc.DnsSearch, Options: hc.DnsOptions}
}

// dockerPublish reads PortBindings (and PublishAllPorts: every exposed
// port on a free host port) into the pod's published ports.
func dockerPublish(p *Pod, c *Container, d DockerCreate, fail func(field, v, format string, args ...any)) {
	hc := &d.HostConfig
	for _, port := range sortedKeys(hc.PortBindings) {
		num, proto, err := dockerPort(port)
		if err != nil {
			fail("HostConfig.PortBindings", port, "%v", err)
			continue
		}
		if !slices.ContainsFunc(c.Ports, func(cp ContainerPort) bool { return cp.ContainerPort == num && cp.Protocol == proto }) {
			c.Ports = append(c.Ports, ContainerPort{ContainerPort: num, Protocol: proto})
		}
		for _, b := range hc.PortBindings[port] {
			var host uint64
			if b.HostPort != "" {
				if host, err = strconv.ParseUint(b.HostPort, 10, 16); err != nil {
					fail("HostConfig.PortBindings", port, "host port %q: want a number from 1 to 65535", b.HostPort)
					continue
				}
			}
			p.Network.Ports = append(p.Network.Ports, PortMapping{HostIP: b.HostIp, HostPort: uint16(host), ContainerPort: num, Protocol: proto})
		}
	}
	if hc.PublishAllPorts {
		for _, cp := range c.Ports {
			if !slices.ContainsFunc(p.Network.Ports, func(m PortMapping) bool { return m.ContainerPort == cp.ContainerPort && m.Protocol == cp.Protocol }) {
				p.Network.Ports = append(p.Network.Ports, PortMapping{ContainerPort: cp.ContainerPort, Protocol: cp.Protocol})
			}
		}
	}
	switch {
	case len(p.Network.Ports) == 0:
	case p.Network.Mode == NetworkNone:
		fail("HostConfig.NetworkMode", hc.NetworkMode, "publishing ports needs a network, not none")
	case p.Network.Mode == NetworkHost:
		p.Network.Ports = nil // the host's ports are the container's
	}
}

// dockerPort reads "80/tcp" (or "80").
func dockerPort(s string) (uint16, string, error) {
	num, proto, _ := strings.Cut(s, "/")
	switch strings.ToLower(proto) {
	case "", "tcp":
		proto = "TCP"
	case "udp":
		proto = "UDP"
	case "sctp":
		proto = "SCTP"
	default:
		return 0, "", errors.New("protocol must be tcp, udp or sctp")
	}
	n, err := strconv.ParseUint(num, 10, 16)
	if err != nil || n == 0 {
		return 0, "", errors.New("want PORT[/PROTOCOL] with a port from 1 to 65535")
	}
	return uint16(n), proto, nil
}

// dockerResources converts Docker's limits: NanoCpus (or CpuQuota over
// CpuPeriod) into a CPU limit, CpuShares into a request as Kubernetes
// converts its requests into shares (1024 a CPU).
func dockerResources(hc *DockerHostConfig) Resources {
	r := Resources{MemoryLimit: hc.Memory, MemoryRequest: hc.MemoryReservation}
	switch {
	case hc.NanoCpus > 0:
		r.CPULimit = hc.NanoCpus / 1e6
	case hc.CpuQuota > 0:
		period := hc.CpuPeriod
		if period <= 0 {
			period = 100000
		}
		r.CPULimit = hc.CpuQuota * 1000 / period
	}
	if hc.CpuShares > 0 {
		r.CPURequest = hc.CpuShares * 1000 / 1024
	}
	return r
}

// dockerHealth makes a HEALTHCHECK a readiness probe: like Docker's
// health, it reports and never restarts. CMD runs its arguments,
// CMD-SHELL runs /bin/sh -c; NONE (and no test) disables it.
func dockerHealth(h *DockerHealthcheck) (*Probe, error) {
	if h == nil || len(h.Test) == 0 {
		return nil, nil
	}
	var cmd []string
	switch h.Test[0] {
	case "NONE":
		return nil, nil
	case "CMD":
		cmd = h.Test[1:]
	case "CMD-SHELL":
		cmd = append([]string{"/bin/sh", "-c"}, strings.Join(h.Test[1:], " "))
	default:
		return nil, errors.New("want NONE, CMD or CMD-SHELL first")
	}
	if len(cmd) == 0 {
		return nil, errors.New("no command")
	}
	secs := func(ns int64, def int32) int32 {
		if ns <= 0 {
			return def
		}
		return int32(max(1, ns/1e9))
	}
	retries := int32(h.Retries)
	if retries <= 0 {
		retries = dockerHealthRetries
	}
	return &Probe{Handler: Handler{Exec: cmd}, InitialDelaySeconds: secs(h.StartPeriod, 0),
		PeriodSeconds: secs(h.Interval, dockerHealthInterval), TimeoutSeconds: secs(h.Timeout, dockerHealthTimeout),
		SuccessThreshold: 1, FailureThreshold: retries}, nil
}

// dockerVolumes reads Binds, Mounts and Tmpfs: an absolute source is a
// host path, another a named volume (made when missing, as Docker does),
// a tmpfs a memory-backed emptyDir.
func dockerVolumes(p *Pod, c *Container, hc *DockerHostConfig, fail func(field, v, format string, args ...any)) {
	add := func(vol Volume, m Mount) {
		vol.Name = "vol-" + strconv.Itoa(len(p.Volumes))
		m.Volume = vol.Name
		p.Volumes = append(p.Volumes, vol)
		c.Mounts = append(c.Mounts, m)
	}
	source := func(src string) Volume {
		if filepath.IsAbs(src) {
			return Volume{Kind: VolumeHostPath, HostPath: &HostPathSource{Path: filepath.Clean(src)}}
		}
		return Volume{Kind: VolumePVC, ClaimName: src}
	}
	for _, b := range hc.Binds {
		parts := strings.Split(b, ":")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !filepath.IsAbs(parts[1]) {
			fail("HostConfig.Binds", b, "want SRC:DST[:OPTIONS] with an absolute DST")
			continue
		}
		m := Mount{Destination: filepath.Clean(parts[1])}
		if len(parts) == 3 {
			for _, o := range strings.Split(parts[2], ",") {
				switch o {
				case "ro":
					m.ReadOnly = true
				case "rw", "z", "Z", "nocopy", "private", "rprivate", "consistent", "cached", "delegated":
				case "shared", "rshared", "slave", "rslave":
					m.Propagation = o
				default:
					fail("HostConfig.Binds", b, "unknown option %q", o)
				}
			}
		}
		add(source(parts[0]), m)
	}
	for _, mt := range hc.Mounts {
		m := Mount{Destination: filepath.Clean(mt.Target), ReadOnly: mt.ReadOnly}
		if !filepath.IsAbs(mt.Target) {
			fail("HostConfig.Mounts", mt.Target, "the target must be absolute")
			continue
		}
		switch mt.Type {
		case "bind":
			if !filepath.IsAbs(mt.Source) {
				fail("HostConfig.Mounts", mt.Source, "a bind mount's source must be absolute")
				continue
			}
			add(source(mt.Source), m)
		case "volume":
			if mt.Source == "" {
				add(Volume{Kind: VolumeEmptyDir, EmptyDir: &EmptyDirSource{}}, m) // an anonymous volume
				continue
			}
			add(Volume{Kind: VolumePVC, ClaimName: mt.Source}, m)
		case "tmpfs":
			add(Volume{Kind: VolumeEmptyDir, EmptyDir: &EmptyDirSource{Medium: "Memory"}}, m)
		default:
			fail("HostConfig.Mounts", mt.Type, "supported types are bind, volume and tmpfs")
		}
	}
	for _, dst := range sortedKeys(hc.Tmpfs) {
		if !filepath.IsAbs(dst) {
			fail("HostConfig.Tmpfs", dst, "the target must be absolute")
			continue
		}
		add(Volume{Kind: VolumeEmptyDir, EmptyDir: &EmptyDirSource{Medium: "Memory"}}, Mount{Destination: filepath.Clean(dst)})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
