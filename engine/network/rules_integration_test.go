//go:build integration

package network

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/vishvananda/netlink"
)

// ruleCount counts the lines of `iptables -S chain` equal to r, as the
// marker renders it (which is how iptables shows it).
func ruleCount(t *testing.T, table, chain string, args []string) int {
	t.Helper()
	out := run(t, "iptables", "-w", "-t", table, "-S")
	want := "-A " + chain + " " + quoteArgs(args)
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if l == want {
			n++
		}
	}
	return n
}

// assertRulesOnce checks that each of n's rules and each jump to a PODBAY
// chain it uses exist exactly once.
func assertRulesOnce(t *testing.T, n *Network) {
	t.Helper()
	used := map[string]bool{}
	for _, r := range networkRules(n) {
		used[r.Chain] = true
		if c := ruleCount(t, r.Table, r.Chain, r.Args); c != 1 {
			t.Errorf("rule %s is there %d times, want once", r, c)
		}
	}
	for _, c := range podbayChains {
		if !used[c.chain] {
			continue
		}
		if got := ruleCount(t, c.table, c.from, c.jumpArgs()); got != 1 {
			t.Errorf("jump from %s to %s is there %d times, want once", c.from, c.chain, got)
		}
	}
}

// podbayLines lists every line of iptables-save naming a PODBAY chain or a
// podbay comment.
func podbayLines(t *testing.T) string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(run(t, "iptables-save"), "\n") {
		if strings.Contains(l, "PODBAY") || strings.Contains(l, "podbay network") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func markerPath(f *fixture, network string) string {
	return filepath.Join(f.runroot, "networks", network+".rules")
}

func usersPath(f *fixture, network string) string {
	return filepath.Join(f.runroot, "networks", network+".users")
}

// claims lists the containers claiming a network's rules.
func claims(t *testing.T, f *fixture, network string) []string {
	t.Helper()
	entries, err := os.ReadDir(usersPath(f, network))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// assertNoRules checks that no PODBAY rule, chain or jump is left, nor the
// marker or claims of the networks named.
func assertNoRules(t *testing.T, f *fixture, networks ...string) {
	t.Helper()
	if p := podbayLines(t); p != "" {
		t.Errorf("PODBAY rules left:\n%s", p)
	}
	for _, name := range networks {
		if _, err := os.Stat(markerPath(f, name)); !os.IsNotExist(err) {
			t.Errorf("marker of %s left (%v)", name, err)
		}
		if _, err := os.Stat(usersPath(f, name)); !os.IsNotExist(err) {
			t.Errorf("claims of %s left (%v): %v", name, err, claims(t, f, name))
		}
	}
}

// TestNetworkRulesOnce: many attaches, and concurrent first attaches from
// several processes on two networks, install each rule and jump once.
func TestNetworkRulesOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	a := f.createNet(t, CreateOptions{Name: "it-once-a", Subnet: "10.201.30.0/24", Bridge: "pbit30"})
	b := f.createNet(t, CreateOptions{Name: "it-once-b", Subnet: "10.201.31.0/24", Bridge: "pbit31", Internal: true})
	type job struct{ network, id string }
	var jobs []job
	for _, n := range []*Network{a, b, a, b} {
		jobs = append(jobs, job{n.Name, newID(t)})
	}
	atts := make([]*Attachment, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() { atts[i], errs[i] = attachInChild(f, j.network, j.id) })
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, j := range jobs {
			_ = RemoveNetNS(filepath.Join(NetNSDir(f.runroot), j.id))
		}
	})
	for i := range jobs {
		if errs[i] != nil {
			t.Fatalf("child %d: %v", i, errs[i])
		}
	}
	assertRulesOnce(t, a)
	assertRulesOnce(t, b)
	for i := 0; i < 5; i++ {
		id := newID(t)
		if _, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: f.netns(t, id), Network: a.Name}); err != nil {
			t.Fatal(err)
		}
		if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: a.Name}); err != nil {
			t.Fatal(err)
		}
	}
	assertRulesOnce(t, a)
	for _, n := range []*Network{a, b} {
		if data, err := os.ReadFile(markerPath(f, n.Name)); err != nil || string(data) != string(renderRules(networkRules(n))) {
			t.Errorf("marker of %s: %q, %v", n.Name, data, err)
		}
	}
	for _, att := range atts {
		if err := f.m.Detach(ctx, AttachOptions{ContainerID: att.ContainerID, Network: att.Network}); err != nil {
			t.Fatal(err)
		}
	}
	// The last Detach from each network takes its rules along.
	assertNoRules(t, f, a.Name, b.Name)
}

// TestRulesRedoneAfterKilledEnsureOrReboot: a pending marker (a process
// killed while installing) or a missing bridge (a reboot that kept a
// runroot that is no tmpfs) makes the next Attach install the rules again,
// still once each.
func TestRulesRedoneAfterKilledEnsureOrReboot(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-redo", Subnet: "10.201.32.0/24", Bridge: "pbit32"})
	attach := func() {
		t.Helper()
		id := newID(t)
		if _, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: f.netns(t, id), Network: n.Name}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}) })
	}
	// Killed half way: the pending marker and one rule of two in nat.
	if err := os.MkdirAll(filepath.Dir(markerPath(f, n.Name)), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(markerPath(f, n.Name), []byte(pendingMarker), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.m.ipt.installRules(ctx, networkRules(n)[:1]); err != nil {
		t.Fatal(err)
	}
	attach()
	assertRulesOnce(t, n)

	// A reboot: iptables and the bridge are gone, the marker stayed.
	if err := f.m.ipt.uninstallRules(ctx, networkComment(n.Name)); err != nil {
		t.Fatal(err)
	}
	if p := podbayLines(t); p != "" {
		t.Fatalf("rules left after uninstallRules:\n%s", p)
	}
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkDel(br); err != nil {
		t.Fatal(err)
	}
	attach()
	assertRulesOnce(t, n)
}

// countingExec records the plugins libcni runs.
type countingExec struct {
	invoke.Exec
	mu    sync.Mutex
	calls []string
}

func (c *countingExec) ExecPlugin(ctx context.Context, path string, stdin []byte, env []string) ([]byte, error) {
	cmd := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "CNI_COMMAND="); ok {
			cmd = v
		}
	}
	c.mu.Lock()
	c.calls = append(c.calls, filepath.Base(path)+" "+cmd)
	c.mu.Unlock()
	return c.Exec.ExecPlugin(ctx, path, stdin, env)
}

func (c *countingExec) take() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := strings.Join(c.calls, ",")
	c.calls = nil
	return s
}

// iptablesLog puts logging stand-ins for the iptables tools first in PATH
// (for this process and the plugins it runs) and returns a function that
// returns and clears what ran.
func iptablesLog(t *testing.T) func() string {
	t.Helper()
	dir := t.TempDir()
	logf := filepath.Join(dir, "log")
	for _, tool := range []string{"iptables", "ip6tables", "iptables-save", "ip6tables-save",
		"iptables-restore", "ip6tables-restore", "iptables-nft", "iptables-legacy"} {
		real := filepath.Join("/usr/sbin", tool)
		script := fmt.Sprintf("#!/bin/sh\necho \"%s $*\" >> %s\nexec %s \"$@\"\n", tool, logf, real)
		if err := os.WriteFile(filepath.Join(dir, tool), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return func() string {
		t.Helper()
		data, err := os.ReadFile(logf)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		_ = os.Remove(logf)
		return strings.TrimSpace(string(data))
	}
}

// oneSaveOneRestore: the iptables log ran (see iptablesLog) shows one
// iptables-save, then one iptables-restore, and nothing else.
func oneSaveOneRestore(ran string) bool {
	lines := strings.Split(ran, "\n")
	return len(lines) == 2 && strings.TrimSpace(lines[0]) == "iptables-save" &&
		strings.HasPrefix(lines[1], "iptables-restore ")
}

// TestSteadyStateRunsNoIPTables: once a network's rules are in place, an
// Attach without published ports runs the bridge plugin alone and no
// iptables; so does its Detach; a second Detach runs nothing.
func TestSteadyStateRunsNoIPTables(t *testing.T) {
	ctx := context.Background()
	ran := iptablesLog(t)
	f := newFixture(t, Options{})
	ce := &countingExec{Exec: f.m.exec}
	f.m.exec = ce
	f.m.cni = libcni.NewCNIConfigWithCacheDir(f.m.opts.PluginDirs, filepath.Join(f.m.dir, "cache"), ce)
	n := f.createNet(t, CreateOptions{Name: "it-steady", Subnet: "10.201.33.0/24", Bridge: "pbit33"})

	idA := newID(t)
	a, err := f.m.Attach(ctx, AttachOptions{ContainerID: idA, NetNS: f.netns(t, idA), Network: n.Name})
	if err != nil {
		t.Fatal(err)
	}
	// Installing reads the tables once and changes them in one restore.
	if got := ran(); !oneSaveOneRestore(got) {
		t.Errorf("the first Attach did not install the rules with 1 iptables-save and 1 restore; iptables ran:\n%s", got)
	}
	if got := ce.take(); got != "bridge ADD" {
		t.Errorf("first Attach ran plugins %q, want bridge ADD", got)
	}

	idB := newID(t)
	nsB := f.netns(t, idB)
	b, err := f.m.Attach(ctx, AttachOptions{ContainerID: idB, NetNS: nsB, Network: n.Name})
	if err != nil {
		t.Fatal(err)
	}
	if got := ran(); got != "" {
		t.Errorf("a second Attach ran iptables:\n%s", got)
	}
	if got := ce.take(); got != "bridge ADD" {
		t.Errorf("second Attach ran plugins %q, want bridge ADD", got)
	}
	echoTCP(t, nsB, ":8080")
	mustRoundTrip(t, "tcp4", a.NetNS, net.JoinHostPort(b.IP, "8080"))
	mustRoundTrip(t, "tcp4", nsB, "127.0.0.1:8080") // lo is up
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: idA, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	if err := RemoveNetNS(a.NetNS); err != nil {
		t.Fatal(err)
	}
	if got := ce.take(); got != "bridge DEL" {
		t.Errorf("Detach ran plugins %q, want bridge DEL", got)
	}

	if got := ran(); got != "" {
		t.Errorf("a Detach with a pod left on the network ran iptables:\n%s", got)
	}
	assertRulesOnce(t, n)
	ran() // assertRulesOnce's own iptables -S

	for i := 0; i < 2; i++ {
		if err := f.m.Detach(ctx, AttachOptions{ContainerID: idB, Network: n.Name}); err != nil {
			t.Fatal(err)
		}
		want := "bridge DEL"
		if i == 1 {
			want = "" // already detached
		}
		if got := ce.take(); got != want {
			t.Errorf("Detach %d ran plugins %q, want %q", i, got, want)
		}
		got := ran()
		if i == 0 {
			// The last pod's Detach removes the network's rules, reading
			// the tables once.
			if !oneSaveOneRestore(got) {
				t.Errorf("the last Detach did not remove the rules with 1 iptables-save and 1 restore; iptables ran:\n%s", got)
			}
			assertNoRules(t, f, n.Name)
			ran() // assertNoRules' own iptables-save
		} else if got != "" {
			t.Errorf("Detach %d ran iptables:\n%s", i, got)
		}
	}
	if err := RemoveNetNS(nsB); err != nil {
		t.Fatal(err)
	}
	assertGone(t, f, n.Name, idB, nsB, b.IP)

	// Published ports still go through portmap, and its Detach sweeps.
	idC := newID(t)
	nsC := f.netns(t, idC)
	c, err := f.m.Attach(ctx, AttachOptions{ContainerID: idC, NetNS: nsC, Network: n.Name,
		Ports: []PortMapping{{HostPort: 18133, ContainerPort: 8080}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ce.take(); got != "bridge ADD,portmap ADD" {
		t.Errorf("Attach with a port ran plugins %q", got)
	}
	echoTCP(t, nsC, ":8080")
	mustRoundTrip(t, "tcp4", "", "127.0.0.1:18133")
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: idC, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	if err := RemoveNetNS(nsC); err != nil {
		t.Fatal(err)
	}
	assertGone(t, f, n.Name, idC, nsC, c.IP)
	assertGone(t, f, n.Name, idA, a.NetNS, a.IP)
	assertNoRules(t, f, n.Name)
}

// TestRemoveLeavesNoRules: Remove (with and without --force) deletes the
// network's rules and marker; the PODBAY chains and jumps go with the last
// network's rules; RemoveAll (system reset) leaves nothing either.
func TestRemoveLeavesNoRules(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	if p := podbayLines(t); p != "" {
		t.Fatalf("PODBAY rules before the test:\n%s", p)
	}
	a := f.createNet(t, CreateOptions{Name: "it-rm-a", Subnet: "10.201.34.0/24", Bridge: "pbit34"})
	b := f.createNet(t, CreateOptions{Name: "it-rm-b", Subnet: "10.201.35.0/24", Bridge: "pbit35"})
	c := f.createNet(t, CreateOptions{Name: "it-rm-c", Subnet: "10.201.36.0/24", Bridge: "pbit36", Internal: true})
	ids := map[string]string{}
	for _, n := range []*Network{a, b, c} {
		id := newID(t)
		ids[n.Name] = id
		if _, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: f.netns(t, id), Network: n.Name}); err != nil {
			t.Fatal(err)
		}
		assertRulesOnce(t, n)
	}
	// --force, with a pod attached.
	if err := f.m.Remove(ctx, a.Name, RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if p := podbayLines(t); strings.Contains(p, networkComment(a.Name)+`"`) {
		t.Errorf("rules of %s left after Remove --force:\n%s", a.Name, p)
	}
	if _, err := os.Stat(markerPath(f, a.Name)); err == nil {
		t.Errorf("marker of %s left after Remove", a.Name)
	}
	assertRulesOnce(t, b)
	assertRulesOnce(t, c)
	// Without --force, after Detach.
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: ids[b.Name], Network: b.Name}); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Remove(ctx, b.Name, RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	// Only the internal network is left: no nat chain any more.
	if nat := run(t, "iptables", "-w", "-t", "nat", "-S"); strings.Contains(nat, natChain) {
		t.Errorf("%s left without rules:\n%s", natChain, nat)
	}
	assertRulesOnce(t, c)
	// system reset: RemoveAll.
	if err := f.m.RemoveAll(ctx); err != nil {
		t.Fatal(err)
	}
	if p := podbayLines(t); p != "" {
		t.Errorf("PODBAY rules left after RemoveAll:\n%s", p)
	}
	if _, err := netlink.LinkByName(c.Bridge); err == nil {
		t.Errorf("bridge %s left after RemoveAll", c.Bridge)
	}
	entries, _ := os.ReadDir(filepath.Join(f.runroot, "networks"))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".rules") {
			t.Errorf("marker %s left after RemoveAll", e.Name())
		}
	}
}

// TestRemoveAllWithoutRecord: RemoveAll also removes the rules and claims
// of a network whose record is already gone (found through its marker).
func TestRemoveAllWithoutRecord(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-norecord", Subnet: "10.201.37.0/24", Bridge: "pbit37"})
	id := newID(t)
	if _, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: f.netns(t, id), Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	// A claim left by a process killed before its ADD keeps the rules
	// after the last Detach.
	if err := f.m.ensureRules(ctx, n, newID(t)); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	assertRulesOnce(t, n)
	if err := os.Remove(f.m.recordPath(n.Name)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if br, err := netlink.LinkByName(n.Bridge); err == nil {
			_ = netlink.LinkDel(br)
		}
	})
	if err := f.m.RemoveAll(ctx); err != nil {
		t.Fatal(err)
	}
	assertNoRules(t, f, n.Name)
}

// echoPeer answers every connection on addr inside ns (the test's own
// namespace when "") with the address it came from.
func echoPeer(t *testing.T, ns, addr string) {
	t.Helper()
	var l net.Listener
	listen := func() (err error) {
		l, err = net.Listen("tcp4", addr)
		return err
	}
	var err error
	if ns == "" {
		err = listen()
	} else {
		err = InNetNS(ns, listen)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			fmt.Fprintln(c, host)
			c.Close()
		}
	}()
}

// peerSeen connects from ns to addr and returns the address the server saw.
func peerSeen(ns, addr string) (string, error) {
	var seen string
	err := InNetNS(ns, func() error {
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		seen, err = bufio.NewReader(c).ReadString('\n')
		return err
	})
	return strings.TrimSpace(seen), err
}

// outsideHost makes "outside": a namespace beyond a veth (whose host end,
// 192.0.2.1, it returns), 192.0.2.2, with no route to the pods' subnets,
// where echoPeer answers on 192.0.2.2:8090.
func outsideHost(t *testing.T, f *fixture) netlink.Link {
	t.Helper()
	outside := f.netns(t, "outside-"+newID(t)[:8])
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "pbitout0"}, PeerName: "pbitout1"}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(veth) })
	peer, err := netlink.LinkByName("pbitout1")
	if err != nil {
		t.Fatal(err)
	}
	fd, err := os.Open(outside)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	if err := netlink.LinkSetNsFd(peer, int(fd.Fd())); err != nil {
		t.Fatal(err)
	}
	addr := func(l netlink.Link, cidr string) error {
		a, _ := netlink.ParseAddr(cidr)
		if err := netlink.AddrAdd(l, a); err != nil {
			return err
		}
		return netlink.LinkSetUp(l)
	}
	if err := addr(veth, "192.0.2.1/24"); err != nil {
		t.Fatal(err)
	}
	err = InNetNS(outside, func() error {
		l, err := netlink.LinkByName("pbitout1")
		if err == nil {
			err = addr(l, "192.0.2.2/24")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	echoPeer(t, outside, "192.0.2.2:8090")
	return veth
}

// TestMasqueradeAndForward: with FORWARD's policy DROP, a pod reaches the
// gateway (seeing its own address) and a host beyond it (which sees the
// masqueraded address and routes no reply to the subnet), and a published
// port still answers.
func TestMasqueradeAndForward(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-masq", Subnet: "10.201.38.0/24", Bridge: "pbit38"})
	run(t, "iptables", "-w", "-P", "FORWARD", "DROP")
	t.Cleanup(func() { run(t, "iptables", "-w", "-P", "FORWARD", "ACCEPT") })

	veth := outsideHost(t, f)

	id := newID(t)
	ns := f.netns(t, id)
	a, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: ns, Network: n.Name,
		Ports: []PortMapping{{HostPort: 18138, ContainerPort: 8080}}})
	if err != nil {
		t.Fatal(err)
	}
	echoPeer(t, "", net.JoinHostPort(n.Gateway, "8091"))
	if seen, err := peerSeen(ns, net.JoinHostPort(n.Gateway, "8091")); err != nil || seen != a.IP {
		t.Errorf("the gateway saw %q, %v; want the pod's own %s", seen, err, a.IP)
	}
	if seen, err := peerSeen(ns, "192.0.2.2:8090"); err != nil || seen != "192.0.2.1" {
		t.Errorf("the outside host saw %q, %v; want the masqueraded 192.0.2.1", seen, err)
	}
	echoTCP(t, ns, ":8080")
	mustRoundTrip(t, "tcp4", "", "127.0.0.1:18138")

	if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	if err := RemoveNetNS(ns); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkDel(veth); err != nil {
		t.Fatal(err)
	}
	assertGone(t, f, n.Name, id, ns, a.IP)
}

// TestDetachLegacyAttachment: an attachment made by an older podbay
// (loopback plugin, bridge with ipMasq, firewall plugin) is still detached
// without leaving its masquerade chain, firewall rules or caches.
func TestDetachLegacyAttachment(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-legacy", Subnet: "10.201.39.0/24", Bridge: "pbit39"})
	conf, err := conflistJSON(f.root, n, listOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(conf, &raw); err != nil {
		t.Fatal(err)
	}
	plugins := raw["plugins"].([]any)
	plugins[0].(map[string]any)["ipMasq"] = true
	raw["plugins"] = append(plugins, map[string]any{"type": "firewall", "backend": "iptables"})
	if conf, err = json.Marshal(raw); err != nil {
		t.Fatal(err)
	}
	list, err := parseConfList(conf)
	if err != nil {
		t.Fatal(err)
	}
	lo, err := parseConfList([]byte(`{"cniVersion":"1.0.0","name":"podbay-loopback","plugins":[{"type":"loopback"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	id := newID(t)
	ns := f.netns(t, id)
	opts := AttachOptions{ContainerID: id, NetNS: ns, Network: n.Name, IfName: "eth0"}
	if _, err := f.m.cni.AddNetworkList(ctx, lo, &libcni.RuntimeConf{ContainerID: id, NetNS: ns, IfName: "lo"}); err != nil {
		t.Fatal(err)
	}
	res, err := f.m.cni.AddNetworkList(ctx, list, opts.runtimeConf(ns))
	if err != nil {
		t.Fatal(err)
	}
	a, err := attachmentFromResult(res, &opts)
	if err != nil {
		t.Fatal(err)
	}
	a.Conflist = conf
	if err := f.m.writeAttachment(a); err != nil {
		t.Fatal(err)
	}
	if save := run(t, "iptables-save"); !strings.Contains(save, pluginChains(n.Name, id)["nat"][0]) || !strings.Contains(save, a.IP+"/32") {
		t.Fatalf("no legacy rules to detach:\n%s", save)
	}
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	if err := RemoveNetNS(ns); err != nil {
		t.Fatal(err)
	}
	assertGone(t, f, n.Name, id, ns, a.IP)
}

// TestDetachAfterKilledAdd: ADD ran to the end but the process died before
// libcni cached it and before the attachment was saved: Detach finds the
// lease, runs DEL with the network's config and sweeps portmap's rules.
func TestDetachAfterKilledAdd(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-killed", Subnet: "10.201.40.0/24", Bridge: "pbit40"})
	conf, err := conflistJSON(f.root, n, listOptions{Publish: true})
	if err != nil {
		t.Fatal(err)
	}
	list, err := parseConfList(conf)
	if err != nil {
		t.Fatal(err)
	}
	id := newID(t)
	ns := f.netns(t, id)
	opts := AttachOptions{ContainerID: id, NetNS: ns, Network: n.Name, IfName: "eth0",
		Ports: []PortMapping{{HostPort: 18140, ContainerPort: 80, Protocol: "tcp"}}}
	res, err := f.m.cni.AddNetworkList(ctx, list, opts.runtimeConf(ns))
	if err != nil {
		t.Fatal(err)
	}
	a, err := attachmentFromResult(res, &opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(f.m.dir, "cache")); err != nil {
		t.Fatal(err)
	}
	if nat := run(t, "iptables", "-w", "-t", "nat", "-S"); !strings.Contains(nat, id) {
		t.Fatalf("portmap made no rule naming the container:\n%s", nat)
	}
	if err := RemoveNetNS(ns); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	assertGone(t, f, n.Name, id, ns, a.IP)
}

// flagExec creates a flag file before each plugin runs, and records which
// flag files of the iptables stand-ins existed then.
type flagExec struct {
	invoke.Exec
	flag string // created before a plugin runs
	seen string // a file whose existence is recorded
	mu   sync.Mutex
	had  []bool
}

func (e *flagExec) ExecPlugin(ctx context.Context, path string, stdin []byte, env []string) ([]byte, error) {
	_, err := os.Stat(e.seen)
	e.mu.Lock()
	e.had = append(e.had, err == nil)
	e.mu.Unlock()
	if err := os.WriteFile(e.flag, nil, 0o600); err != nil {
		return nil, err
	}
	return e.Exec.ExecPlugin(ctx, path, stdin, env)
}

// TestFirstAttachInstallsRulesDuringTheADD: without published ports, the
// first Attach's iptables-restore and its CNI ADD run at once (a restore
// that waits for the ADD to begin would time out, and fail the Attach, if
// they ran one after the other); with published ports the rules are in
// place before the plugins run, so portmap's jumps come after podbay's.
func TestFirstAttachInstallsRulesDuringTheADD(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	addBegun, restored := filepath.Join(dir, "add-begun"), filepath.Join(dir, "restored")
	// iptables-restore waits up to 10 s for the ADD when $PODBAY_TEST_WAIT
	// names the flag file, and leaves a flag of its own once done.
	script := fmt.Sprintf(`#!/bin/sh
if [ -n "$PODBAY_TEST_WAIT" ]; then
	i=0
	while [ ! -e "$PODBAY_TEST_WAIT" ]; do
		i=$((i+1)); [ $i -gt 1000 ] && { echo "the ADD did not begin" >&2; exit 1; }
		sleep 0.01
	done
fi
/usr/sbin/iptables-restore "$@" || exit
touch %s
`, restored)
	if err := os.WriteFile(filepath.Join(dir, "iptables-restore"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))

	f := newFixture(t, Options{})
	fe := &flagExec{Exec: f.m.exec, flag: addBegun, seen: restored}
	f.m.exec = fe
	f.m.cni = libcni.NewCNIConfigWithCacheDir(f.m.opts.PluginDirs, filepath.Join(f.m.dir, "cache"), fe)
	n := f.createNet(t, CreateOptions{Name: "it-overlap", Subnet: "10.201.56.0/24", Bridge: "pbit56"})

	t.Setenv("PODBAY_TEST_WAIT", addBegun)
	id := newID(t)
	if _, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: f.netns(t, id), Network: n.Name}); err != nil {
		t.Fatalf("first Attach (its restore waits for its ADD): %v", err)
	}
	if _, err := os.Stat(restored); err != nil {
		t.Fatalf("the first Attach did not install the rules: %v", err)
	}
	assertRulesOnce(t, n)
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	if p := podbayLines(t); p != "" {
		t.Fatalf("rules left after the last Detach:\n%s", p)
	}

	// Published ports: the rules first.
	t.Setenv("PODBAY_TEST_WAIT", "")
	for _, p := range []string{addBegun, restored} {
		os.Remove(p)
	}
	fe.mu.Lock()
	fe.had = nil
	fe.mu.Unlock()
	id = newID(t)
	if _, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: f.netns(t, id), Network: n.Name,
		Ports: []PortMapping{{HostIP: "127.0.0.1", HostPort: 18156, ContainerPort: 8080}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}) })
	fe.mu.Lock()
	had := fe.had
	fe.mu.Unlock()
	if len(had) == 0 || !had[0] {
		t.Errorf("with published ports, the plugins ran before the rules were installed (restored before each plugin: %v)", had)
	}
	assertRulesOnce(t, n)
}
