package network

import (
	"bytes"
	"context"
	"crypto/sha512"
	"errors"
	"fmt"
	"strings"

	"github.com/podbay/podbay/internal/cmdexec"
)

// sharedChains are created by the plugins for every container; they are
// never removed for one container.
var sharedChains = map[string]bool{
	"CNI-HOSTPORT-DNAT": true, "CNI-HOSTPORT-SNAT": true, "CNI-HOSTPORT-MASQ": true,
	"CNI-HOSTPORT-SETMARK": true, "CNI-FORWARD": true, "CNI-ADMIN": true,
}

// ipTables runs the iptables tools through a cmdexec.Runner: the host's,
// or in tests a fake that records the commands.
type ipTables struct{ cmds cmdexec.Runner }

// present reports whether iptables is installed: without it there are no
// rules to remove.
func (t ipTables) present() bool {
	_, err := t.cmds.LookPath("iptables")
	return err == nil
}

// sweepIPTables removes every iptables rule whose comment names containerID
// (portmap DNAT; the bridge plugin's masquerade of attachments made by an
// older podbay, with ipMasq) and the per-container chains they jump to. The
// bridge plugin cannot remove its masquerade chain once the namespace is
// gone; this catches that and any half-done ADD.
func (t ipTables) sweepIPTables(ctx context.Context, containerID string) error {
	if !t.present() {
		return nil // no iptables, no rules
	}
	var errs []error
	for _, table := range []string{"nat", "filter"} {
		errs = append(errs, t.sweepTable(ctx, table, containerID))
	}
	return errors.Join(errs...)
}

func (t ipTables) sweepTable(ctx context.Context, table, containerID string) error {
	out, err := t.iptables(ctx, "-t", table, "-S")
	if err != nil {
		return err
	}
	marker := fmt.Sprintf(`id: \"%s\"`, containerID)
	chains := map[string]bool{}
	var errs []error
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "-A ") || !strings.Contains(line, marker) {
			continue
		}
		args := splitRule(line)
		if len(args) < 2 {
			continue
		}
		if t := jumpTarget(args); strings.HasPrefix(t, "CNI-") && !sharedChains[t] {
			chains[t] = true
		}
		args[0] = "-D"
		if _, err := t.iptables(ctx, append([]string{"-t", table}, args...)...); err != nil {
			errs = append(errs, err)
		}
	}
	for c := range chains {
		errs = append(errs, t.deleteChain(ctx, table, c))
	}
	return errors.Join(errs...)
}

// deleteChain flushes and deletes chain of table.
func (t ipTables) deleteChain(ctx context.Context, table, chain string) error {
	if _, err := t.iptables(ctx, "-t", table, "-F", chain); err != nil {
		return err
	}
	_, err := t.iptables(ctx, "-t", table, "-X", chain)
	return err
}

// iptables runs `iptables -w args`, returning its output.
func (t ipTables) iptables(ctx context.Context, args ...string) ([]byte, error) {
	return t.run(ctx, nil, "iptables", append([]string{"-w"}, args...)...)
}

// run runs one of the iptables tools, stdin (if any) as its input; an
// error names the command and carries the tool's own message.
func (t ipTables) run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	c := &cmdexec.Cmd{Path: name, Args: args}
	if stdin != nil {
		c.Stdin = bytes.NewReader(stdin)
	}
	return cmdexec.Output(ctx, t.cmds, c)
}

// RunIPTables runs one of the iptables tools (iptables, iptables-save,
// iptables-restore) on the host, stdin (if any) as its input;
// an error carries the tool's own message.
func RunIPTables(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	return ipTables{cmds: cmdexec.Host{}}.run(ctx, stdin, name, args...)
}

func jumpTarget(args []string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-j" || args[i] == "-g" {
			return args[i+1]
		}
	}
	return ""
}

// splitRule splits one line of `iptables -S` into arguments: words, with
// double-quoted strings in which \" and \\ are escapes.
func splitRule(line string) []string {
	var args []string
	var cur strings.Builder
	inQuote, have := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && inQuote && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == '"':
			inQuote, have = !inQuote, true
		case c == ' ' && !inQuote:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return args
}

// sweepAddressRules deletes the filter rules of the CNI chains that match one
// of ips exactly (-s or -d IP/32): the firewall plugin's, which name no
// container.
func (t ipTables) sweepAddressRules(ctx context.Context, ips []string) error {
	if len(ips) == 0 || !t.present() {
		return nil
	}
	out, err := t.iptables(ctx, "-t", "filter", "-S")
	if err != nil {
		return err
	}
	var errs []error
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "-A CNI-") {
			continue
		}
		for _, ip := range ips {
			if strings.Contains(line, " -d "+ip+"/32 ") || strings.Contains(line, " -s "+ip+"/32 ") {
				args := splitRule(line)
				args[0] = "-D"
				if _, err := t.iptables(ctx, append([]string{"-t", "filter"}, args...)...); err != nil {
					errs = append(errs, err)
				}
				break
			}
		}
	}
	return errors.Join(errs...)
}

// pluginChains are the per-container chains the bridge (masquerade, with
// the ipMasq of an older podbay) and portmap plugins name after the network
// and container:
// "CNI-" + prefix + sha512(network+id), cut to 28 characters, as the
// plugins' utils.MustFormatChainNameWithPrefix does.
func pluginChains(network, containerID string) map[string][]string {
	name := func(prefix string) string {
		sum := sha512.Sum512([]byte(network + containerID))
		return fmt.Sprintf("CNI-%s%x", prefix, sum)[:28]
	}
	return map[string][]string{"nat": {name(""), name("DN-")}}
}

// sweepPluginChains deletes those chains when a killed DEL left them with
// no rule pointing at them (so no comment names the container any more).
func (t ipTables) sweepPluginChains(ctx context.Context, network, containerID string) error {
	if !t.present() {
		return nil
	}
	var errs []error
	for table, chains := range pluginChains(network, containerID) {
		out, err := t.iptables(ctx, "-t", table, "-S")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, c := range chains {
			if strings.Contains(string(out), "-N "+c+"\n") {
				errs = append(errs, t.deleteChain(ctx, table, c))
			}
		}
	}
	return errors.Join(errs...)
}

// savedTables reads every table in one iptables-save run and returns each
// table's lines as `iptables -t TABLE -S` prints them: "-N CHAIN" for a
// chain that is not built in, "-A CHAIN ARGS" for a rule (iptables-save
// writes rules as -S does). A table iptables-save does not list has no
// entry. One run where -S takes one per table: the first Attach and the
// last Detach of a network read the nat and filter tables.
func (t ipTables) savedTables(ctx context.Context) (map[string][]string, error) {
	out, err := t.run(ctx, nil, "iptables-save")
	if err != nil {
		return nil, err
	}
	return parseSave(string(out)), nil
}

// parseSave turns iptables-save output into savedTables' lines: "*TABLE"
// opens a table; ":CHAIN POLICY [COUNTERS]" declares a chain, whose policy
// is "-" unless it is built in; comments and COMMIT are left out.
func parseSave(out string) map[string][]string {
	tables := map[string][]string{}
	table := ""
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "*"):
			table = line[1:]
			tables[table] = []string{}
		case table == "":
		case strings.HasPrefix(line, ":"):
			if f := strings.Fields(line[1:]); len(f) >= 2 && f[1] == "-" {
				tables[table] = append(tables[table], "-N "+f[0])
			}
		case strings.HasPrefix(line, "-A "):
			tables[table] = append(tables[table], line)
		}
	}
	return tables
}
