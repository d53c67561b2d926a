package flock

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// ErrLocked is what TryLock reports when another open file holds the lock.
var ErrLocked = errors.New("locked by another process")

// Mode is the kind of lock: exclusive (one holder) or shared (many).
type Mode int

// Modes.
const (
	Exclusive Mode = unix.LOCK_EX
	Shared    Mode = unix.LOCK_SH
)

// Poll delays of LockContext: the first retry comes after pollMin, each
// next one after twice the last, at most pollMax (bbolt's 50 ms steps made
// short transactions queue behind each other).
const (
	pollMin = 500 * time.Microsecond
	pollMax = 5 * time.Millisecond
)

// File is an open lock file. Its lock belongs to the open file: it is
// released by Close (or the death of the process), never by another File
// of the same path, even in the same process. A raw descriptor, not an
// os.File: a regular file gains nothing from the runtime's poller.
type File struct {
	fd   int
	path string
}

// Open opens path for locking, creating it (mode 0600) if missing; its
// directory must exist. The final component must not be a symlink.
func Open(path string) (*File, error) { return OpenFile(path, unix.O_CREAT) }

// OpenFile is Open with extra open(2) flags: 0 (the file must exist), or
// O_CREAT|O_EXCL (it must not).
func OpenFile(path string, flag int) (*File, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW|flag, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock %s: %w", path, err)
	}
	return &File{fd: fd, path: path}, nil
}

// Lock waits until it holds the lock.
func (f *File) Lock(m Mode) error {
	for {
		err := unix.Flock(f.fd, int(m))
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("locking %s: %w", f.path, err)
		}
	}
}

// TryLock takes the lock if it is free; it returns ErrLocked when another
// open file holds it (in Shared mode: holds it exclusively).
func (f *File) TryLock(m Mode) error {
	for {
		err := unix.Flock(f.fd, int(m)|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EWOULDBLOCK):
			return fmt.Errorf("locking %s: %w", f.path, ErrLocked)
		case !errors.Is(err, unix.EINTR):
			return fmt.Errorf("locking %s: %w", f.path, err)
		}
	}
}

// LockContext tries the lock, then again at growing intervals (0.5 to 5
// ms) until it holds it or ctx ends; then it returns context.Cause(ctx),
// so that a caller's context.WithTimeoutCause names its own reason.
// Polling, not a blocking flock in a goroutine: nothing is left waiting
// for the lock once ctx has ended.
func (f *File) LockContext(ctx context.Context, m Mode) error {
	var timer *time.Timer
	for delay := pollMin; ; delay = min(2*delay, pollMax) {
		err := f.TryLock(m)
		if !errors.Is(err, ErrLocked) {
			return err
		}
		if timer == nil {
			timer = time.NewTimer(delay)
			defer timer.Stop()
		} else {
			timer.Reset(delay)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("locking %s: %w", f.path, context.Cause(ctx))
		case <-timer.C:
		}
	}
}

// Names reports whether path still names this file: whoever removes lock
// files while holding them makes a late locker hold a file nobody else
// will open again, so such lockers check after locking.
func (f *File) Names(path string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(f.fd, &a) != nil || unix.Stat(path, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// Close releases the lock and the file; closing again does nothing (the
// descriptor's number may belong to another file by then).
func (f *File) Close() error {
	if f.fd < 0 {
		return nil
	}
	fd := f.fd
	f.fd = -1
	if err := unix.Close(fd); err != nil {
		return fmt.Errorf("closing lock %s: %w", f.path, err)
	}
	return nil
}

// Lock takes the exclusive lock of path (made if missing), waiting as long
// as it takes; unlock releases it.
func Lock(path string) (unlock func(), err error) {
	return lockPath(path, func(f *File) error { return f.Lock(Exclusive) })
}

// TryLock takes the exclusive lock of path (made if missing) if it is
// free; it returns ErrLocked when it is not.
func TryLock(path string) (unlock func(), err error) {
	return lockPath(path, func(f *File) error { return f.TryLock(Exclusive) })
}

// LockContext takes the lock of path (made if missing) in mode m, polling
// until ctx ends (see File.LockContext).
func LockContext(ctx context.Context, path string, m Mode) (unlock func(), err error) {
	return lockPath(path, func(f *File) error { return f.LockContext(ctx, m) })
}

func lockPath(path string, lock func(*File) error) (func(), error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	if err := lock(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
