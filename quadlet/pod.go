package quadlet

import "sort"

var podKeys = []string{"PodName", "PublishPort", "Network", "HostName", "AddHost", "DNS", "DNSSearch", "DNSOption",
	"Label", "PodmanArgs", "GlobalArgs"}

// translatePod makes the service of a .pod file: the pod is created
// (--replace) and its infra started, then the service stays active; the
// containers whose .container files name it are wanted by it, start after
// it and are bound to it. Stopping it stops them first, then removes the
// pod.
func translatePod(t *translation) {
	t.begin("Pod", podKeys, "oneshot", true)
	r := t.refs[baseName(t.src.Path)]
	create := append(t.command("Pod"), "pod", "create", "--replace", "--name="+r.name)
	for _, e := range t.values("Pod", "PublishPort") {
		if err := checkPublish(e.Value); err != nil {
			t.errorf(e.Line, "PublishPort=%s: %v", e.Value, err)
		}
		create = append(create, "--publish="+e.Value)
	}
	create = append(create, t.podNetwork()...)
	for _, kf := range [][2]string{{"AddHost", "--add-host="}, {"DNS", "--dns="}, {"DNSSearch", "--dns-search="}, {"DNSOption", "--dns-option="}} {
		for _, e := range t.values("Pod", kf[0]) {
			create = append(create, kf[1]+e.Value)
		}
	}
	if e, ok := t.src.Lookup("Pod", "HostName"); ok && e.Value != "" {
		create = append(create, "--hostname="+e.Value)
	}
	create = append(append(create, t.labels("Pod")...), t.args("Pod", "PodmanArgs")...)
	members := t.members[baseName(t.src.Path)]
	sort.Strings(members)
	for _, m := range members {
		t.out.Add("Unit", "Wants", m)
		t.out.Add("Unit", "Before", m)
	}
	t.setService("Type", "oneshot")
	t.setService("RemainAfterExit", "yes")
	t.setService("KillMode", "mixed")
	t.out.Add("Service", "Environment", "PODBAY_SYSTEMD_UNIT=%n")
	t.setService("SyslogIdentifier", "%N")
	rm := commandLine(append(t.command("Pod"), "pod", "rm", "--force", "--ignore", r.name))
	t.out.Add("Service", "ExecStartPre", commandLine(create))
	t.out.Add("Service", "ExecStart", commandLine(append(t.command("Pod"), "pod", "start", r.name)))
	t.out.Add("Service", "ExecStop", rm)
	t.out.Add("Service", "ExecStopPost", "-"+rm)
}

// podNetwork is --network: one network (a .network file's, whose service
// is required first), host or none.
func (t *translation) podNetwork() []string {
	nets := t.values("Pod", "Network")
	if len(nets) == 0 {
		return nil
	}
	if len(nets) > 1 {
		t.errorf(nets[1].Line, "Network= given twice: a podbay pod joins one network")
	}
	e := nets[0]
	if r, ok := t.refs[e.Value]; ok && hasExt(e.Value, ".network") {
		t.requireUnit(r.service)
		return []string{"--network=" + r.name}
	}
	if hasExt(e.Value, ".network") {
		t.errorf(e.Line, "Network=%s: no such .network file", e.Value)
	}
	return []string{"--network=" + e.Value}
}
