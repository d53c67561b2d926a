package crilog

import (
	"context"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podbay/podbay/internal/wakeup"
)

// pollInterval bounds how long a follower waits without an inotify event, so
// that ReadOptions.Until is checked even when the log does not change.
const pollInterval = 200 * time.Millisecond

// watcher wakes a follower when the log file changes (inotify), with a
// ticker as a fallback.
type watcher struct {
	watch  *wakeup.Chan
	ticker *time.Ticker
}

func newWatcher(path string) *watcher {
	return &watcher{watch: wakeup.Inotify(path, unix.IN_MODIFY|unix.IN_CLOSE_WRITE), ticker: time.NewTicker(pollInterval)}
}

// wait returns when the file may have changed, or ctx's error.
func (w *watcher) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-w.watch.C():
	case <-w.ticker.C:
	}
	return nil
}

func (w *watcher) close() {
	w.ticker.Stop()
	w.watch.Close()
}
