package flock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// holdEnv makes the test binary a lock holder: it locks the file the
// variable names ("shared:" prefix: in Shared mode), prints "locked", and
// holds the lock until its stdin closes.
const holdEnv = "FLOCK_TEST_HOLD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(holdEnv); spec != "" {
		os.Exit(hold(spec))
	}
	os.Exit(m.Run())
}

func hold(spec string) int {
	mode, path := Exclusive, spec
	if p, ok := strings.CutPrefix(spec, "shared:"); ok {
		mode, path = Shared, p
	}
	f, err := Open(path)
	if err == nil {
		err = f.Lock(mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// holder is another process holding a lock.
type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startHolder runs the test binary as a holder of path's lock and returns
// once it holds it.
func startHolder(t *testing.T, spec string) *holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+spec)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{cmd: cmd, stdin: stdin}
	t.Cleanup(func() { h.release(t) })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("holder of %s: read %q, %v", spec, line, err)
	}
	return h
}

// release makes the holder exit, which releases its lock, and waits for it.
func (h *holder) release(t *testing.T) {
	t.Helper()
	if h.stdin == nil {
		return
	}
	h.stdin.Close()
	h.stdin = nil
	if err := h.cmd.Wait(); err != nil {
		t.Errorf("holder: %v", err)
	}
}

// openLocked opens path and locks it exclusively.
func openLocked(t *testing.T, path string) *File {
	t.Helper()
	f, err := Open(path)
	if err == nil {
		err = f.Lock(Exclusive)
	}
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// waitsFor checks that lock, run while the lock is held, returns only
// after release (which frees it) has begun.
func waitsFor(t *testing.T, lock func() (func(), error), release func()) {
	t.Helper()
	var released atomic.Bool
	got := make(chan error, 1)
	go func() {
		unlock, err := lock()
		if err == nil {
			if !released.Load() {
				err = errors.New("the lock was taken while another file held it")
			}
			unlock()
		}
		got <- err
	}()
	released.Store(true)
	release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

func TestLockAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	h := startHolder(t, path)

	if unlock, err := TryLock(path); !errors.Is(err, ErrLocked) {
		if err == nil {
			unlock()
		}
		t.Fatalf("TryLock while another process holds the lock: %v, want ErrLocked", err)
	}

	// Lock waits for the holder.
	waitsFor(t, func() (func(), error) { return Lock(path) }, func() { h.release(t) })

	unlock, err := TryLock(path)
	if err != nil {
		t.Fatalf("TryLock of a free lock: %v", err)
	}
	unlock()
}

func TestSharedAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	startHolder(t, "shared:"+path)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.TryLock(Exclusive); !errors.Is(err, ErrLocked) {
		t.Fatalf("exclusive TryLock under a shared holder: %v, want ErrLocked", err)
	}
	if err := f.TryLock(Shared); err != nil {
		t.Fatalf("shared TryLock under a shared holder: %v", err)
	}
}

// TestFilesOfOneProcessExclude: the lock belongs to the open file, so two
// Files of one path exclude each other within a process too.
func TestFilesOfOneProcessExclude(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	a := openLocked(t, path)
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.TryLock(Shared); !errors.Is(err, ErrLocked) {
		t.Fatalf("second file's TryLock: %v, want ErrLocked", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.TryLock(Exclusive); err != nil {
		t.Fatalf("TryLock after the holder closed: %v", err)
	}
	// A second Close must not close a descriptor reused by another file.
	c, err := Open(path + ".other")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.TryLock(Exclusive); err != nil {
		t.Fatalf("a file opened after a Close, closed again: %v", err)
	}
}

func TestLockContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	held := openLocked(t, path)

	// Gives up with the context's cause, the path named.
	cause := errors.New("waited long enough")
	ctx, cancel := context.WithTimeoutCause(context.Background(), time.Millisecond, cause)
	defer cancel()
	unlock, err := LockContext(ctx, path, Shared)
	if !errors.Is(err, cause) || !errorContains(err, path) {
		if err == nil {
			unlock()
		}
		t.Fatalf("LockContext past its deadline: %v, want %v naming %s", err, cause, path)
	}

	// Takes the lock once it is released.
	waitsFor(t, func() (func(), error) { return LockContext(context.Background(), path, Exclusive) }, func() {
		if err := held.Close(); err != nil {
			t.Error(err)
		}
	})

	// An ended context still gets one try at a free lock.
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	unlock, err = LockContext(done, path, Exclusive)
	if err != nil {
		t.Fatalf("LockContext of a free lock with an ended context: %v", err)
	}
	unlock()
}

func TestNames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !f.Names(path) {
		t.Fatal("Names of the file's own path: false")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if f.Names(path) {
		t.Fatal("Names of a removed path: true")
	}
	g, err := Open(path) // another file under the same name
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if f.Names(path) || !g.Names(path) {
		t.Fatalf("after re-creation: old Names %v, new Names %v; want false, true", f.Names(path), g.Names(path))
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(existing, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		flag int
		is   error
	}{
		{name: "exclusive create of an existing file", path: existing, flag: unix.O_CREAT | unix.O_EXCL, is: fs.ErrExist},
		{name: "missing file without create", path: filepath.Join(dir, "missing"), flag: 0, is: fs.ErrNotExist},
		{name: "missing directory", path: filepath.Join(dir, "no", "x.lock"), flag: unix.O_CREAT, is: fs.ErrNotExist},
		{name: "symlink", path: link, flag: unix.O_CREAT, is: unix.ELOOP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := OpenFile(tt.path, tt.flag)
			if err == nil {
				f.Close()
			}
			if !errors.Is(err, tt.is) || !errorContains(err, "opening lock "+tt.path) {
				t.Fatalf("OpenFile: %v, want %v naming the path", err, tt.is)
			}
		})
	}
}

func errorContains(err error, s string) bool {
	return err != nil && strings.Contains(err.Error(), s)
}
