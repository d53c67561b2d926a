package crilog

import (
	"context"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// pollInterval bounds how long a follower waits without an inotify event, so
// that ReadOptions.Until is checked even when the log does not change.
const pollInterval = 200 * time.Millisecond

// watcher wakes a follower when the log file changes (inotify), with a
// ticker as a fallback.
type watcher struct {
	events chan struct{}
	file   *os.File
	ticker *time.Ticker
}

func newWatcher(path string) *watcher {
	w := &watcher{events: make(chan struct{}, 1), ticker: time.NewTicker(pollInterval)}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return w
	}
	if _, err := unix.InotifyAddWatch(fd, path, unix.IN_MODIFY|unix.IN_CLOSE_WRITE); err != nil {
		unix.Close(fd)
		return w
	}
	w.file = os.NewFile(uintptr(fd), "inotify")
	go w.read()
	return w
}

func (w *watcher) read() {
	buf := make([]byte, 4096)
	for {
		if _, err := w.file.Read(buf); err != nil {
			return
		}
		select {
		case w.events <- struct{}{}:
		default:
		}
	}
}

// wait returns when the file may have changed, or ctx's error.
func (w *watcher) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-w.events:
	case <-w.ticker.C:
	}
	return nil
}

func (w *watcher) close() {
	w.ticker.Stop()
	if w.file != nil {
		w.file.Close()
	}
}
