//go:build integration

package main

import (
	"fmt"
	"os"
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
		if err := testenv.BuildBinaries(dir, "podbay", "podbay-kube", "podbay-monitor", "podbay-quadlet"); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			return 1
		}
		return m.Run()
	}, "runc", "iptables", "docker-registry", "systemd-analyze", "systemctl", "nsenter", "unshare", testenv.SystemdBinary))
}
