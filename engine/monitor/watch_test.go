package monitor

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestDirWatchWakesOnRenameAndRemove(t *testing.T) {
	dir := t.TempDir()
	w := watchDir(dir)
	if w == nil {
		t.Fatal("inotify unavailable")
	}
	defer w.Close()
	if w.Interval() != slowPoll {
		t.Errorf("interval with a watch = %v, want %v", w.Interval(), slowPoll)
	}
	expect := func(w *dirWatch, what string) {
		t.Helper()
		select {
		case <-w.C():
		case <-time.After(10 * time.Second):
			t.Fatalf("no wake-up after %s", what)
		}
	}
	answer := filepath.Join(dir, "x.started")
	if err := writeFileAtomic(answer, []byte("x")); err != nil { // create + rename
		t.Fatal(err)
	}
	expect(w, "an answer written")
	w2 := watchDir(dir) // a new watch: no event of the write is pending on it
	defer w2.Close()
	if err := os.Remove(answer); err != nil {
		t.Fatal(err)
	}
	expect(w2, "a file removed")
}

func TestDirWatchNilPolls(t *testing.T) {
	var w *dirWatch
	if w.C() != nil || w.Interval() != pollInterval {
		t.Errorf("nil watch: C %v, interval %v", w.C(), w.Interval())
	}
	w.Close()
	if watchDir(filepath.Join(t.TempDir(), "missing")) != nil {
		t.Error("a watch on a missing directory")
	}
}

func TestExitingOnlyForAProcessOnItsWayOut(t *testing.T) {
	if exiting(os.Getpid()) {
		t.Error("a running process (non-empty command line) counted as exiting")
	}
	if exiting(1 << 30) {
		t.Error("a pid that does not exist counted as exiting")
	}
}
