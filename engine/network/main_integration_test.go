//go:build integration

package network

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/podbay/podbay/internal/testenv"
)

// The integration tests run inside a private network and mount namespace
// (testenv.InPrivateNamespaces), so bridges, veths and iptables rules vanish
// with them and never touch the host.
const envChild = "PODBAY_NETTEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(envChild) {
	case "":
	case childNetNSChurn:
		os.Exit(childChurn())
	default:
		os.Exit(childAttach())
	}
	// firewall and loopback serve only TestDetachLegacyAttachment (what an
	// older podbay ran).
	os.Exit(testenv.InPrivateNamespaces(m.Run, "iptables-save", "/usr/lib/cni/bridge", "/usr/lib/cni/host-local",
		"/usr/lib/cni/portmap", "/usr/lib/cni/firewall", "/usr/lib/cni/loopback"))
}

// childAttach is one of the parallel processes of TestConcurrentAttach:
// it makes a namespace, attaches it and prints the attachment as JSON.
func childAttach() int {
	m, err := New(Options{Root: os.Getenv("NT_ROOT"), Runroot: os.Getenv("NT_RUNROOT")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	id := os.Getenv("NT_ID")
	ns, err := NewNetNS(os.Getenv("NT_RUNROOT"), id)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	a, err := m.Attach(context.Background(), AttachOptions{ContainerID: id, Name: "pod-" + id[:6], NetNS: ns, Network: os.Getenv("NT_NETWORK")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(a); err != nil {
		return 1
	}
	return 0
}
