//go:build integration

package network

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

// addHostAddress gives the test's "host" namespace a second address, as a
// machine's LAN address would be.
func addHostAddress(t *testing.T, name, cidr string) string {
	t.Helper()
	link := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := netlink.LinkAdd(link); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(link) })
	addr, err := netlink.ParseAddr(cidr)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.AddrAdd(link, addr); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	return addr.IP.String()
}

func TestPublishedPorts(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-ports", Subnet: "10.201.2.0/24", Bridge: "pbit2"})
	hostIP := addHostAddress(t, "pbitdummy2", "192.0.2.10/24")
	id := newID(t)
	ns := f.netns(t, id)
	echoTCP(t, ns, ":8080")
	echoUDP(t, ns, ":8081")
	a, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, Name: "web", NetNS: ns, Network: n.Name, Ports: []PortMapping{
		{HostIP: "127.0.0.1", HostPort: 18080, ContainerPort: 8080},
		{HostPort: 18081, ContainerPort: 8081, Protocol: "udp"},
		{HostPort: 18082, ContainerPort: 8080, Protocol: "TCP"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	mustRoundTrip(t, "tcp4", "", "127.0.0.1:18080")
	mustRoundTrip(t, "udp4", "", "127.0.0.1:18081")
	mustRoundTrip(t, "udp4", "", net.JoinHostPort(hostIP, "18081"))
	mustRoundTrip(t, "tcp4", "", net.JoinHostPort(hostIP, "18082"))
	mustRoundTrip(t, "tcp4", "", "127.0.0.1:18082")
	if err := roundTrip("tcp4", "", net.JoinHostPort(hostIP, "18080")); err == nil {
		t.Error("port 18080 published on 127.0.0.1 only answers on " + hostIP)
	}

	// A second pod wanting a published port is refused, naming the port.
	id2 := newID(t)
	ns2 := f.netns(t, id2)
	_, err = f.m.Attach(ctx, AttachOptions{ContainerID: id2, NetNS: ns2, Network: n.Name, Ports: []PortMapping{
		{HostIP: "127.0.0.1", HostPort: 18082, ContainerPort: 80},
	}})
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), "host port 127.0.0.1:18082/tcp") {
		t.Fatalf("Attach with a published port: %v", err)
	}
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	if err := RemoveNetNS(ns); err != nil {
		t.Fatal(err)
	}
	assertGone(t, f, n.Name, id, ns, a.IP)
	assertGone(t, f, n.Name, id2, "", "")
}

func TestHostPortInUse(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-busy", Subnet: "10.201.3.0/24", Bridge: "pbit3"})
	for _, proto := range []string{"tcp", "udp"} {
		t.Run(proto, func(t *testing.T) {
			if proto == "tcp" {
				l, err := net.Listen("tcp4", "127.0.0.1:18090")
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
			} else {
				pc, err := net.ListenPacket("udp4", "0.0.0.0:18090")
				if err != nil {
					t.Fatal(err)
				}
				defer pc.Close()
			}
			id := newID(t)
			ns := f.netns(t, id)
			_, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: ns, Network: n.Name, Ports: []PortMapping{
				{HostPort: 18091, ContainerPort: 80},
				{HostPort: 18090, ContainerPort: 80, Protocol: proto},
			}})
			want := "host port 18090/" + proto + ": already in use"
			if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), want) {
				t.Fatalf("Attach = %v, want an error containing %q", err, want)
			}
			t.Log(err)
			if err := RemoveNetNS(ns); err != nil {
				t.Fatal(err)
			}
			assertGone(t, f, n.Name, id, ns, "")
		})
	}
}

func TestInternalNetwork(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-internal", Subnet: "10.201.5.0/24", Bridge: "pbit5", Internal: true})
	idA, idB := newID(t), newID(t)
	nsA, nsB := f.netns(t, idA), f.netns(t, idB)
	a, err := f.m.Attach(ctx, AttachOptions{ContainerID: idA, NetNS: nsA, Network: n.Name})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.m.Attach(ctx, AttachOptions{ContainerID: idB, NetNS: nsB, Network: n.Name})
	if err != nil {
		t.Fatal(err)
	}
	echoTCP(t, nsB, ":8080")
	mustRoundTrip(t, "tcp4", nsA, net.JoinHostPort(b.IP, "8080"))
	// No way out: the bridge holds no gateway address and there is no default route.
	br, err := netlink.LinkByName("pbit5")
	if err != nil {
		t.Fatal(err)
	}
	if addrs, _ := netlink.AddrList(br, netlink.FAMILY_V4); len(addrs) != 0 {
		t.Errorf("internal bridge has addresses %v", addrs)
	}
	err = InNetNS(nsA, func() error {
		routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
		for _, r := range routes {
			if r.Dst == nil {
				t.Errorf("internal network pod has a default route %v", r)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	idC := newID(t)
	_, err = f.m.Attach(ctx, AttachOptions{ContainerID: idC, NetNS: f.netns(t, idC), Network: n.Name,
		Ports: []PortMapping{{HostPort: 18095, ContainerPort: 80}}})
	if err == nil || !strings.Contains(err.Error(), "internal") {
		t.Fatalf("publishing on an internal network: %v", err)
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
}
