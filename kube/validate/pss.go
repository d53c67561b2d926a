package validate

import (
	"sync"

	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// pssCheck is one Pod Security Standards check at its latest version.
type pssCheck struct {
	ID        string
	Level     psaapi.Level
	Fn        policy.CheckPodFn
	Overrides []string // baseline checks this restricted check replaces
}

// pssChecks lists the default checks of k8s.io/pod-security-admission, baseline first.
var pssChecks = sync.OnceValue(func() []pssCheck {
	var base, restricted []pssCheck
	for _, c := range policy.DefaultChecks() {
		v := c.Versions[len(c.Versions)-1]
		pc := pssCheck{ID: string(c.ID), Level: c.Level, Fn: v.CheckPod}
		for _, id := range v.OverrideCheckIDs {
			pc.Overrides = append(pc.Overrides, string(id))
		}
		if c.Level == psaapi.LevelBaseline {
			base = append(base, pc)
		} else {
			restricted = append(restricted, pc)
		}
	}
	return append(base, restricted...)
})

// pssFindings evaluates the pod template against the Pod Security Standards.
// Baseline failures are errors when opts.PSS is baseline or restricted and warnings
// otherwise; restricted failures are reported only when opts.PSS is restricted
// (nearly every manifest written without it fails restricted), and a restricted
// check is not repeated when a baseline check it replaces already failed.
func pssFindings(o Object, pt podTemplate, opts Options) []Finding {
	if opts.PSS == string(psaapi.LevelPrivileged) {
		return nil
	}
	checks := pssChecks()
	failed := map[string]bool{}
	var out []Finding
	for _, c := range checks {
		if c.Level == psaapi.LevelRestricted && opts.PSS != string(psaapi.LevelRestricted) {
			continue
		}
		if overridesFailed(c, failed) {
			continue
		}
		r := c.Fn(pt.Meta, pt.Spec)
		if r.Allowed {
			continue
		}
		failed[c.ID] = true
		sev := SeverityWarning
		if opts.PSS == string(psaapi.LevelBaseline) || opts.PSS == string(psaapi.LevelRestricted) {
			sev = SeverityError
		}
		msg := r.ForbiddenReason
		if r.ForbiddenDetail != "" {
			msg += " (" + r.ForbiddenDetail + ")"
		}
		path := pssPath(c.ID, pt)
		out = append(out, Finding{
			Rule:     "pss." + string(c.Level) + "." + c.ID,
			Severity: sev,
			Position: o.pos(path),
			Path:     path,
			Object:   o.ref(),
			Message:  "violates PodSecurity \"" + string(c.Level) + ":latest\": " + msg,
			Hint:     pssHints[c.ID],
		})
	}
	return out
}

func overridesFailed(c pssCheck, failed map[string]bool) bool {
	for _, id := range c.Overrides {
		if failed[id] {
			return true
		}
	}
	return false
}

// pssHints tells how to satisfy each check.
var pssHints = map[string]string{
	"privileged":                 "remove securityContext.privileged or set it to false",
	"hostNamespaces":             "remove hostNetwork, hostPID and hostIPC",
	"hostPorts":                  "remove hostPort and expose the port with a Service",
	"hostPathVolumes":            "use a persistentVolumeClaim, emptyDir or configMap volume instead of hostPath",
	"capabilities_baseline":      "add only the default capabilities; drop the others",
	"appArmorProfile":            "use the RuntimeDefault or Localhost AppArmor profile",
	"seLinuxOptions":             "remove seLinuxOptions.type/user/role (only container_t, container_init_t, container_kvm_t and container_engine_t types are allowed)",
	"procMount":                  "remove securityContext.procMount or set it to Default",
	"seccompProfile_baseline":    "do not set the seccomp profile to Unconfined",
	"sysctls":                    "use only the safe sysctls",
	"windowsHostProcess":         "remove windowsOptions.hostProcess",
	"hostProbesAndHostLifecycle": "remove the host field from probes and lifecycle handlers",
	"restrictedVolumes":          "use only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret or image volumes",
	"allowPrivilegeEscalation":   "set securityContext.allowPrivilegeEscalation: false in every container",
	"capabilities_restricted":    "set securityContext.capabilities.drop: [ALL]; add only NET_BIND_SERVICE",
	"runAsNonRoot":               "set securityContext.runAsNonRoot: true in the pod",
	"runAsUser":                  "do not set runAsUser to 0",
	"seccompProfile_restricted":  "set securityContext.seccompProfile.type: RuntimeDefault in the pod",
}
