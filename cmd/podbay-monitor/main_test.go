package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// heavyCode lists code that must not be linked into the monitor, by symbol
// prefix. One monitor runs per pod, so what it links is paid by every pod:
// the network stack and HTTP (its probes speak HTTP/1 and gRPC over raw
// sockets), TLS, structured logging, JSON's encoder and decoder (its config
// and status files use line formats; encoding/json's package init stays, as
// engine/monitor's readers for the CLI import it), and anything of the
// Kubernetes, registry, CNI or database code.
var heavyCode = []string{
	"net.", "net/http.", "crypto/tls.", "crypto/x509.", "log/slog.",
	"encoding/json.(*decodeState)", "encoding/json.(*encodeState)",
	"k8s.io/", "sigs.k8s.io/", "go.etcd.io/bbolt", "github.com/google/go-containerregistry/",
	"github.com/containernetworking/", "github.com/vishvananda/",
}

// TestLinksNoHeavyPackages builds the monitor as `make build` does (without
// stripping its symbols) and checks which code the linker kept: what keeps
// a monitor small is what it links, which its RSS only reflects (the RSS is
// a benchmark figure: BenchmarkMonitorRSS, the rss case of make bench).
func TestLinksNoHeavyPackages(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "podbay-monitor")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	seen := map[string]int{}
	symbols := 0
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		symbols++
		for _, p := range heavyCode {
			if strings.HasPrefix(f[2], p) {
				seen[p]++
			}
		}
	}
	if symbols < 1000 {
		t.Fatalf("go tool nm listed %d symbols: the symbol table is missing", symbols)
	}
	for _, p := range heavyCode {
		if n := seen[p]; n > 0 {
			t.Errorf("the monitor links %d symbols of %s", n, p)
		}
	}
}
