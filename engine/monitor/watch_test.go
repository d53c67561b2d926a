package monitor

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestDirWatchWakesOnPoke: a poke of the directory wakes every waiter in
// it, each once per poke; a closed waiter's FIFO is gone, and a FIFO
// nobody reads (a killed caller's) is removed by the next poke.
func TestDirWatchWakesOnPoke(t *testing.T) {
	dir := t.TempDir()
	w := watchDir(dir)
	if w == nil {
		t.Fatal("no wake-up FIFO")
	}
	defer w.Close()
	if w.Interval() != slowPoll {
		t.Errorf("interval with a FIFO = %v, want %v", w.Interval(), slowPoll)
	}
	w2 := watchDir(dir)
	if w2 == nil {
		t.Fatal("no second wake-up FIFO")
	}
	expect := func(w *dirWatch, what string) {
		t.Helper()
		select {
		case <-w.C():
		case <-time.After(10 * time.Second):
			t.Fatalf("no wake-up after %s", what)
		}
	}
	select {
	case <-w.C():
		t.Fatal("a wake-up before any poke")
	default:
	}
	pokeWaiters(dir)
	expect(w, "a poke")
	expect(w2, "a poke (second waiter)")
	w2.Close()
	if _, err := os.Stat(w2.path); !os.IsNotExist(err) {
		t.Errorf("closed waiter's FIFO: %v, want it gone", err)
	}
	// A FIFO of the pattern that nobody has open, as a killed caller leaves.
	stale := filepath.Join(dir, wakePrefix+"1-dead"+wakeSuffix)
	if err := unix.Mkfifo(stale, 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "x.started") // not a FIFO of the pattern
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	pokeWaiters(dir)
	expect(w, "a second poke")
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale FIFO: %v, want it removed", err)
	}
	if data, err := os.ReadFile(other); err != nil || len(data) != 0 {
		t.Errorf("other file: %q, %v; want it untouched", data, err)
	}
	if _, err := os.Stat(w.path); err != nil {
		t.Errorf("live waiter's FIFO: %v", err)
	}
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
