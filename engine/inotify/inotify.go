// Package inotify wakes a waiter when a file or directory changes: a
// channel fed by an inotify watch, for loops that also poll on their own.
package inotify

import (
	"os"

	"golang.org/x/sys/unix"
)

// A Watch signals changes to one path. A nil *Watch (inotify unavailable,
// or the path missing) is usable: its channel never fires.
type Watch struct {
	f  *os.File
	ch chan struct{}
}

// New watches path for the events in mask (unix.IN_*); nil when inotify
// cannot be used. Set it up before looking at what it watches, so that a
// change after the look is not missed.
func New(path string, mask uint32) *Watch {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	if _, err := unix.InotifyAddWatch(fd, path, mask); err != nil {
		unix.Close(fd)
		return nil
	}
	w := &Watch{f: os.NewFile(uintptr(fd), "inotify"), ch: make(chan struct{}, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := w.f.Read(buf); err != nil {
				return // closed
			}
			select {
			case w.ch <- struct{}{}:
			default:
			}
		}
	}()
	return w
}

// C fires after a change; nil (blocks forever) without a watch.
func (w *Watch) C() <-chan struct{} {
	if w == nil {
		return nil
	}
	return w.ch
}

// Close releases the watch without waiting for it: closing a pollable
// file waits until its blocked reader has let go, which took 14-19 ms here.
func (w *Watch) Close() {
	if w != nil {
		go w.f.Close()
	}
}
