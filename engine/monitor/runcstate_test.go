package monitor

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRemoveCgroupTree(t *testing.T) {
	dir := t.TempDir()
	cg := filepath.Join(dir, "pod", "ctr")
	if err := os.MkdirAll(filepath.Join(cg, "nested", "deeper"), 0o755); err != nil {
		t.Fatal(err)
	}
	if !removeCgroupTree(cg, time.Now().Add(time.Second)) {
		t.Fatal("removeCgroupTree = false")
	}
	if _, err := os.Stat(cg); !os.IsNotExist(err) {
		t.Fatalf("%s left: %v", cg, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pod")); err != nil {
		t.Fatalf("the parent went too: %v", err)
	}
	if !removeCgroupTree(cg, time.Now()) {
		t.Fatal("a missing cgroup is not removed")
	}
	// A directory with a file in it (a cgroup with tasks answers EBUSY;
	// a plain directory ENOTEMPTY): not removed, and no retrying past the error.
	if err := os.MkdirAll(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cg, "tasks"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if removeCgroupTree(cg, time.Now().Add(time.Minute)) {
		t.Fatal("removed a cgroup that would not go")
	}
}

func TestDeleteStoppedRuncRefuses(t *testing.T) {
	root := t.TempDir()
	for _, tc := range []struct{ root, id, cgroup string }{
		{"", "c1", "/podbay/c1"}, {root, "", "/podbay/c1"}, {root, "c1", ""}, {root, "../c1", "/podbay/c1"},
	} {
		if deleteStoppedRunc(tc.root, tc.id, tc.cgroup) {
			t.Errorf("deleteStoppedRunc(%q, %q, %q) = true", tc.root, tc.id, tc.cgroup)
		}
	}
}
