package validate

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Strategy types of an SCC's runAsUser, seLinuxContext, fsGroup and supplementalGroups.
const (
	mustRunAsRange   = "MustRunAsRange"
	mustRunAsNonRoot = "MustRunAsNonRoot"
	mustRunAs        = "MustRunAs"
	runAsAny         = "RunAsAny"
)

// scc is the part of an OpenShift SecurityContextConstraints that decides whether a
// pod is admitted and how it is changed. The default SCCs of OpenShift 4 are below.
type scc struct {
	Name                     string
	AllowPrivileged          bool
	AllowHostNetwork         bool
	AllowHostPID             bool
	AllowHostIPC             bool
	AllowHostPorts           bool
	AllowPrivilegeEscalation bool // false: unset becomes false, true is rejected
	RequiredDrop             []corev1.Capability
	AllowedCaps              []corev1.Capability // "*" allows any
	RunAsUser                string
	SELinux                  string
	FSGroup                  string
	SupplementalGroups       string
	SeccompProfiles          []string // "*" allows any; empty: none may be set
	Volumes                  []string // "*" allows any
}

var restrictedVolumes = []string{"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
	"image", "persistentVolumeClaim", "projected", "secret"}

// sccs lists the default SCCs from the least to the most privileged; the first is
// the one every authenticated service account may use.
var sccs = []scc{
	{
		Name: "restricted-v2", RequiredDrop: []corev1.Capability{"ALL"}, AllowedCaps: []corev1.Capability{"NET_BIND_SERVICE"},
		RunAsUser: mustRunAsRange, SELinux: mustRunAs, FSGroup: mustRunAs, SupplementalGroups: runAsAny,
		SeccompProfiles: []string{"runtime/default"}, Volumes: restrictedVolumes,
	},
	{
		Name: "nonroot-v2", RequiredDrop: []corev1.Capability{"ALL"}, AllowedCaps: []corev1.Capability{"NET_BIND_SERVICE"},
		RunAsUser: mustRunAsNonRoot, SELinux: mustRunAs, FSGroup: runAsAny, SupplementalGroups: runAsAny,
		SeccompProfiles: []string{"runtime/default"}, Volumes: restrictedVolumes,
	},
	{
		Name: "hostnetwork-v2", AllowHostNetwork: true, AllowHostPorts: true,
		RequiredDrop: []corev1.Capability{"ALL"}, AllowedCaps: []corev1.Capability{"NET_BIND_SERVICE"},
		RunAsUser: mustRunAsRange, SELinux: mustRunAs, FSGroup: mustRunAs, SupplementalGroups: mustRunAs,
		SeccompProfiles: []string{"runtime/default"}, Volumes: restrictedVolumes,
	},
	{
		Name: "anyuid", AllowPrivilegeEscalation: true, RequiredDrop: []corev1.Capability{"MKNOD"},
		RunAsUser: runAsAny, SELinux: mustRunAs, FSGroup: runAsAny, SupplementalGroups: runAsAny,
		Volumes: restrictedVolumes,
	},
	{
		Name: "hostmount-anyuid", AllowPrivilegeEscalation: true, RequiredDrop: []corev1.Capability{"MKNOD"},
		RunAsUser: runAsAny, SELinux: mustRunAs, FSGroup: runAsAny, SupplementalGroups: runAsAny,
		Volumes: append([]string{"hostPath", "nfs"}, restrictedVolumes...),
	},
	{
		Name: "hostaccess", AllowHostNetwork: true, AllowHostPID: true, AllowHostIPC: true, AllowHostPorts: true,
		AllowPrivilegeEscalation: true, RequiredDrop: []corev1.Capability{"KILL", "MKNOD", "SETUID", "SETGID"},
		RunAsUser: mustRunAsRange, SELinux: mustRunAs, FSGroup: mustRunAs, SupplementalGroups: runAsAny,
		Volumes: append([]string{"hostPath"}, restrictedVolumes...),
	},
	{
		Name: "privileged", AllowPrivileged: true, AllowHostNetwork: true, AllowHostPID: true, AllowHostIPC: true,
		AllowHostPorts: true, AllowPrivilegeEscalation: true, AllowedCaps: []corev1.Capability{"*"},
		RunAsUser: runAsAny, SELinux: runAsAny, FSGroup: runAsAny, SupplementalGroups: runAsAny,
		SeccompProfiles: []string{"*"}, Volumes: []string{"*"},
	},
}

// DefaultUIDRange is the UID range OpenShift gives the first project of a new cluster.
const DefaultUIDRange = "1000650000/10000"

// defaultMCS is an example of the SELinux level OpenShift assigns a namespace
// (annotation openshift.io/sa.scc.mcs).
const defaultMCS = "s0:c26,c5"

// UIDRange is a namespace's openshift.io/sa.scc.uid-range: Size IDs from Min.
type UIDRange struct {
	Min, Size int64
}

// Max is the last ID of the range.
func (r UIDRange) Max() int64 { return r.Min + r.Size - 1 }

// ParseUIDRange parses "1000650000/10000" (first/size), the format of the
// openshift.io/sa.scc.uid-range annotation; "" gives DefaultUIDRange.
func ParseUIDRange(s string) (UIDRange, error) {
	if s == "" {
		s = DefaultUIDRange
	}
	first, size, ok := strings.Cut(s, "/")
	if !ok {
		return UIDRange{}, fmt.Errorf("uid range %q: want FIRST/SIZE", s)
	}
	min, err := strconv.ParseInt(first, 10, 64)
	if err != nil || min < 0 {
		return UIDRange{}, fmt.Errorf("uid range %q: bad first uid %q", s, first)
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || n <= 0 {
		return UIDRange{}, fmt.Errorf("uid range %q: bad size %q", s, size)
	}
	return UIDRange{Min: min, Size: n}, nil
}

// sccEnv is what the namespace contributes to admission.
type sccEnv struct {
	UIDs UIDRange
	MCS  string
}
