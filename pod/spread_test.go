package pod

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/podbay/podbay/internal/testenv"
	"github.com/podbay/podbay/internal/topdir"
)

func TestSpreadDirsMarksPerObjectDirs(t *testing.T) {
	// On ext4, where the flag exists (testenv.ExtDir fails the test when
	// there is none to be found).
	m := &Manager{Root: testenv.ExtDir(t), Runroot: testenv.ExtDir(t)}
	for range 2 { // the second time finds them made and marked
		if err := m.SpreadDirs(); err != nil {
			t.Fatal(err)
		}
	}
	for p, mode := range map[string]os.FileMode{
		filepath.Join(m.Root, "containers"):    0o700,
		filepath.Join(m.Runroot, "containers"): 0o755,
		filepath.Join(m.Runroot, "pods"):       0o755,
	} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.IsDir() || fi.Mode().Perm()&^mode != 0 { // the umask may take more
			t.Errorf("%s: mode %v, want a directory with at most %v", p, fi.Mode(), mode)
		}
		marked, err := topdir.IsMarked(p)
		if err != nil {
			t.Fatalf("reading the flags of %s on ext4: %v", p, err)
		}
		if !marked {
			t.Errorf("%s is not marked as a top directory", p)
		}
	}
}
