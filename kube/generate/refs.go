package generate

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podbay/podbay/kube/manifest"
)

// defaultClaimSize is the size of an exported claim whose size is unknown.
const defaultClaimSize = 1 << 30

// ref is one referenced ConfigMap, Secret or claim.
type ref struct {
	ns, name string
	optional bool
}

// refSet is what the exported pods reference, in first-reference order.
type refSet struct {
	configMaps, secrets, claims []ref
}

func newRefSet() *refSet { return &refSet{} }

func add(list []ref, r ref) []ref {
	for i := range list {
		if list[i].ns == r.ns && list[i].name == r.name {
			list[i].optional = list[i].optional && r.optional
			return list
		}
	}
	return append(list, r)
}

// addSpec records what a pod spec references.
func (r *refSet) addSpec(p *Pod, s *corev1.PodSpec) {
	ns := cmpOr(p.Spec.Namespace, "default")
	refs := manifest.References(s)
	for _, x := range refs.ConfigMaps {
		r.configMaps = add(r.configMaps, ref{ns, x.Name, x.Optional})
	}
	for _, x := range refs.Secrets {
		r.secrets = add(r.secrets, ref{ns, x.Name, x.Optional})
	}
	for _, x := range refs.Claims {
		r.claims = add(r.claims, ref{ns: ns, name: x.Name})
	}
}

// collectRefs exports the referenced ConfigMaps, Secrets and claims the pods know.
func (g *generator) collectRefs(pods []Pod) {
	for _, r := range g.refs.configMaps {
		if c := findIn(pods, r, (*Pod).configMap); c != nil {
			g.res.Objects = append(g.res.Objects, &corev1.ConfigMap{TypeMeta: typeMeta("v1", "ConfigMap"),
				ObjectMeta: objectMeta(c.Name, r.ns, c.Labels, nil), Data: c.Data, BinaryData: c.BinaryData})
		} else if !r.optional {
			g.note("ConfigMap %q is referenced but unknown: not exported", r.name)
		}
	}
	for _, r := range g.refs.secrets {
		if s := findIn(pods, r, (*Pod).secret); s != nil {
			out := &corev1.Secret{TypeMeta: typeMeta("v1", "Secret"), ObjectMeta: objectMeta(s.Name, r.ns, s.Labels, nil),
				Data: s.Data}
			if s.Type != string(corev1.SecretTypeOpaque) {
				out.Type = corev1.SecretType(s.Type)
			}
			g.res.Objects = append(g.res.Objects, out)
		} else if !r.optional {
			g.note("Secret %q is referenced but unknown: not exported", r.name)
		}
	}
	for _, r := range g.refs.claims {
		g.res.Objects = append(g.res.Objects, claimObject(r, findIn(pods, r, (*Pod).claim)))
	}
}

// findIn looks a reference up in the pods of its namespace.
func findIn[T any](pods []Pod, r ref, lookup func(*Pod, string) *T) *T {
	for i := range pods {
		if sameNamespace(pods[i].Spec.Namespace, r.ns) {
			if x := lookup(&pods[i], r.name); x != nil {
				return x
			}
		}
	}
	return nil
}

func objectMeta(name, ns string, labels, annotations map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: exportNamespace(ns), Labels: labels, Annotations: annotations}
}

// claimObject is the PersistentVolumeClaim of a named volume (ReadWriteOnce, 1Gi when unknown).
func claimObject(r ref, c *Claim) *corev1.PersistentVolumeClaim {
	if c == nil {
		c = &Claim{Name: r.name}
	}
	pvc := &corev1.PersistentVolumeClaim{TypeMeta: typeMeta("v1", "PersistentVolumeClaim"),
		ObjectMeta: objectMeta(r.name, r.ns, c.Labels, c.Annotations)}
	s := &pvc.Spec
	for _, m := range c.AccessModes {
		s.AccessModes = append(s.AccessModes, corev1.PersistentVolumeAccessMode(m))
	}
	if len(s.AccessModes) == 0 {
		s.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	size := c.Storage
	if size <= 0 {
		size = defaultClaimSize
	}
	s.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: *resource.NewQuantity(size, resource.BinarySI)}
	if c.StorageClass != "" {
		s.StorageClassName = ptr(c.StorageClass)
	}
	if c.VolumeMode != "" {
		s.VolumeMode = ptr(corev1.PersistentVolumeMode(c.VolumeMode))
	}
	return pvc
}
