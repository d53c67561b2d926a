package validate

import (
	corev1 "k8s.io/api/core/v1"
)

// pssPath returns the field a failed Pod Security check is most likely about
// (the first offending one), or the pod spec when it cannot tell.
func pssPath(id string, pt podTemplate) string {
	s := pt.Spec
	switch id {
	case "hostNamespaces":
		for _, h := range []struct {
			on   bool
			name string
		}{{s.HostNetwork, "hostNetwork"}, {s.HostPID, "hostPID"}, {s.HostIPC, "hostIPC"}} {
			if h.on {
				return pt.Path + "." + h.name
			}
		}
	case "hostPathVolumes", "restrictedVolumes":
		for i, v := range s.Volumes {
			if t := volumeType(v.VolumeSource); t == "hostPath" || (id == "restrictedVolumes" && !restrictedVolume(t)) {
				return indexPath(pt.Path+".volumes", i)
			}
		}
	case "sysctls":
		if s.SecurityContext != nil && len(s.SecurityContext.Sysctls) > 0 {
			return pt.Path + ".securityContext.sysctls"
		}
	}
	if p, ok := containerPSSPath(id, pt); ok {
		return p
	}
	return pt.Path
}

func restrictedVolume(t string) bool {
	for _, v := range restrictedVolumes {
		if v == t {
			return true
		}
	}
	return false
}

// containerPSSPath finds the first container field a container-level check fails on.
func containerPSSPath(id string, pt podTemplate) (string, bool) {
	for _, c := range containers(pt.Spec, pt.Path) {
		sc := c.C.SecurityContext
		scp := c.Path + ".securityContext"
		switch id {
		case "privileged":
			if sc != nil && sc.Privileged != nil && *sc.Privileged {
				return scp + ".privileged", true
			}
		case "hostPorts":
			for i, p := range c.C.Ports {
				if p.HostPort != 0 {
					return indexPath(c.Path+".ports", i) + ".hostPort", true
				}
			}
		case "capabilities_baseline", "capabilities_restricted":
			if sc != nil && sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
				return scp + ".capabilities.add", true
			}
		case "procMount":
			if sc != nil && sc.ProcMount != nil && *sc.ProcMount != corev1.DefaultProcMount {
				return scp + ".procMount", true
			}
		case "allowPrivilegeEscalation":
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				return c.Path, true
			}
		}
	}
	return "", false
}
