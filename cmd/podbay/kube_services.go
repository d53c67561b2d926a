//go:build !lean

package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/kube/play"
	"github.com/podbay/podbay/pod"
)

// registerServices records the play's Services, allocating their cluster IPs
// and node ports, before its pods are created: service link variables need
// the addresses, and a host port in use fails the play before anything runs.
func registerServices(ctx context.Context, m *pod.Manager, p *play.Play) error {
	if len(p.Services) == 0 {
		return nil
	}
	svcs := make([]pod.Service, 0, len(p.Services))
	for _, s := range p.Services {
		ps := pod.Service{Name: s.Name, Namespace: s.Namespace, Type: s.Type, ClusterIP: s.ClusterIP, Selector: s.Selector}
		for _, sp := range s.Ports {
			ps.Ports = append(ps.Ports, pod.ServicePort{Name: sp.Name, Protocol: sp.Protocol, Port: sp.Port,
				TargetPort: sp.TargetPort, TargetPortName: sp.TargetPortName, NodePort: sp.NodePort})
		}
		svcs = append(svcs, ps)
	}
	_, err := m.PutServices(ctx, svcs)
	return err
}

// unregisterServices forgets the play's Services and takes their names and
// rules out of every pod and off the host.
func unregisterServices(ctx context.Context, m *pod.Manager, p *play.Play) error {
	if len(p.Services) == 0 {
		return nil
	}
	var errs []error
	for _, s := range p.Services {
		errs = append(errs, m.DeleteService(ctx, s.Namespace, s.Name))
	}
	errs = append(errs, m.SyncServices(ctx))
	return errors.Join(errs...)
}

// newServicesSyncCommand is `podbay kube sync-services`, hidden: it brings
// every pod's Service names and rules up to date (the monitors run it when
// a container's readiness changes).
func newServicesSyncCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "sync-services",
		Short:  "Bring the pods' Service names and rules up to date",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := g.manager()
			if err != nil {
				return err
			}
			return m.SyncServices(cmd.Context())
		},
	}
}
