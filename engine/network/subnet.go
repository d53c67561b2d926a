package network

import (
	"errors"
	"fmt"
	"net/netip"
)

// autoPool is where Create picks /24 subnets from when none is given. It
// starts above the default network (10.90.0.0/16) and stays clear of
// Podman's 10.88.0.0/16 and its 10.89.x.0/24 auto range.
var autoPool = netip.MustParsePrefix("10.91.0.0/16")

// ErrNoFreeSubnet means every candidate subnet overlaps one in use.
var ErrNoFreeSubnet = errors.New("no free subnet")

// pickSubnet returns the first /24 of pool that overlaps none of used.
func pickSubnet(pool netip.Prefix, used []netip.Prefix) (netip.Prefix, error) {
	pool = pool.Masked()
	if pool.Bits() > 24 {
		return netip.Prefix{}, fmt.Errorf("subnet pool %s is smaller than a /24", pool)
	}
	for addr := pool.Addr(); pool.Contains(addr); {
		cand := netip.PrefixFrom(addr, 24)
		if overlapping(cand, used) == nil {
			return cand, nil
		}
		next, ok := addPrefixSize(addr, 24)
		if !ok {
			break
		}
		addr = next
	}
	return netip.Prefix{}, fmt.Errorf("picking a /24 from %s: %w", pool, ErrNoFreeSubnet)
}

// overlapping returns the first prefix of used that overlaps p, or nil.
func overlapping(p netip.Prefix, used []netip.Prefix) *netip.Prefix {
	for i := range used {
		if used[i].Overlaps(p) {
			return &used[i]
		}
	}
	return nil
}

// addPrefixSize advances addr by the size of a /bits block.
func addPrefixSize(addr netip.Addr, bits int) (netip.Addr, bool) {
	a := addr.As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	step := uint32(1) << (32 - bits)
	if v+step < v {
		return netip.Addr{}, false
	}
	v += step
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// subnetAndGateway parses and checks a subnet and its gateway. An empty
// gateway becomes the subnet's first host address.
func subnetAndGateway(subnet, gateway string) (netip.Prefix, netip.Addr, error) {
	p, err := netip.ParsePrefix(subnet)
	if err != nil {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("subnet %q: %w", subnet, err)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("subnet %q: only IPv4 subnets are supported", subnet)
	}
	if p.Bits() > 30 {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("subnet %q: must be /30 or larger to hold a gateway and a pod", subnet)
	}
	if p.Masked() != p {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("subnet %q: host bits set (did you mean %s?)", subnet, p.Masked())
	}
	if gateway == "" {
		return p, p.Addr().Next(), nil
	}
	gw, err := netip.ParseAddr(gateway)
	if err != nil {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("gateway %q: %w", gateway, err)
	}
	if !p.Contains(gw) || gw == p.Addr() || gw == lastAddr(p) {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("gateway %s: not a host address of subnet %s", gw, p)
	}
	return p, gw, nil
}

// lastAddr is the broadcast address of an IPv4 prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= (uint32(1) << (32 - p.Bits())) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
