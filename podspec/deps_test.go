package podspec

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLeafAndPureTranslators: the model imports nothing of podbay, and the
// translators (kube/...) pull in no engine package, store, netlink, CNI
// or registry client through it.
func TestLeafAndPureTranslators(t *testing.T) {
	for pkgs, banned := range map[string][]string{
		".": {"github.com/podbay/podbay/"},
		"../kube/...": {"github.com/podbay/podbay/engine/", "github.com/podbay/podbay/pod", "github.com/podbay/podbay/orchestrate",
			"go.etcd.io/bbolt", "github.com/vishvananda/netlink", "github.com/containernetworking/cni", "github.com/google/go-containerregistry"},
	} {
		out, err := exec.Command("go", "list", "-deps", pkgs).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkgs, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range banned {
				if strings.HasPrefix(dep, b) && dep != "github.com/podbay/podbay/podspec" && !strings.HasPrefix(dep, "github.com/podbay/podbay/kube/") {
					t.Errorf("%s depends on %s", pkgs, dep)
				}
			}
		}
	}
}
