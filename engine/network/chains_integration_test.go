//go:build integration

package network

import (
	"context"
	"strings"
	"testing"
)

// TestPluginChainsNamedAsThePluginsDo: the DNAT chain portmap makes for a
// published port is the one pluginChains computes, so a clean-up after a
// killed DEL finds it; and Detach removes it.
func TestPluginChainsNamedAsThePluginsDo(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-chains", Subnet: "10.201.77.0/24", Bridge: "pbit77"})
	id := newID(t)
	ns := f.netns(t, id)
	_, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: ns, Network: n.Name,
		Ports: []PortMapping{{HostPort: 18077, ContainerPort: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	dn := pluginChains(n.Name, id)["nat"][1]
	if nat := run(t, "iptables", "-t", "nat", "-S"); !strings.Contains(nat, "-N "+dn+"\n") {
		t.Fatalf("portmap's chain is not %s:\n%s", dn, nat)
	}
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	if nat := run(t, "iptables", "-t", "nat", "-S"); strings.Contains(nat, dn) {
		t.Errorf("chain %s left after Detach", dn)
	}
}

// TestPluginChainLeftByKilledDEL: a DEL killed after portmap removed the
// rules naming the container but before it removed its chain leaves an
// orphan chain; the next Detach still deletes it.
func TestPluginChainLeftByKilledDEL(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-orphan", Subnet: "10.201.78.0/24", Bridge: "pbit78"})
	id := newID(t)
	ns := f.netns(t, id)
	a, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: ns, Network: n.Name,
		Ports: []PortMapping{{HostPort: 18078, ContainerPort: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	// What a killed DEL leaves: no rule names the container, its chain stays.
	if err := f.m.ipt.sweepIPTables(ctx, id); err != nil {
		t.Fatal(err)
	}
	dn := pluginChains(n.Name, id)["nat"][1]
	run(t, "iptables", "-w", "-t", "nat", "-N", dn)
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	if nat := run(t, "iptables", "-t", "nat", "-S"); strings.Contains(nat, dn) {
		t.Errorf("chain %s left after Detach", dn)
	}
	if err := RemoveNetNS(ns); err != nil {
		t.Fatal(err)
	}
	assertGone(t, f, n.Name, id, ns, a.IP)
}
