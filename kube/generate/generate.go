package generate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podbay/podbay/podspec"
)

// Workload types accepted by Options.Type.
const (
	TypePod         = "pod"
	TypeDeployment  = "deployment"
	TypeStatefulSet = "statefulset"
	TypeDaemonSet   = "daemonset"
	TypeJob         = "job"
)

// Pod is what the runtime knows of one pod: its spec as created and the live facts.
type Pod struct {
	// Spec is the pod as created: by kube play (with Source) or by the CLI (without).
	Spec podspec.Pod
	// Containers are the runtime facts of the containers, matched to Spec by Name.
	Containers []ContainerState
	// ConfigMaps, Secrets and Claims the pod may use; only the referenced ones are exported.
	ConfigMaps []ConfigMap
	Secrets    []Secret
	Claims     []Claim
}

// ContainerState is what the runtime knows of one container now.
type ContainerState struct {
	// Name is the container's name in the pod (Spec.Containers[i].Name).
	Name string
	// Image is the reference the container runs now; empty means as in the spec.
	Image string
	// ImageConfig is the image's configuration, so values equal to it are left out; nil is unknown.
	ImageConfig *ImageConfig
}

// ImageConfig is the part of an OCI image configuration that defaults a container.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	// Env holds NAME=value entries.
	Env        []string
	WorkingDir string
	User       string
}

// ConfigMap is a ConfigMap a pod may reference.
type ConfigMap struct {
	Name       string
	Namespace  string
	Labels     map[string]string
	Data       map[string]string
	BinaryData map[string][]byte
}

// Secret is a Secret a pod may reference.
type Secret struct {
	Name      string
	Namespace string
	Labels    map[string]string
	Type      string
	Data      map[string][]byte
}

// Claim is a named volume, exported as a PersistentVolumeClaim.
type Claim struct {
	Name         string
	Namespace    string
	Labels       map[string]string
	Annotations  map[string]string
	AccessModes  []string
	Storage      int64 // bytes; 0 exports 1Gi
	StorageClass string
	VolumeMode   string
}

// Options are the export choices.
type Options struct {
	// Type is "" (each pod as the workload it was played from, else a Pod), or one of
	// pod, deployment, statefulset, daemonset, job.
	Type string
	// Replicas overrides the replica count of Deployments and StatefulSets when > 0.
	Replicas int32
	// Service adds one Service per workload selecting its pods.
	Service bool
	// PodbayAnnotations keeps engine-internal annotations (podbay.io/..., io.podman...).
	PodbayAnnotations bool
}

// Result is the exported objects, in output order, and notes about what could not be kept.
type Result struct {
	Objects []runtime.Object
	Notes   []string
}

// group is the pods of one workload: a played workload's replicas, or one pod.
type group struct {
	name  string
	kind  string // owner kind, "" for a standalone pod
	ns    string
	pods  []*Pod
	first *Pod
}

// Generate exports pods as Kubernetes objects: workloads, then Services, ConfigMaps,
// Secrets and PersistentVolumeClaims, each kind sorted by name.
func Generate(pods []Pod, opts Options) (*Result, error) {
	switch opts.Type {
	case "", TypePod, TypeDeployment, TypeStatefulSet, TypeDaemonSet, TypeJob:
	default:
		return nil, fmt.Errorf("generate: unknown type %q (want pod, deployment, statefulset, daemonset or job)", opts.Type)
	}
	g := &generator{opts: opts, res: &Result{}, refs: newRefSet()}
	for _, grp := range groups(pods, opts.Type) {
		if err := g.group(grp); err != nil {
			return nil, err
		}
	}
	g.collectRefs(pods)
	g.sortObjects()
	return g.res, nil
}

// groups gathers the pods by owning workload (unless every pod is exported as a Pod).
func groups(pods []Pod, typ string) []*group {
	var out []*group
	byOwner := map[string]*group{}
	for i := range pods {
		p := &pods[i]
		o := p.Spec.Owner
		if o == nil || typ == TypePod {
			out = append(out, &group{name: p.Spec.Name, ns: p.Spec.Namespace, pods: []*Pod{p}, first: p})
			continue
		}
		key := p.Spec.Namespace + "/" + o.Kind + "/" + o.Name
		grp, ok := byOwner[key]
		if !ok {
			grp = &group{name: o.Name, kind: o.Kind, ns: p.Spec.Namespace, first: p}
			byOwner[key] = grp
			out = append(out, grp)
		}
		grp.pods = append(grp.pods, p)
		if o.Index < grp.first.Spec.Owner.Index {
			grp.first = p
		}
	}
	return out
}

// note records something the export could not keep or changed.
func (g *generator) note(format string, args ...any) {
	g.res.Notes = append(g.res.Notes, fmt.Sprintf(format, args...))
}

// kindOrder ranks object kinds in the output.
func kindOrder(kind string) int {
	switch kind {
	case "Service":
		return 1
	case "ConfigMap":
		return 2
	case "Secret":
		return 3
	case "PersistentVolumeClaim":
		return 4
	}
	return 0
}

// sortObjects orders the objects: workloads, Services, ConfigMaps, Secrets, PVCs, by name.
func (g *generator) sortObjects() {
	slices.SortStableFunc(g.res.Objects, func(a, b runtime.Object) int {
		ka, kb := kindOf(a), kindOf(b)
		na, nb := metaOf(a), metaOf(b)
		return cmp.Or(cmp.Compare(kindOrder(ka), kindOrder(kb)), cmp.Compare(na.GetName(), nb.GetName()),
			cmp.Compare(ka, kb), cmp.Compare(na.GetNamespace(), nb.GetNamespace()))
	})
}

// internalKey reports whether an annotation belongs to the engine, not the user.
func internalKey(k string) bool {
	domain, _, _ := strings.Cut(k, "/")
	return domain == "podbay.io" || strings.HasSuffix(domain, ".podbay.io") || strings.HasPrefix(k, "io.podman")
}

// annotations returns the user's annotations (all of them with PodbayAnnotations).
func (g *generator) annotations(in map[string]string) map[string]string {
	var out map[string]string
	for k, v := range in {
		if !g.opts.PodbayAnnotations && internalKey(k) {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

// exportNamespace leaves out the default namespace so the output lands where it is applied.
func exportNamespace(ns string) string {
	if ns == "default" {
		return ""
	}
	return ns
}
