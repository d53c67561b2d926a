package svcproxy

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Endpoint is one backend of a service port.
type Endpoint struct {
	IP   string
	Port int
}

// Port is one service port: connections to ClusterIP:Port (and, in a host
// table, to any local address on one of NodePorts) go to one of Endpoints,
// chosen at random.
type Port struct {
	Service   string // "namespace/name", hashed into the chain name and shown in comments
	Name      string // the port's name, "" if it has none
	Protocol  string // "tcp" (the default) or "udp"
	ClusterIP string // "" programs no virtual address (a host table with node ports only)
	Port      int
	NodePorts []int // host ports, matched on local destination addresses
	Endpoints []Endpoint
}

// Table is podbay's service rules in one network namespace.
type Table struct {
	// NetNS is the bind-mounted namespace to program; "" is the caller's.
	NetNS string
	// Scope tells apart tables that share a namespace (the host's): each
	// podbay root passes its own. Pod namespaces use "".
	Scope string
}

// masqMark marks node port connections to masquerade: the pod must answer
// through the host, and 127.0.0.1 cannot leave it as a source.
const masqMark = "0x4000/0x4000"

// chainPrefix starts every per-port chain.
const chainPrefix = "PODBAY-SVC-"

// topChain is the chain OUTPUT (and, on the host, PREROUTING) jumps to.
func (t Table) topChain() string {
	if t.Scope == "" {
		return "PODBAY-SERVICES"
	}
	return "PODBAY-SVCS-" + shortHash(t.Scope)
}

// postChain is the host table's masquerading chain, jumped to from POSTROUTING.
func (t Table) postChain() string { return "PODBAY-POST-" + shortHash(t.Scope) }

func (t Table) host() bool { return t.Scope != "" }

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:4]))
}

// portChain names a port's chain from a hash of scope, service, port and protocol.
func (t Table) portChain(p Port) string {
	sum := sha256.Sum256([]byte(t.Scope + "\x00" + p.key()))
	return chainPrefix + base32.StdEncoding.EncodeToString(sum[:])[:16]
}

func (p Port) key() string { return p.Service + ":" + strconv.Itoa(p.Port) + "/" + p.proto() }

func (p Port) proto() string {
	if p.Protocol == "" {
		return "tcp"
	}
	return strings.ToLower(p.Protocol)
}

func (p Port) comment() string {
	if p.Name != "" {
		return p.Service + ":" + p.Name
	}
	return p.Service + ":" + strconv.Itoa(p.Port)
}

// current is what a table holds now, read from iptables-save.
type current struct {
	jumps  map[string]string // built-in chain -> its rule jumping to our chain, as saved
	chains []string          // our chains: the top, the post chain and the port chains the top jumps to
}

// parseSave reads the nat table of `iptables-save` for the table's chains.
func (t Table) parseSave(save string) current {
	top, post := t.topChain(), t.postChain()
	cur := current{jumps: map[string]string{}}
	seen := map[string]bool{}
	add := func(c string) {
		if !seen[c] {
			seen[c] = true
			cur.chains = append(cur.chains, c)
		}
	}
	inNat := false
	for _, line := range strings.Split(save, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "*"):
			inNat = line == "*nat"
		case !inNat:
		case strings.HasPrefix(line, ":"+top+" "):
			add(top)
		case t.host() && strings.HasPrefix(line, ":"+post+" "):
			add(post)
		case strings.HasPrefix(line, "-A "):
			f := strings.Fields(line)
			target := jumpTarget(f)
			switch {
			case f[1] == top && strings.HasPrefix(target, chainPrefix):
				add(target)
			case target == top || (t.host() && target == post):
				cur.jumps[f[1]+">"+target] = line
			}
		}
	}
	return cur
}

func jumpTarget(f []string) string {
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "-j" {
			return f[i+1]
		}
	}
	return ""
}

// entry is a built-in chain that must jump to one of ours.
type entry struct{ from, to string }

func (t Table) entries() []entry {
	if !t.host() {
		return []entry{{"OUTPUT", t.topChain()}}
	}
	return []entry{{"PREROUTING", t.topChain()}, {"OUTPUT", t.topChain()}, {"POSTROUTING", t.postChain()}}
}

// render returns the iptables-restore --noflush input that replaces the
// table's rules with ports in one transaction; chains no longer wanted are
// flushed and deleted.
func (t Table) render(ports []Port, cur current) string {
	var b strings.Builder
	b.WriteString("*nat\n")
	top := t.topChain()
	want := map[string]bool{top: true}
	if t.host() {
		want[t.postChain()] = true
	}
	var chains []string
	for _, p := range ports {
		if len(p.Endpoints) > 0 {
			c := t.portChain(p)
			want[c] = true
			chains = append(chains, c)
		}
	}
	declared := append([]string{top}, chains...)
	if t.host() {
		declared = append(declared, t.postChain())
	}
	var stale []string
	for _, c := range cur.chains {
		if !want[c] {
			stale = append(stale, c)
		}
	}
	sort.Strings(stale)
	for _, c := range append(declared, stale...) {
		fmt.Fprintf(&b, ":%s - [0:0]\n", c)
	}
	for _, e := range t.entries() {
		if _, ok := cur.jumps[e.from+">"+e.to]; !ok {
			fmt.Fprintf(&b, "-A %s -m comment --comment \"podbay services\" -j %s\n", e.from, e.to)
		}
	}
	for _, p := range ports {
		if len(p.Endpoints) > 0 {
			t.renderPort(&b, p)
		}
	}
	if t.host() {
		fmt.Fprintf(&b, "-A %s -m mark --mark %s -j MASQUERADE\n", t.postChain(), masqMark)
	}
	for _, c := range stale {
		fmt.Fprintf(&b, "-X %s\n", c)
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

func (t Table) renderPort(b *strings.Builder, p Port) {
	top, chain, proto, comment := t.topChain(), t.portChain(p), p.proto(), strconv.Quote(p.comment())
	if p.ClusterIP != "" {
		fmt.Fprintf(b, "-A %s -d %s/32 -p %s -m %s --dport %d -m comment --comment %s -j %s\n",
			top, p.ClusterIP, proto, proto, p.Port, comment, chain)
	}
	for _, np := range p.NodePorts {
		match := fmt.Sprintf("-A %s -p %s -m %s --dport %d -m addrtype --dst-type LOCAL -m comment --comment %s", top, proto, proto, np, comment)
		fmt.Fprintf(b, "%s -j MARK --set-xmark %s\n", match, masqMark)
		fmt.Fprintf(b, "%s -j %s\n", match, chain)
	}
	n := len(p.Endpoints)
	for i, e := range p.Endpoints {
		fmt.Fprintf(b, "-A %s", chain)
		if left := n - i; left > 1 {
			fmt.Fprintf(b, " -m statistic --mode random --probability %.11f", 1/float64(left))
		}
		fmt.Fprintf(b, " -p %s -m %s -j DNAT --to-destination %s:%d\n", proto, proto, e.IP, e.Port)
	}
}

// renderRemove returns the iptables-restore --noflush input that removes
// every chain and jump of the table.
func (t Table) renderRemove(cur current) string {
	if len(cur.chains) == 0 && len(cur.jumps) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("*nat\n")
	for _, c := range cur.chains {
		fmt.Fprintf(&b, ":%s - [0:0]\n", c)
	}
	keys := make([]string, 0, len(cur.jumps))
	for k := range cur.jumps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString("-D" + strings.TrimPrefix(cur.jumps[k], "-A") + "\n")
	}
	for _, c := range cur.chains {
		fmt.Fprintf(&b, "-X %s\n", c)
	}
	b.WriteString("COMMIT\n")
	return b.String()
}
