package pod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/podbay/podbay/engine/image"
	"github.com/podbay/podbay/engine/monitor"
	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/internal/cgroups"
	"github.com/podbay/podbay/internal/topdir"
	"github.com/podbay/podbay/podspec"
)

// Sentinel errors of container operations.
var (
	ErrRunning    = errors.New("container is running")
	ErrNotRunning = errors.New("container is not running")
)

// Manager runs containers and pods on top of the engine packages. It holds
// only handles; every operation is a short transaction on the state store.
type Manager struct {
	Root, Runroot string
	Images        Images
	Runtime       Runtime
	State         *state.Store
	Networks      Networks
	// Monitors and Host default to the real ones (podbay-monitor processes,
	// this machine's mounts, namespaces and cgroups).
	Monitors   Monitors
	Host       Host
	MonitorBin string
	// SyncCommand re-syncs Services (podbay-kube kube sync-services); pod
	// monitors run it when a container's readiness changes.
	SyncCommand []string
	// CgroupParent holds every container's and pod's cgroup (default
	// /podbay): /podbay/<id> for a standalone container, /podbay/pod-<id>/
	// <ctr> for a pod's. Every command over one root must use the same.
	CgroupParent string
	Log          *slog.Logger
	// warm is held while this process starts containers (see
	// cgroups.Warmer): runc's move of the container into its cgroup then
	// does not wait for an RCU grace period.
	warm cgroups.Warmer
}

// CreateOptions describe a container to create.
type CreateOptions struct {
	// Spec is the container's own pod (podspec.Pod.View): one container, the
	// volumes it mounts and, for a standalone container, its pod-level
	// settings (network, host name, restart policy, grace period). For a
	// container of a pod, the pod's own settings apply.
	Spec podspec.Pod
	// Pod is the pod (name or ID) the container joins; "" for none. A
	// container the pod's spec does not hold yet (run --pod) is added to it.
	Pod        string
	Pull       image.PullOptions
	Labels     map[string]string
	AutoRemove bool
}

// DefaultCgroupParent is where containers' and pods' cgroups go unless
// Manager.CgroupParent says otherwise.
const DefaultCgroupParent = "/podbay"

func (m *Manager) cgroupParent() string {
	if m.CgroupParent == "" {
		return DefaultCgroupParent
	}
	return m.CgroupParent
}

// podCgroup is a pod's cgroup.
func (m *Manager) podCgroup(podID string) string { return m.cgroupParent() + "/pod-" + podID[:12] }

// containerCgroup is a container's cgroup: under its pod's, or its own.
func (m *Manager) containerCgroup(c *state.Container) string {
	if c.PodID != "" {
		return m.podCgroup(c.PodID) + "/" + c.ID[:12]
	}
	return m.cgroupParent() + "/" + c.ID
}

func (m *Manager) containerDir(id string) string { return filepath.Join(m.Root, "containers", id) }

// SpreadDirs makes the directories that hold a directory per container or
// pod, marked as tops of unrelated trees (internal/topdir): ext4 then
// places each new container's files away from those of the containers just
// removed, whose freed inodes it would step past one by one.
func (m *Manager) SpreadDirs() error {
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{filepath.Join(m.Root, "containers"), 0o700}, {filepath.Join(m.Runroot, "containers"), 0o755}, {filepath.Join(m.Runroot, "pods"), 0o755}} {
		if err := topdir.Make(d.path, d.mode); err != nil {
			return err
		}
	}
	return nil
}
func (m *Manager) containerRunDir(id string) string {
	return filepath.Join(m.Runroot, "containers", id)
}

// resolveImage finds ref locally or pulls it, following the pull policy.
func (m *Manager) resolveImage(ctx context.Context, ref, policy string, opts image.PullOptions) (*image.Image, error) {
	if policy != "always" {
		img, err := m.Images.Get(ctx, ref)
		if err == nil {
			return img, nil
		}
		if !errors.Is(err, image.ErrNotFound) || policy == "never" {
			return nil, err
		}
	}
	return m.Images.Pull(ctx, ref, opts)
}

// Create makes a container: its record, root filesystem and OCI bundle.
// On any error nothing is left behind.
func (m *Manager) Create(ctx context.Context, o CreateOptions) (c *state.Container, err error) {
	return m.create(ctx, o, NewID(), nil)
}

// create is Create with the new container's id chosen by the caller and,
// for a played pod, its volumes prepared already (nil: prepared here).
func (m *Manager) create(ctx context.Context, o CreateOptions, id string, vols map[string]preparedVolume) (c *state.Container, err error) {
	ctr := o.Spec.Container()
	if ctr == nil {
		return nil, errors.New("creating a container: the spec has none")
	}
	randomName := ctr.RuntimeName == ""
	if randomName {
		ctr.RuntimeName = RandomName()
	}
	if err := CheckName(ctr.RuntimeName); err != nil {
		return nil, err
	}
	t0 := time.Now()
	img, err := m.resolveImage(ctx, ctr.Image, pullPolicyOf(ctr.PullPolicy), o.Pull)
	if err != nil {
		return nil, err
	}
	m.Log.Debug("resolved image", "took", time.Since(t0))
	var p *state.Pod
	if o.Pod != "" {
		if p, err = m.LookupPod(ctx, o.Pod); err != nil {
			return nil, err
		}
		if mode := o.Spec.Network.Mode; mode == podspec.NetworkHost {
			return nil, fmt.Errorf("container in pod %s: the network is the pod's; drop --network", p.Name)
		}
	}
	c = &state.Container{
		ID: id, Name: ctr.RuntimeName, Image: firstName(img, ctr.Image), ImageID: img.ID, Created: time.Now().UTC(),
		Bundle: m.containerDir(id), Rootfs: filepath.Join(m.containerRunDir(id), "rootfs"),
		Upper: filepath.Join(m.containerDir(id), "upper"), LogPath: filepath.Join(m.containerDir(id), "ctr.log"),
		Runtime: m.Runtime.Path(), State: state.StateCreated, AutoRemove: o.AutoRemove, Labels: o.Labels,
		StopSignal: firstNonEmpty(ctr.StopSignal, img.Config.Config.StopSignal),
	}
	if p != nil {
		c.PodID, c.PodName = p.ID, p.Name
	}
	view := o.Spec
	if c.Config, err = json.Marshal(view); err != nil {
		return nil, fmt.Errorf("container %s: recording its spec: %w", c.Name, err)
	}
	err = m.claim(ctx, c)
	for try := 0; randomName && errors.Is(err, state.ErrNameInUse) && try < 10; try++ {
		c.Name = RandomName()
		err = m.claim(ctx, c)
	}
	if err != nil {
		return nil, err
	}
	rec := c // the result is nil on error; the clean-up needs the record
	defer func() {
		if err != nil {
			err = errors.Join(err, m.removeFiles(context.WithoutCancel(ctx), rec))
		}
	}()
	if p != nil {
		// The container sees its pod's settings; one made on the command
		// line joins the pod's spec, which generate exports.
		if view, err = m.joinPodSpec(ctx, p.ID, c.Name, view); err != nil {
			return nil, err
		}
		if c.Config, err = json.Marshal(view); err != nil {
			return nil, err
		}
	}
	m.Log.Debug("claimed", "took", time.Since(t0))
	if vols == nil {
		if vols, err = m.prepareVolumes(ctx, c.PodID, &view); err != nil {
			return nil, err
		}
	}
	if err := m.prepareRootfs(ctx, c, img); err != nil {
		return nil, err
	}
	m.Log.Debug("mounted", "took", time.Since(t0))
	spec, err := m.buildSpec(ctx, c, img, &view, vols)
	if err != nil {
		return nil, err
	}
	c.Command = spec.Process.Args
	if err := runtime.WriteBundle(c.Bundle, spec); err != nil {
		return nil, err
	}
	m.Log.Debug("bundle", "took", time.Since(t0))
	c.State, c.Pid, c.PidStart = state.StateCreated, 0, 0
	if err := m.State.Update(ctx, func(tx *state.Tx) error {
		if p != nil {
			cur, err := tx.Pod(p.ID)
			if err != nil {
				return fmt.Errorf("pod %s was removed meanwhile: %w", p.Name, err)
			}
			cur.Containers = append(cur.Containers, c.ID)
			if err := tx.PutPod(cur); err != nil {
				return err
			}
		}
		return tx.PutContainer(c)
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// pullPolicyOf maps a Kubernetes pull policy to resolveImage's.
func pullPolicyOf(p string) string {
	switch p {
	case "Always":
		return "always"
	case "Never":
		return "never"
	}
	return "missing"
}

// StateCreating marks a record whose creation is in progress; the creator's
// pid and start time tell a live creation from one a kill -9 cut short.
const StateCreating = "creating"

// claim records c in the creating state, claiming its name. A name held by
// an orphaned creation is taken over.
func (m *Manager) claim(ctx context.Context, c *state.Container) error {
	start, _ := procStartTime(os.Getpid())
	c.State, c.Pid, c.PidStart = StateCreating, os.Getpid(), start
	var stale *state.Container
	err := m.State.Update(ctx, func(tx *state.Tx) error {
		err := tx.PutContainer(c)
		if errors.Is(err, state.ErrNameInUse) {
			if old, lerr := tx.LookupContainer(c.Name); lerr == nil && m.orphaned(old) {
				stale = old
			}
		}
		return err
	})
	if stale == nil {
		return err
	}
	if err := m.removeFiles(ctx, stale); err != nil {
		return err
	}
	return m.State.Update(ctx, func(tx *state.Tx) error { return tx.PutContainer(c) })
}

// orphaned tells whether c is a creation whose creator is gone.
func (m *Manager) orphaned(c *state.Container) bool {
	return c.State == StateCreating && !processAlive(c.Pid, c.PidStart)
}

func firstName(img *image.Image, ref string) string {
	if canon, err := image.NormalizeRef(ref); err == nil && slices.Contains(img.Names, canon) {
		return canon
	}
	if len(img.Names) > 0 {
		return img.Names[0]
	}
	return ref
}

func (m *Manager) prepareRootfs(ctx context.Context, c *state.Container, img *image.Image) error {
	lowers, err := m.Images.LayerDirs(ctx, img)
	if err != nil {
		return err
	}
	work := filepath.Join(m.containerDir(c.ID), "work")
	for _, d := range []string{c.Upper, work, c.Rootfs} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	// The overlay's root directory takes the upper directory's mode.
	if err := os.Chmod(c.Upper, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", c.Upper, err)
	}
	if mounted(c.Rootfs) {
		return nil
	}
	return m.host().MountRootfs(ctx, lowers, c.Upper, work, c.Rootfs)
}

// mounted tells whether dir is a mount point (its device differs from its parent's).
func mounted(dir string) bool {
	var st, pst syscall.Stat_t
	if syscall.Stat(dir, &st) != nil || syscall.Stat(filepath.Dir(dir), &pst) != nil {
		return false
	}
	return st.Dev != pst.Dev
}

// removeFiles undoes everything Create and Start made on disk, and the record.
func (m *Manager) removeFiles(ctx context.Context, c *state.Container) error {
	errs := m.removeLeftovers(ctx, c)
	err := m.State.Update(ctx, func(tx *state.Tx) error {
		if err := tx.DeleteContainer(c.ID); err != nil && !errors.Is(err, state.ErrNotFound) {
			return err
		}
		if c.PodID == "" || c.Infra {
			return nil
		}
		p, err := tx.Pod(c.PodID)
		if err != nil {
			return nil // the pod is gone already
		}
		p.Containers = slices.DeleteFunc(p.Containers, func(id string) bool { return id == c.ID })
		return leavePodSpec(tx, p, c.Name)
	})
	return errors.Join(append(errs, err)...)
}

// removeLeftovers removes what container c leaves outside the state: its
// runtime record, monitor, rootfs mount, cgroup and directories.
func (m *Manager) removeLeftovers(ctx context.Context, c *state.Container) []error {
	var errs []error
	m.deleteRuntimeRecord(ctx, c.ID)
	if c.PodID == "" {
		m.stopStrayMonitor(ctx, c.ID) // a pod's monitor is shared: it exits after its last container
		// The runtime that a stray monitor was running (a command killed
		// just after handing the container over) may have created the
		// container since the first look.
		m.deleteRuntimeRecord(ctx, c.ID)
	}
	if err := m.host().UnmountRootfs(c.Rootfs); err != nil {
		errs = append(errs, err)
	}
	cg := m.containerCgroup(c)
	// Whatever is still in the container's cgroup belongs to nobody now:
	// an orphan of a runtime stopped half-way would outlive the removal.
	if err := m.host().KillCgroup(ctx, cg); err != nil {
		m.Log.Warn("killing what is left in the container's cgroup", "id", c.ID, "err", err)
	}
	if err := m.host().RemoveCgroup(cg); err != nil {
		m.Log.Warn("removing the container's cgroup", "id", c.ID, "err", err)
	}
	for _, d := range []string{m.containerRunDir(c.ID), m.containerDir(c.ID)} {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", d, err))
		}
	}
	return errs
}

// deleteRuntimeRecord force-deletes container id from the runtime if the
// runtime has a record of it.
func (m *Manager) deleteRuntimeRecord(ctx context.Context, id string) {
	if _, err := os.Stat(filepath.Join(m.Runtime.Root(), id)); err == nil {
		_ = m.Runtime.Delete(ctx, id, runtime.DeleteOptions{Force: true})
	}
}

// stopStrayMonitor ends a monitor that a killed command started but never
// recorded: found through its pid file, checked through its command line.
func (m *Manager) stopStrayMonitor(ctx context.Context, id string) {
	data, err := os.ReadFile(filepath.Join(m.containerRunDir(id), "monitor.pid"))
	if err != nil {
		return
	}
	var pid int
	if _, err := fmt.Sscan(string(data), &pid); err != nil || pid <= 0 {
		return
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), id) {
		return
	}
	start, err := procStartTime(pid)
	if err != nil {
		return
	}
	// Its container is gone: give it a moment to finish, then kill it.
	deadline := time.Now().Add(2 * time.Second)
	for processAlive(pid, start) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if processAlive(pid, start) {
		// The monitor leads its own session and process group (Setsid):
		// the group takes the runtime it may be running with it.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// Lookup finds a container by name or ID and brings its state up to date.
func (m *Manager) Lookup(ctx context.Context, ref string) (*state.Container, error) {
	var c *state.Container
	err := m.State.View(ctx, func(tx *state.Tx) error {
		var err error
		c, err = tx.LookupContainer(ref)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m.refresh(ctx, c)
}

// List returns every container with its state brought up to date.
func (m *Manager) List(ctx context.Context) ([]*state.Container, error) {
	return m.listWhere(ctx, nil)
}

// listPod returns the containers of pod podID (infra included), brought up
// to date: only those, so that reporting one pod never waits on another
// pod's exits.
func (m *Manager) listPod(ctx context.Context, podID string) ([]*state.Container, error) {
	return m.listWhere(ctx, func(c *state.Container) bool { return c.PodID == podID })
}

// listWhere returns the containers keep selects (nil: all) with their state
// brought up to date.
func (m *Manager) listWhere(ctx context.Context, keep func(*state.Container) bool) ([]*state.Container, error) {
	var cs []*state.Container
	err := m.State.View(ctx, func(tx *state.Tx) error {
		var err error
		cs, err = tx.Containers()
		return err
	})
	if err != nil {
		return nil, err
	}
	if keep != nil {
		cs = slices.DeleteFunc(cs, func(c *state.Container) bool { return !keep(c) })
	}
	out := cs[:0]
	for _, c := range cs {
		if m.orphaned(c) {
			// A killed create left this behind: finish its clean-up.
			if err := m.removeFiles(ctx, c); err != nil {
				m.Log.Warn("cleaning up a half-created container", "id", c.ID, "err", err)
			}
			continue
		}
		if c, err = m.refresh(ctx, c); err != nil {
			if errors.Is(err, state.ErrNotFound) {
				continue // removed by another podbay process meanwhile
			}
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (m *Manager) exitFile(id string) string { return filepath.Join(m.containerRunDir(id), "exit") }

// refresh reconciles a running record with the facts: the monitor's exit
// file, then whether the container process is still alive. It tells the
// truth even when the monitor was killed.
func (m *Manager) refresh(ctx context.Context, c *state.Container) (*state.Container, error) {
	if c.State != state.StateRunning {
		return c, nil
	}
	if processAlive(c.Pid, c.PidStart) {
		return c, nil
	}
	if restarted, ok := m.restartedByMonitor(ctx, c); ok {
		return restarted, nil
	}
	ex, err := m.awaitExitFile(ctx, c)
	switch {
	case err == nil:
		c.State, c.ExitCode, c.FinishedAt = state.StateExited, ex.Code, ex.FinishedAt
	default:
		// Neither an exit record nor a live process: the monitor died too.
		c.State, c.ExitCode, c.FinishedAt = state.StateExited, -1, time.Now().UTC()
	}
	err = m.State.Update(ctx, func(tx *state.Tx) error {
		cur, err := tx.Container(c.ID)
		if err != nil {
			return err
		}
		if cur.State == state.StateRunning && cur.Pid == c.Pid {
			cur.State, cur.ExitCode, cur.FinishedAt = c.State, c.ExitCode, c.FinishedAt
			c = cur
			return tx.PutContainer(cur)
		}
		c = cur
		return nil
	})
	return c, err
}

// restartedByMonitor follows a container its monitor restarts under a
// restart policy: a new pid (recorded), or a back-off between two runs (it
// stays running, as the kubelet shows a waiting container of a live pod).
func (m *Manager) restartedByMonitor(ctx context.Context, c *state.Container) (*state.Container, bool) {
	if !processAlive(c.MonitorPid, c.MonitorStart) || m.restartPolicy(ctx, c) == "Never" {
		return nil, false
	}
	if _, err := monitor.ReadExit(m.exitFile(c.ID)); err == nil {
		return nil, false
	}
	st := m.status(c)
	if st == nil || st.Pid == c.Pid || !processAlive(st.Pid, 0) {
		// Between two runs (stopping, back-off): the monitor writes the exit
		// file only when it gives the container up.
		if st != nil {
			c.RestartCount = st.RestartCount
		}
		return c, true
	}
	start, _ := procStartTime(st.Pid)
	err := m.State.Update(ctx, func(tx *state.Tx) error {
		cur, err := tx.Container(c.ID)
		if err != nil {
			return err
		}
		cur.Pid, cur.PidStart, cur.RestartCount, cur.StartedAt = st.Pid, start, st.RestartCount, st.StartedAt
		c = cur
		return tx.PutContainer(cur)
	})
	return c, err == nil
}

// restartPolicy is what the monitor applies to c.
func (m *Manager) restartPolicy(_ context.Context, c *state.Container) string {
	if c.Infra {
		return "Never"
	}
	v := ViewOf(c)
	return v.ContainerRestartPolicy()
}

// exitFileWait bounds the wait for a live monitor's exit record. The
// monitor writes it once it has reaped the container, deleted it from the
// runtime and unmounted its root filesystem: milliseconds on a quiet
// machine, seconds on a loaded one (3 s was too short under a load of 38:
// a foreground run read "no exit record" and exited 255). Only a wedged
// monitor reaches the bound.
const exitFileWait = 60 * time.Second

// awaitExitFile reads the monitor's exit record; while the monitor is alive
// (it may be reaping the process right now) it waits for it.
func (m *Manager) awaitExitFile(ctx context.Context, c *state.Container) (*monitor.Exit, error) {
	deadline := time.Now().Add(exitFileWait)
	for {
		ex, err := monitor.ReadExit(m.exitFile(c.ID))
		if err == nil || !processAlive(c.MonitorPid, c.MonitorStart) || time.Now().After(deadline) {
			return ex, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// processAlive tells whether pid is alive and is still the process that
// started at start (clock ticks since boot), so a reused pid is not mistaken.
func processAlive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := procStartTime(pid)
	if err != nil {
		return false
	}
	return start == 0 || st == start
}

func procStartTime(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[i+1:])
	// After the command: state is field 3; starttime is field 22.
	if len(fields) < 20 {
		return 0, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	if fields[0] == "Z" {
		return 0, fmt.Errorf("process %d is a zombie", pid)
	}
	var v uint64
	_, err = fmt.Sscan(fields[19], &v)
	return v, err
}
