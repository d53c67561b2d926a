package validate

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ruleAdmission is the rule of the summary finding of SCC admission.
const ruleAdmission = "openshift.scc.admission"

// openshiftFindings runs SCC admission on the pod template: restricted-v2's
// rejections as errors (plus the least privileged default SCC that would admit the
// pod), or, when restricted-v2 admits it, what it silently changes.
func openshiftFindings(o Object, pt podTemplate, env sccEnv) []Finding {
	spec := pt.Spec.DeepCopy()
	res := applySCC(&sccs[0], spec, env)
	if len(res.Errors) == 0 {
		return changeFindings(o, pt.Path, res.Changes)
	}
	out := errorFindings(o, pt.Path, res.Errors)
	sum := Finding{
		Rule: ruleAdmission, Severity: SeverityError, Position: o.pos(pt.Path), Path: pt.Path, Object: o.ref(),
		Message: admissionMessage(res.Errors),
	}
	if name := leastPrivilegedSCC(pt.Spec, env); name != "" {
		sum.Hint = fmt.Sprintf("the least privileged default SCC that admits it is %q: grant it to the pod's service account "+
			"(oc adm policy add-scc-to-user %s -z %s), or change the fields above", name, name, serviceAccount(pt.Spec))
	} else {
		sum.Hint = "no default SCC admits it, not even privileged: fix the fields above"
	}
	return append(out, sum)
}

// leastPrivilegedSCC names the first default SCC that admits spec, or "".
func leastPrivilegedSCC(spec *corev1.PodSpec, env sccEnv) string {
	for i := range sccs {
		if len(applySCC(&sccs[i], spec.DeepCopy(), env).Errors) == 0 {
			return sccs[i].Name
		}
	}
	return ""
}

func serviceAccount(spec *corev1.PodSpec) string {
	if spec.ServiceAccountName != "" {
		return spec.ServiceAccountName
	}
	return "default"
}

// admissionMessage is the text OpenShift puts in the FailedCreate event when only
// restricted-v2 is usable by the service account.
func admissionMessage(errs []sccError) string {
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		parts = append(parts, e.Err.Error())
	}
	var b strings.Builder
	b.WriteString("unable to validate against any security context constraint: [provider \"restricted-v2\": ")
	b.WriteString(strings.Join(parts, ", "))
	for _, s := range sccs[1:] {
		fmt.Fprintf(&b, ", provider %q: Forbidden: not usable by user or serviceaccount", s.Name)
	}
	b.WriteString("]")
	return b.String()
}

// objectPath turns a pod-relative path (spec.containers[0]) into the object's
// (spec.template.spec.containers[0]) given where the pod spec sits.
func objectPath(specPath, podPath string) string {
	return specPath + strings.TrimPrefix(podPath, "spec")
}

func changeFindings(o Object, specPath string, changes []sccChange) []Finding {
	out := make([]Finding, 0, len(changes))
	for _, c := range changes {
		p := objectPath(specPath, c.Path)
		out = append(out, Finding{
			Rule: c.Rule, Severity: SeverityChange, Position: o.pos(p), Path: p, Object: o.ref(),
			Message: "restricted-v2 " + c.Message, Hint: changeHints[c.Rule],
		})
	}
	return out
}

func errorFindings(o Object, specPath string, errs []sccError) []Finding {
	out := make([]Finding, 0, len(errs))
	for _, e := range errs {
		at := e.At
		if at == "" {
			at = e.Err.Field
		}
		p := objectPath(specPath, at)
		out = append(out, Finding{
			Rule: e.Rule, Severity: SeverityError, Position: o.pos(p), Path: p, Object: o.ref(),
			Message: "provider \"restricted-v2\": " + e.Err.Error(), Hint: sccHints[e.Rule],
		})
	}
	return out
}

// Mutate applies what OpenShift's restricted-v2 SCC does to a pod spec at admission
// (UID and fsGroup from opts.UIDRange, drop ALL, allowPrivilegeEscalation false,
// RuntimeDefault seccomp, the namespace SELinux level) and returns the changes as
// "change" findings with pod-relative paths (spec.containers[0]...). When
// restricted-v2 would reject the pod, podSpec is left as it was and the findings
// are errors, the last one carrying OpenShift's full message. An invalid
// opts.UIDRange falls back to DefaultUIDRange.
func Mutate(podSpec *corev1.PodSpec, opts Options) []Finding {
	env := envOf(opts)
	spec := podSpec.DeepCopy()
	res := applySCC(&sccs[0], spec, env)
	o := Object{Kind: "Pod"}
	if len(res.Errors) > 0 {
		out := errorFindings(o, "spec", res.Errors)
		return append(out, Finding{Rule: ruleAdmission, Severity: SeverityError, Path: "spec", Object: "Pod",
			Message: admissionMessage(res.Errors)})
	}
	*podSpec = *spec
	return changeFindings(o, "spec", res.Changes)
}

func envOf(opts Options) sccEnv {
	r, err := ParseUIDRange(opts.UIDRange)
	if err != nil {
		r, _ = ParseUIDRange(DefaultUIDRange)
	}
	return sccEnv{UIDs: r, MCS: defaultMCS}
}

// sccHints tells how to satisfy restricted-v2 for each rejection.
var sccHints = map[string]string{
	"openshift.scc.privileged":                 "remove privileged: true; add the one capability the process needs instead (it still needs an SCC that allows it)",
	"openshift.scc.allow-privilege-escalation": "remove allowPrivilegeEscalation: true",
	"openshift.scc.capabilities":               "drop ALL and add at most NET_BIND_SERVICE",
	"openshift.scc.run-as-user":                "remove runAsUser and let OpenShift assign a UID from the namespace range; make the image work as any UID with GID 0",
	"openshift.scc.fs-group":                   "remove fsGroup and let OpenShift assign one from the namespace range",
	"openshift.scc.supplemental-groups":        "remove supplementalGroups",
	"openshift.scc.selinux":                    "remove seLinuxOptions; OpenShift sets the namespace's level",
	"openshift.scc.seccomp":                    "use seccompProfile type RuntimeDefault or leave it unset",
	"openshift.scc.volumes":                    "use a persistentVolumeClaim, emptyDir, configMap, secret or projected volume",
	"openshift.scc.host-namespaces":            "remove hostNetwork/hostPID/hostIPC and expose ports through a Service",
	"openshift.scc.host-ports":                 "remove hostPort and expose the port through a Service or Route",
	"openshift.scc.sysctls":                    "use only the safe sysctls",
}

// changeHints tells how to make each silent change explicit or harmless.
var changeHints = map[string]string{
	"openshift.change.run-as-user":                "make the image run as any UID: chgrp -R 0 and chmod -R g=u the paths it writes",
	"openshift.change.run-as-non-root":            "set runAsNonRoot: true yourself to run the same everywhere",
	"openshift.change.capabilities":               "set capabilities.drop: [ALL] yourself so the workload behaves the same everywhere",
	"openshift.change.allow-privilege-escalation": "set allowPrivilegeEscalation: false yourself",
	"openshift.change.seccomp":                    "set seccompProfile.type: RuntimeDefault in the pod securityContext yourself",
	"openshift.change.fs-group":                   "",
	"openshift.change.selinux-level":              "",
	"openshift.change.supplemental-groups":        "",
}
