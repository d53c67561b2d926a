//go:build !lean

package main

import (
	"github.com/spf13/cobra"
)

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
			return m.Services().Sync(cmd.Context())
		},
	}
}
