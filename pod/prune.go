package pod

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/podbay/podbay/engine/image"
	"github.com/podbay/podbay/engine/network"
	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/engine/state"
)

// PruneOptions tune Prune.
type PruneOptions struct {
	Images bool // remove images no container uses
}

// PruneReport says what Prune removed.
type PruneReport struct {
	Containers []string
}

// Prune removes exited containers and everything a killed podbay command
// left behind: half-created containers, stray mounts, runtime records and
// directories that no record owns.
func (m *Manager) Prune(ctx context.Context, o PruneOptions) (PruneReport, error) {
	var rep PruneReport
	cs, err := m.List(ctx) // also finishes orphaned creations
	if err != nil {
		return rep, err
	}
	known := map[string]bool{}
	var errs []error
	for _, c := range cs {
		if c.State == state.StateExited && !c.Infra {
			if _, err := m.Remove(ctx, c.ID, RemoveOptions{}); err != nil {
				errs = append(errs, err)
				continue
			}
			rep.Containers = append(rep.Containers, c.ID)
			continue
		}
		known[c.ID] = true
	}
	errs = append(errs, m.pruneStrays(ctx, known), m.prunePodStrays(ctx))
	if o.Images {
		errs = append(errs, m.pruneImages(ctx, known))
	}
	return rep, errors.Join(errs...)
}

// pruneStrays removes directories, mounts and runtime records of containers
// the state does not know (a create killed between steps).
func (m *Manager) pruneStrays(ctx context.Context, known map[string]bool) error {
	var errs []error
	for _, dir := range []string{filepath.Join(m.Runroot, "containers"), filepath.Join(m.Root, "containers")} {
		entries, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
		for _, e := range entries {
			if known[e.Name()] {
				continue
			}
			// Guard against a create that is claiming its record right now.
			var c *state.Container
			_ = m.State.View(ctx, func(tx *state.Tx) error {
				c, _ = tx.Container(e.Name())
				return nil
			})
			if c != nil {
				continue
			}
			_ = m.Runtime.Delete(ctx, e.Name(), runtime.DeleteOptions{Force: true})
			p := filepath.Join(dir, e.Name())
			if err := m.host().UnmountRootfs(filepath.Join(p, "rootfs")); err != nil {
				errs = append(errs, err)
				continue
			}
			if err := os.RemoveAll(p); err != nil {
				errs = append(errs, fmt.Errorf("removing %s: %w", p, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) pruneImages(ctx context.Context, known map[string]bool) error {
	used := map[string]bool{}
	cs, err := m.List(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		used[c.ImageID] = true
	}
	imgs, err := m.Images.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, img := range imgs {
		if !used[img.ID] {
			if _, err := m.Images.Remove(ctx, img.ID, image.RemoveOptions{Force: true}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Reset removes every container, then everything under the roots.
func (m *Manager) Reset(ctx context.Context) error {
	var errs []error
	pods, err := m.PodStatuses(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for _, p := range pods {
		if _, err := m.RemovePod(ctx, p.Pod.ID, RemovePodOptions{Force: true}); err != nil {
			errs = append(errs, err)
		}
	}
	cs, err := m.List(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for _, c := range cs {
		if c.Infra {
			continue // its pod's removal handles it
		}
		if _, err := m.Remove(ctx, c.ID, RemoveOptions{Force: true}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := m.pruneStrays(ctx, map[string]bool{}); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, m.Services().RemoveHost(ctx))
	if m.Networks != nil {
		// Networks' iptables rules and bridges live outside the roots.
		errs = append(errs, m.Networks.RemoveAll(ctx))
	}
	for _, d := range []string{m.Runroot, m.Root} {
		// Whatever is still mounted under them (namespace files and their
		// directory, root filesystems, memory volumes), deepest first.
		if err := m.host().UnmountUnder(d); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// prunePodStrays finishes the teardown of pods whose record is gone (a
// create or remove killed half way): their monitor and containers, network
// attachment, namespace, cgroup and directories.
func (m *Manager) prunePodStrays(ctx context.Context) error {
	known := map[string]bool{}
	pods, err := m.PodStatuses(ctx)
	if err != nil {
		return err
	}
	for _, p := range pods {
		known[p.Pod.ID] = true
	}
	var errs []error
	for _, dir := range []string{filepath.Join(m.Runroot, "pods"), filepath.Join(m.Root, "pods")} {
		entries, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
		for _, e := range entries {
			if !e.IsDir() || known[e.Name()] || m.podRecorded(ctx, e.Name()) {
				continue
			}
			errs = append(errs, m.teardownStrayPod(ctx, e.Name()), m.removePodDir(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(append(errs, m.pruneStrayNetNS(ctx, known))...)
}

// pruneStrayNetNS removes the namespace files of pods that have no record
// (a killed create or remove): each keeps the namespace directory mounted.
func (m *Manager) pruneStrayNetNS(ctx context.Context, known map[string]bool) error {
	entries, err := os.ReadDir(network.NetNSDir(m.Runroot))
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var errs []error
	for _, e := range entries {
		if known[e.Name()] || m.podRecorded(ctx, e.Name()) {
			continue
		}
		errs = append(errs, m.host().RemoveNetNS(m.netnsPath(e.Name())))
	}
	return errors.Join(errs...)
}

// podRecorded tells whether the state may have pod id now (a pod created
// since a listing is no stray): only a record known missing says no.
func (m *Manager) podRecorded(ctx context.Context, id string) bool {
	err := m.State.View(ctx, func(tx *state.Tx) error {
		_, err := tx.Pod(id)
		return err
	})
	return !errors.Is(err, state.ErrNotFound)
}

func (m *Manager) teardownStrayPod(ctx context.Context, id string) error {
	var errs []error
	if err := m.monitors().StopAll(ctx, ptr(m.podMonitorConfig(id)), -1); err != nil {
		errs = append(errs, err)
	}
	if m.Networks != nil {
		nets, err := m.Networks.List(ctx)
		errs = append(errs, err)
		// Every network: a play killed inside ADD leaves no attachment
		// record, yet may leave a lease, a veth in the namespace or a claim
		// on the network's rules; Detach of nothing is cheap.
		for _, n := range nets {
			errs = append(errs, m.Networks.Detach(ctx, network.AttachOptions{ContainerID: id, Network: n.Name, NetNS: m.netnsPath(id)}))
		}
	}
	errs = append(errs, m.host().RemoveNetNS(m.netnsPath(id)))
	if len(id) >= 12 {
		errs = append(errs, m.host().RemoveCgroup(m.podCgroup(id)))
	}
	return errors.Join(errs...)
}
