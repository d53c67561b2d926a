//go:build !lean

package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/autoupdate"
	"github.com/podbay/podbay/internal/sdnotify"
	"github.com/podbay/podbay/kube/play"
	"github.com/podbay/podbay/orchestrate"
)

// serviceFlags are kube play's hidden flags for a systemd service's main
// process, as Quadlet's units pass them to podman.
type serviceFlags struct {
	enabled     bool
	propagation string
}

func (s *serviceFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&s.enabled, "service-container", false, "stay as a systemd service's main process for the pods' life, notifying readiness")
	fl.StringVar(&s.propagation, "service-exit-code-propagation", orchestrate.PropagateNone,
		"with --service-container: exit with a failure code when all, any or none of the containers failed")
	_ = fl.MarkHidden("service-container")
	_ = fl.MarkHidden("service-exit-code-propagation")
}

// notifier takes the service manager's notify socket out of the
// environment before anything is started (see sdnotify.FromEnv); nil
// without --service-container or a socket.
func (s *serviceFlags) notifier() (orchestrate.Notifier, error) {
	if !s.enabled {
		return nil, nil
	}
	n, err := sdnotify.FromEnv()
	if n == nil || err != nil {
		return nil, err
	}
	return n, nil
}

// check refuses flags that do not go together.
func (f *kubePlayFlags) check() error {
	if f.userns != "" && f.userns != "host" {
		return fmt.Errorf("--userns %s: podbay runs pods in the host's user namespace; only host is supported", f.userns)
	}
	if f.service.enabled && (f.wait || f.dryRun || f.down || !f.start) {
		return fmt.Errorf("--service-container cannot go with --wait, --dry-run, --down or --start=false")
	}
	switch f.service.propagation {
	case orchestrate.PropagateNone, orchestrate.PropagateAll, orchestrate.PropagateAny:
	default:
		return fmt.Errorf("--service-exit-code-propagation %q: want all, any or none", f.service.propagation)
	}
	return nil
}

// annotate adds --annotation values, and for a service its unit, to every
// pod of the play.
func annotate(p *play.Play, f *kubePlayFlags) error {
	add := map[string]string{}
	for _, a := range f.annotations {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return fmt.Errorf("--annotation %q: want KEY=VALUE", a)
		}
		add[k] = v
	}
	if unit := os.Getenv("PODBAY_SYSTEMD_UNIT"); f.service.enabled && unit != "" {
		add[autoupdate.UnitAnnotation] = unit // auto-update restarts it
	}
	if len(add) == 0 {
		return nil
	}
	for i := range p.Pods {
		if p.Pods[i].Annotations == nil {
			p.Pods[i].Annotations = map[string]string{}
		}
		for k, v := range add {
			p.Pods[i].Annotations[k] = v
		}
	}
	return nil
}

// serve is the rest of a service's main process once its play is up: see
// orchestrate.Serve. The command's context ends at SIGTERM (systemctl
// stop), and Serve then takes the pods down itself; ExecStopPost's kube
// down finds nothing left, and is there for a main process that died.
func serve(cmd *cobra.Command, e *orchestrate.Engine, p *play.Play, s serviceFlags, notify orchestrate.Notifier) error {
	// The play's garbage (manifests, translation, pulls) goes back to the
	// system before the long wait.
	debug.FreeOSMemory()
	code, err := e.Serve(cmd.Context(), p, orchestrate.ServiceOptions{ExitCodePropagation: s.propagation, Notify: notify})
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitError{code: code, err: fmt.Errorf("the pods' containers failed (--service-exit-code-propagation=%s): exit status %d", s.propagation, code)}
	}
	return nil
}
