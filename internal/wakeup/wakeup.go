// Package wakeup turns a file that becomes readable when something happens
// (an inotify instance, a FIFO) into a channel that fires, for wait loops
// that also poll on their own.
package wakeup

import (
	"os"

	"golang.org/x/sys/unix"
)

// A Chan fires when its file has something to read. A nil *Chan (nothing
// to watch) is usable: its channel never fires.
type Chan struct {
	f          *os.File
	ch         chan struct{}
	closeAsync bool
}

// New reads f, which must be non-blocking (so that the runtime polls it and
// Close wakes the reader), and fires on every read. Close closes f.
func New(f *os.File) *Chan {
	c := &Chan{f: f, ch: make(chan struct{}, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := c.f.Read(buf); err != nil {
				return // closed
			}
			select {
			case c.ch <- struct{}{}:
			default:
			}
		}
	}()
	return c
}

// Inotify watches path for the events in mask (unix.IN_*); nil when
// inotify cannot be used. Set it up before looking at what it watches, so
// that a change after the look is not missed.
//
// Closing an inotify instance waits for an SRCU grace period
// (fsnotify_destroy_group: 5-18 ms here), and so does a process that exits
// with one open: short commands on a hot path wait some other way.
func Inotify(path string, mask uint32) *Chan {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	if _, err := unix.InotifyAddWatch(fd, path, mask); err != nil {
		unix.Close(fd)
		return nil
	}
	c := New(os.NewFile(uintptr(fd), "inotify"))
	c.closeAsync = true
	return c
}

// C fires after a change; nil (blocks forever) without a watch.
func (c *Chan) C() <-chan struct{} {
	if c == nil {
		return nil
	}
	return c.ch
}

// Close closes the file; an inotify instance without waiting for it (see
// Inotify).
func (c *Chan) Close() {
	switch {
	case c == nil:
	case c.closeAsync:
		go c.f.Close()
	default:
		c.f.Close()
	}
}
