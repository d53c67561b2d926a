package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/engine/network"
	"github.com/podbay/podbay/internal/report"
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
	var ignore bool
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
			if ignore && errors.Is(err, network.ErrExists) {
				n, err = &network.Network{Name: o.Name}, nil
			}
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
	cmd.Flags().BoolVar(&ignore, "ignore", false, "succeed, leaving it as it is, when the network exists")
	return cmd
}

var networkLsSpec = report.Spec{
	Name:    "network ls",
	Default: "{{.Name}}\t{{.Driver}}\t{{.Subnet}}\t{{.Gateway}}\t{{.Bridge}}\t{{.Internal}}",
	Headers: map[string]string{"IPv6Enabled": "IPV6 ENABLED"},
	Item:    networkItem{},
}

// networkItem is a network as network ls --format sees it: its own fields
// (Name, Driver, Bridge, Subnet, Gateway, Internal, Created) and Podman's.
type networkItem struct{ *network.Network }

// networkSubnet is one of Subnets, as Podman names it.
type networkSubnet struct{ Subnet, Gateway string }

func (r networkItem) NetworkInterface() string { return r.Bridge }
func (r networkItem) Subnets() []networkSubnet {
	return []networkSubnet{{Subnet: r.Subnet, Gateway: r.Gateway}}
}
func (r networkItem) IPv6Enabled() bool         { return false }
func (r networkItem) Labels() map[string]string { return map[string]string{} }

func newNetworkLsCommand(g *globals) *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "ls [flags]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := report.Parse(format, networkLsSpec)
			if err != nil {
				return err
			}
			nm, err := g.networks()
			if err != nil {
				return err
			}
			nets, err := nm.List(cmd.Context()) // the default network exists once listed
			if err != nil {
				return err
			}
			if printQuiet(cmd, f, quiet, nets, func(n *network.Network) string { return n.Name }) {
				return nil
			}
			rows := make([]networkItem, 0, len(nets))
			for _, n := range nets {
				rows = append(rows, networkItem{n})
			}
			return render(cmd, f, rows, func() any { return nets })
		},
	}
	addFormatFlag(cmd, &format, "{{.Name}} {{.Subnet}}")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only network names")
	return cmd
}

func newNetworkInspectCommand(g *globals) *cobra.Command {
	v := inspectVerb{use: "inspect NETWORK...", short: "Show networks and their attachments", name: "network inspect", example: "{{.Network.Subnet}}"}
	return inspectCommand(v, func() (lookupFunc[map[string]any], error) {
		nm, err := g.networks()
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, name string) (map[string]any, error) {
			n, err := nm.Get(ctx, name)
			if err != nil {
				return nil, err
			}
			atts, err := nm.Attachments(ctx, n.Name)
			if err != nil {
				return nil, err
			}
			return map[string]any{"Network": n, "Attachments": atts}, nil
		}, nil
	})
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
