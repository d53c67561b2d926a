package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/podbay/podbay/internal/flock"
)

// answerTimeout bounds Start's wait for a running monitor when ctx has no
// deadline of its own.
const answerTimeout = time.Minute

// pollInterval is how often callers look for the files a monitor writes.
const pollInterval = 5 * time.Millisecond

// Start runs container c under the monitor of cfg.Dir (one monitor per pod):
// if that monitor is alive it is handed c, otherwise a new monitor is
// launched with just c (cfg.Containers is ignored). It returns once c runs,
// or with the runtime's error, in which case c left nothing behind and the
// pod's other containers are untouched.
func Start(ctx context.Context, binary string, cfg Config, c Container) (*StartedContainer, error) {
	return StartPending(ctx, binary, nil, cfg, c)
}

// StartPending is Start with a monitor prelaunched for cfg.Dir: handed c if
// no monitor runs there yet, else cancelled. A nil p is Start.
func StartPending(ctx context.Context, binary string, p *Pending, cfg Config, c Container) (*StartedContainer, error) {
	defer p.Cancel() // unless handed over
	cfg.Containers = []Container{c}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("starting container %q: %w", c.ID, err)
	}
	unlock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("starting container %q: %w", c.ID, err)
	}
	pid := alivePid(&cfg)
	if pid == 0 {
		// Under the lock: no running monitor can decide to exit meanwhile,
		// and no other Start launches a second monitor.
		defer unlock()
		if p == nil {
			if p, err = Prelaunch(binary, cfg); err != nil {
				return nil, err
			}
		}
		started, err := p.launch(ctx, cfg)
		if err != nil {
			return nil, err
		}
		sc := started.Containers[0]
		sc.MonitorPid = started.MonitorPid
		return &sc, nil
	}
	err = requestAdd(&cfg, c, pid)
	unlock()
	if err != nil {
		return nil, fmt.Errorf("starting container %q: %w", c.ID, err)
	}
	return awaitAnswer(ctx, &cfg, c.ID, pid)
}

// requestAdd leaves the request for c in cfg.Dir and wakes monitor pid.
func requestAdd(cfg *Config, c Container, pid int) error {
	for _, p := range []string{cfg.answerPath(c.ID, answerStarted), cfg.answerPath(c.ID, answerFailed), cfg.StopPath(c.ID)} {
		os.Remove(p)
	}
	data, err := encodeConfig(&Config{Containers: []Container{c}})
	if err != nil {
		return fmt.Errorf("encoding request: %w", err)
	}
	if err := writeFileAtomic(cfg.addPath(c.ID), data); err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		os.Remove(cfg.addPath(c.ID))
		return fmt.Errorf("waking monitor %d: %w", pid, err)
	}
	return nil
}

// awaitAnswer polls for the monitor's answer to the request for id; a
// failure is the monitor's own message, which names the container.
func awaitAnswer(ctx context.Context, cfg *Config, id string, pid int) (*StartedContainer, error) {
	ctx, cancel := withDefaultTimeout(ctx, answerTimeout)
	defer cancel()
	w := watchDir(cfg.Dir)
	defer w.Close()
	tick := time.NewTicker(w.Interval())
	defer tick.Stop()
	for {
		if data, err := os.ReadFile(cfg.answerPath(id, answerFailed)); err == nil {
			os.Remove(cfg.answerPath(id, answerFailed))
			return nil, errors.New(strings.TrimSpace(string(data)))
		}
		if data, err := os.ReadFile(cfg.answerPath(id, answerStarted)); err == nil {
			os.Remove(cfg.answerPath(id, answerStarted))
			rep, err := decodeReport(data)
			if err == nil && len(rep.Containers) != 1 {
				err = errors.New("not one container")
			}
			if err != nil {
				return nil, fmt.Errorf("starting container %q: reading the monitor's answer %q: %w", id, data, err)
			}
			sc := rep.Containers[0]
			sc.MonitorPid = pid
			return &sc, nil
		}
		if !isMonitorOf(cfg, pid) {
			os.Remove(cfg.addPath(id))
			return nil, fmt.Errorf("starting container %q: monitor %d exited without answering", id, pid)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("starting container %q: waiting for monitor %d: %w", id, pid, ctx.Err())
		case <-w.C():
		case <-tick.C:
		}
	}
}

func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// Answers to an add request.
const (
	answerStarted = "started"
	answerFailed  = "failed"
)

// addPath is the request to run container id.
func (cfg *Config) addPath(id string) string { return filepath.Join(cfg.Dir, "add-"+id+".conf") }

// answerPath is the monitor's answer to the request for id.
func (cfg *Config) answerPath(id, kind string) string {
	return filepath.Join(cfg.Dir, id+"."+kind)
}

// lockDir takes the exclusive lock of a monitor directory: held around "is
// the monitor alive, hand it work" by Start and around "nothing pending,
// exit" by the monitor.
func lockDir(dir string) (unlock func(), err error) {
	unlock, err = flock.Lock(filepath.Join(dir, "monitor.lock"))
	if err != nil {
		return nil, fmt.Errorf("locking monitor directory: %w", err)
	}
	return unlock, nil
}

// MonitorPid returns the pid of the live monitor of cfg.Dir, or 0.
func MonitorPid(cfg *Config) int { return alivePid(cfg) }

// alivePid returns the pid of the live monitor of cfg.Dir, or 0. The pid
// file is checked against the process' command line (no pid reuse).
func alivePid(cfg *Config) int {
	data, err := os.ReadFile(cfg.PidPath())
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 || !isMonitorOf(cfg, pid) {
		return 0
	}
	return pid
}

// exiting tells whether pid, no longer a live monitor by isMonitorOf, is
// still a process on its way out: one that has released its memory (so its
// command line reads empty) but is not a zombie yet. Waiting for an exit
// ends only after that window, so that the caller finds the process gone.
func exiting(pid int) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(cmdline) > 0 {
		return false // gone, or the pid belongs to another process now
	}
	st := procState(pid)
	return st != 0 && st != 'Z' && st != 'X'
}

// procState is the state letter of pid in /proc/PID/stat, 0 when gone.
func procState(pid int) byte {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return 0
	}
	return stat[i+2]
}

// isMonitorOf tells whether pid is a live (not zombie) monitor run with
// cfg's config file.
func isMonitorOf(cfg *Config, pid int) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || !bytes.Contains(cmdline, []byte("\x00--config\x00"+cfg.ConfigPath()+"\x00")) {
		return false
	}
	st := procState(pid)
	return st != 0 && st != 'Z'
}
