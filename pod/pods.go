package pod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/podbay/podbay/engine/cgroups"
	"github.com/podbay/podbay/engine/monitor"
	"github.com/podbay/podbay/engine/network"
	"github.com/podbay/podbay/engine/state"
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

// PodOptions are what `podbay pod create` accepts; they are kept in the
// pod's record.
type PodOptions struct {
	Name      string                `json:"name"`
	Hostname  string                `json:"hostname,omitempty"`
	Network   string                `json:"network,omitempty"` // "" (the default network), host, none, or a network name
	Ports     []network.PortMapping `json:"ports,omitempty"`
	AddHosts  []string              `json:"addHosts,omitempty"` // NAME:IP
	DNS       []string              `json:"dns,omitempty"`
	DNSSearch []string              `json:"dnsSearch,omitempty"`
	DNSOpts   []string              `json:"dnsOptions,omitempty"`
	Share     []string              `json:"share,omitempty"` // namespaces shared: net, ipc, uts, pid
	HostIPC   bool                  `json:"hostIPC,omitempty"`
	HostPID   bool                  `json:"hostPID,omitempty"`
	Labels    map[string]string     `json:"labels,omitempty"`
	// Source keeps what a pod was made from (a Kubernetes spec, for generate).
	Source json.RawMessage `json:"source,omitempty"`
}

func (o *PodOptions) shares(ns string) bool {
	if len(o.Share) == 0 {
		return ns != "pid"
	}
	return slices.Contains(o.Share, ns)
}

func (o *PodOptions) hostname() string { return firstNonEmpty(o.Hostname, o.Name) }

// podRunDir holds a pod's /etc files while it runs.
func (m *Manager) podRunDir(id string) string { return filepath.Join(m.Runroot, "pods", id) }

// CreatePod records a pod and its infra container; nothing runs yet.
func (m *Manager) CreatePod(ctx context.Context, o PodOptions) (*state.Pod, error) {
	if o.Name == "" {
		o.Name = RandomName()
	}
	if err := CheckName(o.Name); err != nil {
		return nil, err
	}
	if err := m.checkPodNetwork(ctx, &o); err != nil {
		return nil, err
	}
	for _, h := range o.AddHosts {
		if _, _, err := parseAddHost(h); err != nil {
			return nil, err
		}
	}
	spec, _ := json.Marshal(o)
	p := &state.Pod{ID: NewID(), Name: o.Name, Created: time.Now().UTC(), Labels: o.Labels, Spec: spec}
	infra := &state.Container{
		ID: NewID(), Infra: true, PodID: p.ID, PodName: p.Name, Created: p.Created,
		Image: "podbay/pause", Command: []string{"/pause"}, State: state.StateCreated,
		Runtime: m.Runtime.Path(), LogPath: "/dev/null",
	}
	infra.Name = p.ID[:12] + "-infra"
	infra.Bundle = m.containerDir(infra.ID)
	infra.Rootfs = m.infraRootfs()
	p.InfraID = infra.ID
	err := m.State.Update(ctx, func(tx *state.Tx) error {
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

func (m *Manager) checkPodNetwork(ctx context.Context, o *PodOptions) error {
	switch o.Network {
	case "host", "none":
		if len(o.Ports) > 0 && o.Network == "none" {
			return fmt.Errorf("pod %s: publishing ports needs a network, not --network none", o.Name)
		}
		return nil
	}
	if m.Networks == nil {
		return fmt.Errorf("pod %s: no network manager", o.Name)
	}
	_, err := m.Networks.Get(ctx, o.Network)
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

// OptionsOf returns the options pod p was created with.
func OptionsOf(p *state.Pod) PodOptions { return podOptions(p) }

func podOptions(p *state.Pod) PodOptions {
	var o PodOptions
	_ = json.Unmarshal(p.Spec, &o)
	return o
}

// PodStatus is a pod with its containers' current states.
type PodStatus struct {
	Pod        *state.Pod
	Options    PodOptions
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
	st := &PodStatus{Pod: p, Options: podOptions(p)}
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
	if err := m.SyncServices(ctx); err != nil {
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
	if err := m.SyncServices(ctx); err != nil {
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
	if err := monitor.StopAll(ctx, ptr(m.podMonitorConfig(st.Pod.ID)), grace); err != nil {
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
		release = func(ctx context.Context, st *PodStatus) error { return m.teardownNetwork(ctx, st.Pod, st.Options) }
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
	errs = append(errs, cgroups.Remove(podCgroup(st.Pod.ID)), removePodDir(m.podRunDir(st.Pod.ID)))
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
	errs = append(errs, m.SyncServices(ctx))
	m.Log.Debug("pod removed", "pod", st.Pod.Name, "took", time.Since(t0))
	return st, errors.Join(errs...)
}

// PodRunning tells whether a pod has running containers (Running or
// Degraded); false when it does not exist.
func (m *Manager) PodRunning(ctx context.Context, ref string) bool {
	st, err := m.PodStatusOf(ctx, ref)
	return err == nil && (st.Status == PodRunning || st.Status == PodDegraded)
}

func podCgroup(podID string) string { return "/podbay/pod-" + podID[:12] }

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
