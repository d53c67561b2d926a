package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/podbay/podbay/engine/crilog"
	"github.com/podbay/podbay/internal/cmdexec"
	"github.com/podbay/podbay/internal/mounts"
	"github.com/podbay/podbay/internal/runccmd"
)

// copyBufSize is the read buffer of one stdio stream: small, to keep the
// monitor lean.
const copyBufSize = 8 * 1024

// container is one supervised container: its stdio pipes and log.
type container struct {
	s         *supervisor
	spec      Container
	pid       int
	startedAt time.Time
	log       *os.File
	stdin     *os.File // the monitor's end, kept open when Stdin is set
	console   *os.File // the terminal's master, with Terminal
	attach    *attachListener
	in        atomic.Pointer[os.File] // where the attach socket writes stdin
	readers   []*os.File
	copying   sync.WaitGroup

	restarts    int // runs after the first
	lastExit    int // exit code of the previous run
	backoffStep int // exponent of the next back-off

	seq   int           // admission order
	final chan struct{} // closed once the final exit is recorded
	mu    sync.Mutex    // guards run and ready, serialises status writes
	run   *run          // the current or last run
	ready bool
}

func newContainer(s *supervisor, spec Container) *container {
	return &container{s: s, spec: spec, final: make(chan struct{})}
}

func (c *container) pidFile() string {
	return filepath.Join(c.s.cfg.Dir, c.spec.ID+".pid")
}

func (c *container) runtimeLog() string {
	return filepath.Join(c.s.cfg.Dir, c.spec.ID+".runtime.log")
}

// global are the runtime's global flags for c's commands: its state root.
func (c *container) global() runccmd.Global { return runccmd.Global{Root: c.s.cfg.RuntimeRoot} }

// logged are global with the runtime's JSON log in runtimeLog, for the
// commands whose failure c reports.
func (c *container) logged() runccmd.Global {
	g := c.global()
	g.Log, g.LogFormat = c.runtimeLog(), "json"
	return g
}

// runtimeCmd is the runtime command with argv.
func (c *container) runtimeCmd(argv []string) *cmdexec.Cmd {
	return &cmdexec.Cmd{Path: c.s.cfg.Runtime, Args: argv}
}

// start runs the container with one `runtime run -d`, its stdio on pipes
// copied into the CRI log.
func (c *container) start(ctx context.Context) error {
	id := c.spec.ID
	os.Remove(c.spec.ExitFile) // a previous run's exit must not be read as this one's
	os.Remove(c.pidFile())
	os.Remove(c.runtimeLog())
	if c.spec.Terminal {
		return c.startWithTerminal(ctx)
	}
	stdio, err := c.openStdio()
	if err != nil {
		return fmt.Errorf("starting container %q: %w", id, err)
	}
	cmd := c.runtimeCmd(c.logged().Run(id, runccmd.CreateOptions{Detach: true, PidFile: c.pidFile(), Bundle: c.spec.Bundle}))
	if stdio[0] != nil {
		cmd.Stdin = stdio[0]
	}
	cmd.Stdout, cmd.Stderr = stdio[1], stdio[2]
	c.s.log.Debug("running container", "id", id)
	runErr := c.s.runCommand(ctx, cmd)
	c.s.log.Debug("runtime returned", "id", id)
	closeAll(stdio) // the container holds its own copies now
	if runErr != nil {
		return c.startFailed(ctx, runErr)
	}
	c.startedAt = time.Now().UTC()
	data, err := os.ReadFile(c.pidFile())
	if err == nil {
		c.pid, err = strconv.Atoi(strings.TrimSpace(string(data)))
	}
	if err != nil {
		c.deleteRuntime(ctx)
		c.closeStdio()
		return fmt.Errorf("starting container %q: reading its pid: %w", id, err)
	}
	return c.listenAttachOrStop(ctx)
}

// listenAttachOrStop opens c's attach socket; a failure stops the
// container it has just started.
func (c *container) listenAttachOrStop(ctx context.Context) error {
	if err := c.listenAttach(); err != nil {
		_ = syscall.Kill(c.pid, syscall.SIGKILL)
		c.deleteRuntime(ctx)
		c.closeStdio()
		return fmt.Errorf("starting container %q: %w", c.spec.ID, err)
	}
	return nil
}

// openStdio opens the log and the stdio pipes, starts copying the output
// into the log, and returns the container's ends: stdin (nil unless
// Stdin is set), stdout, stderr.
func (c *container) openStdio() ([]*os.File, error) {
	logFile, err := os.OpenFile(c.spec.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening log: %w", err)
	}
	c.log, c.readers, c.stdin = logFile, nil, nil
	w := crilog.NewWriter(logFile)
	stdio := make([]*os.File, 3)
	for i, stream := range []string{crilog.Stdout, crilog.Stderr} {
		r, wr, err := os.Pipe()
		if err != nil {
			closeAll(stdio)
			c.closeStdio()
			return nil, err
		}
		stdio[i+1] = wr
		c.readers = append(c.readers, r)
		c.copying.Add(1)
		go c.copy(r, w.Stream(stream))
	}
	if c.spec.Stdin {
		r, wr, err := os.Pipe()
		if err != nil {
			closeAll(stdio)
			c.closeStdio()
			return nil, err
		}
		stdio[0], c.stdin = r, wr
	}
	return stdio, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// startFailed cleans up after a failed run and returns the runtime's message.
func (c *container) startFailed(ctx context.Context, runErr error) error {
	msg := runtimeMessage(c.runtimeLog())
	c.deleteRuntime(ctx)
	c.closeStdio()
	if msg == "" {
		return fmt.Errorf("starting container %q: %w", c.spec.ID, runErr)
	}
	return fmt.Errorf("starting container %q: %s", c.spec.ID, msg)
}

func (c *container) copy(r *os.File, w *crilog.StreamWriter) {
	defer c.copying.Done()
	buf := make([]byte, copyBufSize)
	logFailed := false // keep draining the pipe, so the container never blocks on a full one
	for {
		n, err := r.Read(buf)
		if n > 0 {
			// Each read becomes entries at once: a line cut by the read is a
			// P entry now rather than a line held back, as conmon does.
			_, werr := w.Write(buf[:n])
			if werr == nil {
				werr = w.Flush()
			}
			if werr != nil && !logFailed {
				logFailed = true
				c.s.log.Error("writing container log", "id", c.spec.ID, "err", werr)
			}
		}
		if err != nil {
			// A terminal's master reads EIO once the last process closed it.
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) && !errors.Is(err, syscall.EIO) {
				c.s.log.Warn("reading container output", "id", c.spec.ID, "err", err)
			}
			w.Flush()
			return
		}
	}
}

// closeStdio waits (bounded) for the output to drain, then closes everything.
func (c *container) closeStdio() {
	c.closeAttach()
	drained := make(chan struct{})
	go func() { c.copying.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		c.s.log.Warn("container output still open after exit; closing", "id", c.spec.ID)
		for _, r := range c.readers {
			r.Close()
		}
		<-drained
	}
	for _, r := range c.readers {
		r.Close()
	}
	if c.stdin != nil {
		c.stdin.Close()
	}
	c.console = nil
	if c.log != nil {
		c.log.Close()
	}
}

// finish records the final exit (the output is drained already): deletes
// the container from the runtime, unmounts its rootfs, then writes the exit
// file, so that whoever sees the exit file finds nothing left to clean.
func (c *container) finish(ctx context.Context, e Exit) {
	c.deleteStopped(ctx)
	if c.spec.Rootfs != "" {
		if err := mounts.Unmount(c.spec.Rootfs); err != nil {
			c.s.log.Warn("unmounting rootfs", "id", c.spec.ID, "err", err)
		}
	}
	os.Remove(c.pidFile())
	os.Remove(c.runtimeLog())
	os.Remove(c.s.cfg.StatusPath(c.spec.ID))
	if err := WriteExit(c.spec.ExitFile, e); err != nil && !exitDirGone(c.spec.ExitFile, err) {
		c.s.log.Error("recording exit", "id", c.spec.ID, "err", err)
	}
	c.s.dropStop(c.spec.ID) // last: StopContainer waits for it to go
}

// exitDirGone tells whether writing the exit file failed because its
// directory is gone: the container was removed (kube down, rm -f) while it
// was exiting, and there is nobody left to read the exit.
func exitDirGone(exitFile string, err error) bool {
	if !errors.Is(err, os.ErrNotExist) {
		return false
	}
	_, statErr := os.Stat(filepath.Dir(exitFile))
	return errors.Is(statErr, os.ErrNotExist)
}

// finalize records the final exit and forgets c.
func (c *container) finalize(ctx context.Context, e Exit) {
	c.finish(ctx, e)
	close(c.final)
	c.s.untrack(c)
}

// deleteStopped removes the runtime's record of c once its process has
// exited and been reaped: directly when it can (see deleteStoppedRunc).
func (c *container) deleteStopped(ctx context.Context) {
	if !deleteStoppedRunc(c.s.cfg.RuntimeRoot, c.spec.ID, c.spec.Cgroup) {
		c.deleteRuntime(ctx)
	}
}

// deleteRuntime runs `runtime delete --force` for c.
func (c *container) deleteRuntime(ctx context.Context) {
	cmd := c.runtimeCmd(c.global().Delete(c.spec.ID, runccmd.DeleteOptions{Force: true}))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := c.s.runCommand(ctx, cmd); err != nil && !strings.Contains(out.String(), "does not exist") {
		c.s.log.Warn("deleting container", "id", c.spec.ID, "err", err, "output", out.String())
	}
}

// startWithTerminal runs a container whose process has a terminal: the
// runtime hands the pseudo-terminal's master over the console socket.
func (c *container) startWithTerminal(ctx context.Context) error {
	id := c.spec.ID
	cs, err := newConsoleSocket()
	if err != nil {
		return fmt.Errorf("starting container %q: %w", id, err)
	}
	cmd := c.runtimeCmd(c.logged().Run(id, runccmd.CreateOptions{
		Detach: true, ConsoleSocket: cs.name, PidFile: c.pidFile(), Bundle: c.spec.Bundle}))
	if runErr := c.s.runCommand(ctx, cmd); runErr != nil {
		cs.close()
		return c.startFailed(ctx, runErr)
	}
	master, err := cs.master()
	if err == nil {
		err = c.startConsoleCopy(master)
	}
	if err == nil {
		c.startedAt = time.Now().UTC()
		var data []byte
		if data, err = os.ReadFile(c.pidFile()); err == nil {
			c.pid, err = strconv.Atoi(strings.TrimSpace(string(data)))
		}
	}
	if err != nil {
		c.deleteRuntime(ctx)
		c.closeStdio()
		return fmt.Errorf("starting container %q: %w", id, err)
	}
	return c.listenAttachOrStop(ctx)
}
