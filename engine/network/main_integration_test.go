//go:build integration

package network

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/vishvananda/netlink"
)

// The integration tests run inside a private network and mount namespace:
// TestMain re-executes the test binary under unshare(1), so bridges,
// veths and iptables rules vanish with it and never touch the host.
const (
	envPrivate = "PODBAY_NETTEST_PRIVATE"
	envChild   = "PODBAY_NETTEST_CHILD"
)

func TestMain(m *testing.M) {
	if os.Getenv(envPrivate) != "1" {
		os.Exit(reexecPrivate())
	}
	if os.Getenv(envChild) != "" {
		os.Exit(childAttach())
	}
	if err := checkPrereqs(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: integration prerequisites:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func reexecPrivate() int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "FAIL: the network integration tests need root")
		return 1
	}
	args := append([]string{"--net", "--mount", "--propagation", "private", "--", os.Args[0]}, os.Args[1:]...)
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), envPrivate+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "FAIL: running the tests under unshare:", err)
		return 1
	}
	return 0
}

func checkPrereqs() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return err
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}
	for _, p := range []string{"bridge", "host-local", "portmap", "firewall", "loopback"} {
		if _, err := os.Stat("/usr/lib/cni/" + p); err != nil {
			return fmt.Errorf("CNI plugin %s: %w", p, err)
		}
	}
	if _, err := exec.LookPath("iptables-save"); err != nil {
		return err
	}
	return nil
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
