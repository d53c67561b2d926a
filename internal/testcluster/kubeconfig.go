package testcluster

import (
	"context"
	"fmt"
	"os"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// writeKubeconfig writes a kubeconfig with a context per kind of user.
func (c *Cluster) writeKubeconfig() error {
	c.Kubeconfig = c.path("kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q, certificate-authority: %q}
- name: unreachable
  cluster: {server: "https://%s", certificate-authority: %q}
users:
- name: admin
  user: {token: %q}
- name: cert-admin
  user: {client-certificate: %q, client-key: %q}
- name: restricted
  user: {token: %q}
- name: bad-token
  user: {token: %q}
contexts:
- name: admin
  context: {cluster: test, user: admin}
- name: cert-admin
  context: {cluster: test, user: cert-admin}
- name: restricted
  context: {cluster: test, user: restricted}
- name: bad-token
  context: {cluster: test, user: bad-token}
- name: unreachable
  context: {cluster: unreachable, user: admin}
current-context: admin
`, c.URL, c.CAFile, freeAddr(c.t), c.CAFile, AdminToken, c.path("client.crt"), c.path("client.key"),
		RestrictedToken, BadToken)
	return os.WriteFile(c.Kubeconfig, []byte(kc), 0o600)
}

// Admin is a client configuration with the admin token.
func (c *Cluster) Admin() *rest.Config {
	return &rest.Config{Host: c.URL, BearerToken: AdminToken, TLSClientConfig: rest.TLSClientConfig{CAFile: c.CAFile}}
}

var (
	namespaces      = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	serviceAccounts = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
)

// serviceAccounts does the part of kube-controller-manager's service account
// controller that pods need: every namespace gets a "default" ServiceAccount
// (the ServiceAccount admission plugin refuses pods without one).
func (c *Cluster) serviceAccounts(ctx context.Context) {
	dyn, err := dynamic.NewForConfig(c.Admin())
	if err != nil {
		c.t.Errorf("service account controller: %v", err)
		return
	}
	for ctx.Err() == nil {
		// A watch from no resourceVersion first lists what exists as ADDED events.
		w, err := dyn.Resource(namespaces).Watch(ctx, metav1.ListOptions{})
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		for ev := range w.ResultChan() {
			ns, ok := ev.Object.(*unstructured.Unstructured)
			if ev.Type != watch.Added || !ok {
				continue
			}
			sa := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount",
				"metadata": map[string]any{"name": "default"}}}
			_, err := dyn.Resource(serviceAccounts).Namespace(ns.GetName()).Create(ctx, sa, metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) && ctx.Err() == nil {
				c.t.Logf("service account controller: namespace %s: %v", ns.GetName(), err)
			}
		}
		w.Stop()
	}
}
