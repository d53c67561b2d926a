package pod

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/podspec"
)

// ociInput is everything a container's OCI spec is made of: its view of
// its pod's spec, its image's configuration and the host paths prepared
// for it.
type ociInput struct {
	Name string // the container's runtime name
	View *podspec.Pod
	// Image is the image's own configuration.
	Image  v1.Config
	Rootfs string
	Etc    etcFiles
	Cgroup string
	// Hostname is set for a standalone container; a pod's containers join
	// its infra's UTS namespace.
	Hostname string
	InPod    bool
	// Mounts are the container's volume mounts, resolved to host paths.
	Mounts []mountOption
}

// mountOption is one mount of a container: a bind mount of a prepared
// volume directory or file, or a tmpfs.
type mountOption struct {
	Type        string // bind or tmpfs
	Source      string
	Destination string
	Options     []string
}

// ociOptions builds a container's OCI spec as a list of options, from data
// alone (the user's name is looked up in the root filesystem when the
// options are applied). The order matters: Kubernetes and Podman drop
// capabilities first, then add (drop ALL + add X keeps X).
func ociOptions(in ociInput) ([]runtime.SpecOpt, error) {
	v, c := in.View, in.View.Container()
	if c == nil {
		return nil, errors.New("no container in the spec")
	}
	args, err := processArgs(in.Image, c)
	if err != nil {
		return nil, err
	}
	sec := c.Security
	user := c.UserOr(in.Image.User)
	opts := []runtime.SpecOpt{
		runtime.WithRootfs(in.Rootfs, sec.ReadOnlyRootfs),
		runtime.WithArgs(args...),
		runtime.WithEnv(append(append([]string{}, in.Image.Env...), c.EnvList()...)...),
		runtime.WithCwd(firstNonEmpty(c.WorkingDir, in.Image.WorkingDir, "/")),
		runtime.WithUser(in.Rootfs, user),
		runtime.WithEtcFiles(in.Etc.hosts, in.Etc.resolv, in.Etc.hostname),
		runtime.WithCgroupsPath(in.Cgroup),
	}
	if len(sec.CapDrop) > 0 {
		opts = append(opts, runtime.WithCapDrop(sec.CapDrop...))
	}
	if len(sec.CapAdd) > 0 {
		opts = append(opts, runtime.WithCapAdd(sec.CapAdd...))
	}
	hostNet := !in.InPod && v.NetworkName() == podspec.NetworkHost
	switch {
	case hostNet:
		opts = append(opts, runtime.WithHostNamespace(specs.NetworkNamespace), runtime.WithHostNamespace(specs.UTSNamespace))
	case in.Hostname != "":
		opts = append(opts, runtime.WithHostname(in.Hostname))
	}
	if c.TTY {
		opts = append(opts, runtime.WithTerminal())
	}
	if sec.Privileged {
		opts = append(opts, runtime.WithPrivileged())
	}
	opts = append(opts, resourceOptions(c.Resources)...)
	for _, mo := range in.Mounts {
		opts = append(opts, withMount(mo))
	}
	if sec.ProcMount == "Unmasked" {
		opts = append(opts, withUnmaskedProc())
	}
	if sec.AllowPrivilegeEscalation != nil && !*sec.AllowPrivilegeEscalation {
		opts = append(opts, runtime.WithNoNewPrivileges())
	}
	if len(v.Security.Sysctls) > 0 {
		opts = append(opts, runtime.WithSysctls(v.Security.Sysctls))
	}
	if groups := supplementalGroups(&v.Security); len(groups) > 0 {
		opts = append(opts, withSupplementalGroups(groups))
	}
	seccomp, err := seccompOption(sec.Privileged, firstNonEmpty(sec.SeccompProfile, v.Security.SeccompProfile))
	if err != nil {
		return nil, err
	}
	if seccomp != nil {
		opts = append(opts, seccomp)
	}
	if sec.RunAsNonRoot != nil && *sec.RunAsNonRoot {
		if err := checkNonRoot(v.Name, c.Name, in.InPod, user); err != nil {
			return nil, err
		}
	}
	return opts, nil
}

// processArgs merges the image's entrypoint and cmd with the container's,
// as Kubernetes does: a command replaces the entrypoint and drops the
// image's cmd; args replace the cmd.
func processArgs(cfg v1.Config, c *podspec.Container) ([]string, error) {
	entry, cmd := cfg.Entrypoint, cfg.Cmd
	if len(c.Command) > 0 {
		entry, cmd = c.Command, nil
	}
	if len(c.Args) > 0 {
		cmd = c.Args
	}
	args := append(append([]string{}, entry...), cmd...)
	if len(args) == 0 {
		return nil, fmt.Errorf("no command specified and image %q has no entrypoint or cmd", c.Image)
	}
	return args, nil
}

// resourceOptions are the cgroup limits: CPU and memory limits, and from
// the requests CPU shares (as the kubelet computes them) and a memory
// reservation.
func resourceOptions(r podspec.Resources) []runtime.SpecOpt {
	var opts []runtime.SpecOpt
	if r.MemoryLimit > 0 {
		opts = append(opts, runtime.WithMemoryLimit(r.MemoryLimit))
	}
	if r.CPULimit > 0 {
		opts = append(opts, runtime.WithCPUs(float64(r.CPULimit)/1000))
	}
	if r.CPURequest > 0 {
		opts = append(opts, runtime.WithCPUShares(uint64(max(2, r.CPURequest*1024/1000))))
	}
	if r.MemoryRequest > 0 {
		opts = append(opts, withMemoryReservation(r.MemoryRequest))
	}
	return opts
}

// supplementalGroups are the pod's, and its fsGroup.
func supplementalGroups(s *podspec.PodSecurity) []int64 {
	groups := append([]int64{}, s.SupplementalGroups...)
	if s.FSGroup != nil {
		groups = append(groups, *s.FSGroup)
	}
	return groups
}

// seccompOption picks the seccomp profile: the runtime default for
// RuntimeDefault (what the command line asks for unless told otherwise, as
// Podman); none for privileged containers, Unconfined and no profile
// (Kubernetes' default).
func seccompOption(privileged bool, profile string) (runtime.SpecOpt, error) {
	if privileged {
		return nil, nil
	}
	switch profile {
	case "RuntimeDefault", "runtime/default":
		return runtime.WithDefaultSeccomp(), nil
	case "", "Unconfined", "unconfined":
		return nil, nil
	}
	return nil, fmt.Errorf("seccomp profile %q is not supported (use RuntimeDefault or Unconfined)", profile)
}

// checkNonRoot refuses a container whose user would be root, with the
// kubelet's own messages.
func checkNonRoot(podName, ctr string, inPod bool, user string) error {
	if !inPod {
		podName = ""
	}
	name, _, _ := strings.Cut(user, ":")
	if name == "" {
		return fmt.Errorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", podName, ctr)
	}
	uid, err := strconv.ParseInt(name, 10, 64)
	if err != nil {
		return fmt.Errorf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: %q, container: %s)", name, podName, ctr)
	}
	if uid == 0 {
		return fmt.Errorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", podName, ctr)
	}
	return nil
}

func withMount(mo mountOption) runtime.SpecOpt {
	return func(s *specs.Spec) error {
		m := specs.Mount{Destination: mo.Destination, Type: mo.Type, Source: mo.Source, Options: mo.Options}
		if mo.Type == "bind" {
			m.Options = append([]string{"rbind"}, mo.Options...)
		}
		if mo.Type == "tmpfs" {
			m.Source = "tmpfs"
		}
		out := s.Mounts[:0]
		for _, x := range s.Mounts {
			if x.Destination != m.Destination {
				out = append(out, x)
			}
		}
		s.Mounts = append(out, m)
		return nil
	}
}

// withUnmaskedProc is procMount Unmasked: no masked or read-only /proc paths.
func withUnmaskedProc() runtime.SpecOpt {
	return func(s *specs.Spec) error {
		if s.Linux != nil {
			s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
		}
		return nil
	}
}

func withMemoryReservation(n int64) runtime.SpecOpt {
	return func(s *specs.Spec) error {
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		if s.Linux.Resources == nil {
			s.Linux.Resources = &specs.LinuxResources{}
		}
		if s.Linux.Resources.Memory == nil {
			s.Linux.Resources.Memory = &specs.LinuxMemory{}
		}
		s.Linux.Resources.Memory.Reservation = &n
		return nil
	}
}

func withSupplementalGroups(gids []int64) runtime.SpecOpt {
	return func(s *specs.Spec) error {
		if s.Process == nil {
			return fmt.Errorf("supplemental groups: no process")
		}
		for _, g := range gids {
			s.Process.User.AdditionalGids = append(s.Process.User.AdditionalGids, uint32(g))
		}
		return nil
	}
}
