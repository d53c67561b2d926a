package manifest

import (
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// PodSpecOf returns the pod spec an object runs (a Pod's, a workload's
// template's, a CronJob's job template's), or nil when it runs none.
func PodSpecOf(obj runtime.Object) *corev1.PodSpec {
	switch o := obj.(type) {
	case *corev1.Pod:
		return &o.Spec
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec
	case *appsv1.ReplicaSet:
		return &o.Spec.Template.Spec
	case *appsv1.StatefulSet:
		return &o.Spec.Template.Spec
	case *appsv1.DaemonSet:
		return &o.Spec.Template.Spec
	case *batchv1.Job:
		return &o.Spec.Template.Spec
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template.Spec
	}
	return nil
}

// Ref is one ConfigMap, Secret or claim a pod spec names; Optional when
// every reference to it is optional.
type Ref struct {
	Name     string
	Optional bool
}

// PodRefs is what a pod spec references, each in first-reference order.
type PodRefs struct {
	ConfigMaps, Secrets, Claims []Ref
}

// References lists the ConfigMaps, Secrets and claims a pod spec uses:
// volumes (projected sources too), envFrom and env valueFrom.
func References(s *corev1.PodSpec) PodRefs {
	var r PodRefs
	cm := func(name string, opt *bool) { r.ConfigMaps = addRef(r.ConfigMaps, Ref{name, isTrue(opt)}) }
	sec := func(name string, opt *bool) { r.Secrets = addRef(r.Secrets, Ref{name, isTrue(opt)}) }
	for _, v := range s.Volumes {
		switch {
		case v.ConfigMap != nil:
			cm(v.ConfigMap.Name, v.ConfigMap.Optional)
		case v.Secret != nil:
			sec(v.Secret.SecretName, v.Secret.Optional)
		case v.PersistentVolumeClaim != nil:
			r.Claims = addRef(r.Claims, Ref{Name: v.PersistentVolumeClaim.ClaimName})
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.ConfigMap != nil {
					cm(src.ConfigMap.Name, src.ConfigMap.Optional)
				}
				if src.Secret != nil {
					sec(src.Secret.Name, src.Secret.Optional)
				}
			}
		}
	}
	for _, c := range slices.Concat(s.InitContainers, s.Containers) {
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil {
				cm(ef.ConfigMapRef.Name, ef.ConfigMapRef.Optional)
			}
			if ef.SecretRef != nil {
				sec(ef.SecretRef.Name, ef.SecretRef.Optional)
			}
		}
		for _, e := range c.Env {
			if vf := e.ValueFrom; vf != nil && vf.ConfigMapKeyRef != nil {
				cm(vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Optional)
			} else if vf != nil && vf.SecretKeyRef != nil {
				sec(vf.SecretKeyRef.Name, vf.SecretKeyRef.Optional)
			}
		}
	}
	return r
}

// Add adds other's references to r, each once.
func (r *PodRefs) Add(other PodRefs) {
	for _, x := range other.ConfigMaps {
		r.ConfigMaps = addRef(r.ConfigMaps, x)
	}
	for _, x := range other.Secrets {
		r.Secrets = addRef(r.Secrets, x)
	}
	for _, x := range other.Claims {
		r.Claims = addRef(r.Claims, x)
	}
}

// addRef adds r once: a second reference that is not optional makes it required.
func addRef(list []Ref, r Ref) []Ref {
	for i := range list {
		if list[i].Name == r.Name {
			list[i].Optional = list[i].Optional && r.Optional
			return list
		}
	}
	return append(list, r)
}

func isTrue(b *bool) bool { return b != nil && *b }
