package monitor

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podbay/podbay/internal/wakeup"
)

// slowPoll is how often a caller with a wake-up FIFO in the monitor
// directory still looks on its own: for what the monitor does not announce
// (its own death), and for a monitor of an older podbay, which announces
// nothing.
const slowPoll = 50 * time.Millisecond

// Wake-up FIFOs: a caller waiting for a monitor's answer makes
// <dir>/wake-<pid>-<random>.fifo and reads it; after every answer (a
// started or failed file renamed in, a stop marker removed) the monitor
// writes a byte to each FIFO in its directory (pokeWaiters).
//
// They replace an inotify watch of the directory. Closing an inotify
// instance waits for an SRCU grace period (fsnotify_destroy_group), and a
// process that exits with one open waits for it too: 5-18 ms here, paid by
// every short command (`run -d --pod`, `stop`, `kube play`) on its way out.
// A FIFO closes at once.
const (
	wakePrefix = "wake-"
	wakeSuffix = ".fifo"
)

// dirWatch wakes a caller waiting for a monitor's files as soon as the
// monitor answers, where polling alone would add up to pollInterval to each
// answer. The zero of *dirWatch (nil: no FIFO could be made) still works:
// its channel never fires and Interval is pollInterval.
type dirWatch struct {
	path string
	c    *wakeup.Chan
}

// watchDir makes a wake-up FIFO in dir; nil when it cannot. Set it up
// before looking at the files, so that an answer after the look is not
// missed.
func watchDir(dir string) *dirWatch {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := wakePrefix + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:]) + wakeSuffix
	path := filepath.Join(dir, name)
	// Made under another name and renamed once open: the monitor removes a
	// FIFO of its name pattern that nobody reads (a killed caller's).
	tmp := path + ".new"
	if err := unix.Mkfifo(tmp, 0o600); err != nil {
		return nil
	}
	// Read-write: the FIFO then always has a writer, so a read waits for
	// data instead of returning end of file, and the monitor's
	// non-blocking open for writing finds a reader.
	fd, err := unix.Open(tmp, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		os.Remove(tmp)
		return nil
	}
	if err := os.Rename(tmp, path); err != nil {
		unix.Close(fd)
		os.Remove(tmp)
		return nil
	}
	return &dirWatch{path: path, c: wakeup.New(os.NewFile(uintptr(fd), path))}
}

// C fires after an answer; nil (blocks forever) without a FIFO.
func (d *dirWatch) C() <-chan struct{} {
	if d == nil {
		return nil
	}
	return d.c.C()
}

// Interval is how often to look regardless of wake-ups.
func (d *dirWatch) Interval() time.Duration {
	if d == nil {
		return pollInterval
	}
	return slowPoll
}

// Close removes the FIFO.
func (d *dirWatch) Close() {
	if d != nil {
		os.Remove(d.path)
		d.c.Close()
	}
}

// pokeWaiters wakes every caller waiting on dir (see watchDir) and removes
// the FIFOs nobody reads any more.
func pokeWaiters(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if e.Type() != fs.ModeNamedPipe || !strings.HasPrefix(name, wakePrefix) || !strings.HasSuffix(name, wakeSuffix) {
			continue
		}
		path := filepath.Join(dir, name)
		fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENXIO) { // no reader: its caller is gone
			os.Remove(path)
			continue
		}
		if err != nil {
			continue
		}
		// EAGAIN (full) is fine: the reader has wake-ups to read already.
		_, _ = unix.Write(fd, []byte{1})
		unix.Close(fd)
	}
}
