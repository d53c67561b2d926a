package validate

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validatePod checks the pod-level fields against s, with OpenShift's messages.
func validatePod(s *scc, spec *corev1.PodSpec, env sccEnv, out *sccOutcome) {
	scPath := field.NewPath("spec", "securityContext")
	hostNS := []struct {
		on, allowed bool
		name, msg   string
	}{
		{spec.HostPID, s.AllowHostPID, "hostPID", "Host PID is not allowed to be used"},
		{spec.HostNetwork, s.AllowHostNetwork, "hostNetwork", "Host network is not allowed to be used"},
		{spec.HostIPC, s.AllowHostIPC, "hostIPC", "Host IPC is not allowed to be used"},
	}
	for _, h := range hostNS {
		if h.on && !h.allowed {
			out.rejectAt("host-namespaces", "spec."+h.name, field.Invalid(scPath.Child(h.name), true, h.msg))
		}
	}
	psc := spec.SecurityContext
	validateSELinux(s, scPath, psc.SELinuxOptions, env, out)
	validateGroups(s.FSGroup, scPath.Child("fsGroup"), fsGroups(psc), env, out, "fs-group")
	validateGroups(s.SupplementalGroups, scPath.Child("supplementalGroups"), psc.SupplementalGroups, env, out, "supplemental-groups")
	validateSeccomp(s, seccompSite{"spec.securityContext.seccompProfile", "seccomp.security.alpha.kubernetes.io/pod"}, psc.SeccompProfile, out)
	for i, sc := range psc.Sysctls {
		if s.AllowPrivileged || safeSysctls[sc.Name] {
			continue
		}
		out.reject("sysctls", field.Forbidden(scPath.Child("sysctls").Index(i), fmt.Sprintf("unsafe sysctl %q is not allowed", sc.Name)))
	}
	if slices.Contains(s.Volumes, "*") {
		return
	}
	for i, v := range spec.Volumes {
		t := volumeType(v.VolumeSource)
		if !slices.Contains(s.Volumes, t) {
			out.reject("volumes", field.Invalid(field.NewPath("spec", "volumes").Index(i), t, t+" volumes are not allowed to be used"))
		}
	}
}

func fsGroups(psc *corev1.PodSecurityContext) []int64 {
	if psc.FSGroup == nil {
		return nil
	}
	return []int64{*psc.FSGroup}
}

// validateContainer checks one container's effective security context and ports.
func validateContainer(s *scc, spec *corev1.PodSpec, c containerRef, env sccEnv, out *sccOutcome) {
	psc, sc := spec.SecurityContext, c.C.SecurityContext
	p := parsePath(c.Path).Child("securityContext")
	if sc.Privileged != nil && *sc.Privileged && !s.AllowPrivileged {
		out.reject("privileged", field.Invalid(p.Child("privileged"), true, "Privileged containers are not allowed"))
	}
	if !s.AllowPrivilegeEscalation && sc.AllowPrivilegeEscalation != nil && *sc.AllowPrivilegeEscalation {
		out.reject("allow-privilege-escalation", field.Invalid(p.Child("allowPrivilegeEscalation"), true,
			"Allowing privilege escalation for containers is not allowed"))
	}
	validateUser(s, p, psc, sc, env, out)
	validateSELinux(s, p, effectiveSELinux(psc, sc), env, out)
	validateCaps(s, p, sc.Capabilities, out)
	validateSeccomp(s, seccompSite{c.Path + ".securityContext.seccompProfile", "container.seccomp.security.alpha.kubernetes.io/" + c.C.Name},
		effectiveSeccomp(psc, sc), out)
	for i, port := range c.C.Ports {
		if port.HostPort > 0 && !s.AllowHostPorts {
			out.reject("host-ports", field.Invalid(parsePath(c.Path).Child("ports").Index(i).Child("hostPort"), port.HostPort,
				"Host ports are not allowed to be used"))
		}
	}
}

func validateUser(s *scc, p *field.Path, psc *corev1.PodSecurityContext, sc *corev1.SecurityContext, env sccEnv, out *sccOutcome) {
	uid := effectiveUser(psc, sc)
	// at is where the offending value is written: the container, or the pod it inherits from.
	at := func(name string) string {
		if (name == "runAsUser" && sc.RunAsUser == nil && psc.RunAsUser != nil) ||
			(name == "runAsNonRoot" && sc.RunAsNonRoot == nil && psc.RunAsNonRoot != nil) {
			return "spec.securityContext." + name
		}
		return p.Child(name).String()
	}
	switch s.RunAsUser {
	case mustRunAsRange:
		if uid == nil {
			out.reject("run-as-user", field.Required(p.Child("runAsUser"), ""))
		} else if *uid < env.UIDs.Min || *uid > env.UIDs.Max() {
			out.rejectAt("run-as-user", at("runAsUser"), field.Invalid(p.Child("runAsUser"), *uid,
				fmt.Sprintf("must be in the ranges: [%d, %d]", env.UIDs.Min, env.UIDs.Max())))
		}
	case mustRunAsNonRoot:
		nonRoot := effectiveNonRoot(psc, sc)
		switch {
		case nonRoot == nil && uid == nil:
			out.reject("run-as-user", field.Required(p.Child("runAsNonRoot"), "must be true"))
		case nonRoot != nil && !*nonRoot:
			out.rejectAt("run-as-user", at("runAsNonRoot"), field.Invalid(p.Child("runAsNonRoot"), false, "must be true"))
		case uid != nil && *uid == 0:
			out.rejectAt("run-as-user", at("runAsUser"), field.Invalid(p.Child("runAsUser"), int64(0), "running with the root UID is forbidden"))
		}
	}
}

func validateSELinux(s *scc, p *field.Path, opts *corev1.SELinuxOptions, env sccEnv, out *sccOutcome) {
	if s.SELinux != mustRunAs {
		return
	}
	f := p.Child("seLinuxOptions")
	if opts == nil {
		out.reject("selinux", field.Required(f, ""))
		return
	}
	if !equalLevels(env.MCS, opts.Level) {
		out.reject("selinux", field.Invalid(f.Child("level"), opts.Level, "must be "+env.MCS))
	}
	for _, kv := range [][2]string{{"role", opts.Role}, {"type", opts.Type}, {"user", opts.User}} {
		if kv[1] != "" {
			out.reject("selinux", field.Invalid(f.Child(kv[0]), kv[1], "must be "))
		}
	}
}

// equalLevels compares SELinux levels ignoring the order of categories.
func equalLevels(want, got string) bool {
	if want == got {
		return true
	}
	ws, wc, _ := strings.Cut(want, ":")
	gs, gc, _ := strings.Cut(got, ":")
	a, b := strings.Split(wc, ","), strings.Split(gc, ",")
	slices.Sort(a)
	slices.Sort(b)
	return ws == gs && slices.Equal(a, b)
}

func validateGroups(strategy string, p *field.Path, groups []int64, env sccEnv, out *sccOutcome, rule string) {
	if strategy != mustRunAs {
		return
	}
	if len(groups) == 0 {
		out.reject(rule, field.Invalid(p, groups, "unable to validate empty groups against required ranges"))
	}
	for _, g := range groups {
		if g < env.UIDs.Min || g > env.UIDs.Max() {
			out.reject(rule, field.Invalid(p, groups, fmt.Sprintf("%d is not an allowed group", g)))
		}
	}
}

func validateCaps(s *scc, p *field.Path, caps *corev1.Capabilities, out *sccOutcome) {
	if caps == nil {
		if len(s.RequiredDrop) > 0 {
			out.reject("capabilities", field.Invalid(p.Child("capabilities"), caps, "required capabilities are not set on the securityContext"))
		}
		return
	}
	if slices.Contains(s.AllowedCaps, "*") {
		return
	}
	for _, c := range caps.Add {
		if !slices.Contains(s.AllowedCaps, c) {
			out.reject("capabilities", field.Invalid(p.Child("capabilities", "add"), string(c), "capability may not be added"))
		}
	}
	for _, d := range s.RequiredDrop {
		if !slices.Contains(caps.Drop, d) {
			out.reject("capabilities", field.Invalid(p.Child("capabilities", "drop"), caps.Drop,
				fmt.Sprintf("%s is required to be dropped but was not found", d)))
		}
	}
}

// seccompSite is where a seccomp profile is set and the legacy annotation
// OpenShift names in its message.
type seccompSite struct {
	Field, Annotation string
}

func validateSeccomp(s *scc, site seccompSite, prof *corev1.SeccompProfile, out *sccOutcome) {
	name := seccompName(prof)
	p := field.NewPath("pod", "metadata", "annotations").Key(site.Annotation)
	switch {
	case slices.Contains(s.SeccompProfiles, "*"):
	case len(s.SeccompProfiles) == 0:
		if name != "" {
			out.rejectAt("seccomp", site.Field, field.Forbidden(p, "seccomp may not be set"))
		}
	case name == "runtime/default" || name == "docker/default":
		if !slices.Contains(s.SeccompProfiles, "runtime/default") && !slices.Contains(s.SeccompProfiles, "docker/default") {
			out.rejectAt("seccomp", site.Field, seccompForbidden(p, name, s.SeccompProfiles))
		}
	case !slices.Contains(s.SeccompProfiles, name):
		out.rejectAt("seccomp", site.Field, seccompForbidden(p, name, s.SeccompProfiles))
	}
}

func seccompForbidden(p *field.Path, name string, allowed []string) *field.Error {
	return field.Forbidden(p, fmt.Sprintf("%s is not an allowed seccomp profile. Valid values are %v", name, allowed))
}

// safeSysctls are the namespaced sysctls OpenShift (like the kubelet) allows every pod.
var safeSysctls = map[string]bool{
	"kernel.shm_rmid_forced": true, "net.ipv4.ip_local_port_range": true, "net.ipv4.tcp_syncookies": true,
	"net.ipv4.ping_group_range": true, "net.ipv4.ip_unprivileged_port_start": true,
	"net.ipv4.tcp_keepalive_time": true, "net.ipv4.tcp_fin_timeout": true,
	"net.ipv4.tcp_keepalive_intvl": true, "net.ipv4.tcp_keepalive_probes": true,
}

// parsePath turns "spec.containers[0]" back into a field.Path.
func parsePath(s string) *field.Path {
	var p *field.Path
	for _, part := range strings.Split(s, ".") {
		name, idx, hasIdx := strings.Cut(part, "[")
		if p == nil {
			p = field.NewPath(name)
		} else {
			p = p.Child(name)
		}
		if hasIdx {
			p = p.Key(strings.TrimSuffix(idx, "]"))
		}
	}
	return p
}
