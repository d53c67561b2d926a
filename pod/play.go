package pod

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/podbay/podbay/engine/image"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/podspec"
)

// PlayOptions tune PlayPod.
type PlayOptions struct {
	Pull    image.PullOptions
	Network string // --network: overrides the pods' network
	Start   bool   // start the pod (kube play --start, the default)
}

// PlayedPod reports what PlayPod made.
type PlayedPod struct {
	Pod        *state.Pod
	Containers []*state.Container
}

// PlayPod creates a pod from a translated Kubernetes pod: its infra and
// network, volumes, init containers run to completion in order, then the app
// containers started in parallel. On error everything it made is removed.
func (m *Manager) PlayPod(ctx context.Context, spec podspec.Pod, o PlayOptions) (played *PlayedPod, err error) {
	defer m.warm.Hold()()
	p, err := m.CreatePod(ctx, recordedSpec(spec))
	if err != nil {
		return nil, err
	}
	played = &PlayedPod{Pod: p}
	defer func() {
		if err != nil {
			_, rmErr := m.RemovePod(context.WithoutCancel(ctx), p.ID, RemovePodOptions{Force: true})
			err = errors.Join(err, rmErr)
		}
	}()
	if !o.Start {
		return played, m.createPlayedContainers(ctx, p, &spec, o, played)
	}
	st, err := m.PodStatusOf(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	if len(spec.RuntimeFields) == 0 {
		// Nothing in the containers waits for the pod's IP or the Services:
		// they are created while the infra and the network come up.
		created := make(chan error, 1)
		go func() { created <- m.createPlayedContainers(ctx, p, &spec, o, played) }()
		infraErr := m.ensureInfra(ctx, st)
		if err := errors.Join(infraErr, <-created); err != nil {
			return nil, err
		}
		if err := m.Services().SyncPod(ctx, p.ID); err != nil {
			return nil, err
		}
		return played, m.startPlayedContainers(ctx, played)
	}
	if err := m.ensureInfra(ctx, st); err != nil {
		return nil, err
	}
	ip, _ := m.PodIP(ctx, st)
	fields, err := m.Services().Fields(ctx)
	if err != nil {
		return nil, err
	}
	for k, v := range map[string]string{
		"status.podIP": ip, "status.podIPs": ip, "metadata.uid": p.ID, "spec.nodeName": hostName(),
		"status.hostIP": "127.0.0.1", "status.hostIPs": "127.0.0.1",
	} {
		fields[k] = v
	}
	spec.ResolveRuntime(fields)
	if err := m.Services().SyncPod(ctx, p.ID); err != nil {
		return nil, err
	}
	if err := m.createPlayedContainers(ctx, p, &spec, o, played); err != nil {
		return nil, err
	}
	return played, m.startPlayedContainers(ctx, played)
}

// startPlayedContainers runs the init containers in order, each to
// success, then starts the app containers in parallel.
func (m *Manager) startPlayedContainers(ctx context.Context, played *PlayedPod) error {
	if err := m.runInitContainers(ctx, played); err != nil {
		return err
	}
	var apps []*state.Container
	for _, c := range played.Containers {
		if !isInit(c) {
			apps = append(apps, c)
		}
	}
	return m.eachParallel(apps, func(c *state.Container) error {
		_, err := m.Start(ctx, c.ID)
		return err
	})
}

func hostName() string {
	h, _ := os.Hostname()
	return h
}

// recordedSpec is the spec a pod's record keeps: without the projected
// volumes' files, which are written once, at creation, and may be large.
func recordedSpec(spec podspec.Pod) podspec.Pod {
	spec.Volumes = append([]podspec.Volume(nil), spec.Volumes...)
	for i := range spec.Volumes {
		spec.Volumes[i].Files = nil
	}
	return spec
}

func (m *Manager) createPlayedContainers(ctx context.Context, p *state.Pod, spec *podspec.Pod, o PlayOptions, played *PlayedPod) error {
	vols, err := m.prepareVolumes(ctx, p.ID, spec)
	if err != nil {
		return err
	}
	for _, list := range [][]podspec.Container{spec.InitContainers, spec.Containers} {
		for i := range list {
			kc := &list[i]
			view, _ := spec.View(kc.Name)
			view.Source = nil
			c, err := m.create(ctx, CreateOptions{Spec: view, Pod: p.ID, Pull: o.Pull}, NewID(), vols)
			if err != nil {
				return fmt.Errorf("pod %s: container %s: %w", spec.Name, kc.Name, err)
			}
			played.Containers = append(played.Containers, c)
		}
	}
	return nil
}

func isInit(c *state.Container) bool { v := ViewOf(c); return v.IsInit() }

// runInitContainers runs the init containers in order, each to success.
func (m *Manager) runInitContainers(ctx context.Context, played *PlayedPod) error {
	for _, c := range played.Containers {
		if !isInit(c) {
			continue
		}
		if _, err := m.Start(ctx, c.ID); err != nil {
			return err
		}
		if isSidecar(c) {
			continue // a native sidecar keeps running beside the app containers
		}
		done, err := m.WaitExit(ctx, c.ID, 0)
		if err != nil {
			return err
		}
		if done.ExitCode != 0 {
			return fmt.Errorf("pod %s: init container %s exited with code %d", played.Pod.Name, c.Name, done.ExitCode)
		}
	}
	return nil
}

// DownPod stops a played pod within its grace period and removes it.
func (m *Manager) DownPod(ctx context.Context, ref string, grace time.Duration) error {
	_, err := m.RemovePod(ctx, ref, RemovePodOptions{Force: true, Timeout: grace})
	return err
}

// ImagePull is one image a play needs, with its Kubernetes pull policy.
type ImagePull struct {
	Ref    string
	Policy string // Always, IfNotPresent, Never
}

// PullAll resolves every image once, concurrently, before anything is
// created: a missing image fails the play before it changes anything.
func (m *Manager) PullAll(ctx context.Context, imgs []ImagePull, o image.PullOptions) error {
	errs := make([]error, len(imgs))
	done := make(chan struct{})
	for i, ip := range imgs {
		go func() {
			defer func() { done <- struct{}{} }()
			policy := map[string]string{"Always": "always", "Never": "never"}[ip.Policy]
			if _, err := m.resolveImage(ctx, ip.Ref, policy, o); err != nil {
				errs[i] = fmt.Errorf("image %s: %w", ip.Ref, err)
			}
		}()
	}
	for range imgs {
		<-done
	}
	return errors.Join(errs...)
}

// isSidecar tells whether c is a native sidecar: an init container with
// restartPolicy Always.
func isSidecar(c *state.Container) bool { v := ViewOf(c); return v.IsSidecar() }

// stopOrder splits a pod's containers into the app containers, stopped
// first, and the native sidecars, stopped after them.
func stopOrder(cs []*state.Container) (apps, sidecars []*state.Container) {
	for _, c := range cs {
		if isSidecar(c) {
			sidecars = append(sidecars, c)
		} else {
			apps = append(apps, c)
		}
	}
	return apps, sidecars
}
