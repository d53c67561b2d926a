package quadlet

import (
	"strconv"
	"strings"
)

var containerKeys = []string{"Image", "Exec", "ContainerName", "Environment", "Volume", "Network", "Pod", "User", "Group",
	"WorkingDir", "Label", "AutoUpdate", "ReadOnly", "AddCapability", "DropCapability", "NoNewPrivileges",
	"SeccompProfile", "HostName", "Entrypoint", "StopTimeout", "StopSignal", "Pull", "Notify", "PodmanArgs", "GlobalArgs"}

// translateContainer makes the service of a .container file: podbay run
// in the foreground (--replace --rm --sdnotify=conmon), the service's main
// process for the container's life, ready once it runs; a container in a
// pod (Pod=) runs in the .pod file's pod and is bound to its service.
func translateContainer(t *translation) {
	if e, ok := t.src.Lookup("Container", "PublishPort"); ok {
		t.errorf(e.Line, "PublishPort= in [Container]: podbay publishes the ports of pods: put it in a .pod file and Pod= here")
	}
	t.begin("Container", append(containerKeys, "PublishPort"), "notify", true, "mixed", "control-group")
	image, ok := t.src.Lookup("Container", "Image")
	if !ok || image.Value == "" {
		t.errorf(sectionLine(t, "Container"), "no Image= in [Container]")
	}
	name := "systemd-%N"
	if e, ok := t.src.Lookup("Container", "ContainerName"); ok && e.Value != "" {
		name = e.Value
	}
	run := append(t.command("Container"), "run", "--name="+name, "--replace", "--rm")
	switch t.oneOf("Container", "Notify", "false", "no", "0", "true", "yes", "1", "healthy") {
	case "", "false", "no", "0":
		run = append(run, "--sdnotify=conmon")
	default:
		e, _ := t.src.Lookup("Container", "Notify")
		t.errorf(e.Line, "Notify=%s: a container cannot notify systemd itself under podbay; the service is ready once it runs", e.Value)
	}
	run = append(run, t.containerPlacement()...)
	run = append(run, t.containerFlags()...)
	run = append(append(run, t.args("Container", "PodmanArgs")...), image.Value)
	run = append(run, t.args("Container", "Exec")...)

	t.setService("KillMode", "mixed")
	t.out.Add("Service", "Environment", "PODBAY_SYSTEMD_UNIT=%n")
	t.setService("Type", "notify")
	t.out.Add("Service", "NotifyAccess", "all")
	t.setService("SyslogIdentifier", "%N")
	// A container stopped by SIGTERM exits 143 when it does not handle it.
	t.setService("SuccessExitStatus", "143")
	t.out.Add("Service", "ExecStart", commandLine(run))
	t.out.Add("Service", "ExecStopPost", "-"+commandLine(append(t.command("Container"), "rm", "--force", "--ignore", name)))
}

// containerPlacement is where the container runs: in a .pod file's pod
// (its service bound), or on the host's network or none.
func (t *translation) containerPlacement() []string {
	e, inPod := t.src.Lookup("Container", "Pod")
	net, hasNet := t.src.Lookup("Container", "Network")
	switch {
	case inPod && hasNet:
		t.errorf(net.Line, "Network= with Pod=: the container uses its pod's network")
	case hasNet && net.Value != "host" && net.Value != "none":
		t.errorf(net.Line, "Network=%s: a podbay container outside a pod has the host's network or none; put it in a .pod file's pod for %s", net.Value, net.Value)
	case hasNet:
		return []string{"--network=" + net.Value}
	case inPod:
		r, ok := t.refs[e.Value]
		if !strings.HasSuffix(e.Value, ".pod") || !ok {
			t.errorf(e.Line, "Pod=%s: no such .pod file", e.Value)
			return nil
		}
		t.out.Add("Unit", "BindsTo", r.service)
		t.out.Add("Unit", "After", r.service)
		return []string{"--pod=" + r.name}
	}
	return nil
}

// containerFlags translates the container's settings into run's flags.
func (t *translation) containerFlags() []string {
	var out []string
	for _, e := range t.values("Container", "Environment") {
		words, err := splitWords(e.Value)
		if err != nil {
			t.errorf(e.Line, "Environment=%s: %v", e.Value, err)
		}
		for _, w := range words {
			out = append(out, "--env="+w)
		}
	}
	for _, e := range t.values("Container", "Volume") {
		out = append(out, "--volume="+t.volume(e))
	}
	out = append(out, t.containerUser()...)
	for _, kf := range [][2]string{{"WorkingDir", "--workdir="}, {"HostName", "--hostname="}, {"Entrypoint", "--entrypoint="},
		{"StopSignal", "--stop-signal="}} {
		if e, ok := t.src.Lookup("Container", kf[0]); ok && e.Value != "" {
			out = append(out, kf[1]+e.Value)
		}
	}
	if e, ok := t.src.Lookup("Container", "StopTimeout"); ok {
		if n, err := strconv.ParseUint(e.Value, 10, 32); err != nil {
			t.errorf(e.Line, "StopTimeout=%s: want a number of seconds", e.Value)
		} else {
			out = append(out, "--stop-timeout="+strconv.FormatUint(n, 10))
		}
	}
	if p := t.oneOf("Container", "Pull", "always", "missing", "never"); p != "" {
		out = append(out, "--pull="+p)
	}
	out = append(out, t.labels("Container")...)
	if e, ok := t.src.Lookup("Container", "AutoUpdate"); ok {
		if e.Value != "registry" && e.Value != "local" {
			t.errorf(e.Line, "AutoUpdate=%s: want registry or local", e.Value)
		}
		out = append(out, "--label="+AutoUpdateAnnotation+"="+e.Value)
	}
	return append(out, t.containerSecurity()...)
}

// containerSecurity: capabilities, a read-only root, no new privileges,
// seccomp.
func (t *translation) containerSecurity() []string {
	var out []string
	for _, kf := range [][2]string{{"AddCapability", "--cap-add="}, {"DropCapability", "--cap-drop="}} {
		for _, e := range t.values("Container", kf[0]) {
			for _, c := range strings.Fields(e.Value) {
				out = append(out, kf[1]+c)
			}
		}
	}
	if t.boolean("Container", "ReadOnly", false) {
		out = append(out, "--read-only")
	}
	if t.boolean("Container", "NoNewPrivileges", false) {
		out = append(out, "--security-opt=no-new-privileges")
	}
	if e, ok := t.src.Lookup("Container", "SeccompProfile"); ok {
		if e.Value != "unconfined" {
			t.errorf(e.Line, "SeccompProfile=%s: podbay takes unconfined or, without the key, its default profile", e.Value)
		}
		out = append(out, "--security-opt=seccomp=unconfined")
	}
	return out
}

// containerUser is --user from User= and Group=.
func (t *translation) containerUser() []string {
	u, hasUser := t.src.Lookup("Container", "User")
	g, hasGroup := t.src.Lookup("Container", "Group")
	switch {
	case hasGroup && !hasUser:
		t.errorf(g.Line, "Group= needs User=")
	case hasGroup:
		return []string{"--user=" + u.Value + ":" + g.Value}
	case hasUser:
		return []string{"--user=" + u.Value}
	}
	return nil
}

// volume is a --volume value: SRC:DST[:OPTIONS], where SRC is a .volume
// file's volume (its service required first), a path (relative to the
// file's directory when it starts with .), or a named volume.
func (t *translation) volume(e Entry) string {
	src, rest, ok := strings.Cut(e.Value, ":")
	if !ok || src == "" || rest == "" {
		t.errorf(e.Line, "Volume=%s: want SOURCE:DESTINATION[:OPTIONS]", e.Value)
		return e.Value
	}
	switch {
	case strings.HasSuffix(src, ".volume"):
		r, known := t.refs[src]
		if !known {
			t.errorf(e.Line, "Volume=%s: no such .volume file", e.Value)
			return e.Value
		}
		t.requireUnit(r.service)
		src = r.name
	case strings.HasPrefix(src, "."):
		src = t.path(src)
	}
	return src + ":" + rest
}
