package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/engine/volume"
	"github.com/podbay/podbay/internal/report"
)

func newVolumeCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "volume", Short: "Manage named volumes"}
	cmd.AddCommand(newVolumeCreateCommand(g), newVolumeLsCommand(g), newVolumeInspectCommand(g), newVolumeRmCommand(g))
	return cmd
}

func (g *globals) volumes() (*volume.Store, error) { return volume.Open(g.root) }

func newVolumeCreateCommand(g *globals) *cobra.Command {
	var labels []string
	var ignore bool
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
			v, err := vs.Create(cmd.Context(), volume.CreateOptions{Name: name, Labels: parseLabels(labels), IfExists: ignore})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), v.Name)
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&labels, "label", "l", nil, "set a label K=V")
	cmd.Flags().BoolVar(&ignore, "ignore", false, "succeed, leaving it as it is, when the volume exists")
	return cmd
}

func randomVolumeName() string {
	id := newShortID()
	return "vol-" + id
}

// volumeView is a volume as Podman's volume ls and inspect show it, in JSON
// and to --format.
type volumeView struct {
	Name       string
	Driver     string
	Mountpoint string
	CreatedAt  time.Time
	Labels     map[string]string
	Scope      string
	Options    map[string]string
}

func viewVolume(v *volume.Volume) volumeView {
	return volumeView{
		Name: v.Name, Driver: v.Driver, Mountpoint: v.Mountpoint, CreatedAt: v.CreatedAt, Scope: "local",
		Labels: orEmpty(v.Labels), Options: orEmpty(v.Options),
	}
}

// orEmpty gives JSON {} for no entries, as Podman prints.
func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

var volumeLsSpec = report.Spec{
	Name:    "volume ls",
	Default: "{{.Driver}}\t{{.Name}}",
	Headers: map[string]string{"Name": "VOLUME NAME"},
	Item:    volumeView{},
}

func newVolumeLsCommand(g *globals) *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "ls [flags]",
		Aliases: []string{"list"},
		Short:   "List named volumes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := report.Parse(format, volumeLsSpec)
			if err != nil {
				return err
			}
			vs, err := g.volumes()
			if err != nil {
				return err
			}
			list, err := vs.List(cmd.Context())
			if err != nil {
				return err
			}
			if printQuiet(cmd, f, quiet, list, func(v *volume.Volume) string { return v.Name }) {
				return nil
			}
			views := make([]volumeView, 0, len(list))
			for _, v := range list {
				views = append(views, viewVolume(v))
			}
			return render(cmd, f, views, func() any { return views })
		},
	}
	addFormatFlag(cmd, &format, "{{.Name}} {{.Mountpoint}}")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only volume names")
	return cmd
}

func newVolumeInspectCommand(g *globals) *cobra.Command {
	v := inspectVerb{use: "inspect VOLUME...", short: "Show named volumes", name: "volume inspect", example: "{{.Mountpoint}}"}
	return inspectCommand(v, func() (lookupFunc[volumeView], error) {
		vs, err := g.volumes()
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, name string) (volumeView, error) {
			v, err := vs.Get(ctx, name)
			if err != nil {
				return volumeView{}, err
			}
			return viewVolume(v), nil
		}, nil
	})
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
