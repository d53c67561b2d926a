package wakeup

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestInotifyFiresOnChange: a write to a watched file wakes the channel; a
// watch of a missing path is nil and usable.
func TestInotifyFiresOnChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	w := Inotify(path, unix.IN_MODIFY)
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
	missing := Inotify(filepath.Join(t.TempDir(), "missing"), unix.IN_MODIFY)
	if missing != nil || missing.C() != nil {
		t.Fatal("a watch of a missing path")
	}
	missing.Close()
}

// TestNewFiresOnReadAndStopsOnClose: a pipe's write end wakes the channel;
// after Close the reader is gone, and the file is closed.
func TestNewFiresOnReadAndStopsOnClose(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[1])
	c := New(os.NewFile(uintptr(p[0]), "pipe"))
	select {
	case <-c.C():
		t.Fatal("fired before any write")
	default:
	}
	if _, err := unix.Write(p[1], []byte{1}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.C():
	case <-time.After(10 * time.Second):
		t.Fatal("no wake-up after a write")
	}
	c.Close()
	if _, err := unix.FcntlInt(uintptr(p[0]), unix.F_GETFD, 0); err == nil {
		t.Error("the read end is still open after Close")
	}
}
