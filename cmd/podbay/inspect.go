package main

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/engine/network"
	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/internal/report"
	"github.com/podbay/podbay/pod"
)

// inspectVerb describes an inspect command.
type inspectVerb struct {
	use, short string
	name       string // the template's name in errors
	example    string // a --format template, for the help
}

// lookupFunc finds one object by name or ID.
type lookupFunc[T any] func(ctx context.Context, ref string) (T, error)

// inspectCommand makes an inspect verb: each object named, looked up by
// the function open returns, printed as one JSON array or, with --format,
// through the template once each, as Podman's inspect verbs do.
func inspectCommand[T any](v inspectVerb, open func() (lookupFunc[T], error)) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   v.use,
		Short: v.short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var zero T
			f, err := report.Parse(format, report.Spec{Name: v.name, Item: zero})
			if err != nil {
				return err
			}
			get, err := open()
			if err != nil {
				return err
			}
			items := make([]T, 0, len(args))
			for _, ref := range args {
				it, err := get(cmd.Context(), ref)
				if err != nil {
					return err
				}
				items = append(items, it)
			}
			return render(cmd, f, items, func() any { return items })
		},
	}
	addFormatFlag(cmd, &format, v.example)
	return cmd
}

func newInspectCommand(g *globals) *cobra.Command {
	v := inspectVerb{use: "inspect CONTAINER...", short: "Show containers' configuration and state", name: "inspect", example: "{{.State.Status}}"}
	return inspectCommand(v, func() (lookupFunc[map[string]any], error) {
		m, err := g.manager()
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, ref string) (map[string]any, error) {
			c, err := m.Lookup(ctx, ref)
			if err != nil {
				return nil, err
			}
			row := inspectJSON(c)
			processConfig(row, c)
			row["Mounts"] = containerMounts(c)
			row["NetworkSettings"] = containerNetwork(ctx, m, c)
			return row, nil
		}, nil
	})
}

// processConfig sets Config.Env and Config.WorkingDir to what the process
// runs with, the image's and the user's together, as Podman's inspect
// shows them; the options alone hold only the user's.
func processConfig(row map[string]any, c *state.Container) {
	cfg, ok := row["Config"].(map[string]any)
	if !ok {
		return
	}
	if spec, err := runtime.ReadBundle(c.Bundle); err == nil && spec.Process != nil {
		cfg["Env"] = spec.Process.Env
		cfg["WorkingDir"] = spec.Process.Cwd
	}
}

// inspectMount is one mount of a container, in Podman's inspect shape.
type inspectMount struct {
	Type        string
	Source      string
	Destination string
	Options     []string
	RW          bool
}

// containerMounts lists what c mounts from its volumes, as its OCI
// bundle has them (the host paths they were prepared at).
func containerMounts(c *state.Container) []inspectMount {
	out := []inspectMount{}
	v := pod.ViewOf(c)
	ctr := v.Container()
	if ctr == nil {
		return out
	}
	spec, err := runtime.ReadBundle(c.Bundle)
	if err != nil {
		return out
	}
	for _, vm := range ctr.Mounts {
		for _, m := range spec.Mounts {
			if m.Destination == vm.Destination {
				out = append(out, inspectMount{Type: m.Type, Source: m.Source, Destination: m.Destination,
					Options: m.Options, RW: !slices.Contains(m.Options, "ro")})
			}
		}
	}
	return out
}

// networkSettings is a container's network, in Podman's inspect shape: a
// pod's containers share the pod's.
type networkSettings struct {
	IPAddress   string
	Gateway     string
	IPPrefixLen int
	MacAddress  string
	SandboxKey  string
	Ports       map[string][]hostPort
	Networks    map[string]endpoint
}

type hostPort struct {
	HostIp   string //nolint:revive // Podman's name
	HostPort string
}

type endpoint struct {
	NetworkID   string
	IPAddress   string
	Gateway     string
	IPPrefixLen int
	MacAddress  string
}

// containerNetwork reports c's pod's network; empty outside a pod, with
// host or no network, and while the pod has none.
func containerNetwork(ctx context.Context, m *pod.Manager, c *state.Container) networkSettings {
	ns := networkSettings{Ports: map[string][]hostPort{}, Networks: map[string]endpoint{}}
	if c.PodID == "" {
		return ns
	}
	p, err := m.LookupPod(ctx, c.PodID)
	if err != nil {
		return ns
	}
	spec := pod.SpecOf(p)
	for _, pm := range spec.Network.Ports {
		key := fmt.Sprintf("%d/%s", pm.ContainerPort, strings.ToLower(pm.Protocol))
		ns.Ports[key] = append(ns.Ports[key], hostPort{HostIp: pm.HostIP, HostPort: fmt.Sprint(pm.HostPort)})
	}
	a, err := m.PodAttachment(ctx, p)
	if err != nil || a == nil {
		return ns
	}
	ep := attachmentEndpoint(a)
	ns.IPAddress, ns.Gateway, ns.IPPrefixLen, ns.MacAddress, ns.SandboxKey = ep.IPAddress, ep.Gateway, ep.IPPrefixLen, ep.MacAddress, a.NetNS
	ns.Networks[a.Network] = ep
	return ns
}

func attachmentEndpoint(a *network.Attachment) endpoint {
	ep := endpoint{NetworkID: a.Network, IPAddress: a.IP, Gateway: a.Gateway, MacAddress: a.MAC}
	if p, err := netip.ParsePrefix(a.Prefix); err == nil {
		ep.IPPrefixLen = p.Bits()
	}
	return ep
}
