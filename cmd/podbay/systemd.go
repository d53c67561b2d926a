package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/internal/sdnotify"
	"github.com/podbay/podbay/pod"
)

// What run, create and pod create do for a systemd unit (a Quadlet
// .container or .pod file's service).

// UnitLabel names, on a container a systemd unit runs, that unit (from
// $PODBAY_SYSTEMD_UNIT, which the generated units set), as Podman's
// PODMAN_SYSTEMD_UNIT label does: auto-update restarts it.
const UnitLabel = "PODBAY_SYSTEMD_UNIT"

// unitLabel adds the unit running this command to a container's labels.
func unitLabel(labels map[string]string) map[string]string {
	unit := os.Getenv("PODBAY_SYSTEMD_UNIT")
	if unit == "" {
		return labels
	}
	if labels == nil {
		labels = map[string]string{}
	}
	if _, set := labels[UnitLabel]; !set {
		labels[UnitLabel] = unit
	}
	return labels
}

// replaceContainer removes the container called name, if there is one
// (run --replace).
func replaceContainer(ctx context.Context, m *pod.Manager, name string) error {
	if name == "" {
		return errors.New("--replace needs --name")
	}
	if _, err := m.Remove(ctx, name, pod.RemoveOptions{Force: true}); err != nil && !errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("--replace: %w", err)
	}
	return nil
}

// replacePod removes the pod called name, if there is one (pod create
// --replace).
func replacePod(ctx context.Context, m *pod.Manager, name string) error {
	if name == "" {
		return errors.New("--replace needs --name")
	}
	if _, err := m.RemovePod(ctx, name, pod.RemovePodOptions{Force: true}); err != nil && !errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("--replace: %w", err)
	}
	return nil
}

// sdNotify is run --sdnotify: conmon (podbay tells systemd the container
// started: READY=1, and with --detach the monitor's pid as the service's
// main process) or ignore. Podman's container mode (the container
// notifies) is not supported.
type sdNotify struct {
	mode string
	n    *sdnotify.Notifier
}

// take checks the mode and takes the notify socket before anything starts
// (see sdnotify.FromEnv).
func (s *sdNotify) take() error {
	switch s.mode {
	case "":
		return nil
	case "conmon", "ignore":
	default:
		return fmt.Errorf("--sdnotify %q: want conmon or ignore (a container cannot notify systemd itself under podbay)", s.mode)
	}
	n, err := sdnotify.FromEnv()
	if s.mode == "conmon" {
		s.n = n
	}
	return err
}

// started tells systemd that c runs.
func (s *sdNotify) started(c *state.Container, detached bool) error {
	states := []string{sdnotify.Ready}
	if detached && c.MonitorPid > 0 {
		states = append(states, sdnotify.MainPID(c.MonitorPid))
	}
	return s.n.Send(states...)
}
