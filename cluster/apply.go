package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// FieldManager is podbay's name in the managedFields of what it applies.
const FieldManager = "podbay"

// parallelApplies bounds the objects applied at once.
const parallelApplies = 8

// Outcome is what an apply did to one object.
type Outcome string

const (
	Created    Outcome = "created"
	Configured Outcome = "configured"
	Unchanged  Outcome = "unchanged"
	// Applied: the server took the object, but it could not be read before,
	// so whether it changed is unknown.
	Applied Outcome = "applied"
	// Unchecked: a dry run could not ask the server about the object, whose
	// namespace does not exist yet.
	Unchecked Outcome = "unchecked"
	Failed    Outcome = "failed"
)

// Result is the outcome of one object, or of a namespace Apply created.
type Result struct {
	// Ref is the object as kubectl names it: deployment.apps/web.
	Ref       string
	Kind      string
	Name      string
	Namespace string
	Outcome   Outcome
	// Warnings are the server's Warning headers (deprecations, Pod Security
	// in warn mode, ...).
	Warnings []string
	Note     string
	// Err is the server's answer when Outcome is Failed.
	Err error
	// Index is the object's place in the input; -1 for a namespace Apply created.
	Index int
}

// ApplyOptions change how Apply applies.
type ApplyOptions struct {
	// DryRun asks the server to check everything, admission included, and store nothing.
	DryRun bool
	// Force takes over fields that other managers own (kubectl's --force-conflicts).
	Force bool
	// DefaultNamespace makes the namespace asked for (Options.Namespace)
	// only the namespace of objects that name none; otherwise an object
	// naming another one fails, as with kubectl -n.
	DefaultNamespace bool
}

// target is one object on its way to the server.
type target struct {
	obj     *unstructured.Unstructured
	mapping *meta.RESTMapping
	res     Result
}

// Apply sends each object with server-side apply (field manager podbay) and
// returns one result per object, in input order after the namespaces (those
// the input holds, then those Apply created because objects go into them).
// One object's failure does not stop the others.
func (c *Client) Apply(ctx context.Context, objs []*unstructured.Unstructured, opts ApplyOptions) []Result {
	targets := make([]*target, len(objs))
	for i, o := range objs {
		targets[i] = c.target(ctx, o, i, opts)
	}
	var namespaces, rest []*target
	for _, t := range targets {
		if t.res.Err == nil && isNamespace(t.mapping) {
			namespaces = append(namespaces, t)
		} else {
			rest = append(rest, t)
		}
	}
	c.applyAll(ctx, namespaces, opts)
	created := c.ensureNamespaces(ctx, namespaces, rest, opts)
	c.applyAll(ctx, rest, opts)
	out := make([]Result, 0, len(targets)+len(created))
	for _, t := range namespaces {
		out = append(out, t.res)
	}
	out = append(out, created...)
	for _, t := range rest {
		out = append(out, t.res)
	}
	return out
}

func isNamespace(m *meta.RESTMapping) bool {
	return m.Resource.Group == "" && m.Resource.Resource == "namespaces"
}

// target maps an object to its resource and namespace; a failure is its result.
func (c *Client) target(ctx context.Context, o *unstructured.Unstructured, i int, opts ApplyOptions) *target {
	o = o.DeepCopy()
	gvk := o.GroupVersionKind()
	t := &target{obj: o, res: Result{Kind: gvk.Kind, Name: o.GetName(), Index: i, Outcome: Failed,
		Ref: strings.ToLower(gvk.Kind) + "/" + o.GetName()}}
	if gvk.Kind == "" || gvk.Version == "" {
		t.res.Err = errors.New("no apiVersion or kind")
		return t
	}
	if o.GetName() == "" {
		t.res.Err = errors.New("no metadata.name: server-side apply needs one")
		return t
	}
	m, err := c.mapping(ctx, gvk)
	if err != nil {
		t.res.Err = err
		return t
	}
	t.mapping = m
	t.res.Ref = objectRef(gvk.Kind, gvk.Group, o.GetName())
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		o.SetNamespace("")
		return t
	}
	ns := o.GetNamespace()
	switch {
	case ns == "":
		ns = c.Namespace
	case c.NamespaceGiven && !opts.DefaultNamespace && ns != c.Namespace:
		t.res.Err = fmt.Errorf("its namespace %q is not the one asked for (%q)", ns, c.Namespace)
		return t
	}
	o.SetNamespace(ns)
	t.res.Namespace = ns
	return t
}

// objectRef names an object as kubectl does: kind[.group]/name, lower case.
func objectRef(kind, group, name string) string {
	r := strings.ToLower(kind)
	if group != "" {
		r += "." + group
	}
	return r + "/" + name
}

// mapping finds the resource of a kind, asking discovery again once for a
// kind it does not know (one created since, such as a CRD's).
func (c *Client) mapping(ctx context.Context, gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.res.mapping(ctx, gvk)
	switch {
	case err == nil:
		return m, nil
	case meta.IsNoMatchError(err):
		return nil, fmt.Errorf("the cluster does not serve it: %w", err)
	}
	return nil, c.reachError(err)
}

func (c *Client) resource(m *meta.RESTMapping, ns string) dynamic.ResourceInterface {
	r := c.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return r.Namespace(ns)
	}
	return r
}

// applyAll applies the targets that have no error yet, a few at a time.
func (c *Client) applyAll(ctx context.Context, ts []*target, opts ApplyOptions) {
	sem := make(chan struct{}, parallelApplies)
	var wg sync.WaitGroup
	for _, t := range ts {
		if t.res.Err != nil || t.res.Outcome == Unchecked {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c.applyOne(ctx, t, opts)
		})
	}
	wg.Wait()
}

// applyOne reads the object, applies it and tells what changed.
func (c *Client) applyOne(ctx context.Context, t *target, opts ApplyOptions) {
	ctx, w := withWarnings(ctx)
	defer func() { t.res.Warnings = w.all() }()
	ri := c.resource(t.mapping, t.res.Namespace)
	before, err := ri.Get(ctx, t.res.Name, metav1.GetOptions{})
	known := err == nil || apierrors.IsNotFound(err)
	if err != nil {
		before = nil
	}
	data, err := json.Marshal(t.obj.Object)
	if err != nil {
		t.res.Err = err
		return
	}
	po := metav1.PatchOptions{FieldManager: FieldManager, Force: &opts.Force, FieldValidation: "Strict"}
	if opts.DryRun {
		po.DryRun = []string{metav1.DryRunAll}
	}
	after, err := ri.Patch(ctx, t.res.Name, types.ApplyPatchType, data, po)
	if err != nil {
		t.res.Err = c.objectError(err)
		return
	}
	t.res.Outcome = outcome(before, after, known, opts.DryRun)
}

// outcome tells what an apply did from the object before (nil when it did
// not exist, or when it could not be read: known is false) and the server's
// answer: a real apply changed the object when its resourceVersion moved; a
// dry run would have when the answer differs from the stored object beyond
// managedFields.
func outcome(before, after *unstructured.Unstructured, known, dryRun bool) Outcome {
	switch {
	case !known:
		return Applied
	case before == nil:
		return Created
	case dryRun:
		b, a := before.DeepCopy(), after.DeepCopy()
		b.SetManagedFields(nil)
		a.SetManagedFields(nil)
		if reflect.DeepEqual(b.Object, a.Object) {
			return Unchanged
		}
		return Configured
	case before.GetResourceVersion() == after.GetResourceVersion():
		return Unchanged
	}
	return Configured
}
