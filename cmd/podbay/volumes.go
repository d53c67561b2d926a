package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/engine/volume"
)

func newVolumeCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "volume", Short: "Manage named volumes"}
	cmd.AddCommand(newVolumeCreateCommand(g), newVolumeLsCommand(g), newVolumeInspectCommand(g), newVolumeRmCommand(g))
	return cmd
}

func (g *globals) volumes() (*volume.Store, error) { return volume.Open(g.root) }

func newVolumeCreateCommand(g *globals) *cobra.Command {
	var labels []string
	cmd := &cobra.Command{
		Use:   "create [flags] [NAME]",
		Short: "Create a named volume",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vs, err := g.volumes()
			if err != nil {
				return err
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			} else {
				name = randomVolumeName()
			}
			v, err := vs.Create(cmd.Context(), volume.CreateOptions{Name: name, Labels: parseLabels(labels)})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), v.Name)
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&labels, "label", "l", nil, "set a label K=V")
	return cmd
}

func randomVolumeName() string {
	id := newShortID()
	return "vol-" + id
}

func newVolumeLsCommand(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "ls [flags]",
		Aliases: []string{"list"},
		Short:   "List named volumes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			vs, err := g.volumes()
			if err != nil {
				return err
			}
			list, err := vs.List(cmd.Context())
			if err != nil {
				return err
			}
			if format == "json" {
				if list == nil {
					list = []*volume.Volume{}
				}
				return writeJSON(cmd.OutOrStdout(), list)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DRIVER\tVOLUME NAME")
			for _, v := range list {
				fmt.Fprintf(tw, "%s\t%s\n", v.Driver, v.Name)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "output format: table or json")
	return cmd
}

func newVolumeInspectCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect VOLUME...",
		Short: "Show named volumes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vs, err := g.volumes()
			if err != nil {
				return err
			}
			var out []*volume.Volume
			for _, n := range args {
				v, err := vs.Get(cmd.Context(), n)
				if err != nil {
					return err
				}
				out = append(out, v)
			}
			return writeJSON(cmd.OutOrStdout(), out)
		},
	}
}

func newVolumeRmCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rm VOLUME...",
		Short: "Remove named volumes and their data",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vs, err := g.volumes()
			if err != nil {
				return err
			}
			var errs []error
			for _, n := range args {
				if err := vs.Remove(cmd.Context(), n); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(cmd.OutOrStdout(), n)
			}
			return errors.Join(errs...)
		},
	}
}
