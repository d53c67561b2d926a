package pod

import (
	"context"

	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/podbay/podbay/engine/monitor"
	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/engine/state"
)

// Start starts a created or exited container under a new monitor.
func (m *Manager) Start(ctx context.Context, ref string) (*state.Container, error) {
	return m.start(ctx, ref, nil)
}

// start is Start with a monitor prelaunched for the container's monitor
// directory (or nil); it is used or cancelled before start returns.
func (m *Manager) start(ctx context.Context, ref string, pre *monitor.Pending) (*state.Container, error) {
	defer pre.Cancel() // unless handed over
	defer m.warm.Hold()()
	c, err := m.Lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	if c.State == state.StateRunning {
		return c, nil
	}
	// One start at a time: a concurrent one would delete the runtime record
	// of the container this one has just started (and kill it).
	unlock, err := lockPath(filepath.Join(m.containerRunDir(c.ID), "start.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if c, err = m.Lookup(ctx, c.ID); err != nil || c.State == state.StateRunning {
		return c, err
	}
	// A standalone container's previous monitor may still be cleaning up.
	if c.PodID == "" {
		if err := m.awaitMonitorGone(ctx, c); err != nil {
			return nil, err
		}
	}
	if !c.Infra {
		img, err := m.Images.Get(ctx, c.ImageID)
		if err != nil {
			return nil, fmt.Errorf("container %s: image %s: %w", c.Name, c.Image, err)
		}
		if err := m.prepareRootfs(ctx, c, img); err != nil {
			return nil, err
		}
	}
	if c.PodID != "" && !c.Infra {
		if err := m.joinPod(ctx, c, nil); err != nil {
			return nil, err
		}
	}
	// A stale runtime record (from a killed monitor) would block the new run.
	m.deleteRuntimeRecord(ctx, c.ID)
	if err := os.Remove(m.exitFile(c.ID)); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	return m.startPrepared(ctx, c, pre)
}

// Run creates a container and starts it (run without its foreground part).
// A standalone container's monitor is started first and waits for its
// config, so that its exec and start-up overlap the creation. On error
// nothing is left behind.
func (m *Manager) Run(ctx context.Context, o CreateOptions) (*state.Container, error) {
	defer m.warm.Hold()()
	id := NewID()
	var pre *monitor.Pending
	if o.Pod == "" { // no monitor yet: starting would launch one in any case
		pre, _ = m.monitors().Prelaunch(m.MonitorBin, m.monitorConfig(&state.Container{ID: id}))
	}
	defer pre.Cancel() // unless handed over
	// A pod whose infra is down: its network and infra come up while the
	// container is created.
	var infraUp chan error
	var pod *PodStatus // read once here, for joinPod too
	if o.Pod != "" {
		if st, err := m.PodStatusOf(ctx, o.Pod); err == nil {
			pod = st
			if st.Infra != nil && st.Infra.State != state.StateRunning {
				infraUp = make(chan error, 1)
				go func() { infraUp <- m.ensureInfra(ctx, st) }()
			}
		}
	}
	c, err := m.create(ctx, o, id, nil)
	if infraUp != nil {
		infraErr := <-infraUp
		if err != nil && infraErr == nil {
			// No container to run: the pod goes back to how it was.
			err = errors.Join(err, m.stopPodInfra(context.WithoutCancel(ctx), pod.Pod.ID))
		}
		if err == nil {
			err = infraErr
		}
	}
	if c == nil { // create failed: it left nothing of the container
		return nil, err
	}
	if err == nil && c.PodID != "" {
		err = m.joinPod(ctx, c, pod)
	}
	if err == nil {
		c, err = m.startPrepared(ctx, c, pre)
	}
	if err != nil {
		_, rmErr := m.Remove(context.WithoutCancel(ctx), id, RemoveOptions{Force: true})
		return nil, errors.Join(err, rmErr)
	}
	return c, nil
}

// stopPodInfra stops the infra of pod podID and releases its network.
func (m *Manager) stopPodInfra(ctx context.Context, podID string) error {
	st, err := m.PodStatusOf(ctx, podID)
	if err != nil {
		return err
	}
	return m.stopInfra(ctx, st)
}

// startPrepared starts c, whose root filesystem is mounted and bundle
// written, under its monitor (pre: one prelaunched for it, or nil) and
// records it running.
func (m *Manager) startPrepared(ctx context.Context, c *state.Container, pre *monitor.Pending) (*state.Container, error) {
	mc, err := m.monitorContainer(ctx, c)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	started, err := m.monitors().Start(ctx, m.MonitorBin, pre, m.monitorConfig(c), mc)
	m.Log.Debug("monitor started the container", "took", time.Since(t0))
	if err != nil {
		return nil, fmt.Errorf("starting container %s: %w", c.Name, err)
	}
	pid := started.Pid
	pidStart, _ := procStartTime(pid)
	monStart, _ := procStartTime(started.MonitorPid)
	err = m.State.Update(ctx, func(tx *state.Tx) error {
		cur, err := tx.Container(c.ID)
		if err != nil {
			return err
		}
		cur.State, cur.Pid, cur.PidStart, cur.MonitorPid, cur.MonitorStart = state.StateRunning, pid, pidStart, started.MonitorPid, monStart
		cur.StartedAt, cur.FinishedAt, cur.ExitCode = time.Now().UTC(), time.Time{}, 0
		c = cur
		return tx.PutContainer(cur)
	})
	return c, err
}

// StopOptions tune Stop.
type StopOptions struct {
	Timeout time.Duration // before SIGKILL
	Signal  syscall.Signal
}

// Stop sends the stop signal, waits up to the timeout, then kills.
func (m *Manager) Stop(ctx context.Context, ref string, o StopOptions) (*state.Container, error) {
	c, err := m.Lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	if c.State != state.StateRunning {
		return c, nil
	}
	sig := o.Signal
	if sig == 0 {
		sig = stopSignalOf(c)
	}
	// The monitor stops it as the kubelet would (preStop, signal, grace,
	// SIGKILL) and will not restart it.
	grace := o.Timeout
	if grace <= 0 {
		grace = -1
	}
	err = m.monitors().StopContainer(ctx, ptr(m.monitorConfig(c)), c.ID, grace)
	if err == nil {
		return m.WaitExit(ctx, c.ID, 30*time.Second)
	}
	if !errors.Is(err, monitor.ErrNoMonitor) {
		return nil, fmt.Errorf("stopping %s: %w", c.Name, err)
	}
	// No monitor (killed): signal through the runtime.
	if o.Timeout > 0 {
		if err := m.killWithoutMonitor(ctx, c, sig, false); err != nil {
			return nil, fmt.Errorf("stopping %s: %w", c.Name, err)
		}
		if c, err = m.WaitExit(ctx, c.ID, o.Timeout); err == nil {
			return c, nil
		}
	}
	if err := m.killWithoutMonitor(ctx, c, syscall.SIGKILL, true); err != nil {
		return nil, fmt.Errorf("killing %s: %w", c.Name, err)
	}
	return m.WaitExit(ctx, c.ID, 30*time.Second)
}

// killWithoutMonitor signals c, whose monitor is gone, through the runtime;
// if the runtime has lost its record too (a command killed while runc was
// creating the container), the recorded pid, checked by its start time, is
// the container's init and is signalled directly.
func (m *Manager) killWithoutMonitor(ctx context.Context, c *state.Container, sig syscall.Signal, all bool) error {
	err := m.Runtime.Kill(ctx, c.ID, sig, runtime.KillOptions{All: all})
	if err == nil || !processAlive(c.Pid, c.PidStart) {
		return nil
	}
	if kerr := syscall.Kill(c.Pid, sig); kerr != nil {
		return errors.Join(err, fmt.Errorf("signalling pid %d: %w", c.Pid, kerr))
	}
	return nil
}

// Kill sends sig to a running container.
func (m *Manager) Kill(ctx context.Context, ref string, sig syscall.Signal) (*state.Container, error) {
	c, err := m.Lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	if c.State != state.StateRunning {
		return nil, fmt.Errorf("killing %s: %w", c.Name, ErrNotRunning)
	}
	if err := m.Runtime.Kill(ctx, c.ID, sig, runtime.KillOptions{}); err != nil {
		return nil, fmt.Errorf("killing %s: %w", c.Name, err)
	}
	return c, nil
}

var errTimeout = errors.New("timed out waiting for the container to exit")

// WaitExit polls until the container has exited or the timeout passes
// (timeout 0 waits until ctx is done).
func (m *Manager) WaitExit(ctx context.Context, ref string, timeout time.Duration) (*state.Container, error) {
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := m.Lookup(ctx, ref)
		if err != nil || c.State != state.StateRunning {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline:
			return c, errTimeout
		case <-tick.C:
		}
	}
}

// RemoveOptions tune Remove.
type RemoveOptions struct {
	Force   bool          // stop a running container first
	Timeout time.Duration // with Force: the grace period before SIGKILL
}

// Remove deletes a container and everything it owns.
func (m *Manager) Remove(ctx context.Context, ref string, o RemoveOptions) (*state.Container, error) {
	c, err := m.Lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	if c.Infra {
		return nil, fmt.Errorf("container %s is the infra container of pod %s: remove the pod instead", c.Name, c.PodName)
	}
	if c.State == state.StateRunning {
		if !o.Force {
			return nil, fmt.Errorf("cannot remove container %s as it is running (use -f): %w", c.Name, ErrRunning)
		}
		if c, err = m.Stop(ctx, c.ID, StopOptions{Timeout: o.Timeout}); err != nil {
			return nil, err
		}
	}
	if c.PodID == "" {
		if err := m.awaitMonitorGone(ctx, c); err != nil {
			return nil, err
		}
	}
	return c, m.removeFiles(ctx, c)
}

// awaitMonitorGone waits for a container's last monitor to finish its
// clean-up after the container exited; a stuck one is killed.
func (m *Manager) awaitMonitorGone(ctx context.Context, c *state.Container) error {
	deadline := time.Now().Add(10 * time.Second)
	for processAlive(c.MonitorPid, c.MonitorStart) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(c.MonitorPid, syscall.SIGKILL)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// stopSignalOf is the container's stop signal (from its image or its
// Kubernetes spec), SIGTERM by default.
func stopSignalOf(c *state.Container) syscall.Signal {
	if sig := signalNum(c.StopSignal); sig != 0 {
		return sig
	}
	return syscall.SIGTERM
}

func ptr[T any](v T) *T { return &v }
