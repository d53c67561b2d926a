package pod

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/engine/state"
)

// kubeOptions turns the Kubernetes-only container options into spec options.
func (m *Manager) kubeOptions(o ContainerOptions) []runtime.SpecOpt {
	var opts []runtime.SpecOpt
	for _, mo := range o.Mounts {
		opts = append(opts, withMount(mo))
	}
	if o.ProcMount == "Unmasked" {
		opts = append(opts, func(s *specs.Spec) error {
			if s.Linux != nil {
				s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
			}
			return nil
		})
	}
	if o.NoNewPrivileges {
		opts = append(opts, runtime.WithNoNewPrivileges())
	}
	if len(o.Sysctls) > 0 {
		opts = append(opts, runtime.WithSysctls(o.Sysctls))
	}
	if o.CPUShares > 0 {
		opts = append(opts, runtime.WithCPUShares(o.CPUShares))
	}
	if o.MemoryReservation > 0 {
		opts = append(opts, withMemoryReservation(o.MemoryReservation))
	}
	if len(o.SupplementalGroups) > 0 {
		opts = append(opts, withSupplementalGroups(o.SupplementalGroups))
	}
	return opts
}

func withMount(mo MountOption) runtime.SpecOpt {
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

// checkNonRoot refuses a container whose user would be root, with the
// kubelet's own messages.
func checkNonRoot(c *state.Container, user string) error {
	podName, ctr := c.PodName, c.Name
	if c.PodName != "" {
		ctr = strings.TrimPrefix(c.Name, c.PodName+"-")
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
