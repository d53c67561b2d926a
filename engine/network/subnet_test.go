package network

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestPickSubnet(t *testing.T) {
	mp := netip.MustParsePrefix
	tests := []struct {
		name string
		pool netip.Prefix
		used []netip.Prefix
		want string
		err  error
	}{
		{name: "empty", pool: mp("10.91.0.0/16"), want: "10.91.0.0/24"},
		{name: "skips used /24", pool: mp("10.91.0.0/16"), used: []netip.Prefix{mp("10.91.0.0/24"), mp("10.91.1.0/24")}, want: "10.91.2.0/24"},
		{name: "skips larger overlap", pool: mp("10.91.0.0/16"), used: []netip.Prefix{mp("10.91.0.0/23")}, want: "10.91.2.0/24"},
		{name: "skips smaller overlap", pool: mp("10.91.0.0/16"), used: []netip.Prefix{mp("10.91.0.128/30")}, want: "10.91.1.0/24"},
		{name: "exhausted", pool: mp("10.91.0.0/23"), used: []netip.Prefix{mp("10.91.0.0/16")}, err: ErrNoFreeSubnet},
		{name: "end of address space", pool: mp("255.255.255.0/24"), used: []netip.Prefix{mp("255.255.255.0/24")}, err: ErrNoFreeSubnet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pickSubnet(tt.pool, tt.used)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("pickSubnet = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestSubnetAndGateway(t *testing.T) {
	tests := []struct {
		subnet, gateway string
		wantGW          string
		err             string
	}{
		{subnet: "10.90.0.0/16", wantGW: "10.90.0.1"},
		{subnet: "10.99.0.0/30", wantGW: "10.99.0.1"},
		{subnet: "10.99.0.0/24", gateway: "10.99.0.254", wantGW: "10.99.0.254"},
		{subnet: "10.99.0.0/24", gateway: "10.98.0.1", err: `gateway 10.98.0.1: not a host address of subnet 10.99.0.0/24`},
		{subnet: "10.99.0.0/24", gateway: "10.99.0.255", err: `not a host address`},
		{subnet: "10.99.0.0/24", gateway: "10.99.0.0", err: `not a host address`},
		{subnet: "10.99.0.1/24", err: `host bits set (did you mean 10.99.0.0/24?)`},
		{subnet: "10.99.0.0/31", err: `must be /30 or larger`},
		{subnet: "fd00::/64", err: `only IPv4`},
		{subnet: "nonsense", err: `subnet "nonsense"`},
	}
	for _, tt := range tests {
		t.Run(tt.subnet+"_"+tt.gateway, func(t *testing.T) {
			_, gw, err := subnetAndGateway(tt.subnet, tt.gateway)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want containing %q", err, tt.err)
				}
				return
			}
			if err != nil || gw.String() != tt.wantGW {
				t.Fatalf("gateway = %v, %v; want %s", gw, err, tt.wantGW)
			}
		})
	}
}

func TestHostPortConflict(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"", "127.0.0.1", true},
		{"0.0.0.0", "10.0.0.1", true},
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.1", "10.0.0.1", false},
	}
	for _, tt := range tests {
		if got := hostPortConflict(tt.a, tt.b); got != tt.want {
			t.Errorf("hostPortConflict(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}
