package podspec

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
)

// Defaults of pods and containers made on the command line, as Podman's:
// no restart, and 10 s between the stop signal and SIGKILL.
const (
	CLIRestartPolicy = "Never"
	CLIGracePeriod   = 10
)

// ContainerFlags are the flags of podbay run and create, as typed.
type ContainerFlags struct {
	Name  string
	Image string
	// Args follow the image on the command line.
	Args []string
	// Entrypoint is --entrypoint: nil when not given; a JSON array or one
	// word; "" clears the image's.
	Entrypoint *string
	Env        []string
	// Volumes are -v SRC:DST[:OPTS]: an absolute SRC is a host path, any
	// other a named volume (made when missing, as Docker and Podman do).
	Volumes  []string
	Workdir  string
	User     string
	Network  string // none (default), host
	Hostname string
	// Memory is a size like 64m or 1g; CPUs a number of CPUs.
	Memory     string
	CPUs       float64
	CapAdd     []string
	CapDrop    []string
	ReadOnly   bool
	Privileged bool
	Tty        bool
	Stdin      bool
	Pull       string // missing (default), always, never
	// SecurityOpts: seccomp=unconfined, no-new-privileges.
	SecurityOpts []string
	// Restart is no (default), always, on-failure.
	Restart     string
	StopSignal  string
	StopTimeout *int64
}

// FromContainerFlags translates run/create flags into the container's
// own pod: one container, with the pod-level settings a standalone
// container has (network, host name, volumes). Pure: nothing is checked
// on the host.
func FromContainerFlags(f ContainerFlags) (Pod, error) {
	var errs []error
	fail := func(flag, v, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s %q: %s", flag, v, fmt.Sprintf(format, args...)))
	}
	c := Container{Name: f.Name, RuntimeName: f.Name, Image: f.Image, Args: f.Args, WorkingDir: f.Workdir,
		TTY: f.Tty, Stdin: f.Stdin, StopSignal: f.StopSignal}
	p := Pod{Name: f.Name, Hostname: f.Hostname, RestartPolicy: CLIRestartPolicy, TerminationGracePeriodSeconds: CLIGracePeriod}
	if f.Entrypoint != nil {
		entry, err := entrypoint(*f.Entrypoint)
		if err != nil {
			fail("entrypoint", *f.Entrypoint, "%v", err)
		}
		// A new entrypoint drops the image's cmd, as Kubernetes' command does.
		c.Command, c.Args = entry, f.Args
		if len(entry) == 0 {
			c.Command, c.Args = f.Args, nil
		}
	}
	for _, e := range f.Env {
		k, v, ok := strings.Cut(e, "=")
		if k == "" || !ok {
			fail("env", e, "want NAME=VALUE")
			continue
		}
		c.Env = append(c.Env, EnvVar{Name: k, Value: v})
	}
	switch f.Network {
	case "", NetworkNone:
		p.Network.Mode = NetworkNone
	case NetworkHost:
		p.Network.Mode = NetworkHost
	default:
		fail("network", f.Network, "standalone containers support none and host; use a pod for CNI networks")
	}
	var err error
	if c.PullPolicy, err = pullPolicy(f.Pull); err != nil {
		fail("pull", f.Pull, "%v", err)
	}
	if p.RestartPolicy, err = restartPolicy(f.Restart); err != nil {
		fail("restart", f.Restart, "%v", err)
	}
	if f.StopTimeout != nil {
		p.TerminationGracePeriodSeconds = *f.StopTimeout
	}
	if err := user(&c, f.User); err != nil {
		fail("user", f.User, "%v", err)
	}
	if f.Memory != "" {
		if c.Resources.MemoryLimit, err = ParseBytes(f.Memory); err != nil {
			fail("memory", f.Memory, "%v", err)
		}
	}
	if f.CPUs < 0 {
		fail("cpus", strconv.FormatFloat(f.CPUs, 'g', -1, 64), "want a positive number")
	}
	c.Resources.CPULimit = int64(f.CPUs * 1000)
	c.Security.Privileged, c.Security.ReadOnlyRootfs = f.Privileged, f.ReadOnly
	c.Security.CapAdd, c.Security.CapDrop = f.CapAdd, f.CapDrop
	c.Security.SeccompProfile = SeccompRuntimeDefault // Podman's default; Kubernetes' is Unconfined
	for _, so := range f.SecurityOpts {
		switch so {
		case "seccomp=unconfined":
			c.Security.SeccompProfile = SeccompUnconfined
		case "no-new-privileges", "no-new-privileges=true":
			c.Security.AllowPrivilegeEscalation = new(false)
		default:
			fail("security-opt", so, "supported are seccomp=unconfined and no-new-privileges")
		}
	}
	for i, v := range f.Volumes {
		vol, mnt, err := volumeFlag(v, i)
		if err != nil {
			fail("volume", v, "%v", err)
			continue
		}
		p.Volumes = append(p.Volumes, vol)
		c.Mounts = append(c.Mounts, mnt)
	}
	p.Containers = []Container{c}
	return p, errors.Join(errs...)
}

// Seccomp profiles as Kubernetes names them.
const (
	SeccompRuntimeDefault = "RuntimeDefault"
	SeccompUnconfined     = "Unconfined"
)

func entrypoint(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	if !strings.HasPrefix(strings.TrimSpace(s), "[") {
		return []string{s}, nil
	}
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("want a JSON array of strings: %w", err)
	}
	return out, nil
}

func pullPolicy(s string) (string, error) {
	switch s {
	case "", "missing":
		return "IfNotPresent", nil
	case "always":
		return "Always", nil
	case "never":
		return "Never", nil
	}
	return "", errors.New("want missing, always or never")
}

func restartPolicy(s string) (string, error) {
	switch s {
	case "", "no":
		return "Never", nil
	case "always", "unless-stopped":
		return "Always", nil
	case "on-failure":
		return "OnFailure", nil
	}
	return "", errors.New("want no, always or on-failure")
}

// user reads --user USER[:GROUP]: numeric IDs are Kubernetes' runAsUser
// and runAsGroup; names are kept as typed, for the image's /etc/passwd.
func user(c *Container, s string) error {
	if s == "" {
		return nil
	}
	u, g, hasGroup := strings.Cut(s, ":")
	if u == "" || (hasGroup && g == "") {
		return errors.New("want USER[:GROUP]")
	}
	uid, uerr := strconv.ParseInt(u, 10, 64)
	gid, gerr := strconv.ParseInt(g, 10, 64)
	if uerr != nil || (hasGroup && gerr != nil) {
		c.User = s
		return nil
	}
	c.Security.RunAsUser = &uid
	if hasGroup {
		c.Security.RunAsGroup = &gid
	}
	return nil
}

// ParseBytes reads a size as the command line gives it: 64m, 1g, 512k, 100.
func ParseBytes(s string) (int64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(s, u.suffix) || strings.HasSuffix(s, u.suffix+"b") {
			s, mult = strings.TrimSuffix(strings.TrimSuffix(s, "b"), u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 {
		return 0, errors.New("want a size like 64m or 1g")
	}
	return int64(n * float64(mult)), nil
}

// volumeFlag reads -v SRC:DST[:ro|rw|z|Z]: a host path or a named volume.
func volumeFlag(v string, i int) (Volume, Mount, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !filepath.IsAbs(parts[1]) {
		return Volume{}, Mount{}, errors.New("want SRC:DST[:ro] with an absolute DST")
	}
	vol := Volume{Name: "vol-" + strconv.Itoa(i)}
	m := Mount{Volume: vol.Name, Destination: filepath.Clean(parts[1])}
	if len(parts) == 3 {
		for _, o := range strings.Split(parts[2], ",") {
			switch o {
			case "ro":
				m.ReadOnly = true
			case "rw", "z", "Z":
			default:
				return Volume{}, Mount{}, fmt.Errorf("unknown option %q", o)
			}
		}
	}
	if filepath.IsAbs(parts[0]) {
		vol.Kind, vol.HostPath = VolumeHostPath, &HostPathSource{Path: filepath.Clean(parts[0])}
	} else {
		vol.Kind, vol.ClaimName = VolumePVC, parts[0]
	}
	return vol, m, nil
}

// PodFlags are the flags of podbay pod create, as typed.
type PodFlags struct {
	Name     string
	Hostname string
	// Network is a network name ("" for the default network), host or none.
	Network   string
	Publish   []string // [IP:]HOST:CONTAINER[/udp]
	AddHosts  []string // NAME:IP
	DNS       []string
	DNSSearch []string
	DNSOpts   []string
	// Share lists the namespaces the containers share: net,ipc,uts[,pid].
	Share  string
	Labels map[string]string
}

// FromPodFlags translates pod create's flags into a pod without containers.
func FromPodFlags(f PodFlags) (Pod, error) {
	var errs []error
	p := Pod{Name: f.Name, Hostname: f.Hostname, Labels: f.Labels, RestartPolicy: CLIRestartPolicy,
		TerminationGracePeriodSeconds: CLIGracePeriod}
	switch f.Network {
	case NetworkHost, NetworkNone:
		p.Network.Mode = f.Network
	default:
		p.Network.Mode = NetworkBridge
		if f.Network != "" {
			p.Network.Networks = []string{f.Network}
		}
	}
	var err error
	if p.Network.Ports, err = ParsePublish(f.Publish); err != nil {
		errs = append(errs, err)
	}
	if len(p.Network.Ports) > 0 && p.Network.Mode == NetworkNone {
		errs = append(errs, errors.New("--publish: publishing ports needs a network, not --network none"))
	}
	for _, h := range f.AddHosts {
		name, ip, err := ParseAddHost(h)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Network.HostAliases = append(p.Network.HostAliases, HostAlias{IP: ip, Names: []string{name}})
	}
	p.Network.DNS = DNSSpec{Servers: f.DNS, Searches: f.DNSSearch, Options: f.DNSOpts}
	if f.Share != "" {
		for _, s := range strings.Split(f.Share, ",") {
			switch s {
			case "net", "ipc", "uts":
			case "pid":
				p.ShareProcessNamespace = true
			default:
				errs = append(errs, fmt.Errorf("--share %q: want a list of net, ipc, uts, pid", f.Share))
			}
			p.Share = append(p.Share, s)
		}
	}
	return p, errors.Join(errs...)
}

// ParsePublish reads Podman's -p [IP:]HOST:CONTAINER[/tcp|udp].
func ParsePublish(list []string) ([]PortMapping, error) {
	var out []PortMapping
	for _, p := range list {
		spec, proto, _ := strings.Cut(p, "/")
		switch proto {
		case "", "tcp":
			proto = "TCP"
		case "udp":
			proto = "UDP"
		default:
			return nil, fmt.Errorf("--publish %q: protocol must be tcp or udp", p)
		}
		parts := strings.Split(spec, ":")
		var ip, host, ctr string
		switch len(parts) {
		case 2:
			host, ctr = parts[0], parts[1]
		case 3:
			ip, host, ctr = parts[0], parts[1], parts[2]
		default:
			return nil, fmt.Errorf("--publish %q: want [IP:]HOST:CONTAINER[/udp]", p)
		}
		hp, err1 := strconv.ParseUint(host, 10, 16)
		cp, err2 := strconv.ParseUint(ctr, 10, 16)
		if err1 != nil || err2 != nil || hp == 0 || cp == 0 {
			return nil, fmt.Errorf("--publish %q: ports must be numbers from 1 to 65535", p)
		}
		out = append(out, PortMapping{HostIP: ip, HostPort: uint16(hp), ContainerPort: uint16(cp), Protocol: proto})
	}
	return out, nil
}

// ParseAddHost reads --add-host NAME:IP.
func ParseAddHost(s string) (name, ip string, err error) {
	name, ip, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return "", "", fmt.Errorf("--add-host %q: want NAME:IP", s)
	}
	if _, err := netip.ParseAddr(ip); err != nil {
		return "", "", fmt.Errorf("--add-host %q: %w", s, err)
	}
	return name, ip, nil
}
