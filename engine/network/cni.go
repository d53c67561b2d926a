package network

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
)

// delList runs DEL for every plugin of list, last to first, and goes on
// past failures so that one broken plugin does not leak what the others
// hold (IP leases, veths, rules). Each error names its plugin. With
// skipMissing, plugins that are not installed (or whose delegate, such as
// their IPAM plugin, is not) are passed over: they cannot have done anything. The libcni cache entry is dropped when all succeed.
func (m *Manager) delList(ctx context.Context, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf, skipMissing bool) error {
	prev, err := m.cni.GetNetworkListCachedResult(list, rt)
	if err != nil {
		m.log.DebugContext(ctx, "reading cached CNI result", "network", list.Name, "err", err)
		prev = nil
	}
	args := &invoke.Args{
		Command: "DEL", ContainerID: rt.ContainerID, NetNS: rt.NetNS, IfName: rt.IfName,
		PluginArgs: rt.Args, Path: strings.Join(m.opts.PluginDirs, string(os.PathListSeparator)),
	}
	var errs []error
	for i := len(list.Plugins) - 1; i >= 0; i-- {
		p := list.Plugins[i]
		path, err := m.exec.FindInPath(p.Network.Type, m.opts.PluginDirs)
		if err != nil {
			if !skipMissing {
				errs = append(errs, fmt.Errorf("plugin %q (DEL): %w", p.Network.Type, err))
			}
			continue
		}
		inject := map[string]any{"name": list.Name, "cniVersion": list.CNIVersion}
		if prev != nil {
			inject["prevResult"] = prev
		}
		if rc := runtimeConfig(p, rt); len(rc) > 0 {
			inject["runtimeConfig"] = rc
		}
		conf, err := libcni.InjectConf(p, inject)
		if err == nil {
			err = invoke.ExecPluginWithoutResult(ctx, path, conf.Bytes, args, m.exec)
		}
		if err != nil && skipMissing && strings.Contains(err.Error(), "failed to find plugin") {
			continue // a plugin it delegates to (its IPAM) is missing: that one did nothing either
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("plugin %q (DEL): %w", p.Network.Type, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// A list without plugins only drops libcni's cache entry.
	empty := &libcni.NetworkConfigList{Name: list.Name, CNIVersion: list.CNIVersion}
	return m.cni.DelNetworkList(ctx, empty, rt)
}

// runtimeConfig picks the capability arguments the plugin declares.
func runtimeConfig(p *libcni.PluginConfig, rt *libcni.RuntimeConf) map[string]any {
	rc := map[string]any{}
	for capability, on := range p.Network.Capabilities {
		if v, ok := rt.CapabilityArgs[capability]; on && ok {
			rc[capability] = v
		}
	}
	return rc
}
