package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/podbay/podbay/internal/cmdexec"
	"github.com/podbay/podbay/internal/runccmd"
)

// run is one run of a container: from a successful start to its exit.
type run struct {
	done     chan struct{} // closed when the process has exited
	ctx      context.Context
	cancel   context.CancelFunc
	workers  sync.WaitGroup // postStart, probes
	stopping bool           // guarded by container.mu
}

// beginRun records the new run of c (its process is tracked already) and
// starts its hooks and probes.
func (c *container) beginRun() *run {
	r := &run{done: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	sp := &c.spec
	c.mu.Lock()
	c.run = r
	c.ready = sp.PostStart == nil && sp.Probes.Startup == nil && sp.Probes.Readiness == nil
	c.mu.Unlock()
	if sp.PostStart != nil || sp.Probes != (Probes{}) {
		r.workers.Add(1)
		go c.lifecycle(r)
	}
	return r
}

// endRun stops the hooks and probes of the run that ended.
func (c *container) endRun() {
	c.mu.Lock()
	r := c.run
	c.ready = false
	c.mu.Unlock()
	if r != nil {
		r.cancel()
		r.workers.Wait()
	}
}

// lifecycle runs postStart, then the startup probe, then starts the
// liveness and readiness probes, as the kubelet does.
func (c *container) lifecycle(r *run) {
	defer r.workers.Done()
	sp := &c.spec
	if sp.PostStart != nil {
		if err := c.runHandler(r.ctx, sp.PostStart); err != nil {
			if r.ctx.Err() == nil {
				c.s.log.Warn("postStart hook failed; killing the container", "id", sp.ID, "err", err)
				c.stop(r, c.grace())
			}
			return
		}
	}
	if p := sp.Probes.Startup; p != nil {
		failures, passed := 0, false
		c.probeLoop(r, p, func(err error) bool {
			if err == nil {
				passed = true
				return false
			}
			failures++
			c.s.log.Debug("startup probe failed", "id", sp.ID, "err", err)
			return failures < p.failures()
		})
		if !passed {
			if r.ctx.Err() == nil {
				c.s.log.Warn("startup probe failed; killing the container", "id", sp.ID)
				c.stop(r, c.grace())
			}
			return
		}
	}
	if sp.Probes.Readiness == nil {
		c.setReady(true)
	}
	for _, p := range []*Probe{sp.Probes.Liveness, sp.Probes.Readiness} {
		if p != nil {
			r.workers.Add(1)
			go c.prober(r, p, p == sp.Probes.Liveness)
		}
	}
}

// prober runs a liveness probe (killing the container after FailureThreshold
// consecutive failures) or a readiness probe (setting the ready flag).
func (c *container) prober(r *run, p *Probe, liveness bool) {
	defer r.workers.Done()
	successes, failures := 0, 0
	c.probeLoop(r, p, func(err error) bool {
		if err == nil {
			successes, failures = successes+1, 0
		} else {
			successes, failures = 0, failures+1
			c.s.log.Debug("probe failed", "id", c.spec.ID, "liveness", liveness, "err", err)
		}
		switch {
		case liveness && failures >= p.failures():
			c.s.log.Warn("liveness probe failed; killing the container", "id", c.spec.ID, "err", err)
			c.stop(r, c.grace())
			return false
		case !liveness && successes >= p.successes():
			c.setReady(true)
		case !liveness && failures >= p.failures():
			c.setReady(false)
		}
		return true
	})
}

// probeLoop runs p at its period from the container's start plus its
// initial delay, until result returns false or the run ends.
func (c *container) probeLoop(r *run, p *Probe, result func(error) bool) {
	next := c.startedAt.Add(p.InitialDelay)
	for {
		timer := time.NewTimer(time.Until(next))
		select {
		case <-r.ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		next = time.Now().Add(p.period())
		ctx, cancel := context.WithTimeout(r.ctx, p.timeout())
		err := c.probe(ctx, p)
		cancel()
		if r.ctx.Err() != nil || !result(err) {
			return
		}
	}
}

// probe runs p's action once.
func (c *container) probe(ctx context.Context, p *Probe) error {
	switch {
	case len(p.Exec) > 0:
		return c.execIn(ctx, p.Exec)
	case p.HTTPGet != nil:
		return httpGet(ctx, c.spec.NetNS, p.HTTPGet)
	case p.TCPSocket != nil:
		return tcpProbe(ctx, c.spec.NetNS, p.TCPSocket)
	case p.GRPC != nil:
		return grpcProbe(ctx, c.spec.NetNS, p.GRPC)
	}
	return errors.New("probe without an action")
}

// runHandler runs a lifecycle hook.
func (c *container) runHandler(ctx context.Context, h *Handler) error {
	switch {
	case len(h.Exec) > 0:
		return c.execIn(ctx, h.Exec)
	case h.HTTPGet != nil:
		return httpGet(ctx, c.spec.NetNS, h.HTTPGet)
	}
	timer := time.NewTimer(h.Sleep)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// execIn runs args in the container through the runtime; a non-zero exit
// is an error carrying the command's output.
func (c *container) execIn(ctx context.Context, args []string) error {
	cmd := c.runtimeCmd(c.global().Exec(c.spec.ID, runccmd.ExecOptions{Args: args}))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second // a background process holding the output must not hang the probe
	if err := c.s.runCommand(ctx, cmd); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 256 {
			msg = msg[:256]
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("exec %q: %w: %s", args[0], err, msg)
	}
	return nil
}

func (c *container) grace() time.Duration { return orDuration(c.spec.GracePeriod, DefaultGracePeriod) }

// setReady records readiness in the status file when it changes.
func (c *container) setReady(ready bool) {
	c.mu.Lock()
	changed := c.ready != ready
	c.ready = ready
	c.mu.Unlock()
	if changed {
		c.writeStatus()
		c.s.readinessChanged()
	}
}

// readinessChanged starts the configured OnReady command in the background.
func (s *supervisor) readinessChanged() {
	if len(s.cfg.OnReady) == 0 {
		return
	}
	cmd := &cmdexec.Cmd{Path: s.cfg.OnReady[0], Args: s.cfg.OnReady[1:]}
	go func() {
		if err := s.runCommand(context.Background(), cmd); err != nil {
			s.log.Warn("running the readiness hook", "err", err)
		}
	}()
}
