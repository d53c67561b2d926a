package generate

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/podbay/podbay/podspec"
)

// podObject returns the pod as a Kubernetes Pod: from its Source when kube play made
// it, updated by what changed since, else derived from the spec.
func (g *generator) podObject(p *Pod) (*corev1.Pod, error) {
	if len(p.Spec.Source) == 0 {
		return g.derivePod(p), nil
	}
	var out corev1.Pod
	if err := json.Unmarshal(p.Spec.Source, &out); err != nil {
		return nil, fmt.Errorf("pod %q: decoding its source: %w", p.Spec.Name, err)
	}
	out.TypeMeta = typeMeta("v1", "Pod")
	out.Name = p.Spec.Name
	out.Namespace = exportNamespace(out.Namespace)
	out.Annotations = g.annotations(out.Annotations)
	s := &out.Spec
	s.InitContainers = g.reconcile(p, s.InitContainers, p.Spec.InitContainers)
	s.Containers = g.reconcile(p, s.Containers, p.Spec.Containers)
	return &out, nil
}

// reconcile keeps the played containers still in the pod, with their current image,
// and derives the containers added since.
func (g *generator) reconcile(p *Pod, played []corev1.Container, now []podspec.Container) []corev1.Container {
	byName := map[string]*corev1.Container{}
	for i := range played {
		byName[played[i].Name] = &played[i]
	}
	inSpec := map[string]bool{}
	for i := range now {
		inSpec[now[i].Name] = true
	}
	var out []corev1.Container
	for _, c := range played {
		if !inSpec[c.Name] {
			continue
		}
		if img := currentImage(p, c.Name); img != "" && img != c.Image {
			c.Image = img
		}
		out = append(out, c)
	}
	for i := range now {
		if byName[now[i].Name] == nil {
			out = append(out, g.deriveContainer(p, &now[i]))
		}
	}
	return out
}

// currentImage is the image a container runs now: the runtime's, else the spec's.
func currentImage(p *Pod, name string) string {
	if st := p.state(name); st != nil && st.Image != "" {
		return st.Image
	}
	for _, list := range [][]podspec.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				return list[i].Image
			}
		}
	}
	return ""
}

// state returns the runtime facts of a container, or nil.
func (p *Pod) state(name string) *ContainerState {
	for i := range p.Containers {
		if p.Containers[i].Name == name {
			return &p.Containers[i]
		}
	}
	return nil
}
