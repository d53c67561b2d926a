package svcproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"

	"github.com/podbay/podbay/engine/network"
)

// Apply replaces the table's rules with ports, atomically: one
// iptables-restore transaction. Ports without endpoints get no rules.
func (t Table) Apply(ctx context.Context, ports []Port) error {
	if err := validate(ports); err != nil {
		return err
	}
	err := t.in(func() error {
		save, err := network.RunIPTables(ctx, nil, "iptables-save")
		if err != nil {
			return err
		}
		_, err = network.RunIPTables(ctx, []byte(t.render(ports, t.parseSave(string(save)))), "iptables-restore", "-w", "--noflush")
		return err
	})
	if err != nil {
		return fmt.Errorf("programming services in %s: %w", t.where(), err)
	}
	if t.host() {
		return localnetRouting(ports)
	}
	return nil
}

// Remove deletes every chain and jump of the table; an empty table or a
// namespace already gone is not an error.
func (t Table) Remove(ctx context.Context) error {
	if t.NetNS != "" && !network.IsNetNS(t.NetNS) {
		return nil
	}
	err := t.in(func() error {
		save, err := network.RunIPTables(ctx, nil, "iptables-save")
		if err != nil {
			return err
		}
		in := t.renderRemove(t.parseSave(string(save)))
		if in == "" {
			return nil
		}
		_, err = network.RunIPTables(ctx, []byte(in), "iptables-restore", "-w", "--noflush")
		return err
	})
	if err != nil {
		return fmt.Errorf("removing services from %s: %w", t.where(), err)
	}
	return nil
}

func (t Table) where() string {
	if t.NetNS == "" {
		return "the host namespace"
	}
	return "netns " + t.NetNS
}

// in runs fn inside the table's namespace: processes fn starts are created
// from that thread and so run in it too.
func (t Table) in(fn func() error) error {
	if t.NetNS == "" {
		return fn()
	}
	return network.InNetNS(t.NetNS, fn)
}

func validate(ports []Port) error {
	var errs []error
	for _, p := range ports {
		if p.proto() != "tcp" && p.proto() != "udp" && p.proto() != "sctp" {
			errs = append(errs, fmt.Errorf("service %s: protocol %q: want tcp, udp or sctp", p.Service, p.Protocol))
		}
		if p.ClusterIP != "" && net.ParseIP(p.ClusterIP).To4() == nil {
			errs = append(errs, fmt.Errorf("service %s: cluster IP %q: want an IPv4 address", p.Service, p.ClusterIP))
		}
		for _, e := range p.Endpoints {
			if net.ParseIP(e.IP).To4() == nil || e.Port <= 0 || e.Port > 65535 {
				errs = append(errs, fmt.Errorf("service %s: endpoint %s:%d: want IPv4:port", p.Service, e.IP, e.Port))
			}
		}
	}
	return errors.Join(errs...)
}

// localnetRouting lets node port connections to 127.0.0.1 leave through the
// bridges that lead to the endpoints, as the portmap plugin does.
func localnetRouting(ports []Port) error {
	done := map[string]bool{}
	var errs []error
	for _, p := range ports {
		if len(p.NodePorts) == 0 {
			continue
		}
		for _, e := range p.Endpoints {
			routes, err := netlink.RouteGet(net.ParseIP(e.IP))
			if err != nil || len(routes) == 0 {
				continue
			}
			link, err := netlink.LinkByIndex(routes[0].LinkIndex)
			if err != nil || done[link.Attrs().Name] {
				continue
			}
			done[link.Attrs().Name] = true
			path := filepath.Join("/proc/sys/net/ipv4/conf", link.Attrs().Name, "route_localnet")
			if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
				errs = append(errs, fmt.Errorf("enabling route_localnet on %s: %w", link.Attrs().Name, err))
			}
		}
	}
	return errors.Join(errs...)
}
