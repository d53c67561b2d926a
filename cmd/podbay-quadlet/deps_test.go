package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestGeneratorStaysSmall: systemd runs generators at boot and on every
// daemon-reload, before anything else; podbay-quadlet links the standard
// library, the translator and the version string, nothing else.
func TestGeneratorStaysSmall(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	allowed := map[string]bool{}
	for _, p := range []string{"cmd/podbay-quadlet", "quadlet", "internal/version"} {
		allowed["github.com/podbay/podbay/"+p] = true
	}
	for _, dep := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(dep, "/")
		if strings.Contains(first, ".") && !allowed[dep] {
			t.Errorf("the generator depends on %s", dep)
		}
	}
}
