package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podbay/podbay/kube/manifest"
)

// Fetched is what Fetch read from the cluster, server-owned fields dropped
// (Clean): the ConfigMaps and Secrets the workloads reference, the
// workloads, then the Services that select their pods.
type Fetched struct {
	Objects []*unstructured.Unstructured
	// Notes tell what was referenced but not found, or could not be listed.
	Notes []string
}

var (
	configMapsResource = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	secretsResource    = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	servicesResource   = schema.GroupVersionResource{Version: "v1", Resource: "services"}
)

// fetch gathers one Fetch: what is read, in order, once each.
type fetch struct {
	c               *Client
	ns              string
	refs, workloads []*unstructured.Unstructured
	services        []*unstructured.Unstructured
	seen            map[string]bool
	notes           []string
	used            manifest.PodRefs
}

// Fetch reads workloads named as kubectl names them (deployment/web,
// pod/db, statefulsets.apps/x, deploy/web) from the client's namespace, with
// the ConfigMaps and Secrets their pod templates reference and the Services
// that select their pods.
func (c *Client) Fetch(ctx context.Context, refs []string) (*Fetched, error) {
	f := &fetch{c: c, ns: c.Namespace, seen: map[string]bool{}}
	for _, ref := range refs {
		if err := f.workload(ctx, ref); err != nil {
			return nil, err
		}
	}
	for _, r := range f.used.ConfigMaps {
		if err := f.referenced(ctx, configMapsResource, "ConfigMap", r); err != nil {
			return nil, err
		}
	}
	for _, r := range f.used.Secrets {
		if err := f.referenced(ctx, secretsResource, "Secret", r); err != nil {
			return nil, err
		}
	}
	f.selectingServices(ctx)
	objs := append(append(f.refs, f.workloads...), f.services...)
	return &Fetched{Objects: objs, Notes: f.notes}, nil
}

// splitRef splits "kind/name" (kind as kubectl takes it: deployment, deploy,
// deployments.apps, deployment.v1.apps).
func splitRef(ref string) (resource, name string, err error) {
	resource, name, ok := strings.Cut(ref, "/")
	if !ok || resource == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("%q: want KIND/NAME, such as deployment/web or pod/db", ref)
	}
	return strings.ToLower(resource), name, nil
}

func (f *fetch) workload(ctx context.Context, ref string) error {
	resource, name, err := splitRef(ref)
	if err != nil {
		return err
	}
	gvk, err := f.c.res.kindFor(ctx, resource)
	switch {
	case errors.Is(err, errNoResource):
		return fmt.Errorf("%s: %w", ref, err)
	case err != nil:
		return fmt.Errorf("%s: %w", ref, f.c.reachError(err))
	}
	m, err := f.c.mapping(ctx, gvk)
	if err != nil {
		return fmt.Errorf("%s: %w", ref, err)
	}
	u, err := f.c.resource(m, f.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("fetching %s from namespace %q: %w", ref, f.ns, f.c.objectError(err))
	}
	Clean(u)
	if key := u.GetKind() + "/" + u.GetName(); !f.seen[key] {
		f.seen[key] = true
		f.workloads = append(f.workloads, u)
	}
	spec, err := podSpec(u)
	if err != nil {
		return fmt.Errorf("%s: %w", ref, err)
	}
	if spec != nil {
		f.used.Add(manifest.References(spec))
	}
	return nil
}

// podSpec decodes the pod spec an object runs (nil when it runs none).
func podSpec(u *unstructured.Unstructured) (*corev1.PodSpec, error) {
	data, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	set, err := manifest.Decode("cluster", data)
	if err != nil {
		return nil, err
	}
	if len(set.Objects) != 1 || set.Objects[0].Obj == nil {
		return nil, nil
	}
	return manifest.PodSpecOf(set.Objects[0].Obj), nil
}

// referenced reads a ConfigMap or Secret a workload names; a missing one is
// a note (the local play reports it, unless it is optional).
func (f *fetch) referenced(ctx context.Context, gvr schema.GroupVersionResource, kind string, r manifest.Ref) error {
	u, err := f.c.dyn.Resource(gvr).Namespace(f.ns).Get(ctx, r.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if !r.Optional {
			f.notes = append(f.notes, fmt.Sprintf("%s %q is referenced but not in namespace %q", kind, r.Name, f.ns))
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading %s %q of namespace %q: %w", kind, r.Name, f.ns, f.c.objectError(err))
	}
	Clean(u)
	f.refs = append(f.refs, u)
	return nil
}

// selectingServices adds the Services of the namespace whose selector
// matches the labels of a fetched workload's pods.
func (f *fetch) selectingServices(ctx context.Context) {
	var pods []labels.Set
	for _, w := range f.workloads {
		if l := podLabels(w); len(l) > 0 {
			pods = append(pods, l)
		}
	}
	if len(pods) == 0 {
		return
	}
	list, err := f.c.dyn.Resource(servicesResource).Namespace(f.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		f.notes = append(f.notes, fmt.Sprintf("the Services of namespace %q could not be listed: %v", f.ns, f.c.objectError(err)))
		return
	}
	for i := range list.Items {
		svc := &list.Items[i]
		sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
		if len(sel) == 0 || f.seen["Service/"+svc.GetName()] {
			continue
		}
		for _, l := range pods {
			if labels.SelectorFromSet(sel).Matches(l) {
				f.seen["Service/"+svc.GetName()] = true
				svc.SetAPIVersion("v1")
				svc.SetKind("Service")
				Clean(svc)
				f.services = append(f.services, svc)
				break
			}
		}
	}
}

// podLabels are the labels of the pods an object runs.
func podLabels(u *unstructured.Unstructured) labels.Set {
	var path []string
	switch u.GetKind() {
	case "Pod":
		return u.GetLabels()
	case "CronJob":
		path = []string{"spec", "jobTemplate", "spec", "template", "metadata", "labels"}
	default:
		path = []string{"spec", "template", "metadata", "labels"}
	}
	l, _, _ := unstructured.NestedStringMap(u.Object, path...)
	return l
}
