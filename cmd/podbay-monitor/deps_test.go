package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestMonitorStaysLean: the monitor binary pulls in no network stack, no
// log/slog, no OCI spec package, and of podbay only the packages it is
// made of (the runc command lines and the command seam included).
func TestMonitorStaysLean(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	banned := map[string]bool{"net": true, "net/http": true, "log/slog": true}
	allowed := map[string]bool{}
	for _, p := range []string{"cmd/podbay-monitor", "engine/monitor", "internal/cgroups", "engine/crilog", "internal/wakeup", "internal/mounts",
		"internal/cmdexec", "internal/flock", "internal/runccmd"} {
		allowed["github.com/podbay/podbay/"+p] = true
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case banned[dep], strings.HasPrefix(dep, "github.com/opencontainers/"):
			t.Errorf("the monitor depends on %s", dep)
		case strings.HasPrefix(dep, "github.com/podbay/podbay/") && !allowed[dep]:
			t.Errorf("the monitor depends on %s", dep)
		}
	}
}
