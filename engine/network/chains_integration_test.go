//go:build integration

package network

import (
	"context"
	"strings"
	"testing"
)

// TestPluginChainsNamedAsThePluginsDo: the masquerade chain the bridge
// plugin makes is the one pluginChains computes, so a clean-up after a
// killed DEL finds it; and Detach removes it.
func TestPluginChainsNamedAsThePluginsDo(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-chains", Subnet: "10.201.77.0/24", Bridge: "pbit77"})
	id := newID(t)
	ns := f.netns(t, id)
	if _, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: ns, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	masq := pluginChains(n.Name, id)["nat"][0]
	if nat := run(t, "iptables", "-t", "nat", "-S"); !strings.Contains(nat, "-N "+masq+"\n") {
		t.Fatalf("the bridge plugin's chain is not %s:\n%s", masq, nat)
	}
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	if nat := run(t, "iptables", "-t", "nat", "-S"); strings.Contains(nat, masq) {
		t.Errorf("chain %s left after Detach", masq)
	}
}
