package quadlet

import (
	"net/netip"
	"path/filepath"
	"strings"
)

var networkKeys = []string{"NetworkName", "Subnet", "Gateway", "Internal", "Driver", "IPv6",
	"InterfaceName", "NetworkDeleteOnStop", "PodmanArgs", "GlobalArgs"}

// translateNetwork makes the oneshot service of a .network file: podbay
// network create --ignore, so that it succeeds when the network exists.
func translateNetwork(t *translation) {
	t.begin("Network", networkKeys, "oneshot", false)
	r := t.refs[filepath.Base(t.src.Path)]
	create := append(t.command("Network"), "network", "create", "--ignore")
	subnets := t.values("Network", "Subnet")
	if len(subnets) > 1 {
		t.errorf(subnets[1].Line, "Subnet= given twice: a podbay network has one subnet")
	}
	for _, e := range subnets {
		if _, err := netip.ParsePrefix(e.Value); err != nil {
			t.errorf(e.Line, "Subnet=%s: %v", e.Value, err)
		}
		create = append(create, "--subnet="+e.Value)
	}
	if e, ok := t.src.Lookup("Network", "Gateway"); ok && e.Value != "" {
		if _, err := netip.ParseAddr(e.Value); err != nil {
			t.errorf(e.Line, "Gateway=%s: %v", e.Value, err)
		}
		create = append(create, "--gateway="+e.Value)
	}
	if t.boolean("Network", "Internal", false) {
		create = append(create, "--internal")
	}
	t.oneOf("Network", "Driver", "bridge")
	if t.boolean("Network", "IPv6", false) {
		e, _ := t.src.Lookup("Network", "IPv6")
		t.errorf(e.Line, "IPv6=%s: podbay networks are IPv4", e.Value)
	}
	if e, ok := t.src.Lookup("Network", "InterfaceName"); ok && e.Value != "" {
		create = append(create, "--interface-name="+e.Value)
	}
	create = append(append(create, t.args("Network", "PodmanArgs")...), r.name)
	t.oneshot(create)
	if t.boolean("Network", "NetworkDeleteOnStop", false) {
		rm := append(t.command("Network"), "network", "rm", r.name)
		t.out.Add("Service", "ExecStopPost", "-"+commandLine(rm))
	}
}

var volumeKeys = []string{"VolumeName", "Label", "Driver", "PodmanArgs", "GlobalArgs"}

// translateVolume makes the oneshot service of a .volume file: podbay
// volume create --ignore.
func translateVolume(t *translation) {
	t.begin("Volume", volumeKeys, "oneshot", false)
	t.oneOf("Volume", "Driver", "local")
	r := t.refs[filepath.Base(t.src.Path)]
	create := append(t.command("Volume"), "volume", "create", "--ignore")
	create = append(append(append(create, t.labels("Volume")...), t.args("Volume", "PodmanArgs")...), r.name)
	t.oneshot(create)
}

// labels turns Label= (KEY=VALUE words) into --label flags.
func (t *translation) labels(section string) []string {
	var out []string
	for _, e := range t.values(section, "Label") {
		words, err := splitWords(e.Value)
		if err != nil {
			t.errorf(e.Line, "Label=%s: %v", e.Value, err)
			continue
		}
		for _, w := range words {
			if k, _, ok := strings.Cut(w, "="); !ok || k == "" {
				t.errorf(e.Line, "Label=%s: %q is not KEY=VALUE", e.Value, w)
				continue
			}
			out = append(out, "--label="+w)
		}
	}
	return out
}

// oneshot writes the [Service] of a unit that creates something once and
// counts as active after.
func (t *translation) oneshot(create []string) {
	t.setService("Type", "oneshot")
	t.setService("RemainAfterExit", "yes")
	t.setService("SyslogIdentifier", "%N")
	t.out.Add("Service", "ExecStart", commandLine(create))
}
