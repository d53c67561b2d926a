package monitor

import (
	"context"
	"os"
	"path/filepath"
	"time"
)

// Restart policies, as Kubernetes names them; "" means Never.
const (
	RestartAlways    = "Always"
	RestartOnFailure = "OnFailure"
	RestartNever     = "Never"
)

// Kubernetes' restart back-off: 10 s doubling up to 5 min, forgotten after
// 10 min of running.
const (
	DefaultBackoffBase = 10 * time.Second
	DefaultBackoffMax  = 5 * time.Minute
	backoffResetAfter  = 10 * time.Minute
)

// Status is a running container's current run, rewritten at every (re)start.
type Status struct {
	Pid          int       `json:"pid"`
	StartedAt    time.Time `json:"startedAt"`
	RestartCount int       `json:"restartCount"`
	LastExitCode int       `json:"lastExitCode"` // of the previous run, when RestartCount > 0
	// Ready is the kubelet's readiness: false until the readiness probe
	// first succeeds (or, without one, until postStart and the startup
	// probe are done), and false while the container is not running.
	Ready bool `json:"ready"`
}

// StatusPath is the status file of container id.
func (cfg *Config) StatusPath(id string) string { return filepath.Join(cfg.Dir, id+".status") }

// StopPath is the marker that tells the monitor not to restart container id.
func (cfg *Config) StopPath(id string) string { return filepath.Join(cfg.Dir, id+".stop") }

func (s *supervisor) stopRequested(id string) bool {
	_, err := os.Stat(s.cfg.StopPath(id))
	return err == nil
}

// wakeup returns a channel closed at the next SIGUSR1.
func (s *supervisor) wakeup() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wake
}

func (s *supervisor) broadcastWake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.wake)
	s.wake = make(chan struct{})
}

func (c *container) shouldRestart(e Exit) bool {
	switch c.spec.Restart {
	case RestartAlways:
	case RestartOnFailure:
		if e.Code == 0 {
			return false
		}
	default:
		return false
	}
	return !c.s.stopRequested(c.spec.ID)
}

// backoff waits before restart number c.restarts; false means a stop was
// requested meanwhile.
func (s *supervisor) backoff(c *container, ran time.Duration) bool {
	base, maxDelay := s.cfg.BackoffBase, s.cfg.BackoffMax
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if maxDelay <= 0 {
		maxDelay = DefaultBackoffMax
	}
	if ran >= backoffResetAfter {
		c.backoffStep = 0
	}
	delay := base << min(c.backoffStep, 20)
	if delay > maxDelay || delay <= 0 {
		delay = maxDelay
	}
	c.backoffStep++
	s.log.Debug("restarting after back-off", "id", c.spec.ID, "delay", delay.String())
	timer := time.NewTimer(delay)
	defer timer.Stop()
	for {
		wake := s.wakeup() // taken before the check, so no SIGUSR1 is missed
		if s.stopRequested(c.spec.ID) {
			return false
		}
		select {
		case <-timer.C:
			return !s.stopRequested(c.spec.ID)
		case <-wake:
		}
	}
}

// afterExit handles the end of one run of c: restart under its policy, or
// record the final exit.
func (s *supervisor) afterExit(c *container, e Exit) {
	ctx := context.Background()
	c.endRun()
	c.writeStatus() // not ready while not running
	c.closeStdio()
	for c.shouldRestart(e) {
		c.deleteStopped(ctx)
		if !s.backoff(c, e.FinishedAt.Sub(e.StartedAt)) {
			break
		}
		c.restarts++
		c.lastExit = e.Code
		if err := s.startTracked(ctx, c); err != nil {
			s.log.Error("restarting container", "id", c.spec.ID, "err", err)
			break
		}
		s.serveStop(c) // a stop asked for since the back-off ended
		return         // the new run has its own afterExit
	}
	c.finalize(ctx, e)
}

// writeStatus records the current run of c.
func (c *container) writeStatus() {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Status{Pid: c.pid, StartedAt: c.startedAt, RestartCount: c.restarts, LastExitCode: c.lastExit, Ready: c.ready}
	if err := writeFileAtomic(c.s.cfg.StatusPath(c.spec.ID), encodeStatus(st)); err != nil {
		c.s.log.Warn("writing status", "id", c.spec.ID, "err", err)
	}
}
