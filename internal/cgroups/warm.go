package cgroups

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/podbay/podbay/internal/flock"
)

// Moving a process into a cgroup (a write to cgroup.procs, which runc does
// for every container it starts or execs into) takes the kernel's global
// cgroup_threadgroup_rwsem for writing. When no migration has happened for
// about one RCU grace period, the first one waits for a whole grace period
// (rcu_sync_enter: 10-13 ms on the machine of docs/performance.md's figures,
// over a third of a `runc run -d`); migrations within a grace period of the
// last one do not wait.
//
// A Warmer keeps migrations in that fast state while it is held: it moves
// this process into the cgroup it already is in (a no-op that still takes
// the lock) every warmInterval. The first such write pays the grace period
// in a goroutine, in parallel with whatever the caller does meanwhile
// (starting runc, which itself takes about 10 ms to get to its write). The
// kernel's own remedy is the cgroup mount option favordynmods, which is
// the administrator's choice; a Warmer changes nothing that can be
// observed but time.
//
// One writer is enough for the whole machine (the lock is global), and
// each write briefly holds up every fork and exit: concurrent podbay
// processes take turns through an flock on WarmLockPath, and only the
// holder writes.

// warmInterval is the pause between two no-op migrations: well under a
// grace period (a few ms at HZ=1000, 10-13 ms measured here).
const warmInterval = 2 * time.Millisecond

// WarmLockPath is the lock that concurrent Warmers (of any process) share;
// a variable for tests.
var WarmLockPath = "/run/podbay-cgroup-warm.lock"

// warmMaxHold bounds one hold: a holder that forgets to release (or a very
// long play) does not keep the lock busy forever.
const warmMaxHold = 2 * time.Minute

// A Warmer is held around work that starts containers; the zero value is
// ready. Holds nest and may overlap: the no-op migrations run while at
// least one hold is open.
type Warmer struct {
	mu    sync.Mutex
	holds int
	stop  chan struct{} // closed to end the current writer
	done  chan struct{} // closed by the current (or last) writer as it ends
	// writes counts the no-op migrations this Warmer made (for tests).
	writes atomic.Int64
}

// Hold starts the no-op migrations unless they run; release (idempotent)
// ends this hold. Without a cgroup.procs file this process may write, Hold
// does nothing.
func (w *Warmer) Hold() (release func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.holds++
	if w.holds == 1 {
		if fd := openOwnProcs(); fd >= 0 {
			w.stop, w.done = make(chan struct{}), make(chan struct{})
			go w.keepWarm(fd, w.stop, w.done)
		}
	}
	var once sync.Once
	return func() { once.Do(w.release) }
}

func (w *Warmer) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.holds--
	if w.holds == 0 && w.stop != nil {
		close(w.stop)
		w.stop = nil
	}
}

// running tells whether a writer runs.
func (w *Warmer) running() bool {
	w.mu.Lock()
	done := w.done
	w.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// keepWarm writes "0" (this process) to fd, while it holds the shared
// lock, until stop closes or a write fails; then it closes fd and done.
// (A raw descriptor: an os.File would try to register the file with the
// poller, for nothing.) Without the lock file (no /run), it writes alone.
func (w *Warmer) keepWarm(fd int, stop, done chan struct{}) {
	defer close(done)
	defer syscall.Close(fd)
	lock, err := flock.Open(WarmLockPath)
	if err == nil {
		defer lock.Close() // releases the flock
	}
	held := err != nil
	zero := []byte("0")
	for end := time.Now().Add(warmMaxHold); time.Now().Before(end); {
		if !held {
			held = lock.TryLock(flock.Exclusive) == nil
		}
		if held {
			if _, err := syscall.Pwrite(fd, zero, 0); err != nil {
				return
			}
			w.writes.Add(1)
		}
		select {
		case <-stop:
			return
		default:
		}
		time.Sleep(warmInterval)
	}
}

// openOwnProcs opens, for writing, the cgroup.procs file of the cgroup this
// process is in: in the v2 tree if one is mounted (pure or hybrid), else in
// the first v1 hierarchy found. -1 if there is none or it cannot be opened.
func openOwnProcs() int {
	path := ownProcsPath()
	if path == "" {
		return -1
	}
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
}

func ownProcsPath() string {
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	return procsPath(string(cg), string(mi))
}

// procsPath finds the cgroup.procs of the cgroup that /proc/self/cgroup
// (cg) names, in a hierarchy mounted as mountinfo (mi) lists it.
func procsPath(cg, mi string) string {
	mounts := parseMounts(mi)
	in := func(path string, m mount) string {
		rel, ok := strings.CutPrefix(path, m.root)
		if !ok || (rel != "" && !strings.HasPrefix(rel, "/") && m.root != "/") {
			return ""
		}
		return filepath.Join(m.point, rel, "cgroup.procs")
	}
	var v1 []string
	for _, line := range strings.Split(strings.TrimSpace(cg), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			for _, m := range mounts {
				if m.fstype == "cgroup2" {
					if p := in(parts[2], m); p != "" {
						return p
					}
				}
			}
			continue
		}
		for _, ctrl := range strings.Split(parts[1], ",") {
			for _, m := range mounts {
				if m.fstype == "cgroup" && slices.Contains(strings.Split(m.opts, ","), ctrl) {
					if p := in(parts[2], m); p != "" {
						v1 = append(v1, p)
					}
				}
			}
		}
	}
	if len(v1) > 0 {
		return v1[0]
	}
	return ""
}
