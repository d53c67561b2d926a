package monitor

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// slowPoll is how often a caller with an inotify watch on the monitor
// directory still looks on its own: for what no directory event announces
// (the monitor dying).
const slowPoll = 50 * time.Millisecond

// dirWatch wakes a caller waiting for a monitor's files as soon as the
// directory changes, where polling alone would add up to pollInterval to
// each answer. The zero of *dirWatch (nil: inotify unavailable) still works:
// its channel never fires and Interval is pollInterval.
type dirWatch struct {
	f  *os.File
	ch chan struct{}
}

// watchDir watches dir for files renamed in (the monitor writes what a
// caller waits for atomically, by rename) or removed; nil when inotify
// cannot be used. Set it up before looking at the files, so that a change
// after the look is not missed.
func watchDir(dir string) *dirWatch {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_MOVED_TO|unix.IN_DELETE); err != nil {
		unix.Close(fd)
		return nil
	}
	w := &dirWatch{f: os.NewFile(uintptr(fd), "inotify"), ch: make(chan struct{}, 1)}
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
func (w *dirWatch) C() <-chan struct{} {
	if w == nil {
		return nil
	}
	return w.ch
}

// Interval is how often to look regardless of events.
func (w *dirWatch) Interval() time.Duration {
	if w == nil {
		return pollInterval
	}
	return slowPoll
}

// Close releases the watch without waiting for it: closing a pollable
// file waits until its blocked reader has let go, which took 14-19 ms here,
// and every answer awaited paid it.
func (w *dirWatch) Close() {
	if w != nil {
		go w.f.Close()
	}
}
