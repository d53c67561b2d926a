package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var namespacesResource = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// ensureNamespaces creates the namespaces the objects go into that neither
// exist nor are among the applied Namespace objects, and returns their
// results. An object whose namespace could not be made fails; in a dry run,
// an object whose namespace does not exist yet is Unchecked (the server
// refuses objects in a namespace it does not have, dry run or not).
func (c *Client) ensureNamespaces(ctx context.Context, applied, objs []*target, opts ApplyOptions) []Result {
	given := map[string]*Result{}
	for _, t := range applied {
		given[t.res.Name] = &t.res
	}
	var created []Result
	state := map[string]*Result{} // a namespace's own result; nil when it exists
	for _, t := range objs {
		ns := t.res.Namespace
		if t.res.Err != nil || ns == "" {
			continue
		}
		r, seen := state[ns]
		if !seen {
			if r = given[ns]; r == nil {
				r = c.ensureNamespace(ctx, ns, opts)
				if r != nil {
					created = append(created, *r)
				}
			}
			state[ns] = r
		}
		switch {
		case r == nil:
		case r.Outcome == Failed:
			t.res.Err = fmt.Errorf("its namespace %q could not be made: %w", ns, r.Err)
		case opts.DryRun && r.Outcome == Created:
			t.res.Outcome = Unchecked
			t.res.Note = fmt.Sprintf("namespace %q does not exist yet: the server can check what goes into it once it does (kube apply creates it)", ns)
		}
	}
	return created
}

// ensureNamespace creates a missing namespace and returns its result, or nil
// when it exists (or cannot be read: the objects' own requests will tell).
func (c *Client) ensureNamespace(ctx context.Context, name string, opts ApplyOptions) *Result {
	ri := c.dyn.Resource(namespacesResource)
	_, err := ri.Get(ctx, name, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		return nil
	}
	res := &Result{Ref: "namespace/" + name, Kind: "Namespace", Name: name, Index: -1, Outcome: Created,
		Note: "objects go into it"}
	ns := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: name}}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ns)
	if err != nil {
		res.Outcome, res.Err = Failed, err
		return res
	}
	co := metav1.CreateOptions{FieldManager: FieldManager}
	if opts.DryRun {
		co.DryRun = []string{metav1.DryRunAll}
	}
	_, err = ri.Create(ctx, &unstructured.Unstructured{Object: u}, co)
	switch {
	case apierrors.IsAlreadyExists(err): // made meanwhile
		return nil
	case err != nil:
		res.Outcome, res.Err = Failed, c.objectError(err)
	}
	return res
}
