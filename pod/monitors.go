package pod

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/podbay/podbay/engine/monitor"
	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/engine/state"
)

// monitorDir is where a container's monitor lives: one monitor per pod
// (infra and app containers share it), a standalone container has its own.
func (m *Manager) monitorDir(c *state.Container) string {
	if c.PodID != "" {
		return filepath.Join(m.podRunDir(c.PodID), "monitor")
	}
	return m.containerRunDir(c.ID)
}

func (m *Manager) monitorConfig(c *state.Container) monitor.Config {
	id := c.ID
	if c.PodID != "" {
		id = c.PodID
	}
	cfg := monitor.Config{ID: id, Dir: m.monitorDir(c)}
	if c.PodID != "" {
		cfg.OnReady = m.SyncCommand
	}
	if m.Runtime != nil {
		cfg.Runtime, cfg.RuntimeRoot = m.Runtime.Path(), m.Runtime.Root()
	}
	return cfg
}

// directDeleteCgroup is the cgroups path by which the monitor may delete c
// from runc itself once it has exited (monitor.Container.Cgroup): "" unless
// the runtime is runc and c's bundle gives it a PID namespace of its own,
// an absolute cgroups path and no hooks.
func (m *Manager) directDeleteCgroup(c *state.Container) string {
	if m.Runtime == nil || filepath.Base(m.Runtime.Path()) != "runc" {
		return ""
	}
	spec, err := runtime.ReadBundle(c.Bundle)
	if err != nil || spec.Linux == nil || spec.Hooks != nil || !strings.HasPrefix(spec.Linux.CgroupsPath, "/") {
		return ""
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.PIDNamespace && ns.Path == "" {
			return spec.Linux.CgroupsPath
		}
	}
	return ""
}

// monitorContainer describes c to its monitor: its files, its terminal
// and stdin, and the kubelet's part (restart policy, probes, hooks, stop
// signal and grace period).
func (m *Manager) monitorContainer(ctx context.Context, c *state.Container) (monitor.Container, error) {
	mc := monitor.Container{ID: c.ID, Bundle: c.Bundle, LogPath: c.LogPath, ExitFile: m.exitFile(c.ID), Rootfs: c.Rootfs,
		Cgroup: m.directDeleteCgroup(c)}
	if c.Infra {
		mc.Rootfs = ""
		return mc, nil
	}
	view := ViewOf(c)
	ctr := view.Container()
	if ctr == nil {
		return mc, fmt.Errorf("container %s: its record holds no spec", c.Name)
	}
	mc.Terminal, mc.Stdin, mc.StdinOnce = ctr.TTY, ctr.Stdin && !ctr.TTY, ctr.StdinOnce
	return m.kubeletPart(c, &view, mc), nil
}

// status reads the monitor's view of a running container (its pid after
// restarts, restart count, readiness); nil when there is none.
func (m *Manager) status(c *state.Container) *monitor.Status {
	cfg := m.monitorConfig(c)
	st, err := monitor.ReadStatus(cfg.StatusPath(c.ID))
	if err != nil {
		return nil
	}
	return st
}

// signalNum reads a stop signal as Kubernetes and images spell it ("TERM",
// "SIGTERM"); 0 when unknown.
func signalNum(name string) syscall.Signal {
	return unix.SignalNum("SIG" + strings.TrimPrefix(strings.ToUpper(name), "SIG"))
}

// podMonitorConfig is the monitor directory of a pod, known without a record.
func (m *Manager) podMonitorConfig(podID string) monitor.Config {
	cfg := monitor.Config{ID: podID, Dir: filepath.Join(m.podRunDir(podID), "monitor")}
	if m.Runtime != nil {
		cfg.Runtime, cfg.RuntimeRoot = m.Runtime.Path(), m.Runtime.Root()
	}
	return cfg
}
