//go:build integration

package svcproxy

import (
	"os"
	"testing"

	"github.com/podbay/podbay/internal/testenv"
)

// TestMain runs the tests inside a private network and mount namespace, so
// namespaces, veths and iptables rules vanish with them.
func TestMain(m *testing.M) {
	os.Exit(testenv.InPrivateNamespaces(m.Run, "iptables-save", "iptables-restore"))
}
