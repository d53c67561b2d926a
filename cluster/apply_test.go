package cluster

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func cm(rv string, data map[string]any, managers ...string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "c", "resourceVersion": rv}, "data": data}}
	var mf []metav1.ManagedFieldsEntry
	for _, m := range managers {
		mf = append(mf, metav1.ManagedFieldsEntry{Manager: m, Operation: metav1.ManagedFieldsOperationApply})
	}
	u.SetManagedFields(mf)
	return u
}

func TestOutcome(t *testing.T) {
	a := map[string]any{"k": "a"}
	b := map[string]any{"k": "b"}
	cases := []struct {
		name          string
		before, after *unstructured.Unstructured
		known, dryRun bool
		want          Outcome
	}{
		{"did not exist", nil, cm("2", a), true, false, Created},
		{"did not exist, dry run", nil, cm("", a), true, true, Created},
		{"could not be read", nil, cm("2", a), false, false, Applied},
		{"same resourceVersion", cm("5", a, "kubectl"), cm("5", a, "kubectl", "podbay"), true, false, Unchanged},
		{"new resourceVersion", cm("5", a), cm("6", b), true, false, Configured},
		{"dry run, same content", cm("5", a, "kubectl"), cm("5", a, "kubectl", "podbay"), true, true, Unchanged},
		{"dry run, new content", cm("5", a), cm("5", b), true, true, Configured},
	}
	for _, tc := range cases {
		if got := outcome(tc.before, tc.after, tc.known, tc.dryRun); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestObjectRef(t *testing.T) {
	for _, tc := range []struct{ kind, group, name, want string }{
		{"Deployment", "apps", "web", "deployment.apps/web"},
		{"ConfigMap", "", "c", "configmap/c"},
		{"CronJob", "batch", "nightly", "cronjob.batch/nightly"},
	} {
		if got := objectRef(tc.kind, tc.group, tc.name); got != tc.want {
			t.Errorf("objectRef(%s, %s, %s) = %s, want %s", tc.kind, tc.group, tc.name, got, tc.want)
		}
	}
}

func TestSplitRef(t *testing.T) {
	if r, n, err := splitRef("Deployment.apps/web"); err != nil || r != "deployment.apps" || n != "web" {
		t.Errorf("splitRef: %q %q %v", r, n, err)
	}
	for _, bad := range []string{"web", "deployment/", "/web", "deployment/web/x"} {
		if _, _, err := splitRef(bad); err == nil || !strings.Contains(err.Error(), "want KIND/NAME") {
			t.Errorf("splitRef(%q): %v", bad, err)
		}
	}
}

// Errors name the server and what went wrong in words a user can act on;
// an object's API error is the server's own message.
func TestErrorsNameTheCause(t *testing.T) {
	c := &Client{Server: "https://127.0.0.1:6443", Context: `context "dev" of /k`}
	refused := &url.Error{Op: "Get", URL: "https://127.0.0.1:6443/version", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	unknownCA := &url.Error{Op: "Get", URL: "https://127.0.0.1:6443/version", Err: x509.UnknownAuthorityError{}}
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "c", errors.New(`User "restricted" cannot patch resource "configmaps"`))
	cases := []struct {
		name string
		err  error
		want []string
	}{
		{"unreachable", c.reachError(refused), []string{"cannot reach the cluster at https://127.0.0.1:6443", `context "dev" of /k`, "connection refused"}},
		{"bad token", c.reachError(apierrors.NewUnauthorized("Unauthorized")), []string{"does not accept the credentials of context", "Unauthorized"}},
		{"unknown authority", c.reachError(unknownCA), []string{"no known authority signed", "--ca-cert-file"}},
		{"object forbidden", c.objectError(forbidden), []string{`configmaps "c" is forbidden: User "restricted" cannot patch resource "configmaps"`}},
	}
	for _, tc := range cases {
		for _, w := range tc.want {
			if !strings.Contains(tc.err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tc.name, tc.err, w)
			}
		}
	}
	if !apierrors.IsForbidden(c.objectError(forbidden)) {
		t.Error("an object's API error lost its status")
	}
}

// A request's Warning headers go to the warnings of its context only.
func TestWarningsPerRequest(t *testing.T) {
	ctx1, w1 := withWarnings(context.Background())
	_, w2 := withWarnings(context.Background())
	h := warningCollector{}
	h.HandleWarningHeaderWithContext(ctx1, 299, "-", `would violate PodSecurity "restricted:latest"`)
	h.HandleWarningHeaderWithContext(ctx1, 299, "-", `would violate PodSecurity "restricted:latest"`)
	h.HandleWarningHeaderWithContext(ctx1, 199, "-", "not a warning code")
	h.HandleWarningHeaderWithContext(context.Background(), 299, "-", "nobody collects this")
	if got := w1.all(); len(got) != 1 || !strings.Contains(got[0], "PodSecurity") {
		t.Errorf("first request's warnings: %q", got)
	}
	if got := w2.all(); len(got) != 0 {
		t.Errorf("second request's warnings: %q", got)
	}
}
