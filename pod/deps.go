package pod

import (
	"context"
	"syscall"
	"time"

	"github.com/podbay/podbay/engine/image"
	"github.com/podbay/podbay/engine/monitor"
	"github.com/podbay/podbay/engine/network"
	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/internal/cgroups"
	"github.com/podbay/podbay/internal/mounts"
)

// The Manager's parts are consumed through these small interfaces, so that
// its lifecycle and failure paths run in unit tests with fakes, without
// root. The state store is not one of them: it is a file, and the real one
// runs anywhere.

// Images is the image store as containers use it.
type Images interface {
	Get(ctx context.Context, ref string) (*image.Image, error)
	Pull(ctx context.Context, ref string, o image.PullOptions) (*image.Image, error)
	LayerDirs(ctx context.Context, img *image.Image) ([]string, error)
	List(ctx context.Context) ([]*image.Image, error)
	Remove(ctx context.Context, ref string, o image.RemoveOptions) (image.RemoveReport, error)
}

// Runtime is the OCI runtime, for what the monitors do not do themselves.
type Runtime interface {
	Path() string
	Root() string
	Kill(ctx context.Context, id string, sig syscall.Signal, o runtime.KillOptions) error
	Delete(ctx context.Context, id string, o runtime.DeleteOptions) error
	Exec(ctx context.Context, id string, o runtime.ExecOptions) (int, error)
}

// Networks attaches pods to CNI networks.
type Networks interface {
	Get(ctx context.Context, name string) (*network.Network, error)
	List(ctx context.Context) ([]*network.Network, error)
	Attach(ctx context.Context, o network.AttachOptions) (*network.Attachment, error)
	Detach(ctx context.Context, o network.AttachOptions) error
	Attachments(ctx context.Context, name string) ([]*network.Attachment, error)
	Peers(ctx context.Context, name string) ([]network.Peer, error)
	RemoveAll(ctx context.Context) error
}

// Monitors start and stop containers through their pod's monitor.
type Monitors interface {
	Prelaunch(binary string, cfg monitor.Config) (*monitor.Pending, error)
	Start(ctx context.Context, binary string, pre *monitor.Pending, cfg monitor.Config, c monitor.Container) (*monitor.StartedContainer, error)
	StopContainer(ctx context.Context, cfg *monitor.Config, id string, grace time.Duration) error
	StopAll(ctx context.Context, cfg *monitor.Config, grace time.Duration) error
}

// Host is what only root may do on the host: mounts, network namespaces
// and cgroups.
type Host interface {
	MountRootfs(ctx context.Context, lowers []string, upper, work, target string) error
	UnmountRootfs(target string) error
	// MountTmpfs mounts a tmpfs of size bytes (0: tmpfs's default) on dir.
	MountTmpfs(dir string, size int64) error
	// UnmountUnder unmounts everything mounted under dir, deepest first.
	UnmountUnder(dir string) error
	NewNetNS(runroot, name string) (string, error)
	RemoveNetNS(path string) error
	IsNetNS(path string) bool
	SetupLoopback(path string) error
	KillCgroup(ctx context.Context, path string) error
	RemoveCgroup(path string) error
}

// realMonitors are podbay-monitor processes.
type realMonitors struct{}

func (realMonitors) Prelaunch(binary string, cfg monitor.Config) (*monitor.Pending, error) {
	return monitor.Prelaunch(binary, cfg)
}

func (realMonitors) Start(ctx context.Context, binary string, pre *monitor.Pending, cfg monitor.Config, c monitor.Container) (*monitor.StartedContainer, error) {
	return monitor.StartPending(ctx, binary, pre, cfg, c)
}

func (realMonitors) StopContainer(ctx context.Context, cfg *monitor.Config, id string, grace time.Duration) error {
	return monitor.StopContainer(ctx, cfg, id, grace)
}

func (realMonitors) StopAll(ctx context.Context, cfg *monitor.Config, grace time.Duration) error {
	return monitor.StopAll(ctx, cfg, grace)
}

// realHost is this machine.
type realHost struct{}

func (realHost) MountRootfs(ctx context.Context, lowers []string, upper, work, target string) error {
	return image.MountRootfs(ctx, lowers, upper, work, target)
}
func (realHost) UnmountRootfs(target string) error       { return image.UnmountRootfs(target) }
func (realHost) MountTmpfs(dir string, size int64) error { return mountMemoryVolume(dir, size) }
func (realHost) UnmountUnder(dir string) error           { return mounts.UnmountUnder(dir) }
func (realHost) NewNetNS(runroot, name string) (string, error) {
	return network.NewNetNS(runroot, name)
}
func (realHost) RemoveNetNS(path string) error                     { return network.RemoveNetNS(path) }
func (realHost) IsNetNS(path string) bool                          { return network.IsNetNS(path) }
func (realHost) SetupLoopback(path string) error                   { return network.SetupLoopback(path) }
func (realHost) KillCgroup(ctx context.Context, path string) error { return cgroups.Kill(ctx, path) }
func (realHost) RemoveCgroup(path string) error                    { return cgroups.Remove(path) }

// monitors and host are the Manager's, else the real ones.
func (m *Manager) monitors() Monitors {
	if m.Monitors == nil {
		return realMonitors{}
	}
	return m.Monitors
}

func (m *Manager) host() Host {
	if m.Host == nil {
		return realHost{}
	}
	return m.Host
}
