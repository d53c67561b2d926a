package cluster

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fakeDiscovery serves discovery documents from a map and counts the reads.
type fakeDiscovery struct {
	lists map[string]metav1.APIResourceList
	reads map[string]int
}

func (f *fakeDiscovery) get(_ context.Context, path string, into any) error {
	f.reads[path]++
	l, ok := f.lists[path]
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{}, path)
	}
	*into.(*metav1.APIResourceList) = l
	return nil
}

func newFakeDiscovery() *fakeDiscovery {
	return &fakeDiscovery{reads: map[string]int{}, lists: map[string]metav1.APIResourceList{
		"/api/v1": {APIResources: []metav1.APIResource{
			{Name: "pods", SingularName: "pod", Kind: "Pod", Namespaced: true, ShortNames: []string{"po"}},
			{Name: "pods/log", Kind: "Pod", Namespaced: true},
			{Name: "namespaces", SingularName: "namespace", Kind: "Namespace", ShortNames: []string{"ns"}},
			{Name: "services", SingularName: "service", Kind: "Service", Namespaced: true, ShortNames: []string{"svc"}},
		}},
		"/apis/apps/v1": {APIResources: []metav1.APIResource{
			{Name: "deployments", SingularName: "deployment", Kind: "Deployment", Namespaced: true, ShortNames: []string{"deploy"}},
		}},
		"/apis/batch/v1": {APIResources: []metav1.APIResource{{Name: "jobs", SingularName: "job", Kind: "Job", Namespaced: true}}},
	}}
}

func TestMappingFromDiscovery(t *testing.T) {
	f := newFakeDiscovery()
	r := &resources{get: f.get}
	ctx := context.Background()
	m, err := r.mapping(ctx, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"})
	if err != nil || m.Resource.Resource != "deployments" || m.Scope.Name() != meta.RESTScopeNameNamespace {
		t.Fatalf("Deployment: %+v %v", m, err)
	}
	if m, err := r.mapping(ctx, schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}); err != nil || m.Scope.Name() != meta.RESTScopeNameRoot {
		t.Errorf("Namespace: %+v %v", m, err)
	}
	r.mapping(ctx, schema.GroupVersionKind{Version: "v1", Kind: "Pod"})
	if f.reads["/api/v1"] != 1 {
		t.Errorf("/api/v1 read %d times for two kinds it has, want once", f.reads["/api/v1"])
	}
	// A kind the document lacks: read again (it may be a CRD's, new), then no match.
	_, err = r.mapping(ctx, schema.GroupVersionKind{Version: "v1", Kind: "Frobnicator"})
	if !meta.IsNoMatchError(err) || err.Error() != `no matches for kind "Frobnicator" in version "v1"` || f.reads["/api/v1"] != 2 {
		t.Errorf("unknown kind: %v (after %d reads)", err, f.reads["/api/v1"])
	}
	f.lists["/apis/example.com/v1"] = metav1.APIResourceList{APIResources: []metav1.APIResource{{Name: "widgets", Kind: "Widget", Namespaced: true}}}
	if _, err := r.mapping(ctx, schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}); err != nil {
		t.Errorf("a group served since: %v", err)
	}
	if _, err := r.mapping(ctx, schema.GroupVersionKind{Group: "nowhere.io", Version: "v1", Kind: "X"}); !meta.IsNoMatchError(err) {
		t.Errorf("a group the server lacks: %v", err)
	}
}

func TestKindForNamesAsKubectl(t *testing.T) {
	r := &resources{get: newFakeDiscovery().get}
	for name, want := range map[string]string{
		"deployment": "apps/v1, Kind=Deployment", "deploy": "apps/v1, Kind=Deployment", "deployments.apps": "apps/v1, Kind=Deployment",
		"deployment.v1.apps": "apps/v1, Kind=Deployment", "po": "/v1, Kind=Pod", "pods": "/v1, Kind=Pod", "svc": "/v1, Kind=Service",
		"job": "batch/v1, Kind=Job", "Deployment": "apps/v1, Kind=Deployment",
	} {
		gvk, err := r.kindFor(context.Background(), strings.ToLower(name))
		if err != nil || gvk.String() != want {
			t.Errorf("kindFor(%q) = %v %v, want %s", name, gvk, err, want)
		}
	}
	if _, err := r.kindFor(context.Background(), "widgets"); !errors.Is(err, errNoResource) {
		t.Errorf("an unknown resource: %v", err)
	}
}

// A refusal carries the server's Status, or an error made from its code.
func TestStatusError(t *testing.T) {
	err := statusError(http.StatusUnauthorized, []byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`))
	if !apierrors.IsUnauthorized(err) || err.Error() != "Unauthorized" {
		t.Errorf("a Status answer: %v", err)
	}
	if err := statusError(http.StatusForbidden, []byte("forbidden: no")); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "forbidden: no") {
		t.Errorf("a plain answer: %v", err)
	}
}
