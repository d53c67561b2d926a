//go:build integration

package svcproxy

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/podbay/podbay/engine/network"
)

// lab is a server namespace, a client namespace and the test's own (the
// "host"), linked by veths: host 10.201.0.1 - server 10.201.0.2, client
// 10.202.0.2 - host 10.202.0.1, the host routing between them.
type lab struct {
	server, client string
}

func newLab(t *testing.T) *lab {
	t.Helper()
	runroot := t.TempDir()
	t.Cleanup(func() { _ = network.ReleaseNetNSDir(runroot) })
	l := &lab{}
	for _, p := range []*string{&l.server, &l.client} {
		name := map[*string]string{&l.server: "server", &l.client: "client"}[p]
		path, err := network.NewNetNS(runroot, name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = network.RemoveNetNS(path) })
		*p = path
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	link(t, "vs", l.server, "10.201.0.1/24", "10.201.0.2/24", "10.201.0.1")
	link(t, "vc", l.client, "10.202.0.1/24", "10.202.0.2/24", "10.202.0.1")
	return l
}

// link makes a veth from the test's namespace into ns, addresses both ends
// and gives ns a default route through the host end.
func link(t *testing.T, name, ns, hostAddr, nsAddr, gw string) {
	t.Helper()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "p"}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(veth) })
	must(t, addrUp(name, hostAddr))
	peer, err := netlink.LinkByName(name + "p")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	must(t, netlink.LinkSetNsFd(peer, int(f.Fd())))
	must(t, network.InNetNS(ns, func() error {
		if err := addrUp(name+"p", nsAddr); err != nil {
			return err
		}
		if err := addrUp("lo", ""); err != nil {
			return err
		}
		return netlink.RouteAdd(&netlink.Route{Gw: net.ParseIP(gw)})
	}))
}

func addrUp(name, cidr string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	if cidr != "" {
		a, err := netlink.ParseAddr(cidr)
		if err != nil {
			return err
		}
		if err := netlink.AddrAdd(l, a); err != nil {
			return err
		}
	}
	return netlink.LinkSetUp(l)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// serve answers every connection to addr, made inside ns, with reply.
func serve(t *testing.T, ns, addr, reply string) {
	t.Helper()
	var l net.Listener
	must(t, network.InNetNS(ns, func() error {
		var err error
		l, err = net.Listen("tcp", addr)
		return err
	}))
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(reply + "\n"))
			c.Close()
		}
	}()
}

// get connects to addr from inside ns ("" is the test's namespace) and
// returns the first line it reads.
func get(t *testing.T, ns, addr string) string {
	t.Helper()
	var line string
	dial := func() error {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		line, err = bufio.NewReader(c).ReadString('\n')
		return err
	}
	var err error
	if ns == "" {
		err = dial()
	} else {
		err = network.InNetNS(ns, dial)
	}
	if err != nil {
		t.Fatalf("connecting to %s: %v", addr, err)
	}
	return strings.TrimSpace(line)
}

// rules returns every iptables table of ns, as iptables-save prints them.
func rules(t *testing.T, ns string) string {
	t.Helper()
	var out []byte
	must(t, Table{NetNS: ns}.in(func() error {
		var err error
		out, err = network.RunIPTables(context.Background(), nil, "iptables-save")
		return err
	}))
	return string(out)
}

func TestClusterIP(t *testing.T) {
	ctx := context.Background()
	l := newLab(t)
	serve(t, l.server, "10.201.0.2:8080", "a")
	serve(t, l.server, "10.201.0.2:8081", "b")
	tab := Table{NetNS: l.client}
	t.Cleanup(func() { _ = tab.Remove(ctx) })
	port := Port{Service: "default/web", ClusterIP: "10.96.0.10", Port: 80, Endpoints: []Endpoint{{"10.201.0.2", 8080}}}
	must(t, tab.Apply(ctx, []Port{port}))
	if got := get(t, l.client, "10.96.0.10:80"); got != "a" {
		t.Fatalf("10.96.0.10:80 answered %q, want a", got)
	}
	// A new endpoint set replaces the old one; a second service comes and goes.
	port.Endpoints = []Endpoint{{"10.201.0.2", 8081}}
	other := Port{Service: "default/other", ClusterIP: "10.96.0.11", Port: 81, Endpoints: []Endpoint{{"10.201.0.2", 8080}}}
	must(t, tab.Apply(ctx, []Port{port, other}))
	if got := get(t, l.client, "10.96.0.10:80"); got != "b" {
		t.Fatalf("after the update 10.96.0.10:80 answered %q, want b", got)
	}
	if got := get(t, l.client, "10.96.0.11:81"); got != "a" {
		t.Fatalf("10.96.0.11:81 answered %q, want a", got)
	}
	// A port without endpoints refuses connections at once.
	idle := Port{Service: "default/idle", ClusterIP: "10.96.0.12", Port: 80}
	must(t, tab.Apply(ctx, []Port{port, idle}))
	err := network.InNetNS(l.client, func() error {
		c, err := net.Dial("tcp", "10.96.0.12:80")
		if err == nil {
			c.Close()
		}
		return err
	})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("connecting to a service without endpoints: %v, want connection refused", err)
	}
	must(t, tab.Apply(ctx, []Port{port}))
	if got := rules(t, l.client); strings.Contains(got, tab.portChain(other)) || strings.Count(got, "-j PODBAY-SERVICES") != 2 {
		t.Fatalf("after dropping a service:\n%s", got)
	}
	must(t, tab.Remove(ctx))
	if got := rules(t, l.client); strings.Contains(got, "PODBAY") {
		t.Fatalf("rules left after Remove:\n%s", got)
	}
	must(t, tab.Remove(ctx)) // twice is fine
}

// Both endpoints of a service get connections.
func TestClusterIPBalances(t *testing.T) {
	ctx := context.Background()
	l := newLab(t)
	serve(t, l.server, "10.201.0.2:8080", "a")
	serve(t, l.server, "10.201.0.2:8081", "b")
	tab := Table{NetNS: l.client}
	t.Cleanup(func() { _ = tab.Remove(ctx) })
	must(t, tab.Apply(ctx, []Port{{Service: "default/web", ClusterIP: "10.96.0.10", Port: 80,
		Endpoints: []Endpoint{{"10.201.0.2", 8080}, {"10.201.0.2", 8081}}}}))
	seen := map[string]bool{}
	for i := 0; i < 200 && len(seen) < 2; i++ {
		seen[get(t, l.client, "10.96.0.10:80")] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Fatalf("200 connections reached %v, want both endpoints", seen)
	}
}

// A host table publishes a node port on every local address, 127.0.0.1
// included, and leaves nothing behind.
func TestNodePort(t *testing.T) {
	ctx := context.Background()
	l := newLab(t)
	serve(t, l.server, "10.201.0.2:8080", "a")
	tab := Table{Scope: t.TempDir()}
	t.Cleanup(func() { _ = tab.Remove(ctx) })
	must(t, tab.Apply(ctx, []Port{{Service: "default/web", Port: 80, NodePorts: []int{30080},
		Endpoints: []Endpoint{{"10.201.0.2", 8080}}}}))
	for _, addr := range []string{"127.0.0.1:30080", "10.201.0.1:30080"} {
		if got := get(t, "", addr); got != "a" {
			t.Fatalf("%s answered %q, want a", addr, got)
		}
	}
	// From another namespace, through the host's address.
	if got := get(t, l.client, "10.202.0.1:30080"); got != "a" {
		t.Fatalf("10.202.0.1:30080 from the client answered %q, want a", got)
	}
	must(t, tab.Remove(ctx))
	if got := rules(t, ""); strings.Contains(got, "PODBAY") {
		t.Fatalf("rules left after Remove:\n%s", got)
	}
}
