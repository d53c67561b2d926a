//go:build integration

package network

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSubnetExhausted(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-tiny", Subnet: "10.201.4.0/30", Bridge: "pbit4"})
	idA, idB := newID(t), newID(t)
	a, err := f.m.Attach(ctx, AttachOptions{ContainerID: idA, NetNS: f.netns(t, idA), Network: n.Name})
	if err != nil {
		t.Fatal(err)
	}
	if a.IP != "10.201.4.2" {
		t.Fatalf("the only free address is 10.201.4.2, got %s", a.IP)
	}
	nsB := f.netns(t, idB)
	_, err = f.m.Attach(ctx, AttachOptions{ContainerID: idB, NetNS: nsB, Network: n.Name})
	if !errors.Is(err, ErrSubnetExhausted) || !strings.Contains(err.Error(), `network "it-tiny": subnet 10.201.4.0/30: no free addresses`) {
		t.Fatalf("Attach to a full subnet: %v", err)
	}
	t.Log(err)
	if err := RemoveNetNS(nsB); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: idA, Network: n.Name}); err != nil {
		t.Fatal(err)
	}
	if err := RemoveNetNS(a.NetNS); err != nil {
		t.Fatal(err)
	}
	assertGone(t, f, n.Name, idB, nsB, "")
	assertGone(t, f, n.Name, idA, a.NetNS, a.IP)
}

// pluginDir links the given Debian plugins into a fresh directory.
func pluginDir(t *testing.T, plugins ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range plugins {
		if err := os.Symlink(filepath.Join("/usr/lib/cni", p), filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestMissingPlugin(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		plugins []string
		want    string // "" for success
	}{
		{name: "no plugins at all", want: `plugin type="bridge" failed (add): failed to find plugin "bridge"`},
		{name: "no bridge", plugins: []string{"host-local", "portmap"}, want: `plugin type="bridge" failed (add): failed to find plugin "bridge"`},
		{name: "no host-local", plugins: []string{"bridge", "portmap"}, want: `failed to find plugin "host-local"`},
		// loopback and firewall are no longer needed.
		{name: "no firewall nor loopback", plugins: []string{"bridge", "host-local", "portmap"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{PluginDirs: []string{pluginDir(t, tt.plugins...)}})
			n := f.createNet(t, CreateOptions{Name: "it-missing", Subnet: "10.201.7.0/24", Bridge: "pbit7"})
			id := newID(t)
			ns := f.netns(t, id)
			a, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: ns, Network: n.Name})
			ip := ""
			if tt.want == "" {
				if err != nil {
					t.Fatalf("case %d: Attach = %v, want success", i, err)
				}
				ip = a.IP
				if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
					t.Fatal(err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("case %d: Attach = %v, want an error containing %q", i, err, tt.want)
			}
			t.Log(err)
			if err := RemoveNetNS(ns); err != nil {
				t.Fatal(err)
			}
			assertGone(t, f, n.Name, id, ns, ip)
		})
	}
}

// TestFailingPlugin: a plugin that fails ADD is named in the error, and the
// plugins before it are undone (no lease, no veth, no rule).
func TestFailingPlugin(t *testing.T) {
	ctx := context.Background()
	dir := pluginDir(t, "bridge", "host-local")
	script := "#!/bin/sh\nif [ \"$CNI_COMMAND\" = ADD ]; then\n" +
		"  echo '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"portmap exploded\"}'\n  exit 1\nfi\nexit 0\n"
	if err := os.WriteFile(filepath.Join(dir, "portmap"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, Options{PluginDirs: []string{dir}})
	n := f.createNet(t, CreateOptions{Name: "it-failing", Subnet: "10.201.8.0/24", Bridge: "pbit8"})
	id := newID(t)
	ns := f.netns(t, id)
	_, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: ns, Network: n.Name,
		Ports: []PortMapping{{HostPort: 18100, ContainerPort: 80}}})
	want := `plugin type="portmap" failed (add): portmap exploded`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Attach = %v, want an error containing %q", err, want)
	}
	t.Log(err)
	if err := RemoveNetNS(ns); err != nil {
		t.Fatal(err)
	}
	assertGone(t, f, n.Name, id, ns, "10.201.8.2")
}

// TestDetachAfterNetNSGone: the namespace is removed before Detach (a
// killed pod); Detach still releases the lease and every rule.
func TestDetachAfterNetNSGone(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-gone", Subnet: "10.201.9.0/24", Bridge: "pbit9"})
	id := newID(t)
	ns := f.netns(t, id)
	a, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: ns, Network: n.Name,
		Ports: []PortMapping{{HostPort: 18110, ContainerPort: 80}, {HostPort: 18110, ContainerPort: 80, Protocol: "udp"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := RemoveNetNS(ns); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := f.m.Detach(ctx, AttachOptions{ContainerID: id, Network: n.Name}); err != nil {
			t.Fatalf("Detach %d: %v", i, err)
		}
	}
	assertGone(t, f, n.Name, id, ns, a.IP)
}

func TestDefaultNetwork(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{DefaultName: "it-default", DefaultBridge: "pbitdef0", DefaultSubnet: "10.201.10.0/24"})
	id := newID(t)
	ns := f.netns(t, id)
	a, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	if a.Network != "it-default" || !strings.HasPrefix(a.IP, "10.201.10.") {
		t.Fatalf("attachment %+v", a)
	}
	t.Cleanup(func() { _ = f.m.Remove(ctx, "it-default", RemoveOptions{Force: true}) })
	if err := f.m.Detach(ctx, AttachOptions{ContainerID: id}); err != nil {
		t.Fatal(err)
	}
	if err := RemoveNetNS(ns); err != nil {
		t.Fatal(err)
	}
	assertGone(t, f, a.Network, id, ns, a.IP)
}

// TestRemoveForce: removing a network in use detaches its pods first.
func TestRemoveForce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	n := f.createNet(t, CreateOptions{Name: "it-force", Subnet: "10.201.11.0/24", Bridge: "pbit11"})
	id := newID(t)
	ns := f.netns(t, id)
	a, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: ns, Network: n.Name,
		Ports: []PortMapping{{HostPort: 18120, ContainerPort: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Attach(ctx, AttachOptions{ContainerID: id, NetNS: ns, Network: n.Name}); !errors.Is(err, ErrAttached) {
		t.Fatalf("second Attach: %v", err)
	}
	if err := f.m.Remove(ctx, n.Name, RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if err := RemoveNetNS(ns); err != nil {
		t.Fatal(err)
	}
	assertGone(t, f, n.Name, id, ns, a.IP)
	if _, err := os.Stat(filepath.Join(f.root, "networks", "ipam", n.Name)); err == nil {
		t.Error("IPAM directory left after Remove")
	}
}

func TestNetNSLifecycle(t *testing.T) {
	f := newFixture(t, Options{})
	id := newID(t)
	ns := f.netns(t, id)
	if !IsNetNS(ns) {
		t.Fatalf("%s is not a namespace", ns)
	}
	if _, err := NewNetNS(f.runroot, id); err == nil {
		t.Fatal("NewNetNS over an existing one succeeded")
	}
	if err := SetupLoopback(ns); err != nil {
		t.Fatal(err)
	}
	echoTCP(t, ns, "127.0.0.1:8080")
	mustRoundTrip(t, "tcp4", ns, "127.0.0.1:8080")
	if err := RemoveNetNS(ns); err != nil {
		t.Fatal(err)
	}
	if err := RemoveNetNS(ns); err != nil {
		t.Fatalf("second RemoveNetNS: %v", err)
	}
	assertGone(t, f, "", id, ns, "")
}
