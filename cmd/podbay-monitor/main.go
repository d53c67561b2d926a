// Command podbay-monitor supervises the containers of one pod: started
// detached by podbay, it runs them through the OCI runtime, writes their CRI
// logs and exit files, and exits when they all have. It stays lean: no
// Kubernetes, registry or database code is linked in.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/podbay/podbay/engine/monitor"
	"golang.org/x/sys/unix"
)

// syncFd is the start-report pipe handed over by monitor.Launch.
const syncFd = 3

// goFd, when open, is the pipe of a prelaunched monitor (monitor.Prelaunch):
// one byte when the config is there to read; closed without one, the
// monitor exits at once, having touched nothing.
const goFd = 4

func main() {
	// monitor.Launch sets GOMAXPROCS=1 in the environment so that it
	// applies from the start; the runtime's children must not inherit it.
	runtime.GOMAXPROCS(1)
	os.Unsetenv("GOMAXPROCS")
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "podbay-monitor:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 3 || os.Args[1] != "--config" {
		return fmt.Errorf("usage: podbay-monitor --config FILE")
	}
	if _, err := unix.FcntlInt(goFd, unix.F_GETFD, 0); err == nil {
		var b [1]byte
		f := os.NewFile(goFd, "go")
		n, _ := f.Read(b[:])
		f.Close()
		if n == 0 {
			return nil // cancelled, or the caller died
		}
	}
	var sync *os.File
	if _, err := unix.FcntlInt(syncFd, unix.F_GETFD, 0); err == nil {
		sync = os.NewFile(syncFd, "sync")
	}
	cfg, err := monitor.ReadConfig(os.Args[2])
	if err != nil {
		if sync != nil {
			sync.Write([]byte("error " + strings.ReplaceAll(err.Error(), "\n", " ") + "\n"))
		}
		return err
	}
	_ = os.Chdir("/")
	logFile, err := os.OpenFile(filepath.Join(cfg.Dir, "monitor.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		logFile, _ = os.Open(os.DevNull)
	}
	defer logFile.Close()
	log := &lineLogger{w: logFile, debug: os.Getenv("PODBAY_MONITOR_DEBUG") != "", attrs: []any{"monitor", cfg.ID}}
	return monitor.Run(context.Background(), cfg, monitor.Options{Log: log, Sync: sync, Started: settle})
}

// settle runs once the containers run: from then on the monitor holds a few
// small buffers, so it collects often, stays small and returns start-up
// garbage to the OS. (Tuned only now: a tight heap during start-up costs
// milliseconds of garbage collection on the `run -d` path.) No memory limit:
// one below the runtime's own footprint keeps the collector running, and
// its work buffers cost more (about 400 KiB when containers are added) than
// the heap it saves.
func settle() {
	debug.SetGCPercent(25)
	debug.FreeOSMemory()
}
