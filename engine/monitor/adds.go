package monitor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// pendingAdds lists the container ids whose add requests wait in cfg.Dir.
func (s *supervisor) pendingAdds() []string {
	entries, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		s.log.Warn("listing requests", "err", err)
		return nil
	}
	var ids []string
	for _, e := range entries {
		name := e.Name()
		if id, ok := strings.CutPrefix(name, "add-"); ok && strings.HasSuffix(id, ".conf") {
			ids = append(ids, strings.TrimSuffix(id, ".conf"))
		}
	}
	return ids
}

// serveAdds starts, each in its own goroutine, the containers that Start
// asked for and that are not being started yet, answering each with a
// started or failed file; false when there was none. A pod's app
// containers are asked for together and need not wait for each other's
// runtime (the kubelet orders only init containers, which the caller
// sequences by waiting for each answer). Until its answer, a request
// counts as work: the monitor does not exit under it.
func (s *supervisor) serveAdds(ctx context.Context) bool {
	served := false
	for _, id := range s.pendingAdds() {
		s.mu.Lock()
		busy := s.adding[id]
		if !busy {
			s.adding[id] = true
		}
		s.mu.Unlock()
		if busy {
			continue
		}
		served = true
		go func() {
			s.serveAdd(ctx, id)
			s.mu.Lock()
			delete(s.adding, id)
			s.mu.Unlock()
			// A request for the same id that came while this one was
			// served was skipped as busy (serveAdd removed this one's
			// file first): serve it now.
			if _, err := os.Stat(s.cfg.addPath(id)); err == nil {
				s.serveAdds(ctx)
			}
			s.signalIfIdle()
		}()
	}
	return served
}

func (s *supervisor) serveAdd(ctx context.Context, id string) {
	path := s.cfg.addPath(id)
	spec, err := readAddRequest(path)
	if errors.Is(err, os.ErrNotExist) {
		return // served already: another goroutine's listing found it too
	}
	os.Remove(path)
	if err == nil && spec.ID != id {
		err = fmt.Errorf("request %q names container %q", filepath.Base(path), spec.ID)
	}
	var c *container
	if err == nil {
		c, err = s.admit(ctx, *spec)
	}
	if err != nil {
		s.log.Warn("adding container", "id", id, "err", err)
		s.answer(id, answerFailed, []byte(err.Error()+"\n"))
		return
	}
	s.log.Debug("container added", "id", id, "pid", c.pid)
	rep := report{Started: Started{Containers: []StartedContainer{{ID: id, Pid: c.pid, StartedAt: c.startedAt}}}}
	s.answer(id, answerStarted, encodeReport(&rep))
	s.serveStop(c) // a stop asked for while the add was pending
}

func (s *supervisor) answer(id, kind string, data []byte) {
	if err := writeFileAtomic(s.cfg.answerPath(id, kind), data); err != nil {
		s.log.Error("answering a request", "id", id, "err", err)
	}
	pokeWaiters(s.cfg.Dir)
}

// readAddRequest reads a request written by Start: one container in the
// config line format.
func readAddRequest(path string) (*Container, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading request: %w", err)
	}
	defer f.Close()
	cfg, err := decodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("decoding request %q: %w", filepath.Base(path), err)
	}
	if len(cfg.Containers) != 1 {
		return nil, fmt.Errorf("request %q: %d containers, want 1", filepath.Base(path), len(cfg.Containers))
	}
	c := cfg.Containers[0]
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}
