package validate

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// sccChange is one silent change an SCC makes to a pod; Path is relative to the pod.
type sccChange struct {
	Rule, Path, Message string
}

// sccError is one reason an SCC rejects a pod, in OpenShift's words.
type sccError struct {
	Rule string
	Err  *field.Error
	// At is the pod-relative field the error is about when Err.Field is not one
	// (OpenShift reports seccomp on the legacy annotations).
	At string
}

// sccOutcome is what one SCC does to one pod.
type sccOutcome struct {
	Changes []sccChange
	Errors  []sccError
}

// applySCC mutates spec as SCC admission does with s, then validates the result.
// Paths are relative to the pod ("spec.containers[0]...").
func applySCC(s *scc, spec *corev1.PodSpec, env sccEnv) sccOutcome {
	var out sccOutcome
	mutatePod(s, spec, env, &out)
	for _, c := range containers(spec, "spec") {
		mutateContainer(s, spec, c, env, &out)
	}
	validatePod(s, spec, env, &out)
	for _, c := range containers(spec, "spec") {
		validateContainer(s, spec, c, env, &out)
	}
	return out
}

func (o *sccOutcome) change(rule, path, format string, args ...any) {
	o.Changes = append(o.Changes, sccChange{Rule: "openshift.change." + rule, Path: path, Message: fmt.Sprintf(format, args...)})
}

func (o *sccOutcome) reject(rule string, err *field.Error) {
	o.Errors = append(o.Errors, sccError{Rule: "openshift.scc." + rule, Err: err})
}

func (o *sccOutcome) rejectAt(rule, at string, err *field.Error) {
	o.Errors = append(o.Errors, sccError{Rule: "openshift.scc." + rule, Err: err, At: at})
}

func podSC(spec *corev1.PodSpec) *corev1.PodSecurityContext {
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	return spec.SecurityContext
}

func containerSC(c *corev1.Container) *corev1.SecurityContext {
	if c.SecurityContext == nil {
		c.SecurityContext = &corev1.SecurityContext{}
	}
	return c.SecurityContext
}

// mutatePod fills the pod-level fields the SCC generates: SELinux level, fsGroup,
// supplemental groups and the seccomp profile.
func mutatePod(s *scc, spec *corev1.PodSpec, env sccEnv, out *sccOutcome) {
	psc := podSC(spec)
	if s.SELinux == mustRunAs && psc.SELinuxOptions == nil {
		psc.SELinuxOptions = &corev1.SELinuxOptions{Level: env.MCS}
		out.change("selinux-level", "spec.securityContext.seLinuxOptions.level",
			"set to the namespace's SELinux level (%s here; openshift.io/sa.scc.mcs)", env.MCS)
	}
	if s.FSGroup == mustRunAs && psc.FSGroup == nil {
		g := env.UIDs.Min
		psc.FSGroup = &g
		out.change("fs-group", "spec.securityContext.fsGroup",
			"set to %d, the first GID of the namespace range: volumes become group-owned by it", g)
	}
	if s.SupplementalGroups == mustRunAs && len(psc.SupplementalGroups) == 0 {
		psc.SupplementalGroups = []int64{env.UIDs.Min}
		out.change("supplemental-groups", "spec.securityContext.supplementalGroups", "set to [%d]", env.UIDs.Min)
	}
	if psc.SeccompProfile == nil && len(s.SeccompProfiles) > 0 && s.SeccompProfiles[0] != "*" {
		psc.SeccompProfile = seccompFromName(s.SeccompProfiles[0])
		out.change("seccomp", "spec.securityContext.seccompProfile",
			"set to %s: system calls outside the runtime's default profile fail with EPERM", psc.SeccompProfile.Type)
	}
}

// mutateContainer fills the container-level fields: runAsUser, capabilities,
// runAsNonRoot and allowPrivilegeEscalation.
func mutateContainer(s *scc, spec *corev1.PodSpec, c containerRef, env sccEnv, out *sccOutcome) {
	psc := spec.SecurityContext
	sc := containerSC(c.C)
	scPath := c.Path + ".securityContext"
	if s.RunAsUser == mustRunAsRange && effectiveUser(psc, sc) == nil {
		uid := env.UIDs.Min
		sc.RunAsUser = &uid
		out.change("run-as-user", scPath+".runAsUser",
			"set to %d (the first UID of the namespace range, GID 0): the image's USER is ignored and files it writes must be group-0 writable", uid)
	}
	if caps := generateCaps(s, sc.Capabilities); caps != nil {
		sc.Capabilities = caps
		out.change("capabilities", scPath+".capabilities.drop",
			"set to %v: the process runs without the capabilities a container usually gets (e.g. CHOWN, SETUID, NET_BIND_SERVICE)", caps.Drop)
	}
	if effectiveNonRoot(psc, sc) == nil {
		uid := effectiveUser(psc, sc)
		if (uid == nil && s.RunAsUser == mustRunAsNonRoot) || (uid != nil && *uid > 0) {
			t := true
			sc.RunAsNonRoot = &t
			out.change("run-as-non-root", scPath+".runAsNonRoot", "set to true")
		}
	}
	if !s.AllowPrivilegeEscalation && sc.AllowPrivilegeEscalation == nil {
		f := false
		sc.AllowPrivilegeEscalation = &f
		out.change("allow-privilege-escalation", scPath+".allowPrivilegeEscalation",
			"set to false: no_new_privs is set, so setuid binaries such as sudo and ping gain nothing")
	}
}

// generateCaps returns the container's capabilities with the SCC's required drops
// added, or nil when nothing changes.
func generateCaps(s *scc, have *corev1.Capabilities) *corev1.Capabilities {
	var add, drop []corev1.Capability
	if have != nil {
		add, drop = have.Add, have.Drop
	}
	changed := false
	for _, d := range s.RequiredDrop {
		if !slices.Contains(drop, d) {
			drop = append(slices.Clip(drop), d)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	slices.Sort(drop)
	return &corev1.Capabilities{Add: add, Drop: drop}
}

func effectiveUser(psc *corev1.PodSecurityContext, sc *corev1.SecurityContext) *int64 {
	if sc != nil && sc.RunAsUser != nil {
		return sc.RunAsUser
	}
	if psc != nil {
		return psc.RunAsUser
	}
	return nil
}

func effectiveNonRoot(psc *corev1.PodSecurityContext, sc *corev1.SecurityContext) *bool {
	if sc != nil && sc.RunAsNonRoot != nil {
		return sc.RunAsNonRoot
	}
	if psc != nil {
		return psc.RunAsNonRoot
	}
	return nil
}

func effectiveSELinux(psc *corev1.PodSecurityContext, sc *corev1.SecurityContext) *corev1.SELinuxOptions {
	if sc != nil && sc.SELinuxOptions != nil {
		return sc.SELinuxOptions
	}
	if psc != nil {
		return psc.SELinuxOptions
	}
	return nil
}

func effectiveSeccomp(psc *corev1.PodSecurityContext, sc *corev1.SecurityContext) *corev1.SeccompProfile {
	if sc != nil && sc.SeccompProfile != nil {
		return sc.SeccompProfile
	}
	if psc != nil {
		return psc.SeccompProfile
	}
	return nil
}

// seccompName is the annotation form OpenShift compares profiles in.
func seccompName(p *corev1.SeccompProfile) string {
	if p == nil {
		return ""
	}
	switch p.Type {
	case corev1.SeccompProfileTypeUnconfined:
		return "unconfined"
	case corev1.SeccompProfileTypeRuntimeDefault:
		return "runtime/default"
	case corev1.SeccompProfileTypeLocalhost:
		if p.LocalhostProfile != nil {
			return "localhost/" + *p.LocalhostProfile
		}
	}
	return ""
}

func seccompFromName(name string) *corev1.SeccompProfile {
	switch {
	case name == "runtime/default" || name == "docker/default":
		return &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	case name == "unconfined":
		return &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
	case strings.HasPrefix(name, "localhost/"):
		p := strings.TrimPrefix(name, "localhost/")
		return &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: &p}
	}
	return nil
}
