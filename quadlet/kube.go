package quadlet

import (
	"path"
	"regexp"
	"strconv"
	"strings"
)

var kubeKeys = []string{"Yaml", "ConfigMap", "PublishPort", "Network", "AutoUpdate", "ExitCodePropagation",
	"KubeDownForce", "SetWorkingDirectory", "UserNS", "PodmanArgs", "GlobalArgs"}

// Annotations of the auto-update policy (Podman's names): for every
// container, or for one (io.containers.autoupdate/<container>).
const AutoUpdateAnnotation = "io.containers.autoupdate"

// translateKube makes the service of a .kube file: podbay kube play
// --replace --service-container, whose process stays for the life of the
// pods and tells systemd when they are ready (Type=notify), and kube down
// after it, whatever ended it.
func translateKube(t *translation) {
	t.begin("Kube", kubeKeys, "notify", true, "mixed", "control-group")

	var yamls []string
	for _, e := range t.values("Kube", "Yaml") {
		yamls = append(yamls, t.path(e.Value))
	}
	if len(yamls) == 0 {
		t.errorf(sectionLine(t, "Kube"), "no Yaml= in [Kube]: name the Kubernetes YAML to play")
	}
	play := append(t.command("Kube"), "kube", "play", "--replace", "--service-container=true")
	if ecp := t.oneOf("Kube", "ExitCodePropagation", "all", "any", "none"); ecp != "" {
		play = append(play, "--service-exit-code-propagation="+ecp)
	}
	for _, e := range t.values("Kube", "ConfigMap") {
		play = append(play, "--configmap="+t.path(e.Value))
	}
	for _, e := range t.values("Kube", "PublishPort") {
		if err := checkPublish(e.Value); err != nil {
			t.errorf(e.Line, "PublishPort=%s: %v", e.Value, err)
		}
		play = append(play, "--publish="+e.Value)
	}
	play = append(play, t.kubeNetworks()...)
	if e, ok := t.src.Lookup("Kube", "UserNS"); ok && e.Value != "" {
		play = append(play, "--userns="+e.Value)
	}
	for _, e := range t.values("Kube", "AutoUpdate") {
		a, err := autoUpdateAnnotation(e.Value)
		if err != nil {
			t.errorf(e.Line, "AutoUpdate=%s: %v", e.Value, err)
		}
		play = append(play, "--annotation="+a)
	}
	play = append(append(play, t.args("Kube", "PodmanArgs")...), yamls...)

	down := append(t.command("Kube"), "kube", "down")
	if t.boolean("Kube", "KubeDownForce", false) {
		down = append(down, "--force")
	}
	down = append(down, yamls...)

	t.kubeWorkingDirectory(yamls)
	t.setService("KillMode", "mixed")
	t.out.Add("Service", "Environment", "PODBAY_SYSTEMD_UNIT=%n")
	t.setService("Type", "notify")
	t.out.Add("Service", "NotifyAccess", "all")
	t.setService("SyslogIdentifier", "%N")
	t.out.Add("Service", "ExecStart", commandLine(play))
	t.out.Add("Service", "ExecStopPost", commandLine(down))
}

// sectionLine is the line of a section, for errors about it.
func sectionLine(t *translation, section string) int {
	if ss := t.src.sections(section); len(ss) > 0 {
		return ss[0].Line
	}
	return 0
}

// kubeNetworks turns Network= into --network: a .network file's network
// (its service is required first), or a name, host or none as they are.
func (t *translation) kubeNetworks() []string {
	var names []string
	for _, e := range t.values("Kube", "Network") {
		if strings.HasSuffix(e.Value, ".network") {
			r, ok := t.refs[e.Value]
			if !ok {
				t.errorf(e.Line, "Network=%s: no such .network file", e.Value)
				continue
			}
			t.requireUnit(r.service)
			names = append(names, r.name)
			continue
		}
		names = append(names, e.Value)
	}
	if len(names) == 0 {
		return nil
	}
	return []string{"--network=" + strings.Join(names, ",")}
}

// kubeWorkingDirectory applies SetWorkingDirectory=: the YAML's directory
// or the unit file's.
func (t *translation) kubeWorkingDirectory(yamls []string) {
	e, _ := t.src.Lookup("Kube", "SetWorkingDirectory")
	switch t.oneOf("Kube", "SetWorkingDirectory", "yaml", "unit") {
	case "yaml":
		if len(yamls) != 1 {
			t.errorf(e.Line, "SetWorkingDirectory=yaml needs exactly one Yaml=")
			return
		}
		t.out.Add("Service", "WorkingDirectory", path.Dir(yamls[0]))
	case "unit":
		t.out.Add("Service", "WorkingDirectory", literal(path.Dir(t.src.Path)))
	}
}

var containerName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// autoUpdateAnnotation turns AutoUpdate=registry|local, or
// AutoUpdate=CONTAINER/registry|local, into the annotation kube play sets.
func autoUpdateAnnotation(v string) (string, error) {
	ctr, policy, one := strings.Cut(v, "/")
	if !one {
		ctr, policy = "", v
	}
	if policy != "registry" && policy != "local" {
		return "", errString("want registry or local, optionally after CONTAINER/")
	}
	if one {
		if !containerName.MatchString(ctr) {
			return "", errString("container name " + strconv.Quote(ctr) + " is not a DNS label")
		}
		return AutoUpdateAnnotation + "/" + ctr + "=" + policy, nil
	}
	return AutoUpdateAnnotation + "=" + policy, nil
}

type errString string

func (e errString) Error() string { return string(e) }

// checkPublish checks a port publication: [[IP:][HOSTPORT]:]CONTAINERPORT[/PROTOCOL].
func checkPublish(v string) error {
	spec, proto, hasProto := strings.Cut(v, "/")
	if hasProto && proto != "tcp" && proto != "udp" && proto != "sctp" {
		return errString("protocol " + strconv.Quote(proto) + ": want tcp, udp or sctp")
	}
	var ip string
	if strings.HasPrefix(spec, "[") {
		end := strings.Index(spec, "]:")
		if end < 0 {
			return errString("an IPv6 address in brackets must be followed by :")
		}
		ip, spec = spec[1:end], spec[end+2:]
		if ip == "" {
			return errString("empty IPv6 address")
		}
	}
	parts := strings.Split(spec, ":")
	if len(parts) > 3 || (ip != "" && len(parts) > 2) {
		return errString("want [[IP:][HOSTPORT]:]CONTAINERPORT[/PROTOCOL]")
	}
	if len(parts) == 3 && parts[0] == "" {
		return errString("empty IP address")
	}
	for i, p := range parts {
		last := i == len(parts)-1
		hostPort := i == len(parts)-2
		if (last || (hostPort && p != "")) && !validPort(p) {
			return errString("port " + strconv.Quote(p) + ": want 1-65535")
		}
	}
	return nil
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}
