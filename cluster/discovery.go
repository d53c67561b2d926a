package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// resources maps kinds to resources, and kubectl's resource names to kinds,
// from the server's discovery documents (GET /api/v1, /apis/GROUP/VERSION),
// each read once, and again when it lacks a kind (a CRD's, created since).
// client-go's discovery and restmapper packages do this too, but linking
// them initialises every API group's scheme and the OpenAPI packages: about
// 17 ms and 1.3 MB at the start of every podbay-kube command, kube play's
// included.
type resources struct {
	get   func(ctx context.Context, path string, into any) error
	mu    sync.Mutex
	lists map[schema.GroupVersion]*metav1.APIResourceList
}

// fetchable are the group versions of the kinds kube play runs: where
// kube play --from-cluster looks a resource name up.
var fetchable = []schema.GroupVersion{{Version: "v1"}, {Group: "apps", Version: "v1"}, {Group: "batch", Version: "v1"}}

func discoveryPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "/api/" + gv.Version
	}
	return "/apis/" + gv.Group + "/" + gv.Version
}

// list returns a group version's resources (nil when the server has no
// such group version); fresh reads it again.
func (r *resources) list(ctx context.Context, gv schema.GroupVersion, fresh bool) (*metav1.APIResourceList, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l, ok := r.lists[gv]; ok && !fresh {
		return l, nil
	}
	l := &metav1.APIResourceList{}
	err := r.get(ctx, discoveryPath(gv), l)
	switch {
	case apierrors.IsNotFound(err):
		l = nil
	case err != nil:
		return nil, err
	}
	if r.lists == nil {
		r.lists = map[schema.GroupVersion]*metav1.APIResourceList{}
	}
	r.lists[gv] = l
	return l, nil
}

// mapping finds the resource of a kind: its name and whether it is namespaced.
func (r *resources) mapping(ctx context.Context, gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	for _, fresh := range []bool{false, true} {
		l, err := r.list(ctx, gvk.GroupVersion(), fresh)
		if err != nil {
			return nil, err
		}
		for _, res := range resourcesOf(l) {
			if res.Kind == gvk.Kind {
				m := &meta.RESTMapping{Resource: gvk.GroupVersion().WithResource(res.Name), GroupVersionKind: gvk, Scope: meta.RESTScopeRoot}
				if res.Namespaced {
					m.Scope = meta.RESTScopeNamespace
				}
				return m, nil
			}
		}
	}
	return nil, &meta.NoKindMatchError{GroupKind: gvk.GroupKind(), SearchedVersions: []string{gvk.Version}}
}

// resourcesOf lists a group version's resources, subresources left out.
func resourcesOf(l *metav1.APIResourceList) []metav1.APIResource {
	if l == nil {
		return nil
	}
	var out []metav1.APIResource
	for _, res := range l.APIResources {
		if !strings.Contains(res.Name, "/") {
			out = append(out, res)
		}
	}
	return out
}

// kindFor resolves a resource as kubectl names it (deployment, deploy,
// deployments.apps, deployment.v1.apps) among the fetchable group versions.
func (r *resources) kindFor(ctx context.Context, name string) (schema.GroupVersionKind, error) {
	gvr, gr := schema.ParseResourceArg(name)
	for _, gv := range fetchable {
		res := gr.Resource
		switch {
		case gvr != nil && gvr.GroupVersion() == gv:
			res = gvr.Resource
		case gr.Group != "" && gr.Group != gv.Group:
			continue
		}
		l, err := r.list(ctx, gv, false)
		if err != nil {
			return schema.GroupVersionKind{}, err
		}
		for _, x := range resourcesOf(l) {
			if x.Name == res || x.SingularName == res || strings.EqualFold(x.Kind, res) || slices.Contains(x.ShortNames, res) {
				return gv.WithKind(x.Kind), nil
			}
		}
	}
	return schema.GroupVersionKind{}, fmt.Errorf("%w %q among the kinds kube play runs (pod, deployment, statefulset, daemonset, replicaset, job, cronjob; service, configmap, secret, persistentvolumeclaim)", errNoResource, name)
}

// errNoResource is kindFor's answer for a name it cannot resolve.
var errNoResource = errors.New("no resource")

// getJSON reads path from the server into into (nil: the answer is
// dropped); an answer other than 200 is an API error, as client-go makes it.
func getJSON(ctx context.Context, client *http.Client, base *url.URL, userAgent, path string, into any) error {
	u := *base
	u.Path = strings.TrimRight(u.Path, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return statusError(resp.StatusCode, body)
	}
	if into == nil {
		return nil
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}

// statusError is the API error an answer carries (a Status object), or one
// made from its code.
func statusError(code int, body []byte) error {
	var st metav1.Status
	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" {
		return &apierrors.StatusError{ErrStatus: st}
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return apierrors.NewGenericServerResponse(code, "get", schema.GroupResource{}, "", msg, 0, false)
}
