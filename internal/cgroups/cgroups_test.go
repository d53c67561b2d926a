package cgroups

import (
	"os"
	"testing"
)

// TestMounts: every mount point listed is a directory (a machine without
// cgroups lists none).
func TestMounts(t *testing.T) {
	mounts, err := Mounts()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		if fi, err := os.Stat(m); err != nil || !fi.IsDir() {
			t.Errorf("mount point %s: %v", m, err)
		}
	}
}
