package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// privateMarker tells a re-executed test binary that it runs inside its
// private namespaces.
const privateMarker = "PODBAY_TEST_PRIVATE_NS"

// InPrivateNamespaces runs a package's integration tests inside a private
// network and mount namespace (TestMain calls it): the test binary
// re-executes itself under unshare(1), brings up its loopback, and so
// bridges, veths, iptables rules and mounts vanish with it and never touch
// the host. A missing prerequisite (root, unshare, ip, the binaries listed)
// fails the run: it never skips. run is m.Run; the result is the exit code.
func InPrivateNamespaces(run func() int, prerequisites ...string) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "FAIL: these integration tests need root")
		return 1
	}
	if os.Getenv(privateMarker) != "1" {
		args := append([]string{"--net", "--mount", "--propagation", "private", "--", os.Args[0]}, os.Args[1:]...)
		cmd := exec.Command("unshare", args...)
		cmd.Env = append(os.Environ(), privateMarker+"=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: running the tests under unshare:", err)
			return 1
		}
		return 0
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: bringing up lo: %v %s\n", err, out)
		return 1
	}
	for _, p := range prerequisites {
		if _, err := exec.LookPath(p); err != nil {
			if _, serr := os.Stat(p); serr != nil {
				fmt.Fprintf(os.Stderr, "FAIL: prerequisite %s: %v\n", p, err)
				return 1
			}
		}
	}
	return run()
}

// binaries are podbay's programs as the tests build them: the lean CLI,
// the full one, the monitor and the systemd generator.
var binaries = map[string][]string{
	"podbay":         {"-tags", "lean", "github.com/podbay/podbay/cmd/podbay"},
	"podbay-kube":    {"github.com/podbay/podbay/cmd/podbay"},
	"podbay-monitor": {"github.com/podbay/podbay/cmd/podbay-monitor"},
	"podbay-quadlet": {"github.com/podbay/podbay/cmd/podbay-quadlet"},
}

// BuildBinaries builds the named programs (podbay, podbay-kube,
// podbay-monitor, podbay-quadlet) into dir, side by side as installed.
func BuildBinaries(dir string, names ...string) error {
	for _, n := range names {
		pkg, ok := binaries[n]
		if !ok {
			return fmt.Errorf("no program %q to build", n)
		}
		cmd := exec.Command("go", append([]string{"build", "-o", filepath.Join(dir, n)}, pkg...)...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %w\n%s", n, err, out)
		}
	}
	return nil
}
