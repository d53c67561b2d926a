package dockerapi

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/pod"
)

// execConfig is the body of POST /containers/{id}/exec.
type execConfig struct {
	AttachStdin  bool
	AttachStdout bool
	AttachStderr bool
	Tty          bool
	Cmd          []string
	Env          []string
	WorkingDir   string
	User         string
	Privileged   bool
}

// execSession is one exec instance: created, then started once.
type execSession struct {
	ID          string
	ContainerID string
	Config      execConfig
	Running     bool
	ExitCode    *int
	started     bool
	master      *os.File  // the terminal's master, while an exec with a terminal runs
	size        [2]uint16 // the last size asked for (rows, columns), for a terminal not made yet
}

// execs are the server's exec instances (Docker keeps them in its daemon;
// they last as long as this process).
type execs struct {
	mu sync.Mutex
	m  map[string]*execSession
}

func (e *execs) put(x *execSession) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]*execSession{}
	}
	e.m[x.ID] = x
}

func (e *execs) get(id string) (*execSession, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[id]
	return x, ok
}

// forget drops the exec instances of a removed container.
func (e *execs) forget(containerID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, x := range e.m {
		if x.ContainerID == containerID {
			delete(e.m, id)
		}
	}
}

// update changes x under the lock.
func (e *execs) update(fn func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fn()
}

func (s *Server) createExec(w http.ResponseWriter, r *http.Request, c *state.Container) error {
	var cfg execConfig
	if err := readJSON(r, &cfg); err != nil {
		return err
	}
	if len(cfg.Cmd) == 0 {
		return badRequest("exec: no command")
	}
	if c.State != state.StateRunning {
		return conflict("Container %s is not running", c.ID)
	}
	x := &execSession{ID: pod.NewID(), ContainerID: c.ID, Config: cfg}
	s.execs.put(x)
	writeJSON(w, http.StatusCreated, map[string]string{"Id": x.ID})
	return nil
}

func (s *Server) routeExec(w http.ResponseWriter, r *http.Request, rest string) error {
	id, action, _ := strings.Cut(rest, "/")
	x, ok := s.execs.get(id)
	if !ok {
		return notFound("No such exec instance: %s", id)
	}
	switch r.Method + " " + action {
	case "POST start":
		return s.startExec(w, r, x)
	case "GET json":
		s.execs.mu.Lock()
		defer s.execs.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"ID": x.ID, "ContainerID": x.ContainerID, "Running": x.Running,
			"ExitCode": x.ExitCode, "OpenStdin": x.Config.AttachStdin, "OpenStdout": x.Config.AttachStdout,
			"OpenStderr": x.Config.AttachStderr, "Pid": 0, "CanRemove": false,
			"ProcessConfig": map[string]any{"tty": x.Config.Tty, "entrypoint": x.Config.Cmd[0], "arguments": x.Config.Cmd[1:],
				"privileged": x.Config.Privileged, "user": x.Config.User}})
		return nil
	case "POST resize":
		rows, err1 := strconv.ParseUint(r.URL.Query().Get("h"), 10, 16)
		cols, err2 := strconv.ParseUint(r.URL.Query().Get("w"), 10, 16)
		if err1 != nil || err2 != nil {
			return badRequest("resize: want h and w as numbers")
		}
		var master *os.File
		s.execs.update(func() { master, x.size = x.master, [2]uint16{uint16(rows), uint16(cols)} })
		if master != nil {
			_ = pty.Setsize(master, &pty.Winsize{Rows: uint16(rows), Cols: uint16(cols)})
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	return notFound("page not found: %s /exec/%s", r.Method, rest)
}

// startExec runs the exec: detached, or with its stdio on the hijacked
// connection (multiplexed without a terminal) until it exits.
func (s *Server) startExec(w http.ResponseWriter, r *http.Request, x *execSession) error {
	var body struct{ Detach, Tty bool }
	if err := readJSON(r, &body); err != nil {
		return err
	}
	var already bool
	s.execs.update(func() { already, x.started, x.Running = x.started, true, true })
	if already {
		return conflict("exec %s has already started", x.ID)
	}
	cfg := x.Config
	o := pod.ExecOptions{Args: cfg.Cmd, Env: cfg.Env, Workdir: cfg.WorkingDir, User: cfg.User, Tty: cfg.Tty || body.Tty}
	ctx := context.WithoutCancel(r.Context())
	if body.Detach {
		o.Detach = true
		code, err := s.Manager.Exec(ctx, x.ContainerID, o)
		s.finishExec(x, code, err)
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	h, err := hijack(w, r, o.Tty)
	if err != nil {
		return err
	}
	defer h.close()
	if o.Tty {
		return s.execWithTerminal(ctx, x, o, h)
	}
	o.Stdout, o.Stderr = outputs(h.conn, o.Tty)
	if !cfg.AttachStdout {
		o.Stdout = io.Discard
	}
	if !cfg.AttachStderr {
		o.Stderr = io.Discard
	}
	if cfg.AttachStdin {
		// A pipe of our own: the exec ends when its process does, not when
		// the client stops sending.
		pr, pw, err := os.Pipe()
		if err != nil {
			return err
		}
		defer pr.Close()
		go func() {
			_, _ = io.Copy(pw, h.in)
			pw.Close()
		}()
		o.Stdin = pr
	}
	code, err := s.Manager.Exec(ctx, x.ContainerID, o)
	s.finishExec(x, code, err)
	if err != nil {
		_, _ = io.WriteString(o.Stderr, err.Error()+"\n")
	}
	return nil
}

// execWithTerminal runs an exec with a terminal: runc's terminal relay
// needs a controlling terminal, which a service has not, so runc gets the
// slave of a pseudo-terminal pair of the server's as its stdio and
// controlling terminal, and the client's stream is copied to and from the
// master. Exec resize sets the master's size; runc, told by SIGWINCH,
// passes it on to the process' own terminal.
func (s *Server) execWithTerminal(ctx context.Context, x *execSession, o pod.ExecOptions, h *hijacked) error {
	master, slave, err := pty.Open()
	if err != nil {
		return err
	}
	defer master.Close()
	s.execs.update(func() {
		x.master = master
		if x.size[0] > 0 && x.size[1] > 0 { // asked for before the terminal existed
			_ = pty.Setsize(master, &pty.Winsize{Rows: x.size[0], Cols: x.size[1]})
		}
	})
	o.Terminal = slave
	go func() { _, _ = io.Copy(master, h.in) }()
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(h.conn, master) // ends with EIO once the slave is closed everywhere
		close(copied)
	}()
	code, err := s.Manager.Exec(ctx, x.ContainerID, o)
	slave.Close()
	select {
	case <-copied:
	case <-time.After(drainWait):
	}
	s.finishExec(x, code, err)
	if err != nil {
		_, _ = io.WriteString(h.conn, err.Error()+"\r\n")
	}
	return nil
}

// drainWait bounds the wait for an exec's last output once it exited (a
// background process of its may hold the terminal).
const drainWait = 2 * time.Second

func (s *Server) finishExec(x *execSession, code int, err error) {
	if err != nil {
		code = 126
	}
	s.execs.update(func() { x.Running, x.ExitCode, x.master = false, &code, nil })
}
