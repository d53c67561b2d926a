//go:build integration

package network

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/vishvananda/netlink"
)

// TestLastDetachRemovesRules: with two pods on a network, detaching one
// keeps the rules (the other is still masqueraded, and FORWARD lets it
// through); detaching the last one leaves no PODBAY rule, chain, jump,
// marker or claim.
func TestLastDetachRemovesRules(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-last", Subnet: "10.201.50.0/24", Bridge: "pbit50"})
	run(t, "iptables", "-w", "-P", "FORWARD", "DROP")
	t.Cleanup(func() { run(t, "iptables", "-w", "-P", "FORWARD", "ACCEPT") })
	veth := outsideHost(t, f)

	var atts []*Attachment
	for i := 0; i < 2; i++ {
		id := newID(t)
		a, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: f.netns(t, id), Network: n.Name})
		if err != nil {
			t.Fatal(err)
		}
		atts = append(atts, a)
	}
	if got := claims(t, f, n.Name); len(got) != 2 {
		t.Errorf("claims %v, want both pods", got)
	}
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: atts[0].ContainerID, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	assertRulesOnce(t, n)
	if got := claims(t, f, n.Name); len(got) != 1 || got[0] != atts[1].ContainerID {
		t.Errorf("claims %v, want only %.12s", got, atts[1].ContainerID)
	}
	if seen, err := peerSeen(atts[1].NetNS, "192.0.2.2:8090"); err != nil || seen != "192.0.2.1" {
		t.Errorf("after the other pod's Detach the outside host saw %q, %v; want the masqueraded 192.0.2.1", seen, err)
	}
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: atts[1].ContainerID, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	assertNoRules(t, f, n.Name)
	if filter := run(t, "iptables", "-w", "-S", "FORWARD"); strings.Contains(filter, filterChain) {
		t.Errorf("jump to %s left:\n%s", filterChain, filter)
	}
	if err := netlink.LinkDel(veth); err != nil {
		t.Fatal(err)
	}
	for _, a := range atts {
		if err := RemoveNetNS(a.NetNS); err != nil {
			t.Fatal(err)
		}
		assertGone(t, f, n.Name, a.ContainerID, a.NetNS, a.IP)
	}

	// The next pod installs them again.
	outsideHost(t, f)
	id := newID(t)
	a, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: f.netns(t, id), Network: n.Name})
	if err != nil {
		t.Fatal(err)
	}
	assertRulesOnce(t, n)
	if seen, err := peerSeen(a.NetNS, "192.0.2.2:8090"); err != nil || seen != "192.0.2.1" {
		t.Errorf("after reinstalling the outside host saw %q, %v; want the masqueraded 192.0.2.1", seen, err)
	}
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	assertNoRules(t, f, n.Name)
}

// TestLastDetachKeepsOtherNetworks: the last Detach from one network
// removes its rules only; the shared chains and jumps stay for another.
func TestLastDetachKeepsOtherNetworks(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	a := f.createNet(t, CreateOptions{Name: "it-keep-a", Subnet: "10.201.51.0/24", Bridge: "pbit51"})
	b := f.createNet(t, CreateOptions{Name: "it-keep-b", Subnet: "10.201.52.0/24", Bridge: "pbit52"})
	ids := map[string]string{}
	for _, n := range []*Network{a, b} {
		id := newID(t)
		ids[n.Name] = id
		if _, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: f.netns(t, id), Network: n.Name}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: ids[a.Name], Network: a.Name}); err != nil {
		t.Fatal(err)
	}
	if p := podbayLines(t); strings.Contains(p, networkComment(a.Name)+`"`) {
		t.Errorf("rules of %s left after its last Detach:\n%s", a.Name, p)
	}
	assertRulesOnce(t, b)
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: ids[b.Name], Network: b.Name}); err != nil {
		t.Fatal(err)
	}
	assertNoRules(t, f, a.Name, b.Name)
}

// TestAttachRacingLastDetach: an Attach (from another process or a
// goroutine) racing the Detach of the network's only pod always ends with
// the rules in place for the new pod, and its Detach removes them.
func TestAttachRacingLastDetach(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-race", Subnet: "10.201.53.0/24", Bridge: "pbit53"})
	id := newID(t)
	if _, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: f.netns(t, id), Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 8; round++ {
		next := newID(t)
		var (
			wg        sync.WaitGroup
			detachErr error
			attachErr error
		)
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			detachErr = f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name})
		}()
		go func() {
			defer wg.Done()
			<-start
			if round%2 == 0 {
				_, attachErr = attachInChild(f, n.Name, next)
				return
			}
			m, err := New(f.m.opts) // a Manager of its own, as another process would have
			if err != nil {
				attachErr = err
				return
			}
			ns, err := NewNetNS(f.runroot, next)
			if err != nil {
				attachErr = err
				return
			}
			_, attachErr = m.Attach(ctx, AttachOptions{ContainerID: next, NetNS: ns, Network: n.Name})
		}()
		close(start)
		wg.Wait()
		t.Cleanup(func() { _ = RemoveNetNS(filepath.Join(NetNSDir(f.runroot), next)) })
		if detachErr != nil || attachErr != nil {
			t.Fatalf("round %d: Detach: %v; Attach: %v", round, detachErr, attachErr)
		}
		assertRulesOnce(t, n)
		if got := claims(t, f, n.Name); len(got) != 1 || got[0] != next {
			t.Fatalf("round %d: claims %v, want only %.12s", round, got, next)
		}
		_ = RemoveNetNS(filepath.Join(NetNSDir(f.runroot), id))
		id = next
	}
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	assertNoRules(t, f, n.Name)
}

// TestStaleClaimKeepsRules: a process killed between claiming the rules
// and saving its attachment leaves a claim, which keeps the rules after
// the last Detach, until a Detach of that container or the network's
// removal.
func TestStaleClaimKeepsRules(t *testing.T) {
	ctx := context.Background()
	ran := iptablesLog(t)
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-stale", Subnet: "10.201.54.0/24", Bridge: "pbit54"})
	for _, viaRemove := range []bool{false, true} {
		id := newID(t)
		if _, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: f.netns(t, id), Network: n.Name}); err != nil {
			t.Fatal(err)
		}
		// What the killed process did: ensureRules, then nothing.
		killed := newID(t)
		if err := f.m.ensureRules(ctx, n, killed); err != nil {
			t.Fatal(err)
		}
		ran()
		if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
			t.Fatal(err)
		}
		if got := ran(); got != "" {
			t.Errorf("a Detach with a claim left ran iptables:\n%s", got)
		}
		assertRulesOnce(t, n)
		if got := claims(t, f, n.Name); len(got) != 1 || got[0] != killed {
			t.Errorf("claims %v, want only %.12s", got, killed)
		}
		if viaRemove {
			if err := f.m.Remove(ctx, n.Name, RemoveOptions{}); err != nil {
				t.Fatal(err)
			}
		} else {
			// podbay's clean-up of the stray pod.
			if err := f.m.Detach(ctx, AttachOptions{ContainerID: killed, Network: n.Name}); err != nil {
				t.Fatal(err)
			}
		}
		assertNoRules(t, f, n.Name)
	}
}

// TestFailedAttachDropsClaim: an Attach whose ADD fails drops its claim;
// the rules stay while another pod is on the network and go with the
// failed one when it was alone.
func TestFailedAttachDropsClaim(t *testing.T) {
	ctx := context.Background()
	dir := pluginDir(t, "bridge", "host-local")
	script := "#!/bin/sh\nif [ \"$CNI_COMMAND\" = ADD ]; then\n" +
		"  echo '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"portmap exploded\"}'\n  exit 1\nfi\nexit 0\n"
	if err := os.WriteFile(filepath.Join(dir, "portmap"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, Options{PluginDirs: []string{dir}})
	n := f.createNet(t, CreateOptions{Name: "it-failclaim", Subnet: "10.201.55.0/24", Bridge: "pbit55"})
	failing := func() {
		t.Helper()
		id := newID(t)
		_, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: f.netns(t, id), Network: n.Name,
			Ports: []PortMapping{{HostPort: 18155, ContainerPort: 80}}})
		if err == nil || !strings.Contains(err.Error(), "portmap exploded") {
			t.Fatalf("Attach = %v, want portmap's failure", err)
		}
	}
	failing()
	assertNoRules(t, f, n.Name)

	id := newID(t)
	if _, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: f.netns(t, id), Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	failing()
	assertRulesOnce(t, n)
	if got := claims(t, f, n.Name); len(got) != 1 || got[0] != id {
		t.Errorf("claims %v, want only %.12s", got, id)
	}
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	assertNoRules(t, f, n.Name)
}

// gateExec runs before a plugin's DEL, for the container named by id, the
// function gate holds (if any): it may wait, or fail the DEL.
type gateExec struct {
	invoke.Exec
	mu   sync.Mutex
	id   string
	gate func() error
}

func (e *gateExec) ExecPlugin(ctx context.Context, path string, stdin []byte, env []string) ([]byte, error) {
	e.mu.Lock()
	id, gate := e.id, e.gate
	e.mu.Unlock()
	if gate != nil && hasEnv(env, "CNI_COMMAND=DEL") && hasEnv(env, "CNI_CONTAINERID="+id) {
		if err := gate(); err != nil {
			return nil, err
		}
	}
	return e.Exec.ExecPlugin(ctx, path, stdin, env)
}

func (e *gateExec) set(id string, gate func() error) {
	e.mu.Lock()
	e.id, e.gate = id, gate
	e.mu.Unlock()
}

func hasEnv(env []string, kv string) bool {
	for _, e := range env {
		if e == kv {
			return true
		}
	}
	return false
}

// gatedFixture is a fixture whose plugin runs go through a gateExec.
func gatedFixture(t *testing.T) (*fixture, *gateExec) {
	t.Helper()
	f := newFixture(t, Options{})
	ge := &gateExec{Exec: f.m.exec}
	f.m.exec = ge
	f.m.cni = libcni.NewCNIConfigWithCacheDir(f.m.opts.PluginDirs, filepath.Join(f.m.dir, "cache"), ge)
	return f, ge
}

// waitFor polls cond until it holds, for up to 10 s.
func waitFor(what string, cond func() bool) error {
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			return fmt.Errorf("waited 10 s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// TestLastDetachRemovesRulesDuringTheDEL: the last container's Detach
// removes the network's rules while its bridge DEL runs (a DEL that waits
// for the rules to go would time out, and fail the Detach, if they went
// after it), and leaves nothing.
func TestLastDetachRemovesRulesDuringTheDEL(t *testing.T) {
	ctx := context.Background()
	f, ge := gatedFixture(t)
	n := f.createNet(t, CreateOptions{Name: "it-during", Subnet: "10.201.57.0/24", Bridge: "pbit57"})
	id := newID(t)
	a, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: f.netns(t, id), Network: n.Name})
	if err != nil {
		t.Fatal(err)
	}
	assertRulesOnce(t, n)
	ge.set(id, func() error {
		return waitFor("the rules to go during the DEL", func() bool {
			_, err := os.Stat(markerPath(f, n.Name))
			return errors.Is(err, os.ErrNotExist)
		})
	})
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	assertNoRules(t, f, n.Name)
	if err := RemoveNetNS(a.NetNS); err != nil {
		t.Fatal(err)
	}
	assertGone(t, f, n.Name, id, a.NetNS, a.IP)
}

// TestLastTwoDetachesAtOnce: the last two containers of a network detach at
// once, the first one's DEL held until the second Detach is done: the
// second sees neither the first one's claim nor its record, and so takes
// the rules; nothing is left once both are done.
func TestLastTwoDetachesAtOnce(t *testing.T) {
	ctx := context.Background()
	f, ge := gatedFixture(t)
	n := f.createNet(t, CreateOptions{Name: "it-twolast", Subnet: "10.201.58.0/24", Bridge: "pbit58"})
	var atts []*Attachment
	for i := 0; i < 2; i++ {
		id := newID(t)
		a, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: f.netns(t, id), Network: n.Name})
		if err != nil {
			t.Fatal(err)
		}
		atts = append(atts, a)
	}
	first, second := atts[0].ContainerID, atts[1].ContainerID
	secondDone := make(chan struct{})
	ge.set(first, func() error {
		select {
		case <-secondDone:
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("the second Detach did not end in 10 s")
		}
	})
	firstErr := make(chan error, 1)
	go func() { firstErr <- f.m.Detach(ctx, AttachOptions{ContainerID: first, Network: n.Name}) }()
	claimGone := waitFor("the first claim to go", func() bool {
		c := claims(t, f, n.Name)
		return len(c) == 1 && c[0] == second
	})
	if claimGone != nil {
		close(secondDone)
		t.Fatal(claimGone, <-firstErr)
	}
	err := f.m.Detach(ctx, AttachOptions{ContainerID: second, Network: n.Name})
	close(secondDone)
	if err := errors.Join(err, <-firstErr); err != nil {
		t.Fatal(err)
	}
	assertNoRules(t, f, n.Name)
	for _, a := range atts {
		if err := RemoveNetNS(a.NetNS); err != nil {
			t.Fatal(err)
		}
		assertGone(t, f, n.Name, a.ContainerID, a.NetNS, a.IP)
	}
}

// TestFailedDetachKeepsRecord: a Detach whose DEL fails reports it and
// keeps the attachment record (the rules, released during the DEL, go with
// the last container all the same); the next Detach runs DEL from the
// record and leaves nothing.
func TestFailedDetachKeepsRecord(t *testing.T) {
	ctx := context.Background()
	f, ge := gatedFixture(t)
	n := f.createNet(t, CreateOptions{Name: "it-faildel", Subnet: "10.201.59.0/24", Bridge: "pbit59"})
	id := newID(t)
	a, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: f.netns(t, id), Network: n.Name})
	if err != nil {
		t.Fatal(err)
	}
	ge.set(id, func() error { return errors.New("bridge DEL exploded") })
	err = f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name})
	if err == nil || !strings.Contains(err.Error(), "bridge DEL exploded") {
		t.Fatalf("Detach = %v, want the DEL's failure", err)
	}
	if _, err := f.m.readAttachment(n.Name, id); err != nil {
		t.Fatalf("the record is gone after a failed DEL: %v", err)
	}
	assertNoRules(t, f, n.Name)
	ge.set("", nil)
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	if err := RemoveNetNS(a.NetNS); err != nil {
		t.Fatal(err)
	}
	assertGone(t, f, n.Name, id, a.NetNS, a.IP)
	assertNoRules(t, f, n.Name)
}
