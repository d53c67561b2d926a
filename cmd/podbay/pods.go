package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/engine/crilog"
	"github.com/podbay/podbay/engine/network"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/internal/report"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

func newPodCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "pod", Short: "Manage pods"}
	cmd.AddCommand(newPodCreateCommand(g), newPodStartCommand(g), newPodStopCommand(g, false), newPodStopCommand(g, true),
		newPodRmCommand(g), newPodPsCommand(g), newPodInspectCommand(g), newPodLogsCommand(g), newPodExistsCommand(g))
	return cmd
}

func newPodCreateCommand(g *globals) *cobra.Command {
	var f podspec.PodFlags
	var labels []string
	var replace bool
	cmd := &cobra.Command{
		Use:   "create [flags]",
		Short: "Create a pod: an infra process holding shared namespaces, and a network",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.Labels = parseLabels(labels)
			spec, err := podspec.FromPodFlags(f)
			if err != nil {
				return err
			}
			m, err := g.manager()
			if err != nil {
				return err
			}
			if replace {
				if err := replacePod(cmd.Context(), m, spec.Name); err != nil {
					return err
				}
			}
			p, err := m.CreatePod(cmd.Context(), spec)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), p.ID)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Name, "name", "", "pod name")
	fl.StringArrayVarP(&f.Publish, "publish", "p", nil, "publish a port [IP:]HOST:CONTAINER[/udp]")
	fl.StringVar(&f.Network, "network", "", "network: a network name (default: podbay), host or none")
	fl.StringVar(&f.Hostname, "hostname", "", "the pod's host name (default: its name)")
	fl.StringArrayVar(&f.AddHosts, "add-host", nil, "add NAME:IP to /etc/hosts")
	fl.StringArrayVar(&f.DNS, "dns", nil, "DNS server")
	fl.StringArrayVar(&f.DNSSearch, "dns-search", nil, "DNS search domain")
	fl.StringArrayVar(&f.DNSOpts, "dns-option", nil, "DNS option")
	fl.StringVar(&f.Share, "share", "", "namespaces to share: net,ipc,uts[,pid]")
	fl.StringArrayVarP(&labels, "label", "l", nil, "set a label K=V")
	fl.BoolVar(&replace, "replace", false, "remove a pod of the same name first")
	return cmd
}

func parseLabels(list []string) map[string]string {
	if len(list) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, l := range list {
		k, v, _ := strings.Cut(l, "=")
		out[k] = v
	}
	return out
}

// eachPod runs fn for every pod named, printing its ID when it worked.
func eachPod(g *globals, fn func(*cobra.Command, *pod.Manager, string) (*pod.PodStatus, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		m, err := g.manager()
		if err != nil {
			return err
		}
		var errs []error
		for _, ref := range args {
			st, err := fn(cmd, m, ref)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if st != nil { // nil: nothing done (pod rm --ignore of a missing pod)
				fmt.Fprintln(cmd.OutOrStdout(), st.Pod.ID)
			}
		}
		return errors.Join(errs...)
	}
}

func newPodStartCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "start POD...",
		Short: "Start pods",
		Args:  cobra.MinimumNArgs(1),
		RunE: eachPod(g, func(cmd *cobra.Command, m *pod.Manager, ref string) (*pod.PodStatus, error) {
			return m.StartPod(cmd.Context(), ref)
		}),
	}
}

func newPodStopCommand(g *globals, restart bool) *cobra.Command {
	var timeout uint
	use, short := "stop [flags] POD...", "Stop pods: their containers in parallel, then the infra"
	if restart {
		use, short = "restart [flags] POD...", "Restart pods"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: eachPod(g, func(cmd *cobra.Command, m *pod.Manager, ref string) (*pod.PodStatus, error) {
			st, err := m.StopPod(cmd.Context(), ref, pod.StopOptions{Timeout: time.Duration(timeout) * time.Second})
			if err != nil || !restart {
				return st, err
			}
			return m.StartPod(cmd.Context(), ref)
		}),
	}
	cmd.Flags().UintVarP(&timeout, "time", "t", 10, "seconds to wait before killing")
	return cmd
}

func newPodRmCommand(g *globals) *cobra.Command {
	var force, all, ignore bool
	var timeout uint
	cmd := &cobra.Command{
		Use:   "rm [flags] POD...",
		Short: "Remove pods and everything they hold",
		RunE: func(cmd *cobra.Command, args []string) error {
			if all {
				m, err := g.manager()
				if err != nil {
					return err
				}
				sts, err := m.PodStatuses(cmd.Context())
				if err != nil {
					return err
				}
				for _, st := range sts {
					args = append(args, st.Pod.ID)
				}
				if len(args) == 0 {
					return nil
				}
			}
			if len(args) == 0 {
				return fmt.Errorf("pod rm: name at least one pod, or use --all")
			}
			return eachPod(g, func(cmd *cobra.Command, m *pod.Manager, ref string) (*pod.PodStatus, error) {
				st, err := m.RemovePod(cmd.Context(), ref, pod.RemovePodOptions{Force: force, Timeout: time.Duration(timeout) * time.Second})
				if ignore && errors.Is(err, state.ErrNotFound) {
					return nil, nil
				}
				return st, err
			})(cmd, args)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "stop running pods first")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove every pod")
	cmd.Flags().BoolVarP(&ignore, "ignore", "i", false, "ignore pods that do not exist")
	cmd.Flags().UintVarP(&timeout, "time", "t", 10, "with --force: seconds to wait before killing")
	return cmd
}

func newPodExistsCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "exists POD",
		Short: "Exit 0 when the pod exists, 1 when it does not",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := g.manager()
			if err != nil {
				return err
			}
			if _, err := m.LookupPod(cmd.Context(), args[0]); err != nil {
				if errors.Is(err, state.ErrNotFound) {
					return &exitError{code: 1}
				}
				return err
			}
			return nil
		},
	}
}

func newPodPsCommand(g *globals) *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "ps [flags]",
		Aliases: []string{"ls", "list"},
		Short:   "List pods",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := report.Parse(format, podPsSpec)
			if err != nil {
				return err
			}
			m, err := g.manager()
			if err != nil {
				return err
			}
			sts, err := m.PodStatuses(cmd.Context())
			if err != nil {
				return err
			}
			if printQuiet(cmd, f, quiet, sts, func(st *pod.PodStatus) string { return short(st.Pod.ID) }) {
				return nil
			}
			rows := make([]podItem, 0, len(sts))
			for _, st := range sts {
				ready, total := m.Readiness(st)
				rows = append(rows, podItem{st: st, ready: fmt.Sprintf("%d/%d", ready, total)})
			}
			return render(cmd, f, rows, func() any {
				out := make([]map[string]any, 0, len(rows))
				for _, r := range rows {
					row := podPsJSON(r.st)
					row["Ready"] = r.ready
					out = append(out, row)
				}
				return out
			})
		},
	}
	addFormatFlag(cmd, &format, "{{.Name}} {{.Status}}")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only pod IDs")
	return cmd
}

// podPsJSON uses Podman's field names.
func podPsJSON(st *pod.PodStatus) map[string]any {
	ctrs := []map[string]any{}
	all := podItem{st: st}.all()
	for _, c := range all {
		ctrs = append(ctrs, map[string]any{"Id": c.ID, "Names": c.Name, "Status": c.State, "RestartCount": c.RestartCount})
	}
	return map[string]any{
		"Id": st.Pod.ID, "Name": st.Pod.Name, "Status": st.Status, "Created": st.Pod.Created,
		"InfraId": st.Pod.InfraID, "Labels": st.Pod.Labels, "Networks": podNetworks(&st.Spec), "Containers": ctrs,
		"NumberOfContainers": len(all), "Cgroup": envOr("PODBAY_CGROUP_PARENT", pod.DefaultCgroupParent) + "/pod-" + st.Pod.ID[:12],
	}
}

func firstNonEmptyStr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func newPodInspectCommand(g *globals) *cobra.Command {
	v := inspectVerb{use: "inspect POD...", short: "Show pods' configuration and state", name: "pod inspect", example: "{{.State}} {{.IP}}"}
	return inspectCommand(v, func() (lookupFunc[map[string]any], error) {
		m, err := g.manager()
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, ref string) (map[string]any, error) {
			st, err := m.PodStatusOf(ctx, ref)
			if err != nil {
				return nil, err
			}
			row := podPsJSON(st)
			row["State"] = st.Status
			row["Hostname"] = st.Spec.HostnameOrName()
			row["SharedNamespaces"] = sharedNamespaces(&st.Spec)
			row["PortMappings"] = portMappingsJSON(st.Spec.Network.Ports)
			row["NetworkMode"] = firstNonEmptyStr(st.Spec.NetworkName(), "bridge")
			if ip, err := m.PodIP(ctx, st); err == nil {
				row["IP"] = ip
			}
			return row, nil
		}, nil
	})
}

func newPodLogsCommand(g *globals) *cobra.Command {
	o := crilog.ReadOptions{}
	var only string
	cmd := &cobra.Command{
		Use:   "logs [flags] POD",
		Short: "Show the output of every container of a pod, each line after its container's name",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := g.manager()
			if err != nil {
				return err
			}
			st, err := m.PodStatusOf(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			cs := st.Containers
			if only != "" {
				i := slices.IndexFunc(cs, func(c *state.Container) bool { return c.Name == only || strings.HasPrefix(c.ID, only) })
				if i < 0 {
					return fmt.Errorf("--container %q: pod %s has no such container", only, st.Pod.Name)
				}
				cs = cs[i : i+1]
			}
			for _, c := range cs {
				if err := crilog.Read(cmd.Context(), c.LogPath, o, prefixed(cmd.OutOrStdout(), c.Name), prefixed(cmd.ErrOrStderr(), c.Name)); err != nil && !isNotExist(err) {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&only, "container", "c", "", "show only this container's output (name or ID)")
	cmd.Flags().BoolP("names", "n", true, "prefix lines with container names (always: accepted for Podman's scripts)")
	cmd.Flags().IntVar(&o.Tail, "tail", -1, "print only the last N lines of each container")
	cmd.Flags().BoolVarP(&o.Timestamps, "timestamps", "t", false, "print timestamps")
	return cmd
}

// sharedNamespaces lists what a pod's containers share, as Podman's pod
// inspect does.
func sharedNamespaces(s *podspec.Pod) []string {
	out := []string{}
	for _, ns := range []string{"net", "ipc", "uts", "pid"} {
		if s.Shares(ns) {
			out = append(out, ns)
		}
	}
	return out
}

// portMappingsJSON are a pod's published ports in the JSON shape inspect has
// always printed (the network's: lower-case protocols).
func portMappingsJSON(ports []podspec.PortMapping) []network.PortMapping {
	var out []network.PortMapping
	for _, p := range ports {
		out = append(out, network.PortMapping{HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort,
			Protocol: strings.ToLower(p.Protocol)})
	}
	return out
}
