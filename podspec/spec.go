package podspec

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Network modes of a pod.
const (
	NetworkBridge = "bridge"
	NetworkHost   = "host"
	NetworkNone   = "none"
)

// Volume kinds.
const (
	VolumeHostPath    = "hostPath"
	VolumeEmptyDir    = "emptyDir"
	VolumeConfigMap   = "configMap"
	VolumeSecret      = "secret"
	VolumePVC         = "pvc"
	VolumeDownwardAPI = "downwardAPI"
	VolumeProjected   = "projected"
	VolumeImage       = "image"
)

// runtimeRefPrefix starts a marker standing for a value only the runtime knows.
const runtimeRefPrefix = "$(podbay:"

// RuntimeRef returns the marker that stands, in env values, args and files, for a
// field only known once the pod runs: metadata.uid, spec.nodeName, status.podIP,
// status.podIPs, status.hostIP, status.hostIPs, node.allocatable.<resource>/<divisor>
// (a resourceFieldRef to an unset limit) and service:<namespace>/<name> (a Service's
// address in service link variables).
func RuntimeRef(field string) string { return runtimeRefPrefix + field + ")" }

// Pod describes one pod to create: plain data, no Kubernetes types.
type Pod struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Hostname    string            `json:"hostname,omitempty"`
	Subdomain   string            `json:"subdomain,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`

	Network               NetworkSpec `json:"network"`
	ShareProcessNamespace bool        `json:"shareProcessNamespace,omitempty"`
	// Share lists the namespaces a pod made on the command line shares
	// (pod create --share: net, ipc, uts, pid); empty is Kubernetes' net,
	// ipc and uts, with pid when ShareProcessNamespace.
	Share   []string `json:"share,omitempty"`
	HostPID bool     `json:"hostPID,omitempty"`
	HostIPC bool     `json:"hostIPC,omitempty"`

	// RestartPolicy is Always, OnFailure or Never.
	RestartPolicy string `json:"restartPolicy"`
	// TerminationGracePeriodSeconds is how long a stop waits between SIGTERM and SIGKILL.
	TerminationGracePeriodSeconds int64 `json:"terminationGracePeriodSeconds"`

	InitContainers []Container     `json:"initContainers,omitempty"`
	Containers     []Container     `json:"containers"`
	Volumes        []Volume        `json:"volumes,omitempty"`
	Security       PodSecurity     `json:"security,omitzero"`
	Owner          *Owner          `json:"owner,omitempty"`
	Job            *JobSpec        `json:"job,omitempty"`
	RuntimeFields  []string        `json:"runtimeFields,omitempty"`
	Source         json.RawMessage `json:"source,omitempty"`
}

// Owner names the workload object a pod was made from.
type Owner struct {
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	Index int    `json:"index"`
}

// JobSpec carries the run-to-completion parameters of a Job's pods.
type JobSpec struct {
	// Completions is how many pods must succeed; 0 means any success completes the job.
	Completions           int32  `json:"completions"`
	Parallelism           int32  `json:"parallelism"`
	BackoffLimit          int32  `json:"backoffLimit"`
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`
	CompletionMode        string `json:"completionMode,omitempty"`
}

// NetworkSpec is the pod's network: mode, networks joined, ports and name resolution.
type NetworkSpec struct {
	Mode        string        `json:"mode"`
	Networks    []string      `json:"networks,omitempty"`
	Ports       []PortMapping `json:"ports,omitempty"`
	DNS         DNSSpec       `json:"dns,omitzero"`
	HostAliases []HostAlias   `json:"hostAliases,omitempty"`
	// Aliases are more names that the pod's peers on its network know it
	// by (Docker's network aliases: a Compose service's name).
	Aliases []string `json:"aliases,omitempty"`
}

// PortMapping publishes a container port on the host.
type PortMapping struct {
	HostIP        string `json:"hostIP,omitempty"`
	HostPort      uint16 `json:"hostPort"`
	ContainerPort uint16 `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

// DNSSpec is the pod's resolv.conf; Policy tells the runtime where the base comes from.
type DNSSpec struct {
	Policy   string   `json:"policy,omitempty"`
	Servers  []string `json:"servers,omitempty"`
	Searches []string `json:"searches,omitempty"`
	Options  []string `json:"options,omitempty"`
}

// HostAlias is one /etc/hosts entry.
type HostAlias struct {
	IP    string   `json:"ip"`
	Names []string `json:"names"`
}

// PodSecurity holds the pod-wide security settings.
type PodSecurity struct {
	RunAsUser          *int64            `json:"runAsUser,omitempty"`
	RunAsGroup         *int64            `json:"runAsGroup,omitempty"`
	RunAsNonRoot       *bool             `json:"runAsNonRoot,omitempty"`
	FSGroup            *int64            `json:"fsGroup,omitempty"`
	SupplementalGroups []int64           `json:"supplementalGroups,omitempty"`
	Sysctls            map[string]string `json:"sysctls,omitempty"`
	SeccompProfile     string            `json:"seccompProfile,omitempty"`
}

// Container describes one container of a pod.
type Container struct {
	// Name is the Kubernetes container name; RuntimeName is "<pod>-<name>".
	Name        string `json:"name"`
	RuntimeName string `json:"runtimeName"`
	Image       string `json:"image"`
	// User is the command line's --user when it names a user or group
	// (numeric IDs are Security.RunAsUser and RunAsGroup).
	User string `json:"user,omitempty"`
	// PullPolicy is Always, IfNotPresent or Never.
	PullPolicy string `json:"pullPolicy"`
	// Command and Args are already $(VAR)-expanded.
	Command    []string          `json:"command,omitempty"`
	Args       []string          `json:"args,omitempty"`
	Env        []EnvVar          `json:"env,omitempty"`
	EnvFrom    []EnvFromSource   `json:"envFrom,omitempty"`
	WorkingDir string            `json:"workingDir,omitempty"`
	Ports      []ContainerPort   `json:"ports,omitempty"`
	Resources  Resources         `json:"resources,omitzero"`
	Security   ContainerSecurity `json:"security,omitzero"`
	Mounts     []Mount           `json:"mounts,omitempty"`
	// RestartPolicy "Always" on an init container makes it a native sidecar.
	RestartPolicy          string    `json:"restartPolicy,omitempty"`
	Liveness               *Probe    `json:"liveness,omitempty"`
	Readiness              *Probe    `json:"readiness,omitempty"`
	Startup                *Probe    `json:"startup,omitempty"`
	Lifecycle              Lifecycle `json:"lifecycle,omitzero"`
	StopSignal             string    `json:"stopSignal,omitempty"`
	Stdin                  bool      `json:"stdin,omitempty"`
	StdinOnce              bool      `json:"stdinOnce,omitempty"`
	TTY                    bool      `json:"tty,omitempty"`
	TerminationMessagePath string    `json:"terminationMessagePath,omitempty"`
}

// IsSidecar reports whether an init container is a native sidecar.
func (c *Container) IsSidecar() bool { return c.RestartPolicy == "Always" }

// EnvVar is one resolved environment variable; From keeps its source for export.
type EnvVar struct {
	Name  string     `json:"name"`
	Value string     `json:"value"`
	From  *EnvSource `json:"from,omitempty"`
}

// EnvSource records where an env value came from: configMapKeyRef, secretKeyRef,
// fieldRef, resourceFieldRef, or serviceLink (set by enableServiceLinks, not exported).
type EnvSource struct {
	Kind      string `json:"kind"`
	Name      string `json:"name,omitempty"`
	Key       string `json:"key,omitempty"`
	FieldPath string `json:"fieldPath,omitempty"`
	Resource  string `json:"resource,omitempty"`
	Divisor   string `json:"divisor,omitempty"`
	Container string `json:"container,omitempty"`
	Optional  bool   `json:"optional,omitempty"`
}

// EnvFromSource records an envFrom entry (Kind "configMap" or "secret") for export.
type EnvFromSource struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Prefix   string `json:"prefix,omitempty"`
	Optional bool   `json:"optional,omitempty"`
}

// ContainerPort is a port the container declares.
type ContainerPort struct {
	Name          string `json:"name,omitempty"`
	ContainerPort uint16 `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostPort      uint16 `json:"hostPort,omitempty"`
	HostIP        string `json:"hostIP,omitempty"`
}

// Resources are cgroup limits and requests: CPU in millicores, memory in bytes; 0 is unset.
type Resources struct {
	CPULimit      int64 `json:"cpuLimit,omitempty"`
	MemoryLimit   int64 `json:"memoryLimit,omitempty"`
	CPURequest    int64 `json:"cpuRequest,omitempty"`
	MemoryRequest int64 `json:"memoryRequest,omitempty"`
}

// ContainerSecurity is the effective security of a container (pod settings merged in).
type ContainerSecurity struct {
	RunAsUser                *int64   `json:"runAsUser,omitempty"`
	RunAsGroup               *int64   `json:"runAsGroup,omitempty"`
	RunAsNonRoot             *bool    `json:"runAsNonRoot,omitempty"`
	Privileged               bool     `json:"privileged,omitempty"`
	ReadOnlyRootfs           bool     `json:"readOnlyRootfs,omitempty"`
	AllowPrivilegeEscalation *bool    `json:"allowPrivilegeEscalation,omitempty"`
	CapAdd                   []string `json:"capAdd,omitempty"`
	CapDrop                  []string `json:"capDrop,omitempty"`
	SeccompProfile           string   `json:"seccompProfile,omitempty"`
	ProcMount                string   `json:"procMount,omitempty"`
}

// Mount places a pod volume into a container.
type Mount struct {
	Volume      string `json:"volume"`
	Destination string `json:"destination"`
	SubPath     string `json:"subPath,omitempty"`
	ReadOnly    bool   `json:"readOnly,omitempty"`
	Propagation string `json:"propagation,omitempty"`
}

// Probe is a liveness, readiness or startup check; exactly one action is set.
type Probe struct {
	Handler
	GRPC                *GRPCAction `json:"grpc,omitempty"`
	InitialDelaySeconds int32       `json:"initialDelaySeconds"`
	PeriodSeconds       int32       `json:"periodSeconds"`
	TimeoutSeconds      int32       `json:"timeoutSeconds"`
	SuccessThreshold    int32       `json:"successThreshold"`
	FailureThreshold    int32       `json:"failureThreshold"`
}

// Handler is an action run by a probe or lifecycle hook.
type Handler struct {
	Exec         []string         `json:"exec,omitempty"`
	HTTPGet      *HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket    *TCPSocketAction `json:"tcpSocket,omitempty"`
	SleepSeconds int64            `json:"sleepSeconds,omitempty"`
}

// HTTPGetAction is an HTTP GET made from the pod's network namespace.
type HTTPGetAction struct {
	Path    string            `json:"path"`
	Port    uint16            `json:"port"`
	Host    string            `json:"host,omitempty"`
	Scheme  string            `json:"scheme"`
	Headers map[string]string `json:"headers,omitempty"`
}

// TCPSocketAction is a TCP connect made from the pod's network namespace.
type TCPSocketAction struct {
	Port uint16 `json:"port"`
	Host string `json:"host,omitempty"`
}

// GRPCAction is a gRPC health check.
type GRPCAction struct {
	Port    uint16 `json:"port"`
	Service string `json:"service,omitempty"`
}

// Lifecycle holds the postStart and preStop hooks.
type Lifecycle struct {
	PostStart *Handler `json:"postStart,omitempty"`
	PreStop   *Handler `json:"preStop,omitempty"`
}

// Volume is one pod volume; Kind says which of the source fields applies.
type Volume struct {
	Name      string          `json:"name"`
	Kind      string          `json:"kind"`
	HostPath  *HostPathSource `json:"hostPath,omitempty"`
	EmptyDir  *EmptyDirSource `json:"emptyDir,omitempty"`
	ClaimName string          `json:"claimName,omitempty"`
	ReadOnly  bool            `json:"readOnly,omitempty"`
	// ClaimTemplate marks a claim made from a StatefulSet's volumeClaimTemplates
	// (ClaimName is then <template>-<statefulset>-<ordinal>).
	ClaimTemplate bool `json:"claimTemplate,omitempty"`
	// Substitutes names the cluster-only storage type (nfs, csi, ...) that
	// this local named volume (Kind pvc) stands in for.
	Substitutes string       `json:"substitutes,omitempty"`
	Image       *ImageSource `json:"image,omitempty"`
	// Source names the ConfigMap or Secret projected (for export).
	Source string `json:"source,omitempty"`
	// Files are the resolved contents of configMap, secret, downwardAPI and projected volumes.
	Files []File `json:"files,omitempty"`
}

// HostPathSource is a host directory or file; Type is checked as the kubelet does.
type HostPathSource struct {
	Path string `json:"path"`
	Type string `json:"type,omitempty"`
}

// EmptyDirSource is a scratch directory; Medium "Memory" means one tmpfs
// for the pod.
type EmptyDirSource struct {
	Medium    string `json:"medium,omitempty"`
	SizeLimit int64  `json:"sizeLimit,omitempty"`
}

// ImageSource mounts an OCI image read-only.
type ImageSource struct {
	Reference  string `json:"reference"`
	PullPolicy string `json:"pullPolicy"`
}

// File is one file of a projected volume.
type File struct {
	Path string `json:"path"`
	Mode uint32 `json:"mode"`
	Data []byte `json:"data"`
}

// Validate checks the spec's internal consistency: names present and unique,
// mounts referencing declared volumes, known modes and kinds.
func (s *Pod) Validate() error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, errors.New("pod name is empty"))
	}
	switch s.Network.Mode {
	case "", NetworkBridge, NetworkHost, NetworkNone:
	default:
		errs = append(errs, fmt.Errorf("pod %q: unknown network mode %q", s.Name, s.Network.Mode))
	}
	switch s.RestartPolicy {
	case "", "Always", "OnFailure", "Never":
	default:
		errs = append(errs, fmt.Errorf("pod %q: unknown restart policy %q", s.Name, s.RestartPolicy))
	}
	if len(s.Containers) == 0 {
		errs = append(errs, fmt.Errorf("pod %q: no containers", s.Name))
	}
	vols := map[string]bool{}
	for _, v := range s.Volumes {
		errs = append(errs, s.validateVolume(v, vols)...)
	}
	names := map[string]bool{}
	for _, list := range [][]Container{s.InitContainers, s.Containers} {
		for i := range list {
			errs = append(errs, s.validateContainer(&list[i], names, vols)...)
		}
	}
	return errors.Join(errs...)
}

func (s *Pod) validateVolume(v Volume, seen map[string]bool) []error {
	var errs []error
	switch {
	case v.Name == "":
		errs = append(errs, fmt.Errorf("pod %q: volume name is empty", s.Name))
	case seen[v.Name]:
		errs = append(errs, fmt.Errorf("pod %q: duplicate volume %q", s.Name, v.Name))
	}
	seen[v.Name] = true
	switch v.Kind {
	case VolumeHostPath:
		if v.HostPath == nil || v.HostPath.Path == "" {
			errs = append(errs, fmt.Errorf("pod %q: volume %q: hostPath without a path", s.Name, v.Name))
		}
	case VolumePVC:
		if v.ClaimName == "" {
			errs = append(errs, fmt.Errorf("pod %q: volume %q: pvc without a claim name", s.Name, v.Name))
		}
	case VolumeImage:
		if v.Image == nil || v.Image.Reference == "" {
			errs = append(errs, fmt.Errorf("pod %q: volume %q: image without a reference", s.Name, v.Name))
		}
	case VolumeEmptyDir, VolumeConfigMap, VolumeSecret, VolumeDownwardAPI, VolumeProjected:
	default:
		errs = append(errs, fmt.Errorf("pod %q: volume %q: unknown kind %q", s.Name, v.Name, v.Kind))
	}
	return errs
}

func (s *Pod) validateContainer(c *Container, seen, vols map[string]bool) []error {
	var errs []error
	switch {
	case c.Name == "":
		errs = append(errs, fmt.Errorf("pod %q: container name is empty", s.Name))
	case seen[c.Name]:
		errs = append(errs, fmt.Errorf("pod %q: duplicate container %q", s.Name, c.Name))
	}
	seen[c.Name] = true
	if c.Image == "" {
		errs = append(errs, fmt.Errorf("pod %q: container %q: image is empty", s.Name, c.Name))
	}
	dests := map[string]bool{}
	for _, m := range c.Mounts {
		if !vols[m.Volume] {
			errs = append(errs, fmt.Errorf("pod %q: container %q: mount %q: no volume %q", s.Name, c.Name, m.Destination, m.Volume))
		}
		if !strings.HasPrefix(m.Destination, "/") {
			errs = append(errs, fmt.Errorf("pod %q: container %q: mount destination %q is not absolute", s.Name, c.Name, m.Destination))
		}
		if dests[m.Destination] {
			errs = append(errs, fmt.Errorf("pod %q: container %q: duplicate mount destination %q", s.Name, c.Name, m.Destination))
		}
		dests[m.Destination] = true
	}
	return errs
}

// ResolveRuntime replaces every RuntimeRef marker in env values, commands, args and
// volume files with values[field]; the runtime calls it once the pod's IP and the
// like are known.
func (s *Pod) ResolveRuntime(values map[string]string) {
	if len(s.RuntimeFields) == 0 {
		return
	}
	pairs := make([]string, 0, 2*len(s.RuntimeFields))
	for _, f := range s.RuntimeFields {
		pairs = append(pairs, RuntimeRef(f), values[f])
	}
	r := strings.NewReplacer(pairs...)
	for _, list := range [][]Container{s.InitContainers, s.Containers} {
		for i := range list {
			c := &list[i]
			for j := range c.Env {
				c.Env[j].Value = r.Replace(c.Env[j].Value)
			}
			replaceAll(r, c.Command)
			replaceAll(r, c.Args)
		}
	}
	for i := range s.Volumes {
		for j := range s.Volumes[i].Files {
			f := &s.Volumes[i].Files[j]
			if strings.Contains(string(f.Data), runtimeRefPrefix) {
				f.Data = []byte(r.Replace(string(f.Data)))
			}
		}
	}
}

func replaceAll(r *strings.Replacer, list []string) {
	for i := range list {
		list[i] = r.Replace(list[i])
	}
}
