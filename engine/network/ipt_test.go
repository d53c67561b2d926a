package network

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/podbay/podbay/internal/cmdexec/cmdexectest"
)

// Listings of `iptables -S` for the tests: the built-in chains, then what
// podbay installs for network n1 (bridge pbt1, subnet 10.203.1.0/24).
const (
	natEmpty = "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n"
	natJump  = `-A POSTROUTING -m comment --comment "podbay network rules" -j PODBAY-POSTROUTING` + "\n"
	natRet   = `-A PODBAY-POSTROUTING -s 10.203.1.0/24 -d 224.0.0.0/4 -m comment --comment "podbay network n1" -j RETURN` + "\n"
	natMasq  = `-A PODBAY-POSTROUTING -s 10.203.1.0/24 ! -d 10.203.1.0/24 -m comment --comment "podbay network n1" -j MASQUERADE` + "\n"
	natHalf  = natEmpty + "-N PODBAY-POSTROUTING\n" + natJump + natRet // a process killed half way
	natN1    = natHalf + natMasq

	filterEmpty = "-P INPUT ACCEPT\n-P FORWARD DROP\n-P OUTPUT ACCEPT\n"
	filterN1    = filterEmpty + "-N PODBAY-FORWARD\n" +
		`-A FORWARD -m comment --comment "podbay network rules" -j PODBAY-FORWARD` + "\n" +
		`-A PODBAY-FORWARD -i pbt1 -m comment --comment "podbay network n1" -j ACCEPT` + "\n" +
		`-A PODBAY-FORWARD -o pbt1 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "podbay network n1" -j ACCEPT` + "\n"
	filterOther = `-A PODBAY-FORWARD -i pbt2 -m comment --comment "podbay network n2" -j ACCEPT` + "\n"
)

// iptablesFake answers `iptables -S` of nat and filter with the listings,
// and fails the commands of fail.
func iptablesFake(nat, filter string, fail ...cmdexectest.Reply) *cmdexectest.Fake {
	return &cmdexectest.Fake{Replies: append(fail,
		cmdexectest.Reply{Prefix: "iptables -w -t nat -S", Stdout: nat},
		cmdexectest.Reply{Prefix: "iptables -w -t filter -S", Stdout: filter})}
}

const (
	readNat    = "iptables -w -t nat -S"
	readFilter = "iptables -w -t filter -S"
	restore    = "iptables-restore -w --noflush"
)

// TestRulesCommandSequence: the commands that install and remove a
// network's rules: one `iptables -S` per table, then one
// `iptables-restore --noflush` with what is missing (or must go), and none
// at all once a marker says the rules are in place.
func TestRulesCommandSequence(t *testing.T) {
	ctx := context.Background()
	m := newUnitManager(t)
	n := &Network{Name: "n1", Bridge: "pbt1", Subnet: "10.203.1.0/24", Gateway: "10.203.1.1"}
	steps := []struct {
		name     string
		fake     *cmdexectest.Fake
		do       func() error
		lines    []string
		script   string // iptables-restore's input
		errorHas string
	}{
		{name: "first claim installs everything", fake: iptablesFake(natEmpty, filterEmpty),
			do:    func() error { return m.claimRules(ctx, n, "a", false) },
			lines: []string{readNat, readFilter, restore},
			script: "*nat\n:PODBAY-POSTROUTING - [0:0]\n" +
				natJump + natRet + natMasq +
				"COMMIT\n*filter\n:PODBAY-FORWARD - [0:0]\n" +
				`-I FORWARD 1 -m comment --comment "podbay network rules" -j PODBAY-FORWARD` + "\n" +
				`-A PODBAY-FORWARD -i pbt1 -m comment --comment "podbay network n1" -j ACCEPT` + "\n" +
				`-A PODBAY-FORWARD -o pbt1 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "podbay network n1" -j ACCEPT` + "\n" +
				"COMMIT\n"},
		{name: "steady state runs nothing", fake: iptablesFake(natN1, filterN1),
			do: func() error { return m.claimRules(ctx, n, "b", true) }},
		{name: "bridge gone: rules checked, none missing", fake: iptablesFake(natN1, filterN1),
			do:    func() error { return m.claimRules(ctx, n, "c", false) },
			lines: []string{readNat, readFilter}},
		{name: "half installed: the missing rule alone",
			fake:   iptablesFake(natHalf, filterN1),
			do:     func() error { return m.claimRules(ctx, n, "d", false) },
			lines:  []string{readNat, readFilter, restore},
			script: "*nat\n" + natMasq + "COMMIT\n"},
		{name: "reading a table fails",
			fake:     iptablesFake(natEmpty, filterEmpty, cmdexectest.Reply{Prefix: readNat, Stderr: "iptables: Permission denied (you must be root).", Exit: 4}),
			do:       func() error { return m.claimRules(ctx, n, "e", false) },
			lines:    []string{readNat},
			errorHas: `installing the iptables rules of network "n1": iptables -w -t nat -S: exit status 4: iptables: Permission denied (you must be root).`},
		{name: "restore fails", fake: iptablesFake(natEmpty, filterN1, cmdexectest.Reply{Prefix: restore, Stderr: "line 2 failed", Exit: 1}),
			do:    func() error { return m.claimRules(ctx, n, "f", false) },
			lines: []string{readNat, readFilter, restore},
			script: "*nat\n:PODBAY-POSTROUTING - [0:0]\n" +
				natJump + natRet + natMasq +
				"COMMIT\n",
			errorHas: "iptables-restore -w --noflush: exit status 1: line 2 failed (input:\n*nat\n"},
		{name: "a release while others claim runs nothing", fake: iptablesFake(natN1, filterN1),
			do: func() error { return m.releaseRules(ctx, n.Name, "a", true) }},
		{name: "the last release removes the rules, and the chains left empty", fake: iptablesFake(natN1, filterN1+filterOther),
			do: func() error {
				for _, id := range []string{"b", "c", "d", "e"} {
					if err := m.releaseRules(ctx, n.Name, id, true); err != nil {
						return err
					}
				}
				return m.releaseRules(ctx, n.Name, "f", true)
			},
			lines: []string{readNat, readFilter, restore},
			script: "*nat\n" +
				`-D PODBAY-POSTROUTING -s 10.203.1.0/24 -d 224.0.0.0/4 -m comment --comment "podbay network n1" -j RETURN` + "\n" +
				`-D PODBAY-POSTROUTING -s 10.203.1.0/24 ! -d 10.203.1.0/24 -m comment --comment "podbay network n1" -j MASQUERADE` + "\n" +
				`-D POSTROUTING -m comment --comment "podbay network rules" -j PODBAY-POSTROUTING` + "\n" +
				"-X PODBAY-POSTROUTING\nCOMMIT\n*filter\n" +
				`-D PODBAY-FORWARD -i pbt1 -m comment --comment "podbay network n1" -j ACCEPT` + "\n" +
				`-D PODBAY-FORWARD -o pbt1 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "podbay network n1" -j ACCEPT` + "\n" +
				"COMMIT\n"},
	}
	for _, st := range steps {
		m.ipt = ipTables{cmds: st.fake}
		err := st.do()
		if st.errorHas == "" && err != nil || st.errorHas != "" && (err == nil || !strings.Contains(err.Error(), st.errorHas)) {
			t.Fatalf("%s: error %v, want %q", st.name, err, st.errorHas)
		}
		if got := st.fake.Lines(); !slices.Equal(got, st.lines) {
			t.Fatalf("%s: ran\n%s\nwant\n%s", st.name, strings.Join(got, "\n"), strings.Join(st.lines, "\n"))
		}
		script := ""
		for _, c := range st.fake.Calls() {
			script += c.Stdin
		}
		if script != st.script {
			t.Fatalf("%s: iptables-restore input\n%s\nwant\n%s", st.name, script, st.script)
		}
	}
}

// TestNoIPTables: without iptables installed, removing rules and sweeping
// run nothing and succeed; installing fails, naming the tool.
func TestNoIPTables(t *testing.T) {
	ctx := context.Background()
	f := &cmdexectest.Fake{Paths: map[string]string{}}
	ipt := ipTables{cmds: f}
	if err := ipt.uninstallRules(ctx, networkComment("n1")); err != nil {
		t.Errorf("uninstallRules: %v", err)
	}
	if err := ipt.sweep(ctx, allSweeps, "n1", "c1", []string{"10.203.1.5"}); err != nil {
		t.Errorf("sweep: %v", err)
	}
	n := &Network{Name: "n1", Bridge: "pbt1", Subnet: "10.203.1.0/24", Gateway: "10.203.1.1"}
	if err := ipt.installRules(ctx, networkRules(n)); err == nil || !strings.Contains(err.Error(), "iptables") {
		t.Errorf("installRules: %v, want an error naming iptables", err)
	}
	if got := f.Lines(); len(got) != 0 {
		t.Errorf("ran %q without iptables", got)
	}
}
