package pod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/podspec"
)

// Pod states, as Podman names them.
const (
	PodCreated  = "Created"
	PodRunning  = "Running"
	PodDegraded = "Degraded"
	PodExited   = "Exited"
)

// ErrPodRunning refuses removing a running pod without force.
var ErrPodRunning = errors.New("pod is running")

// podRunDir holds a pod's /etc files while it runs.
func (m *Manager) podRunDir(id string) string { return filepath.Join(m.Runroot, "pods", id) }

// CreatePod records a pod (its spec, kept for its containers and for
// generate) and its infra container; nothing runs yet. A pod made on the
// command line has no containers yet: run --pod adds them to its spec.
func (m *Manager) CreatePod(ctx context.Context, spec podspec.Pod) (*state.Pod, error) {
	if spec.Name == "" {
		spec.Name = RandomName()
	}
	if err := CheckName(spec.Name); err != nil {
		return nil, err
	}
	if err := m.checkPodNetwork(ctx, &spec); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("pod %s: recording its spec: %w", spec.Name, err)
	}
	p := &state.Pod{ID: NewID(), Name: spec.Name, Created: time.Now().UTC(), Labels: spec.Labels, Spec: raw}
	infra := &state.Container{
		ID: NewID(), Infra: true, PodID: p.ID, PodName: p.Name, Created: p.Created,
		Image: "podbay/pause", Command: []string{"/pause"}, State: state.StateCreated,
		Runtime: m.Runtime.Path(), LogPath: "/dev/null",
	}
	infra.Name = p.ID[:12] + "-infra"
	infra.Bundle = m.containerDir(infra.ID)
	infra.Rootfs = m.infraRootfs()
	p.InfraID = infra.ID
	err = m.State.Update(ctx, func(tx *state.Tx) error {
		if err := tx.PutPod(p); err != nil {
			return err
		}
		return tx.PutContainer(infra)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (m *Manager) checkPodNetwork(ctx context.Context, spec *podspec.Pod) error {
	switch spec.Network.Mode {
	case podspec.NetworkHost:
		return nil
	case podspec.NetworkNone:
		if len(spec.Network.Ports) > 0 {
			return fmt.Errorf("pod %s: publishing ports needs a network, not --network none", spec.Name)
		}
		return nil
	}
	if m.Networks == nil {
		return fmt.Errorf("pod %s: no network manager", spec.Name)
	}
	_, err := m.Networks.Get(ctx, spec.NetworkName())
	return err
}

// LookupPod finds a pod by name or ID.
func (m *Manager) LookupPod(ctx context.Context, ref string) (*state.Pod, error) {
	var p *state.Pod
	err := m.State.View(ctx, func(tx *state.Tx) error {
		var err error
		p, err = tx.LookupPod(ref)
		return err
	})
	return p, err
}

// SpecOf returns the spec pod p was created with (its containers
// included).
func SpecOf(p *state.Pod) podspec.Pod {
	var spec podspec.Pod
	if err := json.Unmarshal(p.Spec, &spec); err != nil {
		spec.Name = p.Name // a record from before podspec: its name at least
	}
	return spec
}

// PodStatus is a pod with its containers' current states.
type PodStatus struct {
	Pod        *state.Pod
	Spec       podspec.Pod
	Status     string
	Infra      *state.Container
	Containers []*state.Container // app containers, in creation order
}

// PodStatuses lists every pod (or the one named) with its state.
func (m *Manager) PodStatuses(ctx context.Context) ([]*PodStatus, error) {
	var pods []*state.Pod
	if err := m.State.View(ctx, func(tx *state.Tx) error {
		var err error
		pods, err = tx.Pods()
		return err
	}); err != nil {
		return nil, err
	}
	cs, err := m.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*PodStatus, 0, len(pods))
	for _, p := range pods {
		out = append(out, podStatus(p, cs))
	}
	return out, nil
}

// PodStatusOf reports one pod.
func (m *Manager) PodStatusOf(ctx context.Context, ref string) (*PodStatus, error) {
	p, err := m.LookupPod(ctx, ref)
	if err != nil {
		return nil, err
	}
	cs, err := m.listPod(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return podStatus(p, cs), nil
}

func podStatus(p *state.Pod, all []*state.Container) *PodStatus {
	st := &PodStatus{Pod: p, Spec: SpecOf(p)}
	running, exited, apps := 0, 0, 0
	for _, c := range all {
		if c.PodID != p.ID {
			continue
		}
		if c.Infra {
			st.Infra = c
			continue
		}
		st.Containers = append(st.Containers, c)
		if isInit(c) {
			continue // init containers run to completion first: not part of the pod's state
		}
		apps++
		switch c.State {
		case state.StateRunning:
			running++
		case state.StateExited:
			exited++
		}
	}
	switch {
	case apps == 0 && st.Infra != nil && st.Infra.State == state.StateRunning:
		st.Status = PodRunning
	case apps == 0 || running+exited == 0:
		st.Status = PodCreated
	case running == apps:
		st.Status = PodRunning
	case running > 0:
		st.Status = PodDegraded
	default:
		st.Status = PodExited
	}
	return st
}

// StartPod starts the infra, then every app container in parallel.
func (m *Manager) StartPod(ctx context.Context, ref string) (*PodStatus, error) {
	st, err := m.PodStatusOf(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := m.ensureInfra(ctx, st); err != nil {
		return nil, err
	}
	err = m.eachParallel(st.Containers, func(c *state.Container) error {
		_, err := m.Start(ctx, c.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := m.Services().Sync(ctx); err != nil {
		return nil, err
	}
	return m.PodStatusOf(ctx, st.Pod.ID)
}

func (m *Manager) eachParallel(cs []*state.Container, fn func(*state.Container) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(cs))
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(c)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// StopPod stops the app containers in parallel, then the infra, and
// releases the pod's network.
func (m *Manager) StopPod(ctx context.Context, ref string, o StopOptions) (*PodStatus, error) {
	st, err := m.PodStatusOf(ctx, ref)
	if err != nil {
		return nil, err
	}
	apps, sidecars := stopOrder(st.Containers)
	for _, group := range [][]*state.Container{apps, sidecars} {
		err = m.eachParallel(group, func(c *state.Container) error {
			_, err := m.Stop(ctx, c.ID, o)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if err := m.stopInfra(ctx, st); err != nil {
		return nil, err
	}
	if err := m.Services().Sync(ctx); err != nil {
		return nil, err
	}
	return m.PodStatusOf(ctx, st.Pod.ID)
}

// RemovePodOptions tune RemovePod.
type RemovePodOptions struct {
	Force   bool // stop a running pod first
	Timeout time.Duration
}

// RemovePod removes a pod, its containers, its network attachment,
// namespaces, cgroup and files.
func (m *Manager) RemovePod(ctx context.Context, ref string, o RemovePodOptions) (*PodStatus, error) {
	st, err := m.PodStatusOf(ctx, ref)
	if err != nil {
		return nil, err
	}
	if st.Status == PodRunning || st.Status == PodDegraded {
		if !o.Force {
			return nil, fmt.Errorf("pod %s has running containers: stop it first or use -f: %w", st.Pod.Name, ErrPodRunning)
		}
	}
	// The pod's monitor stops everything it runs, as the kubelet stops a pod
	// (app containers in parallel, then sidecars), including what a killed
	// command left running without a record saying so.
	grace := o.Timeout
	if grace == 0 {
		grace = -1
	}
	t0 := time.Now()
	if err := m.monitors().StopAll(ctx, ptr(m.podMonitorConfig(st.Pod.ID)), grace); err != nil {
		return nil, err
	}
	m.Log.Debug("pod stopped", "pod", st.Pod.Name, "took", time.Since(t0))
	// What the monitor stopped is dead: its files go now and its records
	// with the pod's, in one transaction. A container still alive (its
	// monitor was killed) is stopped and removed on its own.
	var dead []*state.Container
	var deadMu sync.Mutex
	apps, sidecars := stopOrder(st.Containers)
	for _, group := range [][]*state.Container{apps, sidecars} {
		err = m.eachParallel(group, func(c *state.Container) error {
			if c.State == state.StateRunning && processAlive(c.Pid, c.PidStart) {
				_, err := m.Remove(ctx, c.ID, RemoveOptions{Force: true, Timeout: o.Timeout})
				return err
			}
			deadMu.Lock()
			dead = append(dead, c)
			deadMu.Unlock()
			return errors.Join(m.removeLeftovers(ctx, c)...)
		})
		if err != nil {
			return nil, err
		}
	}
	m.Log.Debug("pod containers removed", "pod", st.Pod.Name, "took", time.Since(t0))
	release := m.stopInfra
	if st.Infra != nil && !processAlive(st.Infra.Pid, st.Infra.PidStart) {
		release = func(ctx context.Context, st *PodStatus) error { return m.teardownNetwork(ctx, st.Pod, &st.Spec) }
	}
	if err := release(ctx, st); err != nil {
		return nil, err
	}
	m.Log.Debug("pod network released", "pod", st.Pod.Name, "took", time.Since(t0))
	var errs []error
	if st.Infra != nil {
		errs = append(errs, m.removeLeftovers(ctx, st.Infra)...)
		dead = append(dead, st.Infra)
	}
	errs = append(errs, m.host().RemoveCgroup(m.podCgroup(st.Pod.ID)), m.removePodDir(m.podRunDir(st.Pod.ID)))
	errs = append(errs, m.State.Update(ctx, func(tx *state.Tx) error {
		for _, c := range dead {
			if err := tx.DeleteContainer(c.ID); err != nil && !errors.Is(err, state.ErrNotFound) {
				return err
			}
		}
		err := tx.DeletePod(st.Pod.ID)
		if errors.Is(err, state.ErrNotFound) {
			return nil
		}
		return err
	}))
	errs = append(errs, m.Services().Sync(ctx))
	m.Log.Debug("pod removed", "pod", st.Pod.Name, "took", time.Since(t0))
	return st, errors.Join(errs...)
}

// PodRunning tells whether a pod has running containers (Running or
// Degraded); false when it does not exist.
func (m *Manager) PodRunning(ctx context.Context, ref string) bool {
	st, err := m.PodStatusOf(ctx, ref)
	return err == nil && (st.Status == PodRunning || st.Status == PodDegraded)
}

// Readiness counts the app containers of a pod that are ready, and all of
// them, as kubectl's READY column shows them.
func (m *Manager) Readiness(st *PodStatus) (ready, total int) {
	for _, c := range st.Containers {
		if isInit(c) && !isSidecar(c) {
			continue
		}
		total++
		if c.State == state.StateRunning && m.ContainerReady(c) {
			ready++
		}
	}
	return ready, total
}
