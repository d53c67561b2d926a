package dockerapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/podbay/podbay/engine/crilog"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/pod"
)

// attach serves POST /containers/{id}/attach, as docker run (before it
// starts the container) and docker attach use it. The container's output
// comes from its CRI log, which the monitor writes from the first byte,
// so nothing is lost between the container's start and this stream's; its
// stdin goes through the monitor's attach socket. The stream ends once the
// container has exited and its output is sent.
func (s *Server) attach(w http.ResponseWriter, r *http.Request, c *state.Container) error {
	v := pod.ViewOf(c)
	ctr := v.Container()
	tty := ctr != nil && ctr.TTY
	wantIn := boolParam(r, "stdin") && ctr != nil && (ctr.Stdin || ctr.TTY)
	wantOut, wantErr := boolParam(r, "stdout"), boolParam(r, "stderr")
	stream, logs := boolParam(r, "stream"), boolParam(r, "logs")
	var offset int64
	if fi, err := os.Stat(c.LogPath); err == nil && !logs {
		offset = fi.Size() // this run's output starts here
	}
	h, err := hijack(w, r, tty)
	if err != nil {
		return err
	}
	defer h.close()
	s.attached(c.ID, 1)
	defer s.attached(c.ID, -1)
	ctx := context.WithoutCancel(r.Context()) // the server's ctx ended with the hijack
	if wantIn && stream {
		go s.pumpStdin(ctx, c, h)
	}
	stdout, stderr := outputs(h.conn, tty)
	if !wantOut {
		stdout = io.Discard
	}
	if !wantErr {
		stderr = io.Discard
	}
	if !stream {
		err := crilog.Read(ctx, c.LogPath, crilog.ReadOptions{Tail: crilog.AllLines}, stdout, stderr)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			s.Log.Warn("attach: reading the log", "id", c.ID, "err", err)
		}
		return nil
	}
	if !s.awaitRun(ctx, c) {
		return nil
	}
	err = crilog.Read(ctx, c.LogPath, crilog.ReadOptions{Follow: true, Tail: crilog.AllLines, Offset: offset,
		Until: s.exited(ctx, c.ID)}, stdout, stderr)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		s.Log.Warn("attach: following the log", "id", c.ID, "err", err)
	}
	return nil
}

// startWait bounds how long an attach waits for its container to start: a
// client that attached and went away without starting it (its end of the
// connection is not seen until something is written) holds no stream for
// long.
const startWait = 2 * time.Minute

// awaitRun waits until c's next run has begun (it runs, or ran and
// exited); false when it is gone or did not start within startWait.
func (s *Server) awaitRun(ctx context.Context, c *state.Container) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(startWait)
	for time.Now().Before(deadline) {
		cur, err := s.Manager.Lookup(ctx, c.ID)
		if err != nil {
			return false
		}
		if cur.State == state.StateRunning || !cur.StartedAt.Equal(c.StartedAt) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return false
}

// exited reports, for a log follower, that container id no longer runs.
func (s *Server) exited(ctx context.Context, id string) func() bool {
	return func() bool {
		cur, err := s.Manager.Lookup(ctx, id)
		return err != nil || cur.State != state.StateRunning
	}
}

// pumpStdin copies what the client sends to the container's stdin once it
// runs; the client's end of input ends the container's (with StdinOnce).
func (s *Server) pumpStdin(ctx context.Context, c *state.Container, h *hijacked) {
	if !s.awaitRun(ctx, c) {
		return
	}
	in, err := s.Manager.AttachInput(ctx, c.ID)
	if err != nil {
		s.Log.Debug("attach: no stdin", "id", c.ID, "err", err)
		return
	}
	defer in.Close()
	if _, err := io.Copy(in, h.in); err == nil {
		_ = in.CloseStdin()
	}
}

// attached counts the attach streams of a container.
func (s *Server) attached(id string, delta int) {
	s.attachM.Lock()
	defer s.attachM.Unlock()
	if s.attachN == nil {
		s.attachN = map[string]int{}
	}
	s.attachN[id] += delta
	if s.attachN[id] <= 0 {
		delete(s.attachN, id)
	}
}

// awaitAttached waits (at most limit) until no stream is attached to id.
func (s *Server) awaitAttached(id string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		s.attachM.Lock()
		n := s.attachN[id]
		s.attachM.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// resize serves POST /containers/{id}/resize?h=&w=: through the monitor's
// attach socket to the container's terminal.
func (s *Server) resize(w http.ResponseWriter, r *http.Request, c *state.Container) error {
	rows, err1 := strconv.ParseUint(r.URL.Query().Get("h"), 10, 16)
	cols, err2 := strconv.ParseUint(r.URL.Query().Get("w"), 10, 16)
	if err1 != nil || err2 != nil {
		return badRequest("resize: want h and w as numbers")
	}
	if c.State == state.StateRunning {
		in, err := s.Manager.AttachInput(r.Context(), c.ID)
		if err != nil {
			return conflict("resizing %s: %v", c.Name, err)
		}
		defer in.Close()
		if err := in.Resize(uint16(rows), uint16(cols)); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// logs serves GET /containers/{id}/logs: multiplexed without a terminal,
// followed with follow=1 until the container stops.
func (s *Server) logs(w http.ResponseWriter, r *http.Request, c *state.Container) error {
	q := r.URL.Query()
	tail := crilog.AllLines
	if t := q.Get("tail"); t != "" && t != "all" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return badRequest("tail %q: want a number or all", t)
		}
		tail = n
	}
	v := pod.ViewOf(c)
	tty := v.Container() != nil && v.Container().TTY
	o := crilog.ReadOptions{Follow: boolParam(r, "follow"), Tail: tail, Timestamps: boolParam(r, "timestamps")}
	if o.Follow {
		o.Until = s.exited(r.Context(), c.ID)
	}
	w.Header().Set("Content-Type", "application/vnd.docker.raw-stream")
	w.WriteHeader(http.StatusOK)
	fw := flushWriter{w: w}
	stdout, stderr := outputs(fw, tty)
	if !boolParam(r, "stdout") {
		stdout = io.Discard
	}
	if !boolParam(r, "stderr") {
		stderr = io.Discard
	}
	err := crilog.Read(r.Context(), c.LogPath, o, stdout, stderr)
	if err != nil && !errors.Is(err, os.ErrNotExist) && r.Context().Err() == nil {
		s.Log.Warn("logs", "id", c.ID, "err", err)
	}
	return nil
}
