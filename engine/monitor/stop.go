package monitor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podbay/podbay/internal/runccmd"
)

// ErrNoMonitor means no live monitor runs in a monitor directory: its
// containers, if any, must be stopped through the runtime directly.
var ErrNoMonitor = errors.New("no monitor running")

// stopAllPath is the request to stop every container of the monitor.
func (cfg *Config) stopAllPath() string { return filepath.Join(cfg.Dir, "pod.stopall") }

// RequestStop asks the monitor of cfg to stop container id as the kubelet
// does (preStop, stop signal, its grace period, SIGKILL) and not to restart
// it; it ends a pending back-off. It does not wait (see StopContainer).
func RequestStop(cfg *Config, id string) error {
	_, err := requestStop(cfg, id, 0)
	return err
}

// StopContainer has the monitor of cfg stop container id: preStop hook,
// stop signal, then SIGKILL once grace has passed (0: the container's own
// grace period; < 0: SIGKILL at once, without preStop), no restart. It
// returns once the exit file is written, or ErrNoMonitor.
func StopContainer(ctx context.Context, cfg *Config, id string, grace time.Duration) error {
	pid, err := requestStop(cfg, id, grace)
	if err != nil {
		return err
	}
	return awaitGone(ctx, cfg, cfg.StopPath(id), pid)
}

func requestStop(cfg *Config, id string, grace time.Duration) (int, error) {
	return request(cfg, cfg.StopPath(id), grace, "stopping container "+strconv.Quote(id))
}

// StopAll has the monitor of cfg stop every container, as a pod is
// stopped: the other containers first, in parallel, then the sidecars one
// by one in reverse start order; each with grace as StopContainer takes it.
// It returns once the monitor has exited; nil when none runs.
func StopAll(ctx context.Context, cfg *Config, grace time.Duration) error {
	pid, err := request(cfg, cfg.stopAllPath(), grace, "stopping pod "+strconv.Quote(cfg.ID))
	if errors.Is(err, ErrNoMonitor) {
		return nil
	}
	if err != nil {
		return err
	}
	return awaitGone(ctx, cfg, "", pid)
}

// request leaves a stop request (its content the grace period) and wakes
// the monitor.
func request(cfg *Config, path string, grace time.Duration, what string) (int, error) {
	pid := alivePid(cfg)
	if pid == 0 {
		return 0, fmt.Errorf("%s: %w", what, ErrNoMonitor)
	}
	content := ""
	if grace != 0 {
		content = strconv.FormatInt(int64(grace), 10)
	}
	if err := writeFileAtomic(path, []byte(content)); err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		return 0, fmt.Errorf("%s: waking monitor %d: %w: %w", what, pid, err, ErrNoMonitor)
	}
	return pid, nil
}

// awaitGone waits until path is removed (or, for "", the monitor exits).
func awaitGone(ctx context.Context, cfg *Config, path string, pid int) error {
	var w *dirWatch
	if path != "" { // a monitor's exit is no event in its directory
		w = watchDir(cfg.Dir)
		defer w.Close()
	}
	tick := time.NewTicker(w.Interval())
	defer tick.Stop()
	for {
		alive := isMonitorOf(cfg, pid)
		if path != "" {
			if _, err := os.Stat(path); os.IsNotExist(err) {
				return nil
			}
			if !alive {
				os.Remove(path)
				return fmt.Errorf("stopping %q: monitor %d exited: %w", filepath.Base(path), pid, ErrNoMonitor)
			}
		} else if !alive && !exiting(pid) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for monitor %d to stop %q: %w", pid, cfg.ID, ctx.Err())
		case <-w.C():
		case <-tick.C:
		}
	}
}

// readGrace reads a stop request: its grace period, or c's own.
func readGrace(path string, c *container) (time.Duration, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil || ns == 0 {
		if c == nil {
			return 0, true
		}
		return c.grace(), true
	}
	return time.Duration(ns), true
}

// serveStops acts on the stop requests in cfg.Dir.
func (s *supervisor) serveStops() {
	grace, requested := readGrace(s.cfg.stopAllPath(), nil)
	s.mu.Lock()
	all := s.stoppingAll || requested
	s.stoppingAll = all
	s.mu.Unlock()
	if requested {
		os.Remove(s.cfg.stopAllPath())
		go s.stopAll(grace)
	}
	if all {
		// stopAll orders the stops itself (sidecars last); the stop files
		// it writes only forbid restarts and must not stop a sidecar early.
		return
	}
	entries, _ := os.ReadDir(s.cfg.Dir)
	pending := s.pendingAdds()
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".stop")
		if !ok {
			continue
		}
		s.mu.Lock()
		c := s.containers[id]
		s.mu.Unlock()
		switch {
		case c != nil:
			s.serveStop(c)
		case !slices.Contains(pending, id):
			s.dropStop(id) // nothing runs under that id
		}
	}
}

// dropStop removes the stop marker of container id, which StopContainer
// waits to see go, and wakes the waiters.
func (s *supervisor) dropStop(id string) {
	if os.Remove(s.cfg.StopPath(id)) == nil {
		pokeWaiters(s.cfg.Dir)
	}
}

// serveStop stops c's current run if a stop was requested.
func (s *supervisor) serveStop(c *container) {
	grace, ok := readGrace(s.cfg.StopPath(c.spec.ID), c)
	if !ok {
		return
	}
	c.mu.Lock()
	r := c.run
	c.mu.Unlock()
	if r != nil {
		go c.stop(r, grace)
	}
}

// stop ends run r as the kubelet kills a container: preStop hook and stop
// signal, SIGKILL once grace has passed (at once when grace <= 0).
func (c *container) stop(r *run, grace time.Duration) {
	c.mu.Lock()
	again := r.stopping
	r.stopping = true
	c.mu.Unlock()
	select {
	case <-r.done:
		return
	default:
	}
	if grace > 0 {
		if again {
			return // a stop is under way
		}
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if c.spec.PreStop != nil {
			if err := c.runHandler(ctx, c.spec.PreStop); err != nil {
				c.s.log.Warn("preStop hook failed", "id", c.spec.ID, "err", err)
			}
		}
		sig := syscall.SIGTERM
		if c.spec.StopSignal != 0 {
			sig = syscall.Signal(c.spec.StopSignal)
		}
		c.kill(sig)
		select {
		case <-r.done:
			return
		case <-ctx.Done():
		}
	}
	c.kill(syscall.SIGKILL)
}

// kill signals the container's init, as `runtime kill` would. While the
// process is the monitor's unreaped child its pid cannot be reused, so the
// signal goes straight to it: no runtime process per signal (a pod of
// twenty containers stopped at once would otherwise spend most of its
// grace period starting runc). Otherwise it goes through the runtime.
func (c *container) kill(sig syscall.Signal) {
	c.s.mu.Lock()
	live, err := false, error(nil)
	for pid, lc := range c.s.live {
		if lc == c {
			live, err = true, unix.Kill(pid, sig)
			break
		}
	}
	c.s.mu.Unlock()
	if live && err == nil {
		return
	}
	cmd := c.runtimeCmd(c.global().Kill(c.spec.ID, sig, runccmd.KillOptions{}))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := c.s.runCommand(context.Background(), cmd); err != nil {
		c.s.log.Debug("signalling container", "id", c.spec.ID, "signal", int(sig), "err", err, "output", out.String())
	}
}

// stopAll stops every container: the others in parallel, then the
// sidecars in reverse start order, each until its final exit.
func (s *supervisor) stopAll(grace time.Duration) {
	s.mu.Lock()
	all := make([]*container, 0, len(s.containers))
	for _, c := range s.containers {
		all = append(all, c)
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b *container) int { return b.seq - a.seq })
	content := []byte{}
	if grace != 0 {
		content = []byte(strconv.FormatInt(int64(grace), 10))
	}
	for _, c := range all {
		_ = writeFileAtomic(s.cfg.StopPath(c.spec.ID), content) // no restart from now on
	}
	s.broadcastWake() // ends back-offs
	var wg sync.WaitGroup
	for _, c := range all {
		if !c.spec.Sidecar {
			wg.Add(1)
			go func() { defer wg.Done(); s.stopUntilFinal(c) }()
		}
	}
	wg.Wait()
	for _, c := range all {
		if c.spec.Sidecar {
			s.stopUntilFinal(c)
		}
	}
}

func (s *supervisor) stopUntilFinal(c *container) {
	s.serveStop(c)
	<-c.final
}
