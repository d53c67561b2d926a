package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLeanCLILinksNoKubernetes: the lean podbay (-tags lean) links no
// Kubernetes package and not the cluster bridge (client-go); podbay-kube,
// the same CLI without the tag, links both, but not client-go's discovery,
// restmapper or typed scheme, nor the OpenAPI models: their package
// initialisation (every API group's scheme) cost every podbay-kube command,
// kube play's included, about 17 ms and 1.3 MB at start.
func TestLeanCLILinksNoKubernetes(t *testing.T) {
	deps := func(tags ...string) map[string]bool {
		out, err := exec.Command("go", append(append([]string{"list", "-deps"}, tags...), ".")...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %v: %v\n%s", tags, err, out)
		}
		m := map[string]bool{}
		for _, d := range strings.Fields(string(out)) {
			m[d] = true
		}
		return m
	}
	for dep := range deps("-tags", "lean") {
		if strings.HasPrefix(dep, "k8s.io/") || strings.HasPrefix(dep, "sigs.k8s.io/") || dep == "github.com/podbay/podbay/cluster" {
			t.Errorf("the lean podbay links %s", dep)
		}
	}
	full := deps()
	for _, want := range []string{"github.com/podbay/podbay/cluster", "k8s.io/client-go/rest"} {
		if !full[want] {
			t.Errorf("podbay-kube does not link %s", want)
		}
	}
	for dep := range full {
		for _, heavy := range []string{"k8s.io/client-go/discovery", "k8s.io/client-go/restmapper", "k8s.io/client-go/kubernetes", "github.com/google/gnostic-models", "k8s.io/client-go/openapi"} {
			if dep == heavy || strings.HasPrefix(dep, heavy+"/") {
				t.Errorf("podbay-kube links %s", dep)
			}
		}
	}
}
