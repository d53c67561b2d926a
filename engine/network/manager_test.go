package network

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func newUnitManager(t *testing.T) *Manager {
	t.Helper()
	m, err := New(Options{
		Root: t.TempDir(), Runroot: t.TempDir(),
		DefaultName: "unitdef", DefaultBridge: "pbunit0", DefaultSubnet: "10.202.0.0/16",
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCreateListRemove(t *testing.T) {
	ctx := context.Background()
	m := newUnitManager(t)
	a, err := m.Create(ctx, CreateOptions{Name: "front", Subnet: "10.203.1.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Gateway != "10.203.1.1" || a.Bridge == "" || a.Driver != "bridge" {
		t.Fatalf("unexpected network %+v", a)
	}
	b, err := m.Create(ctx, CreateOptions{Name: "back", Internal: true})
	if err != nil {
		t.Fatal(err)
	}
	p := netip.MustParsePrefix(b.Subnet)
	if !autoPool.Contains(p.Addr()) || p.Bits() != 24 || p.Overlaps(netip.MustParsePrefix(a.Subnet)) {
		t.Fatalf("auto-picked subnet %s", b.Subnet)
	}
	if b.Bridge == a.Bridge {
		t.Fatalf("bridges collide: %s", a.Bridge)
	}
	nets, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nets {
		names = append(names, n.Name)
	}
	if got := strings.Join(names, ","); got != "back,front,unitdef" {
		t.Fatalf("List = %s", got)
	}
	def, err := m.Get(ctx, "")
	if err != nil || def.Subnet != "10.202.0.0/16" || def.Bridge != "pbunit0" || !def.Default {
		t.Fatalf("default network = %+v, %v", def, err)
	}
	if err := m.Remove(ctx, "front", RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, "front"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Remove: %v", err)
	}
}

func TestCreateErrors(t *testing.T) {
	ctx := context.Background()
	m := newUnitManager(t)
	if _, err := m.Create(ctx, CreateOptions{Name: "one", Subnet: "10.203.0.0/16", Bridge: "pbone"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts CreateOptions
		is   error
		msg  string
	}{
		{name: "duplicate", opts: CreateOptions{Name: "one"}, is: ErrExists, msg: `network "one": network already exists`},
		{name: "overlap", opts: CreateOptions{Name: "two", Subnet: "10.203.7.0/24"}, is: ErrSubnetOverlap,
			msg: `network "two": subnet 10.203.7.0/24 overlaps 10.203.0.0/16 of network "one"`},
		{name: "overlap default", opts: CreateOptions{Name: "three", Subnet: "10.202.0.0/24"}, is: ErrSubnetOverlap},
		{name: "bad name", opts: CreateOptions{Name: "a/b"}, msg: `network name "a/b"`},
		{name: "bridge taken", opts: CreateOptions{Name: "four", Subnet: "10.204.0.0/24", Bridge: "pbone"}, msg: `bridge "pbone": already used`},
		{name: "bad gateway", opts: CreateOptions{Name: "five", Subnet: "10.205.0.0/24", Gateway: "10.1.1.1"}, msg: `not a host address`},
	}
	if _, err := m.Get(ctx, ""); err != nil { // make the default exist
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Create(ctx, tt.opts)
			if err == nil {
				t.Fatal("Create succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %q, want containing %q", err, tt.msg)
			}
		})
	}
	if _, err := m.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) || err.Error() != `network "nope": no such network` {
		t.Fatalf("Get unknown: %v", err)
	}
	_, err := m.Attach(ctx, AttachOptions{ContainerID: "abc", Network: "nope", NetNS: "/nonexistent"})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `network "nope"`) {
		t.Fatalf("Attach to unknown network: %v", err)
	}
}
