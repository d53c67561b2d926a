package inotify

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWatchFiresOnChange: a write to a watched file wakes the channel; a
// watch of a missing path is nil and usable.
func TestWatchFiresOnChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	w := New(path, unix.IN_MODIFY)
	if w == nil {
		t.Fatal("inotify unavailable")
	}
	defer w.Close()
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.C():
	case <-time.After(10 * time.Second):
		t.Fatal("no wake-up after a write")
	}
	missing := New(filepath.Join(t.TempDir(), "missing"), unix.IN_MODIFY)
	if missing != nil || missing.C() != nil {
		t.Fatal("a watch of a missing path")
	}
	missing.Close()
}
