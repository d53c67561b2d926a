package monitor

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/podbay/podbay/engine/inotify"
)

// slowPoll is how often a caller with an inotify watch on the monitor
// directory still looks on its own: for what no directory event announces
// (the monitor dying).
const slowPoll = 50 * time.Millisecond

// dirWatch wakes a caller waiting for a monitor's files as soon as the
// directory changes, where polling alone would add up to pollInterval to
// each answer. The zero of *dirWatch (nil: inotify unavailable) still works:
// its channel never fires and Interval is pollInterval.
type dirWatch struct{ w *inotify.Watch }

// watchDir watches dir for files renamed in (the monitor writes what a
// caller waits for atomically, by rename) or removed; nil when inotify
// cannot be used. Set it up before looking at the files.
func watchDir(dir string) *dirWatch {
	w := inotify.New(dir, unix.IN_MOVED_TO|unix.IN_DELETE)
	if w == nil {
		return nil
	}
	return &dirWatch{w}
}

// C fires after a change; nil (blocks forever) without a watch.
func (d *dirWatch) C() <-chan struct{} {
	if d == nil {
		return nil
	}
	return d.w.C()
}

// Interval is how often to look regardless of events.
func (d *dirWatch) Interval() time.Duration {
	if d == nil {
		return pollInterval
	}
	return slowPoll
}

// Close releases the watch without waiting for it (see inotify.Watch).
func (d *dirWatch) Close() {
	if d != nil {
		d.w.Close()
	}
}
