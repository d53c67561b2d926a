package image

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

// TestRegistryErrorKeepsLocalFailures: a full disk while unpacking a pulled
// layer is not the registry's fault. (syscall.Errno satisfies net.Error, so
// "no space left on device" read "registry ... unreachable": found by
// TestReliabilityFullDisk.)
func TestRegistryErrorKeepsLocalFailures(t *testing.T) {
	ref := name.MustParseReference("127.0.0.1:5000/library/big:latest")
	local := fmt.Errorf("layer sha256:abc: layer entry \"bin/busybox\": writing file: %w",
		&os.PathError{Op: "write", Path: "busybox", Err: syscall.ENOSPC})
	got := registryError(ref, local).Error()
	if strings.Contains(got, "unreachable") || !strings.Contains(got, "no space left on device") {
		t.Errorf("registryError = %q; want the local failure, not an unreachable registry", got)
	}
}
