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

// current is what a namespace holds now, read from iptables-save, per
// iptables table ("nat", "filter").
type current map[string]*section

// section is one iptables table's share of our rules.
type section struct {
	jumps  map[string]string // "BUILTIN>CHAIN" -> the saved rule jumping to our chain
	chains []string          // our chains: the top, the post chain and the port chains the top jumps to
}

func (c current) get(table string) *section {
	if s := c[table]; s != nil {
		return s
	}
	return &section{jumps: map[string]string{}}
}

// parseSave reads the output of `iptables-save` for the table's chains.
func (t Table) parseSave(save string) current {
	top, post := t.topChain(), t.postChain()
	cur := current{}
	var sec *section
	seen := map[string]bool{}
	add := func(c string) {
		if !seen[c] {
			seen[c] = true
			sec.chains = append(sec.chains, c)
		}
	}
	for _, line := range strings.Split(save, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "*"):
			sec = &section{jumps: map[string]string{}}
			cur[line[1:]] = sec
			seen = map[string]bool{}
		case sec == nil:
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
				sec.jumps[f[1]+">"+target] = line
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

func (t Table) entries(table string) []entry {
	top := t.topChain()
	switch {
	case table == "filter" && t.host():
		return []entry{{"INPUT", top}}
	case table == "filter":
		return []entry{{"OUTPUT", top}}
	case t.host():
		return []entry{{"PREROUTING", top}, {"OUTPUT", top}, {"POSTROUTING", t.postChain()}}
	}
	return []entry{{"OUTPUT", top}}
}

// render returns the iptables-restore --noflush input that replaces the
// table's rules with ports in one transaction: DNAT to the endpoints in nat,
// and in filter a reject for ports with none, as kube-proxy does, so that
// connections fail at once instead of leaving for the default route.
// Chains no longer wanted are flushed and deleted.
func (t Table) render(ports []Port, cur current) string {
	var b strings.Builder
	t.renderNat(&b, ports, cur.get("nat"))
	b.WriteString("*filter\n")
	top := t.topChain()
	fmt.Fprintf(&b, ":%s - [0:0]\n", top)
	t.renderJumps(&b, "filter", cur.get("filter"))
	for _, p := range ports {
		if len(p.Endpoints) > 0 {
			continue
		}
		proto, comment := p.proto(), strconv.Quote(p.comment()+" has no endpoints")
		if p.ClusterIP != "" {
			fmt.Fprintf(&b, "-A %s -d %s/32 -p %s -m %s --dport %d -m comment --comment %s -j REJECT\n",
				top, p.ClusterIP, proto, proto, p.Port, comment)
		}
		for _, np := range p.NodePorts {
			fmt.Fprintf(&b, "-A %s -p %s -m %s --dport %d -m addrtype --dst-type LOCAL -m comment --comment %s -j REJECT\n",
				top, proto, proto, np, comment)
		}
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

func (t Table) renderJumps(b *strings.Builder, table string, sec *section) {
	for _, e := range t.entries(table) {
		if _, ok := sec.jumps[e.from+">"+e.to]; !ok {
			fmt.Fprintf(b, "-A %s -m comment --comment \"podbay services\" -j %s\n", e.from, e.to)
		}
	}
}

func (t Table) renderNat(b *strings.Builder, ports []Port, sec *section) {
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
	for _, c := range sec.chains {
		if !want[c] {
			stale = append(stale, c)
		}
	}
	sort.Strings(stale)
	for _, c := range append(declared, stale...) {
		fmt.Fprintf(b, ":%s - [0:0]\n", c)
	}
	t.renderJumps(b, "nat", sec)
	for _, p := range ports {
		if len(p.Endpoints) > 0 {
			t.renderPort(b, p)
		}
	}
	if t.host() {
		fmt.Fprintf(b, "-A %s -m mark --mark %s -j MASQUERADE\n", t.postChain(), masqMark)
	}
	for _, c := range stale {
		fmt.Fprintf(b, "-X %s\n", c)
	}
	b.WriteString("COMMIT\n")
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
	var b strings.Builder
	for _, table := range []string{"nat", "filter"} {
		sec := cur.get(table)
		if len(sec.chains) == 0 && len(sec.jumps) == 0 {
			continue
		}
		fmt.Fprintf(&b, "*%s\n", table)
		for _, c := range sec.chains {
			fmt.Fprintf(&b, ":%s - [0:0]\n", c)
		}
		keys := make([]string, 0, len(sec.jumps))
		for k := range sec.jumps {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteString("-D" + strings.TrimPrefix(sec.jumps[k], "-A") + "\n")
		}
		for _, c := range sec.chains {
			fmt.Fprintf(&b, "-X %s\n", c)
		}
		b.WriteString("COMMIT\n")
	}
	return b.String()
}
