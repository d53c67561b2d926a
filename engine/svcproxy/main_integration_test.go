//go:build integration

package svcproxy

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/vishvananda/netlink"
)

// The integration tests run inside a private network and mount namespace:
// TestMain re-executes the test binary under unshare(1), so namespaces,
// veths and iptables rules vanish with it and never touch the host.
const envPrivate = "PODBAY_SVCTEST_PRIVATE"

func TestMain(m *testing.M) {
	if os.Getenv(envPrivate) != "1" {
		os.Exit(reexecPrivate())
	}
	if err := checkPrereqs(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: integration prerequisites:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func reexecPrivate() int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "FAIL: the svcproxy integration tests need root")
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
	for _, bin := range []string{"iptables-save", "iptables-restore"} {
		if _, err := exec.LookPath(bin); err != nil {
			return err
		}
	}
	return nil
}
