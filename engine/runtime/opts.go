package runtime

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func ensureProcess(s *specs.Spec) *specs.Process {
	if s.Process == nil {
		s.Process = &specs.Process{Cwd: "/"}
	}
	return s.Process
}

func ensureLinux(s *specs.Spec) *specs.Linux {
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	return s.Linux
}

func ensureResources(s *specs.Spec) *specs.LinuxResources {
	l := ensureLinux(s)
	if l.Resources == nil {
		l.Resources = &specs.LinuxResources{}
	}
	return l.Resources
}

// WithRootfs sets the root filesystem directory.
func WithRootfs(path string, readonly bool) SpecOpt {
	return func(s *specs.Spec) error {
		s.Root = &specs.Root{Path: path, Readonly: readonly}
		return nil
	}
}

// WithReadonlyRootfs makes the root filesystem read-only.
func WithReadonlyRootfs() SpecOpt {
	return func(s *specs.Spec) error {
		if s.Root == nil {
			s.Root = &specs.Root{Path: "rootfs"}
		}
		s.Root.Readonly = true
		return nil
	}
}

// WithArgs sets the process arguments.
func WithArgs(args ...string) SpecOpt {
	return func(s *specs.Spec) error {
		if len(args) == 0 {
			return errors.New("setting process args: no command given")
		}
		ensureProcess(s).Args = clone(args)
		return nil
	}
}

// WithEnv merges KEY=VALUE entries into the environment; later entries win.
func WithEnv(env ...string) SpecOpt {
	return func(s *specs.Spec) error {
		p := ensureProcess(s)
		p.Env = mergeEnv(p.Env, env)
		return nil
	}
}

func envIndex(env []string, key string) int {
	return slices.IndexFunc(env, func(e string) bool {
		k, _, _ := strings.Cut(e, "=")
		return k == key
	})
}

func mergeEnv(base, add []string) []string {
	out := clone(base)
	for _, e := range add {
		k, _, _ := strings.Cut(e, "=")
		if k == "" {
			continue
		}
		if i := envIndex(out, k); i >= 0 {
			out[i] = e
		} else {
			out = append(out, e)
		}
	}
	return out
}

// WithCwd sets the working directory; it must be absolute.
func WithCwd(dir string) SpecOpt {
	return func(s *specs.Spec) error {
		if !filepath.IsAbs(dir) {
			return fmt.Errorf("setting working directory %q: not an absolute path", dir)
		}
		ensureProcess(s).Cwd = dir
		return nil
	}
}

// ImageOverrides replaces parts of an image config: a nil Entrypoint keeps the
// image's, an empty non-nil one clears it (and, as with Docker and Kubernetes,
// setting Entrypoint drops the image's Cmd).
type ImageOverrides struct {
	Entrypoint []string
	Cmd        []string
}

// WithImageConfig applies an image config (Env, Entrypoint, Cmd, WorkingDir,
// User) under the given overrides. Apply it after WithRootfs: a user name is
// looked up in the spec's root path.
func WithImageConfig(cfg v1.Config, over ImageOverrides) SpecOpt {
	return func(s *specs.Spec) error {
		entrypoint, cmd := cfg.Entrypoint, cfg.Cmd
		if over.Entrypoint != nil {
			entrypoint, cmd = over.Entrypoint, nil
		}
		if over.Cmd != nil {
			cmd = over.Cmd
		}
		args := append(clone(entrypoint), cmd...)
		if len(args) == 0 {
			return errors.New("applying image config: no command given and the image has no entrypoint or cmd")
		}
		p := ensureProcess(s)
		p.Args = args
		p.Env = mergeEnv(p.Env, cfg.Env)
		if cfg.WorkingDir != "" {
			if err := WithCwd(cfg.WorkingDir)(s); err != nil {
				return fmt.Errorf("applying image config: %w", err)
			}
		}
		if cfg.User != "" {
			if err := WithUser("", cfg.User)(s); err != nil {
				return fmt.Errorf("applying image config: %w", err)
			}
		}
		return nil
	}
}

// WithPrivileged grants every capability, unmasks /proc and /sys, makes /sys
// writable and allows every device in the cgroup.
func WithPrivileged() SpecOpt {
	return func(s *specs.Spec) error {
		if err := WithCapAdd("ALL")(s); err != nil {
			return err
		}
		l := ensureLinux(s)
		l.MaskedPaths, l.ReadonlyPaths = nil, nil
		l.Seccomp = nil
		for i, m := range s.Mounts {
			if m.Type == "sysfs" || m.Type == "cgroup" {
				s.Mounts[i].Options = slices.DeleteFunc(clone(m.Options), func(o string) bool { return o == "ro" })
				s.Mounts[i].Options = append(s.Mounts[i].Options, "rw")
			}
		}
		ensureResources(s).Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
		return nil
	}
}

// WithNoNewPrivileges stops the process from gaining privileges (setuid, file caps).
func WithNoNewPrivileges() SpecOpt {
	return func(s *specs.Spec) error {
		ensureProcess(s).NoNewPrivileges = true
		return nil
	}
}

// WithNamespaceHolderMounts trims the default mounts to what a process
// that only holds namespaces needs (a pod's infra): /proc (which runc
// itself uses), /dev and /dev/shm. It drops /dev/pts, /dev/mqueue, /sys and
// the cgroup hierarchy, and the masked and read-only paths under /sys. Each
// dropped mount is work runc does on a pod's critical path: the cgroup
// hierarchy alone is a mount per controller on cgroups v1.
func WithNamespaceHolderMounts() SpecOpt {
	return func(s *specs.Spec) error {
		drop := map[string]bool{"/dev/pts": true, "/dev/mqueue": true, "/sys": true, "/sys/fs/cgroup": true}
		s.Mounts = slices.DeleteFunc(s.Mounts, func(m specs.Mount) bool { return drop[m.Destination] })
		if s.Linux != nil {
			underSys := func(p string) bool { return p == "/sys" || strings.HasPrefix(p, "/sys/") }
			s.Linux.MaskedPaths = slices.DeleteFunc(s.Linux.MaskedPaths, underSys)
			s.Linux.ReadonlyPaths = slices.DeleteFunc(s.Linux.ReadonlyPaths, underSys)
		}
		return nil
	}
}

// WithBindMount bind-mounts host path src at dst.
func WithBindMount(src, dst string, readonly bool) SpecOpt {
	return func(s *specs.Spec) error {
		if !filepath.IsAbs(dst) {
			return fmt.Errorf("bind mount %q: destination %q is not absolute", src, dst)
		}
		opts := []string{"rbind", "rprivate"}
		if readonly {
			opts = append(opts, "ro")
		}
		s.Mounts = replaceMount(s.Mounts, specs.Mount{Destination: dst, Type: "bind", Source: src, Options: opts})
		return nil
	}
}

// WithTmpfs mounts a tmpfs at dst with opts (default: rw, noexec, nosuid, nodev).
func WithTmpfs(dst string, opts ...string) SpecOpt {
	return func(s *specs.Spec) error {
		if !filepath.IsAbs(dst) {
			return fmt.Errorf("tmpfs: destination %q is not absolute", dst)
		}
		if len(opts) == 0 {
			opts = []string{"rw", "noexec", "nosuid", "nodev"}
		}
		s.Mounts = replaceMount(s.Mounts, specs.Mount{Destination: dst, Type: "tmpfs", Source: "tmpfs", Options: clone(opts)})
		return nil
	}
}

// replaceMount adds m, replacing any earlier mount at the same destination.
func replaceMount(mounts []specs.Mount, m specs.Mount) []specs.Mount {
	dst := filepath.Clean(m.Destination)
	mounts = slices.DeleteFunc(mounts, func(x specs.Mount) bool { return filepath.Clean(x.Destination) == dst })
	return append(mounts, m)
}

// WithEtcFiles bind-mounts prepared /etc/hosts, /etc/resolv.conf and
// /etc/hostname files; an empty path is skipped.
func WithEtcFiles(hostsPath, resolvPath, hostnamePath string) SpecOpt {
	return func(s *specs.Spec) error {
		for _, f := range []struct{ src, dst string }{
			{hostsPath, "/etc/hosts"}, {resolvPath, "/etc/resolv.conf"}, {hostnamePath, "/etc/hostname"},
		} {
			if f.src == "" {
				continue
			}
			s.Mounts = replaceMount(s.Mounts, specs.Mount{Destination: f.dst, Type: "bind", Source: f.src, Options: []string{"bind", "rprivate"}})
		}
		return nil
	}
}

// WithHostname sets the UTS hostname.
func WithHostname(name string) SpecOpt {
	return func(s *specs.Spec) error {
		s.Hostname = name
		return nil
	}
}

// WithNamespacePath makes the container join the namespace at path (a pod's
// network, IPC, UTS or PID namespace), adding the namespace if missing.
func WithNamespacePath(typ specs.LinuxNamespaceType, path string) SpecOpt {
	return func(s *specs.Spec) error {
		l := ensureLinux(s)
		for i := range l.Namespaces {
			if l.Namespaces[i].Type == typ {
				l.Namespaces[i].Path = path
				return nil
			}
		}
		l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: typ, Path: path})
		return nil
	}
}

// WithHostNamespace removes a namespace so the container shares the host's.
func WithHostNamespace(typ specs.LinuxNamespaceType) SpecOpt {
	return func(s *specs.Spec) error {
		l := ensureLinux(s)
		l.Namespaces = slices.DeleteFunc(l.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == typ })
		return nil
	}
}

// WithMemoryLimit limits memory to bytes.
func WithMemoryLimit(bytes int64) SpecOpt {
	return func(s *specs.Spec) error {
		if bytes <= 0 {
			return fmt.Errorf("memory limit %d: must be positive", bytes)
		}
		r := ensureResources(s)
		if r.Memory == nil {
			r.Memory = &specs.LinuxMemory{}
		}
		r.Memory.Limit = &bytes
		return nil
	}
}

// cpuPeriod is the CFS period used for CPU quotas, as Podman and the kubelet.
const cpuPeriod = 100000

// WithCPUs limits the container to cpus CPUs through a CFS quota.
func WithCPUs(cpus float64) SpecOpt {
	return func(s *specs.Spec) error {
		if cpus <= 0 {
			return fmt.Errorf("cpus %g: must be positive", cpus)
		}
		c := ensureCPU(s)
		period, quota := uint64(cpuPeriod), int64(cpus*cpuPeriod+0.5)
		c.Period, c.Quota = &period, &quota
		return nil
	}
}

// WithCPUShares sets the relative CPU weight.
func WithCPUShares(shares uint64) SpecOpt {
	return func(s *specs.Spec) error {
		ensureCPU(s).Shares = &shares
		return nil
	}
}

func ensureCPU(s *specs.Spec) *specs.LinuxCPU {
	r := ensureResources(s)
	if r.CPU == nil {
		r.CPU = &specs.LinuxCPU{}
	}
	return r.CPU
}

// WithCgroupsPath sets the cgroup path (for cgroupfs, "/podbay/<id>").
func WithCgroupsPath(path string) SpecOpt {
	return func(s *specs.Spec) error {
		ensureLinux(s).CgroupsPath = path
		return nil
	}
}

// WithTerminal gives the process a terminal and TERM=xterm unless TERM is set.
func WithTerminal() SpecOpt {
	return func(s *specs.Spec) error {
		p := ensureProcess(s)
		p.Terminal = true
		if envIndex(p.Env, "TERM") < 0 {
			p.Env = append(p.Env, "TERM=xterm")
		}
		return nil
	}
}

// WithAnnotations merges annotations into the spec.
func WithAnnotations(a map[string]string) SpecOpt {
	return func(s *specs.Spec) error {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		maps.Copy(s.Annotations, a)
		return nil
	}
}

// WithSysctls merges namespaced kernel parameters into the spec.
func WithSysctls(sysctls map[string]string) SpecOpt {
	return func(s *specs.Spec) error {
		l := ensureLinux(s)
		if l.Sysctl == nil {
			l.Sysctl = map[string]string{}
		}
		maps.Copy(l.Sysctl, sysctls)
		return nil
	}
}

// WithSeccomp sets the seccomp profile; nil means unconfined. A default
// profile (RuntimeDefault) plugs in here later.
func WithSeccomp(profile *specs.LinuxSeccomp) SpecOpt {
	return func(s *specs.Spec) error {
		ensureLinux(s).Seccomp = profile
		return nil
	}
}

// WithOOMScoreAdj sets the process' OOM score adjustment (-1000..1000).
func WithOOMScoreAdj(adj int) SpecOpt {
	return func(s *specs.Spec) error {
		if adj < -1000 || adj > 1000 {
			return fmt.Errorf("oom score adjustment %d: out of range -1000..1000", adj)
		}
		ensureProcess(s).OOMScoreAdj = &adj
		return nil
	}
}
