//go:build integration

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/podbay/podbay/internal/testenv"
)

// binDir holds podbay, podbay-kube, podbay-monitor and podbay-quadlet,
// built once for the run, side by side as make install puts them.
var binDir string

// TestMain runs the tests inside a private network and mount namespace
// (the systemd they boot shares the network namespace) after building the
// binaries the generated units run.
func TestMain(m *testing.M) {
	os.Exit(testenv.InPrivateNamespaces(func() int {
		dir, err := os.MkdirTemp("", "podbay-quadlet-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binDir = dir
		for out, pkg := range map[string][]string{
			"podbay":         {"-tags", "lean", "github.com/podbay/podbay/cmd/podbay"},
			"podbay-kube":    {"github.com/podbay/podbay/cmd/podbay"},
			"podbay-monitor": {"github.com/podbay/podbay/cmd/podbay-monitor"},
			"podbay-quadlet": {"github.com/podbay/podbay/cmd/podbay-quadlet"},
		} {
			cmd := exec.Command("go", append([]string{"build", "-o", filepath.Join(dir, out)}, pkg...)...)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if output, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "FAIL: building %s: %v\n%s", out, err, output)
				return 1
			}
		}
		return m.Run()
	}, "runc", "iptables", "docker-registry", "systemd-analyze", "systemctl", "nsenter", "unshare", testenv.SystemdBinary))
}
