package network

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
)

// Network-wide iptables rules. As netavark does, podbay masquerades and
// lets traffic through FORWARD per network (by subnet and bridge) rather
// than per container, so that attaching a pod runs no iptables at all once
// its network's rules are in place. They replace the bridge plugin's
// ipMasq (a chain and ~8 iptables runs per container) and the firewall
// plugin (~10 runs per container).
//
// What the firewall plugin did, and what takes its place:
//   - it jumped from the first rule of FORWARD to CNI-FORWARD: the jump to
//     PODBAY-FORWARD is inserted first too (netavark does the same);
//   - "-s IP -j ACCEPT": traffic leaving a container (to the outside
//     through the gateway, to another pod when br_netfilter sends bridged
//     frames through FORWARD) becomes "-i BRIDGE -j ACCEPT";
//   - "-d IP -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT": replies
//     coming back become "-o BRIDGE ... RELATED,ESTABLISHED -j ACCEPT".
//
// Internal networks have no gateway, so they get no masquerade and only
// "-i BRIDGE -o BRIDGE -j ACCEPT" (pod to pod under br_netfilter).
// New connections to published ports (portmap's DNAT) coming from other
// hosts are accepted neither by the firewall plugin nor by netavark: the
// FORWARD policy decides, as before. Connections from the host itself
// never cross FORWARD.
const (
	natChain     = "PODBAY-POSTROUTING" // nat, jumped to from POSTROUTING
	filterChain  = "PODBAY-FORWARD"     // filter, jumped to from FORWARD
	jumpComment  = "podbay network rules"
	multicastNet = "224.0.0.0/4"
)

// ipRule is one rule of a PODBAY chain.
type ipRule struct {
	Table string
	Chain string
	Args  []string // the match and target, as given to -A, -C or -D
}

// String renders the rule as iptables -S would show it, after the table.
func (r ipRule) String() string {
	return "-t " + r.Table + " -A " + r.Chain + " " + quoteArgs(r.Args)
}

func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"\\") {
			a = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a) + `"`
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// networkComment tags every rule of a network, so Remove finds them.
func networkComment(name string) string { return "podbay network " + name }

// networkRules are the rules of n, in the order they are installed.
func networkRules(n *Network) []ipRule {
	tag := []string{"-m", "comment", "--comment", networkComment(n.Name)}
	rule := func(table, chain string, match []string, target string) ipRule {
		args := append(append(append([]string{}, match...), tag...), "-j", target)
		return ipRule{Table: table, Chain: chain, Args: args}
	}
	if n.Internal {
		return []ipRule{rule("filter", filterChain, []string{"-i", n.Bridge, "-o", n.Bridge}, "ACCEPT")}
	}
	return []ipRule{
		// The bridge plugin's ipMasq left multicast alone; iptables takes
		// one -d per rule, so multicast returns first.
		rule("nat", natChain, []string{"-s", n.Subnet, "-d", multicastNet}, "RETURN"),
		rule("nat", natChain, []string{"-s", n.Subnet, "!", "-d", n.Subnet}, "MASQUERADE"),
		rule("filter", filterChain, []string{"-i", n.Bridge}, "ACCEPT"),
		rule("filter", filterChain, []string{"-o", n.Bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"}, "ACCEPT"),
	}
}

// renderRules is the text a marker records: one rule a line.
func renderRules(rules []ipRule) []byte {
	var b bytes.Buffer
	for _, r := range rules {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// podbayChain describes one PODBAY chain and the built-in chain that jumps
// to it.
type podbayChain struct {
	table, chain, from string
	first              bool // the jump is inserted first (else appended)
}

var podbayChains = []podbayChain{
	// Appended, as the bridge plugin's ipMasq and netavark do; portmap
	// inserts its own masquerade jump first.
	{table: "nat", chain: natChain, from: "POSTROUTING"},
	// First, as the firewall plugin and netavark do.
	{table: "filter", chain: filterChain, from: "FORWARD", first: true},
}

func (c podbayChain) jumpArgs() []string {
	return []string{"-m", "comment", "--comment", jumpComment, "-j", c.chain}
}

// pendingMarker is written before installing rules, so that a process
// killed half way leaves a marker that Remove acts on and Attach redoes.
const pendingMarker = "pending\n"

// rulesLock serialises every change of the PODBAY chains made from one
// runroot. One lock for all networks, not one per network: the chains and
// their jumps are shared, and two first attaches on two networks must not
// both insert a jump.
func (m *Manager) rulesLock() (unlock func(), err error) {
	if m.opts.Runroot == "" {
		return lockFile(filepath.Join(m.dir, ".rules.lock"))
	}
	return lockFile(filepath.Join(m.opts.Runroot, "networks", ".rules.lock"))
}

// rulesMarker is the file recording that a network's rules are installed:
// under the runroot, a tmpfs in real use, so that a reboot, which clears
// iptables, clears the markers too. "" without a runroot: always ensure.
func (m *Manager) rulesMarker(network string) string {
	if m.opts.Runroot == "" {
		return ""
	}
	return filepath.Join(m.opts.Runroot, "networks", network+".rules")
}

// rulesUsers is the directory of a network's claims: one empty file per
// container that needs the network's rules, named by its ID. Claims change
// only under the rules lock; the rules go with the last claim, as netavark
// removes a network's rules when its last container is torn down. ""
// without a runroot: no claims, and the rules stay until Remove.
func (m *Manager) rulesUsers(network string) string {
	if m.opts.Runroot == "" {
		return ""
	}
	return filepath.Join(m.opts.Runroot, "networks", network+".users")
}

// ensureRules claims n's rules for containerID and installs them unless
// the marker says they are in place, in one critical section: a concurrent
// last Detach cannot remove them before the container's ADD is done.
// In steady state this costs a lock, a file read and an empty file: no
// iptables run. On error the claim may be left: the caller drops it with
// releaseRules.
func (m *Manager) ensureRules(ctx context.Context, n *Network, containerID string) error {
	return m.claimRules(ctx, n, containerID, linkExists(n.Bridge))
}

// claimRules is ensureRules with the bridge's existence looked at by the
// caller (bridgeUp), before a CNI ADD that runs meanwhile creates it.
func (m *Manager) claimRules(ctx context.Context, n *Network, containerID string, bridgeUp bool) error {
	rules := networkRules(n)
	want := renderRules(rules)
	unlock, err := m.rulesLock()
	if err != nil {
		return err
	}
	defer unlock()
	if users := m.rulesUsers(n.Name); users != "" && validClaim(n.Name, containerID) {
		if err := os.MkdirAll(users, 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(users, containerID), nil, 0o600); err != nil {
			return err
		}
	}
	marker := m.rulesMarker(n.Name)
	if marker != "" {
		// A missing bridge means a network never attached since boot or
		// since its bridge was deleted: a marker kept on a runroot that is
		// no tmpfs must not hide rules a reboot cleared.
		if have, err := os.ReadFile(marker); err == nil && bytes.Equal(have, want) && bridgeUp {
			return nil
		}
		if err := writeFileAtomic(marker, []byte(pendingMarker)); err != nil {
			return err
		}
	}
	if err := m.ipt.installRules(ctx, rules); err != nil {
		return fmt.Errorf("installing the iptables rules of network %q: %w", n.Name, err)
	}
	if marker != "" {
		return writeFileAtomic(marker, want)
	}
	return nil
}

// validClaim reports whether a claim file can be named by id under the
// network's claims.
func validClaim(network, id string) bool {
	return id != "" && id != "." && id != ".." && filepath.Base(id) == id && validName(network)
}

// releaseRules drops containerID's claim on a network's rules and, when no
// container is left on the network, removes the rules (and the PODBAY
// chains and jumps left empty) and the marker. Without a claim for
// containerID it does nothing unless always. No claim left is not enough:
// a saved attachment (one made before claims existed) keeps the rules too.
// Nothing runs when no marker says the rules were installed from this
// runroot; nothing runs either while another container is on the network.
// Should the removal fail, the claim stays, so that the next Detach of
// containerID retries it.
func (m *Manager) releaseRules(ctx context.Context, network, containerID string, always bool) error {
	users := m.rulesUsers(network)
	if users == "" || !validClaim(network, containerID) {
		return nil
	}
	claim := filepath.Join(users, containerID)
	if !always {
		// Fast path for the many Detaches of what was never claimed (a
		// second Detach): no lock.
		if _, err := os.Lstat(claim); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	unlock, err := m.rulesLock()
	if err != nil {
		return err
	}
	defer unlock()
	_, err = os.Lstat(claim)
	claimed := err == nil
	if !claimed && !always {
		return nil
	}
	others, err := m.otherRulesUsers(network, containerID)
	if err != nil {
		return err
	}
	if others {
		if claimed {
			if err := os.Remove(claim); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil
	}
	return m.uninstallLocked(ctx, network)
}

// otherRulesUsers reports whether a container other than id claims a
// network's rules or is attached to it.
func (m *Manager) otherRulesUsers(network, id string) (bool, error) {
	claims, err := os.ReadDir(m.rulesUsers(network))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	for _, c := range claims {
		if c.Name() != id {
			return true, nil
		}
	}
	atts, err := os.ReadDir(m.attachmentDir(network))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	for _, a := range atts {
		if name, ok := strings.CutSuffix(a.Name(), ".json"); ok && name != id && !strings.HasPrefix(name, ".") {
			return true, nil
		}
	}
	return false, nil
}

func linkExists(name string) bool {
	_, err := netlink.LinkByName(name)
	return err == nil
}

// installRules creates the chains the rules need and their jumps, and
// appends the rules that are missing: running it twice changes nothing.
// It reads the tables once (iptables-save) and makes every change in one
// iptables-restore --noflush: two runs, where a -C and an -A per rule
// took a dozen.
func (t ipTables) installRules(ctx context.Context, rules []ipRule) error {
	if _, err := t.cmds.LookPath("iptables"); err != nil {
		return err
	}
	saved, err := t.savedTables(ctx)
	if err != nil {
		return err
	}
	var script bytes.Buffer
	for _, table := range []string{"nat", "filter"} {
		var ours []ipRule
		for _, r := range rules {
			if r.Table == table {
				ours = append(ours, r)
			}
		}
		if len(ours) == 0 {
			continue
		}
		lines := saved[table]
		var cmds []string
		for _, c := range podbayChains {
			used := false
			for _, r := range ours {
				used = used || r.Chain == c.chain
			}
			if c.table != table || !used {
				continue
			}
			if !containsLine(lines, "-N "+c.chain) {
				cmds = append(cmds, ":"+c.chain+" - [0:0]")
			}
			if !hasRule(lines, c.from, c.jumpArgs()) {
				if c.first {
					cmds = append(cmds, "-I "+c.from+" 1 "+quoteArgs(c.jumpArgs()))
				} else {
					cmds = append(cmds, "-A "+c.from+" "+quoteArgs(c.jumpArgs()))
				}
			}
		}
		for _, r := range ours {
			if !hasRule(lines, r.Chain, r.Args) {
				cmds = append(cmds, "-A "+r.Chain+" "+quoteArgs(r.Args))
			}
		}
		writeTable(&script, table, cmds)
	}
	return t.restore(ctx, script.Bytes())
}

// hasRule: lines (iptables -S) hold rule args in chain.
func hasRule(lines []string, chain string, args []string) bool {
	for _, line := range lines {
		if !strings.HasPrefix(line, "-A "+chain+" ") {
			continue
		}
		if got := splitRule(line); len(got) > 2 && slices.Equal(got[2:], args) {
			return true
		}
	}
	return false
}

// writeTable adds one table's commands to an iptables-restore script.
func writeTable(b *bytes.Buffer, table string, cmds []string) {
	if len(cmds) == 0 {
		return
	}
	b.WriteString("*" + table + "\n")
	for _, c := range cmds {
		b.WriteString(c + "\n")
	}
	b.WriteString("COMMIT\n")
}

// restore applies script (nothing when empty) without flushing.
func (t ipTables) restore(ctx context.Context, script []byte) error {
	if len(script) == 0 {
		return nil
	}
	if _, err := t.run(ctx, script, "iptables-restore", "-w", "--noflush"); err != nil {
		return fmt.Errorf("%w (input:\n%s)", err, script)
	}
	return nil
}

// removeRules deletes a network's rules, its marker and its claims, and
// the PODBAY chains (with every jump to them) that are left empty, whoever
// claims them: for Remove and RemoveAll.
func (m *Manager) removeRules(ctx context.Context, network string) error {
	unlock, err := m.rulesLock()
	if err != nil {
		return err
	}
	defer unlock()
	return m.uninstallLocked(ctx, network)
}

// uninstallLocked, under the rules lock, deletes a network's rules and then
// its marker and claims. Nothing is run when no marker says the rules were
// ever installed from this runroot. A failed removal leaves the marker
// pending (the next Attach installs the rules again) and the claims.
func (m *Manager) uninstallLocked(ctx context.Context, network string) error {
	marker := m.rulesMarker(network)
	if marker != "" {
		if _, err := os.Stat(marker); err == nil {
			if err := writeFileAtomic(marker, []byte(pendingMarker)); err != nil {
				return err
			}
		} else if errors.Is(err, fs.ErrNotExist) {
			return removeClaims(m.rulesUsers(network))
		} else {
			return err
		}
	}
	if err := m.ipt.uninstallRules(ctx, networkComment(network)); err != nil {
		return fmt.Errorf("removing the iptables rules of network %q: %w", network, err)
	}
	if marker != "" {
		if err := os.Remove(marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return removeClaims(m.rulesUsers(network))
}

func removeClaims(dir string) error {
	if dir == "" {
		return nil
	}
	return os.RemoveAll(dir)
}

// uninstallRules deletes the rules of the PODBAY chains whose comment is
// comment; a chain left empty is deleted with the rules that jump to it.
// One iptables-save, then one iptables-restore.
func (t ipTables) uninstallRules(ctx context.Context, comment string) error {
	if !t.present() {
		return nil // no iptables, no rules
	}
	saved, err := t.savedTables(ctx)
	if err != nil {
		return err
	}
	var script bytes.Buffer
	for _, c := range podbayChains {
		lines := saved[c.table]
		if !containsLine(lines, "-N "+c.chain) {
			continue
		}
		var cmds []string
		others := 0
		for _, line := range lines {
			if !strings.HasPrefix(line, "-A "+c.chain+" ") {
				continue
			}
			if args := splitRule(line); ruleComment(args) == comment {
				cmds = append(cmds, "-D "+c.chain+" "+quoteArgs(args[2:]))
			} else {
				others++
			}
		}
		if others == 0 {
			// Nothing else left: drop every jump to the chain, then the chain.
			for _, line := range lines {
				if args := splitRule(line); strings.HasPrefix(line, "-A ") && jumpTarget(args) == c.chain {
					cmds = append(cmds, "-D "+args[1]+" "+quoteArgs(args[2:]))
				}
			}
			cmds = append(cmds, "-X "+c.chain)
		}
		writeTable(&script, c.table, cmds)
	}
	return t.restore(ctx, script.Bytes())
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// ruleComment is the --comment of a rule split by splitRule.
func ruleComment(args []string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--comment" {
			return args[i+1]
		}
	}
	return ""
}

// RemoveAll removes every network of the root as Remove with Force does
// (attachments, iptables rules, bridges, leases), and the rules and claims
// of networks whose record is already gone, for `system reset`.
func (m *Manager) RemoveAll(ctx context.Context) error {
	nets, err := m.list()
	if err != nil {
		return err
	}
	var errs []error
	known := map[string]bool{}
	for _, n := range nets {
		known[n.Name] = true
		errs = append(errs, m.Remove(ctx, n.Name, RemoveOptions{Force: true}))
	}
	if m.opts.Runroot != "" {
		entries, err := os.ReadDir(filepath.Join(m.opts.Runroot, "networks"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		for _, e := range entries {
			name, ok := strings.CutSuffix(e.Name(), ".rules")
			if !ok {
				name, ok = strings.CutSuffix(e.Name(), ".users")
			}
			if ok && !known[name] {
				known[name] = true
				errs = append(errs, m.removeRules(ctx, name))
			}
		}
	}
	return errors.Join(errs...)
}
