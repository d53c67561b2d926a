package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/engine/network"
)

func (g *globals) networks() (*network.Manager, error) {
	var dirs []string
	if v := os.Getenv("PODBAY_CNI_PLUGIN_DIRS"); v != "" {
		dirs = strings.Split(v, ":")
	}
	return network.New(network.Options{
		Root: g.root, Runroot: g.runroot, Log: g.log, PluginDirs: dirs,
		DefaultName:   envOr("PODBAY_DEFAULT_NETWORK", "podbay"),
		DefaultBridge: envOr("PODBAY_DEFAULT_BRIDGE", "podbay0"),
		DefaultSubnet: envOr("PODBAY_DEFAULT_SUBNET", "10.90.0.0/16"),
	})
}

func newNetworkCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "network", Short: "Manage CNI networks"}
	cmd.AddCommand(newNetworkCreateCommand(g), newNetworkLsCommand(g), newNetworkInspectCommand(g), newNetworkRmCommand(g))
	return cmd
}

func newNetworkCreateCommand(g *globals) *cobra.Command {
	var o network.CreateOptions
	cmd := &cobra.Command{
		Use:   "create [flags] NAME",
		Short: "Create a bridge network",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nm, err := g.networks()
			if err != nil {
				return err
			}
			o.Name = args[0]
			n, err := nm.Create(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), n.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Subnet, "subnet", "", "subnet in CIDR form (default: a free /24)")
	cmd.Flags().StringVar(&o.Gateway, "gateway", "", "gateway address (default: the subnet's first)")
	cmd.Flags().StringVar(&o.Bridge, "interface-name", "", "bridge name (default: chosen)")
	cmd.Flags().BoolVar(&o.Internal, "internal", false, "no route out of the network")
	return cmd
}

func newNetworkLsCommand(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "ls [flags]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nm, err := g.networks()
			if err != nil {
				return err
			}
			if _, err := nm.Get(cmd.Context(), ""); err != nil { // the default exists once looked at
				return err
			}
			nets, err := nm.List(cmd.Context())
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), nets)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDRIVER\tSUBNET\tGATEWAY\tBRIDGE\tINTERNAL")
			for _, n := range nets {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", n.Name, n.Driver, n.Subnet, n.Gateway, n.Bridge, n.Internal)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "output format: table or json")
	return cmd
}

func newNetworkInspectCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect NETWORK...",
		Short: "Show networks and their attachments",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nm, err := g.networks()
			if err != nil {
				return err
			}
			var out []map[string]any
			for _, name := range args {
				n, err := nm.Get(cmd.Context(), name)
				if err != nil {
					return err
				}
				atts, err := nm.Attachments(cmd.Context(), n.Name)
				if err != nil {
					return err
				}
				out = append(out, map[string]any{"Network": n, "Attachments": atts})
			}
			return writeJSON(cmd.OutOrStdout(), out)
		},
	}
}

func newNetworkRmCommand(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rm [flags] NETWORK...",
		Short: "Remove networks",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nm, err := g.networks()
			if err != nil {
				return err
			}
			var errs []error
			for _, name := range args {
				if err := nm.Remove(cmd.Context(), name, network.RemoveOptions{Force: force}); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(cmd.OutOrStdout(), name)
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "detach the pods using it first")
	return cmd
}

// prefixed writes each line of output as "NAME line", as podman pod logs does.
func prefixed(w io.Writer, name string) io.Writer {
	return &prefixWriter{w: w, prefix: []byte(name + " ")}
}

type prefixWriter struct {
	w      io.Writer
	prefix []byte
	mid    bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !p.mid {
			out.Write(p.prefix)
		}
		out.Write(line)
		p.mid = line[len(line)-1] != '\n'
	}
	if _, err := p.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
