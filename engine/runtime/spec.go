package runtime

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SpecOpt changes one aspect of an OCI runtime spec.
type SpecOpt func(*specs.Spec) error

// Compose turns several options into one, applied in order.
func Compose(opts ...SpecOpt) SpecOpt {
	return func(s *specs.Spec) error {
		for _, o := range opts {
			if o == nil {
				continue
			}
			if err := o(s); err != nil {
				return err
			}
		}
		return nil
	}
}

// NewSpec returns Podman's default Linux spec with opts applied in order.
func NewSpec(opts ...SpecOpt) (*specs.Spec, error) {
	s := defaultSpec()
	if err := Compose(opts...)(s); err != nil {
		return nil, err
	}
	return s, nil
}

// SpecVersion is the ociVersion written into specs: the newest that the
// runtimes Debian 12 ships accept (crun 1.8 refuses "1.3.0"); podbay uses no
// newer field.
const SpecVersion = "1.0.2"

// DefaultPath is the PATH a process gets unless the image or caller sets one.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DefaultCapabilities is Podman's default capability set.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
	"CAP_SETUID", "CAP_SYS_CHROOT",
}

// DefaultMaskedPaths are hidden from the container (Podman and containerd).
var DefaultMaskedPaths = []string{
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
	"/sys/firmware", "/sys/fs/selinux", "/sys/dev/block", "/sys/devices/virtual/powercap",
}

// DefaultReadonlyPaths are mounted read-only in the container.
var DefaultReadonlyPaths = []string{
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
}

// Wanted rlimits before clamping, as Podman sets them for root.
const (
	defaultNofile = 1048576
	defaultNproc  = 4194304
)

func defaultSpec() *specs.Spec {
	return &specs.Spec{
		Version: SpecVersion,
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{
			Args: []string{"/bin/sh"},
			Env:  []string{DefaultPath},
			Cwd:  "/",
			User: specs.User{UID: 0, GID: 0},
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  clone(DefaultCapabilities),
				Effective: clone(DefaultCapabilities),
				Permitted: clone(DefaultCapabilities),
			},
			Rlimits: defaultRlimits(getHardLimit),
		},
		Mounts: defaultMounts(),
		Linux: &specs.Linux{
			MaskedPaths:   clone(DefaultMaskedPaths),
			ReadonlyPaths: clone(DefaultReadonlyPaths),
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace},
				{Type: specs.NetworkNamespace},
			},
			Resources: &specs.LinuxResources{Devices: defaultDeviceRules()},
		},
	}
}

func defaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
	}
}

func defaultDeviceRules() []specs.LinuxDeviceCgroup {
	i := func(v int64) *int64 { return &v }
	rule := func(major, minor int64) specs.LinuxDeviceCgroup {
		r := specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i(major), Access: "rwm"}
		if minor >= 0 {
			r.Minor = i(minor)
		}
		return r
	}
	return []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		rule(1, 3), rule(1, 5), rule(1, 7), rule(1, 8), rule(1, 9), // null zero full random urandom
		rule(5, 0), rule(5, 1), rule(5, 2), // tty console ptmx
		rule(136, -1), // pts
		rule(10, 200), // net/tun
	}
}

// hardLimitFunc reports the current hard limit of a resource.
type hardLimitFunc func(resource int) (uint64, error)

func getHardLimit(resource int) (uint64, error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(resource, &rl); err != nil {
		return 0, fmt.Errorf("getrlimit %d: %w", resource, err)
	}
	return rl.Max, nil
}

// defaultRlimits returns Podman's rlimits clamped to the current hard limits:
// without CAP_SYS_RESOURCE the runtime cannot raise them.
func defaultRlimits(hard hardLimitFunc) []specs.POSIXRlimit {
	want := []struct {
		name     string
		resource int
		value    uint64
	}{
		{"RLIMIT_NOFILE", unix.RLIMIT_NOFILE, defaultNofile},
		{"RLIMIT_NPROC", unix.RLIMIT_NPROC, defaultNproc},
	}
	out := make([]specs.POSIXRlimit, 0, len(want))
	for _, w := range want {
		v := w.value
		if h, err := hard(w.resource); err == nil && h < v {
			v = h
		}
		out = append(out, specs.POSIXRlimit{Type: w.name, Hard: v, Soft: v})
	}
	return out
}

func clone(s []string) []string {
	if s == nil {
		return nil
	}
	return append(make([]string, 0, len(s)), s...)
}
