package pod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/podbay/podbay/engine/image"
	"github.com/podbay/podbay/engine/monitor"
	"github.com/podbay/podbay/engine/network"
	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/engine/state"
)

// errFake is what a fake made to fail returns.
var errFake = errors.New("fake failure")

// fakes are an engine made of fakes around a real state store in a
// temporary directory: containers are `sleep` processes, their monitors
// too; nothing needs root.
type fakes struct {
	t    *testing.T
	m    *Manager
	img  *fakeImages
	rt   *fakeRuntime
	net  *fakeNetworks
	mon  *fakeMonitors
	host *fakeHost
}

func newFakes(t *testing.T) *fakes {
	t.Helper()
	dir := t.TempDir()
	st, err := state.Open(filepath.Join(dir, "root"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakes{t: t, img: &fakeImages{dir: dir}, rt: &fakeRuntime{root: filepath.Join(dir, "runtime")},
		net: &fakeNetworks{attached: map[string]*network.Attachment{}}, mon: newFakeMonitors(t), host: &fakeHost{mounted: map[string]bool{}}}
	f.m = &Manager{Root: filepath.Join(dir, "root"), Runroot: filepath.Join(dir, "run"), Images: f.img, Runtime: f.rt,
		State: st, Networks: f.net, Monitors: f.mon, Host: f.host, MonitorBin: "/usr/bin/podbay-monitor",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := f.m.SpreadDirs(); err != nil {
		t.Fatal(err)
	}
	return f
}

// fakeImages holds "busybox" (cmd sh, as the real one) and nothing else;
// a pull of anything else fails.
type fakeImages struct {
	dir    string
	pulled []string
}

func (f *fakeImages) image(ref string) (*image.Image, error) {
	if ref != "busybox" && ref != "docker.io/library/busybox:latest" && ref != busyboxID {
		return nil, fmt.Errorf("image %s: %w", ref, image.ErrNotFound)
	}
	return &image.Image{ID: busyboxID, Names: []string{"docker.io/library/busybox:latest"},
		Config: v1.ConfigFile{Config: v1.Config{Cmd: []string{"sh"}, Env: []string{"PATH=/bin"}}}}, nil
}

func (f *fakeImages) Get(_ context.Context, ref string) (*image.Image, error) { return f.image(ref) }
func (f *fakeImages) Pull(_ context.Context, ref string, _ image.PullOptions) (*image.Image, error) {
	f.pulled = append(f.pulled, ref)
	img, err := f.image(ref)
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, errFake)
	}
	return img, nil
}
func (f *fakeImages) LayerDirs(context.Context, *image.Image) ([]string, error) {
	return []string{filepath.Join(f.dir, "layer")}, nil
}
func (f *fakeImages) List(context.Context) ([]*image.Image, error) {
	img, _ := f.image("busybox")
	return []*image.Image{img}, nil
}
func (f *fakeImages) Remove(context.Context, string, image.RemoveOptions) (image.RemoveReport, error) {
	return image.RemoveReport{}, nil
}

type fakeRuntime struct {
	root    string
	deleted []string
}

func (f *fakeRuntime) Path() string { return "/usr/sbin/runc" }
func (f *fakeRuntime) Root() string { return f.root }
func (f *fakeRuntime) Kill(context.Context, string, syscall.Signal, runtime.KillOptions) error {
	return errors.New("no such container")
}
func (f *fakeRuntime) Delete(_ context.Context, id string, _ runtime.DeleteOptions) error {
	f.deleted = append(f.deleted, id)
	return nil
}
func (f *fakeRuntime) Exec(context.Context, string, runtime.ExecOptions) (int, error) { return 0, nil }

// fakeNetworks has the default network and "appnet"; failAttach makes
// attaching fail.
type fakeNetworks struct {
	mu         sync.Mutex
	failAttach bool
	attached   map[string]*network.Attachment // by pod ID
	detached   []string
}

func (f *fakeNetworks) Get(_ context.Context, name string) (*network.Network, error) {
	switch name {
	case "", "podbay":
		return &network.Network{Name: "podbay", Subnet: "10.90.0.0/16"}, nil
	case "appnet":
		return &network.Network{Name: "appnet", Subnet: "10.91.0.0/24"}, nil
	}
	return nil, fmt.Errorf("network %s: %w", name, network.ErrNotFound)
}
func (f *fakeNetworks) List(ctx context.Context) ([]*network.Network, error) {
	n, _ := f.Get(ctx, "")
	a, _ := f.Get(ctx, "appnet")
	return []*network.Network{n, a}, nil
}
func (f *fakeNetworks) Attach(_ context.Context, o network.AttachOptions) (*network.Attachment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAttach {
		return nil, fmt.Errorf("attaching %s: %w", o.Name, errFake)
	}
	a := &network.Attachment{ContainerID: o.ContainerID, Name: o.Name, Network: o.Network, NetNS: o.NetNS,
		IP: fmt.Sprintf("10.90.0.%d", len(f.attached)+2)}
	f.attached[o.ContainerID] = a
	return a, nil
}
func (f *fakeNetworks) Detach(_ context.Context, o network.AttachOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.attached, o.ContainerID)
	f.detached = append(f.detached, o.ContainerID)
	return nil
}
func (f *fakeNetworks) Attachments(context.Context, string) ([]*network.Attachment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*network.Attachment
	for _, a := range f.attached {
		out = append(out, a)
	}
	return out, nil
}
func (f *fakeNetworks) Peers(context.Context, string) ([]network.Peer, error) { return nil, nil }
func (f *fakeNetworks) RemoveAll(context.Context) error                       { return nil }

// fakeHost keeps mounts, namespaces and cgroups in maps and files.
type fakeHost struct {
	mu        sync.Mutex
	failMount bool
	mounted   map[string]bool // root filesystems and tmpfs
	cgroups   []string        // removed
}

func (f *fakeHost) MountRootfs(_ context.Context, _ []string, _, _, target string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failMount {
		return fmt.Errorf("mounting %s: %w", target, errFake)
	}
	f.mounted[target] = true
	return nil
}
func (f *fakeHost) UnmountRootfs(target string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.mounted, target)
	return nil
}
func (f *fakeHost) MountTmpfs(dir string, _ int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mounted[dir] = true
	return os.MkdirAll(dir, 0o777)
}
func (f *fakeHost) UnmountUnder(dir string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for m := range f.mounted {
		if m == dir || len(m) > len(dir) && m[:len(dir)+1] == dir+"/" {
			delete(f.mounted, m)
		}
	}
	return nil
}
func (f *fakeHost) NewNetNS(runroot, name string) (string, error) {
	p := filepath.Join(network.NetNSDir(runroot), name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	return p, os.WriteFile(p, nil, 0o644)
}
func (f *fakeHost) RemoveNetNS(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
func (f *fakeHost) IsNetNS(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
func (f *fakeHost) SetupLoopback(string) error               { return nil }
func (f *fakeHost) KillCgroup(context.Context, string) error { return nil }
func (f *fakeHost) RemoveCgroup(path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cgroups = append(f.cgroups, path)
	return nil
}

func (f *fakeHost) mounts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for m := range f.mounted {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// fakeMonitors run each container as a `sleep` and each monitor (one per
// monitor directory) as another; a stop kills the container, writes its
// exit file as a monitor does, and ends the monitor with its last container.
type fakeMonitors struct {
	t         *testing.T
	mu        sync.Mutex
	failStart bool
	ctrs      map[string]*fakeCtr  // by container ID
	mons      map[string]*exec.Cmd // by monitor directory
	started   []monitor.Container
}

type fakeCtr struct {
	cmd *exec.Cmd
	dir string
	c   monitor.Container
}

func newFakeMonitors(t *testing.T) *fakeMonitors {
	f := &fakeMonitors{t: t, ctrs: map[string]*fakeCtr{}, mons: map[string]*exec.Cmd{}}
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, c := range f.ctrs {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
		}
		for _, m := range f.mons {
			_ = m.Process.Kill()
			_ = m.Wait()
		}
	})
	return f
}

func sleeper() (*exec.Cmd, error) {
	cmd := exec.Command("sleep", "1000")
	return cmd, cmd.Start()
}

func (f *fakeMonitors) Prelaunch(string, monitor.Config) (*monitor.Pending, error) { return nil, nil }

func (f *fakeMonitors) Start(_ context.Context, _ string, _ *monitor.Pending, cfg monitor.Config, c monitor.Container) (*monitor.StartedContainer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failStart {
		return nil, fmt.Errorf("monitor: starting %s: %w", c.ID, errFake)
	}
	mon := f.mons[cfg.Dir]
	if mon == nil {
		var err error
		if mon, err = sleeper(); err != nil {
			return nil, err
		}
		f.mons[cfg.Dir] = mon
	}
	cmd, err := sleeper()
	if err != nil {
		return nil, err
	}
	f.ctrs[c.ID] = &fakeCtr{cmd: cmd, dir: cfg.Dir, c: c}
	f.started = append(f.started, c)
	return &monitor.StartedContainer{ID: c.ID, Pid: cmd.Process.Pid, StartedAt: time.Now(), MonitorPid: mon.Process.Pid}, nil
}

func (f *fakeMonitors) StopContainer(_ context.Context, cfg *monitor.Config, id string, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mons[cfg.Dir] == nil {
		return monitor.ErrNoMonitor
	}
	f.stop(id)
	return nil
}

func (f *fakeMonitors) StopAll(_ context.Context, cfg *monitor.Config, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, c := range f.ctrs {
		if c.dir == cfg.Dir {
			f.stop(id)
		}
	}
	return nil
}

// stop kills a container, records its exit, and ends an idle monitor.
func (f *fakeMonitors) stop(id string) {
	c := f.ctrs[id]
	if c == nil {
		return
	}
	delete(f.ctrs, id)
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	_ = c.cmd.Wait()
	if err := monitor.WriteExit(c.c.ExitFile, monitor.Exit{Code: 143, Signal: int(syscall.SIGTERM), FinishedAt: time.Now()}); err != nil {
		f.t.Errorf("fake monitor: %v", err)
	}
	for _, other := range f.ctrs {
		if other.dir == c.dir {
			return
		}
	}
	if mon := f.mons[c.dir]; mon != nil {
		delete(f.mons, c.dir)
		_ = mon.Process.Kill()
		_ = mon.Wait()
	}
}

// running lists the containers the fake monitors run, by ID.
func (f *fakeMonitors) running() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id := range f.ctrs {
		out = append(out, id)
	}
	return out
}

const busyboxID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
