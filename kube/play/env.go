package play

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubernetes/pkg/api/v1/resource"
	"k8s.io/kubernetes/pkg/fieldpath"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"

	"github.com/podbay/podbay/podspec"
)

// envResult is a container's resolved environment, in order, and its sources.
type envResult struct {
	vars   []podspec.EnvVar
	from   []podspec.EnvFromSource
	values map[string]string
}

func (e *envResult) set(v podspec.EnvVar) {
	if _, ok := e.values[v.Name]; ok {
		for i := range e.vars {
			if e.vars[i].Name == v.Name {
				e.vars[i] = v
			}
		}
	} else {
		e.vars = append(e.vars, v)
	}
	e.values[v.Name] = v.Value
}

// env resolves envFrom then env as the kubelet does: env wins, values expand $(VAR)
// against what is defined before them, and missing sources fail unless optional.
func (p *podBuilder) env(c *corev1.Container, rel string) *envResult {
	e := &envResult{values: map[string]string{}}
	for i, ef := range c.EnvFrom {
		p.envFrom(e, ef, rel+".envFrom["+itoa(i)+"]")
	}
	svc := p.serviceEnv()
	mapping := expansion.MappingFuncFor(e.values, svc)
	for i, ev := range c.Env {
		path := rel + ".env[" + itoa(i) + "]"
		switch {
		case ev.Value != "" || ev.ValueFrom == nil:
			e.set(podspec.EnvVar{Name: ev.Name, Value: expansion.Expand(ev.Value, mapping)})
		default:
			v, ok := p.valueFrom(c, ev.ValueFrom, path+".valueFrom")
			if ok {
				v.Name = ev.Name
				e.set(v)
			}
		}
	}
	addServiceEnv(e, svc)
	return e
}

func (p *podBuilder) envFrom(e *envResult, ef corev1.EnvFromSource, path string) {
	switch {
	case ef.ConfigMapRef != nil:
		r := ef.ConfigMapRef
		e.from = append(e.from, podspec.EnvFromSource{Kind: "configMap", Name: r.Name, Prefix: ef.Prefix, Optional: isTrue(r.Optional)})
		cm := p.t.configMap(p.ns, r.Name)
		if cm == nil {
			if !isTrue(r.Optional) {
				p.fail(path+".configMapRef.name", "configmaps %q not found", r.Name)
			}
			return
		}
		for _, k := range sortedKeys(cm.Data) {
			e.set(podspec.EnvVar{Name: ef.Prefix + k, Value: cm.Data[k]})
		}
	case ef.SecretRef != nil:
		r := ef.SecretRef
		e.from = append(e.from, podspec.EnvFromSource{Kind: "secret", Name: r.Name, Prefix: ef.Prefix, Optional: isTrue(r.Optional)})
		s := p.t.secret(p.ns, r.Name)
		if s == nil {
			if !isTrue(r.Optional) {
				p.fail(path+".secretRef.name", "secrets %q not found", r.Name)
			}
			return
		}
		for _, k := range sortedKeys(s.Data) {
			e.set(podspec.EnvVar{Name: ef.Prefix + k, Value: string(s.Data[k])})
		}
	}
}

// valueFrom resolves one env source; ok is false when an optional source is missing.
func (p *podBuilder) valueFrom(c *corev1.Container, vf *corev1.EnvVarSource, path string) (podspec.EnvVar, bool) {
	switch {
	case vf.ConfigMapKeyRef != nil:
		r := vf.ConfigMapKeyRef
		src := &podspec.EnvSource{Kind: "configMapKeyRef", Name: r.Name, Key: r.Key, Optional: isTrue(r.Optional)}
		cm := p.t.configMap(p.ns, r.Name)
		if cm == nil {
			return p.missing(src, path+".configMapKeyRef.name", "configmaps %q not found", r.Name)
		}
		v, ok := cm.Data[r.Key]
		if !ok {
			return p.missing(src, path+".configMapKeyRef.key", "couldn't find key %s in ConfigMap %s/%s", r.Key, p.ns, r.Name)
		}
		return podspec.EnvVar{Value: v, From: src}, true
	case vf.SecretKeyRef != nil:
		r := vf.SecretKeyRef
		src := &podspec.EnvSource{Kind: "secretKeyRef", Name: r.Name, Key: r.Key, Optional: isTrue(r.Optional)}
		s := p.t.secret(p.ns, r.Name)
		if s == nil {
			return p.missing(src, path+".secretKeyRef.name", "secrets %q not found", r.Name)
		}
		v, ok := s.Data[r.Key]
		if !ok {
			return p.missing(src, path+".secretKeyRef.key", "couldn't find key %s in Secret %s/%s", r.Key, p.ns, r.Name)
		}
		return podspec.EnvVar{Value: string(v), From: src}, true
	case vf.FieldRef != nil:
		src := &podspec.EnvSource{Kind: "fieldRef", FieldPath: vf.FieldRef.FieldPath}
		v, err := p.fieldValue(vf.FieldRef.FieldPath)
		if err != nil {
			p.fail(path+".fieldRef.fieldPath", "%v", err)
		}
		return podspec.EnvVar{Value: v, From: src}, true
	case vf.ResourceFieldRef != nil:
		r := vf.ResourceFieldRef
		src := &podspec.EnvSource{Kind: "resourceFieldRef", Resource: r.Resource, Container: r.ContainerName}
		if !r.Divisor.IsZero() {
			src.Divisor = r.Divisor.String()
		}
		v, err := p.resourceValue(c, r)
		if err != nil {
			p.fail(path+".resourceFieldRef", "%v", err)
		}
		return podspec.EnvVar{Value: v, From: src}, true
	}
	p.fail(path, "no source set")
	return podspec.EnvVar{}, false
}

func (p *podBuilder) missing(src *podspec.EnvSource, path, format string, args ...any) (podspec.EnvVar, bool) {
	if !src.Optional {
		p.fail(path, format, args...)
	}
	return podspec.EnvVar{}, false
}

// fieldValue resolves a downward API field of the pod; runtime-only fields become markers.
func (p *podBuilder) fieldValue(fp string) (string, error) {
	switch fp {
	case "metadata.uid", "spec.nodeName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs":
		return p.runtimeRef(fp), nil
	case "spec.serviceAccountName":
		if sa := p.tmpl.Spec.ServiceAccountName; sa != "" {
			return sa, nil
		}
		return "default", nil
	}
	meta := &metav1.ObjectMeta{Name: p.out.Name, Namespace: p.ns, Labels: p.tmpl.Labels, Annotations: p.tmpl.Annotations}
	return fieldpath.ExtractFieldPathAsString(meta, fp)
}

// resourceValue resolves a resourceFieldRef; an unset limit is the node's allocatable,
// which only the runtime knows.
func (p *podBuilder) resourceValue(c *corev1.Container, r *corev1.ResourceFieldSelector) (string, error) {
	target := c
	if r.ContainerName != "" {
		target = p.findContainer(r.ContainerName)
		if target == nil {
			return "", errorf("container %q not found", r.ContainerName)
		}
	}
	if name, ok := strings.CutPrefix(r.Resource, "limits."); ok {
		if _, set := target.Resources.Limits[corev1.ResourceName(name)]; !set {
			div := "1"
			if !r.Divisor.IsZero() {
				div = r.Divisor.String()
			}
			return p.runtimeRef("node.allocatable." + name + "/" + div), nil
		}
	}
	return resource.ExtractContainerResourceValue(r, withDefaultRequests(target))
}

// withDefaultRequests returns c with unset requests defaulted to its limits, as the API server does.
func withDefaultRequests(c *corev1.Container) *corev1.Container {
	c = c.DeepCopy()
	for name, q := range c.Resources.Limits {
		if _, ok := c.Resources.Requests[name]; !ok {
			if c.Resources.Requests == nil {
				c.Resources.Requests = corev1.ResourceList{}
			}
			c.Resources.Requests[name] = q
		}
	}
	return c
}

func (p *podBuilder) findContainer(name string) *corev1.Container {
	s := &p.tmpl.Spec
	for _, list := range [][]corev1.Container{s.InitContainers, s.Containers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

func isTrue(b *bool) bool { return b != nil && *b }

func itoa(i int) string { return strconv.Itoa(i) }
