//go:build integration

package network

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vishvananda/netlink"
)

func TestPodsOnOneNetworkTalk(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-talk", Subnet: "10.201.1.0/24", Bridge: "pbit1"})
	idA, idB := newID(t), newID(t)
	nsA, nsB := f.netns(t, idA), f.netns(t, idB)
	a, err := f.m.Attach(ctx, AttachOptions{ContainerID: idA, Name: "alpha", NetNS: nsA, Network: n.Name})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.m.Attach(ctx, AttachOptions{ContainerID: idB, Name: "beta", NetNS: nsB, Network: n.Name, Aliases: []string{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	subnet := netip.MustParsePrefix(n.Subnet)
	for _, att := range []*Attachment{a, b} {
		ip, err := netip.ParseAddr(att.IP)
		if err != nil || !subnet.Contains(ip) || att.Gateway != "10.201.1.1" || att.MAC == "" || att.Interface != "eth0" {
			t.Fatalf("attachment %+v", att)
		}
	}
	if a.IP == b.IP {
		t.Fatalf("both pods got %s", a.IP)
	}
	echoTCP(t, nsB, ":8080")
	echoTCP(t, nsA, ":8080")
	mustRoundTrip(t, "tcp4", nsA, net.JoinHostPort(b.IP, "8080"))
	mustRoundTrip(t, "tcp4", nsB, net.JoinHostPort(a.IP, "8080"))
	mustRoundTrip(t, "tcp4", nsA, "127.0.0.1:8080") // loopback is up
	mustRoundTrip(t, "tcp4", "", net.JoinHostPort(b.IP, "8080"))

	peers, err := f.m.Peers(ctx, n.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(peers) != 2 || peers[0].Name != "alpha" || peers[1].Name != "beta" || peers[1].IP != b.IP || !slices.Equal(peers[1].Aliases, []string{"b"}) {
		t.Fatalf("Peers = %+v", peers)
	}
	if err := f.m.Remove(ctx, n.Name, RemoveOptions{}); !errors.Is(err, ErrInUse) {
		t.Fatalf("Remove with attachments: %v", err)
	}

	for _, att := range []*Attachment{a, b} {
		if err := f.m.Detach(ctx, AttachOptions{ContainerID: att.ContainerID, Network: n.Name}); err != nil {
			t.Fatal(err)
		}
		if err := RemoveNetNS(att.NetNS); err != nil {
			t.Fatal(err)
		}
	}
	for _, att := range []*Attachment{a, b} {
		assertGone(t, f, n.Name, att.ContainerID, att.NetNS, att.IP)
	}
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: idA, Network: n.Name}); err != nil {
		t.Fatalf("second Detach: %v", err)
	}
	if err := f.m.Remove(ctx, n.Name, RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName("pbit1"); err == nil {
		t.Fatal("bridge pbit1 left after Remove")
	}
	if _, err := os.Stat(filepath.Join(f.root, "networks", "ipam", n.Name)); err == nil {
		t.Fatal("IPAM directory left after Remove")
	}
}
