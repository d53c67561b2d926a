package monitor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/podbay/podbay/internal/cmdexec"
)

// drainTimeout bounds how long the monitor waits for a container's stdio to
// close after its init exited (a process outside the container's pid
// namespace may hold it open).
const drainTimeout = 5 * time.Second

// Logger is the part of *slog.Logger the monitor uses; the monitor binary
// passes a smaller one to stay lean.
type Logger interface {
	Debug(msg string, args ...any)
	Warn(msg string, args ...any)
	Error(msg string, args ...any)
}

type discard struct{}

func (discard) Debug(string, ...any) {}
func (discard) Warn(string, ...any)  {}
func (discard) Error(string, ...any) {}

// Options are the monitor process' own plumbing.
type Options struct {
	Log  Logger   // nil discards; a *slog.Logger fits
	Sync *os.File // receives the start report, then is closed; may be nil
	// Started, if set, runs once every container runs (the monitor binary
	// returns start-up garbage to the OS there).
	Started func()
	// Runner runs the runtime and the readiness hook; nil: the host's.
	Runner cmdexec.Runner
}

// supervisor is one running monitor.
type supervisor struct {
	cfg  *Config
	log  Logger
	cmds cmdexec.Runner
	mu   sync.Mutex
	live map[int]*container // by pid, until reaped
	// containers holds every container from its admission until its final
	// exit is recorded (restarts and back-offs included), by id.
	containers map[string]*container
	adding     map[string]bool // add requests being served, by id
	// stoppingAll is set once a StopAll request is taken: from then on
	// stopAll alone stops containers.
	stoppingAll bool
	idle        chan struct{} // signalled when containers becomes empty
	seq         int           // admissions so far
	// commands is held shared by every runtime command in flight and
	// exclusively while reaping unknown children.
	commands sync.RWMutex
	wake     chan struct{} // closed and replaced at each SIGUSR1 (see RequestStop)
}

// Run is the body of the monitor process: it starts cfg's containers,
// reports to opts.Sync, then supervises them, taking more through Start,
// until none is left.
func Run(ctx context.Context, cfg *Config, opts Options) error {
	s := &supervisor{cfg: cfg, log: opts.Log, live: map[int]*container{}, containers: map[string]*container{}, adding: map[string]bool{},
		idle: make(chan struct{}, 1), wake: make(chan struct{})}
	if s.log == nil {
		s.log = discard{}
	}
	if s.cmds = opts.Runner; s.cmds == nil {
		s.cmds = cmdexec.Host{}
	}
	s.log.Debug("monitor starting", "containers", len(cfg.Containers))
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return s.fail(opts.Sync, fmt.Errorf("becoming a subreaper: %w", err))
	}
	_ = os.WriteFile(cfg.PidPath(), []byte(strconv.Itoa(os.Getpid())), 0o600)
	sigchld, sigusr1 := make(chan os.Signal, 8), make(chan os.Signal, 1)
	signal.Notify(sigchld, syscall.SIGCHLD)
	signal.Notify(sigusr1, syscall.SIGUSR1)
	// No signal.Ignore here: ignored signals survive exec, and the runtime
	// and the containers must start with default dispositions.
	catchInheritedIgnores()

	rep := report{}
	for _, spec := range cfg.Containers {
		c, err := s.admit(ctx, spec)
		if err != nil {
			s.abort(ctx)
			s.awaitEmpty() // exits being recorded finish before the report
			return s.fail(opts.Sync, err)
		}
		rep.Containers = append(rep.Containers, StartedContainer{ID: c.spec.ID, Pid: c.pid, StartedAt: c.startedAt})
	}
	s.send(opts.Sync, rep)
	if opts.Started != nil {
		opts.Started()
	}
	s.log.Debug("containers started", "count", len(rep.Containers))
	for {
		s.reap()
		select {
		case <-sigchld:
		case <-sigusr1:
			s.broadcastWake()
			s.serveAdds(ctx)
			s.serveStops()
		case <-s.idle:
			if s.tryExit() {
				return nil
			}
			s.serveAdds(ctx)
		}
	}
}

// admit tracks a new container and starts it.
func (s *supervisor) admit(ctx context.Context, spec Container) (*container, error) {
	s.mu.Lock()
	if _, ok := s.containers[spec.ID]; ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("starting container %q: already running under this monitor", spec.ID)
	}
	c := newContainer(s, spec)
	s.seq++
	c.seq = s.seq
	s.containers[spec.ID] = c
	s.mu.Unlock()
	if err := s.startTracked(ctx, c); err != nil {
		close(c.final)
		s.untrack(c)
		return nil, err
	}
	return c, nil
}

// untrack forgets c once its final exit is recorded.
func (s *supervisor) untrack(c *container) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.containers, c.spec.ID)
	s.pingIdleLocked()
}

// signalIfIdle wakes the main loop when nothing is left to supervise.
func (s *supervisor) signalIfIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pingIdleLocked()
}

func (s *supervisor) pingIdleLocked() {
	if len(s.containers) == 0 && len(s.adding) == 0 {
		select {
		case s.idle <- struct{}{}:
		default:
		}
	}
}

// empty: no container tracked and no add request being served.
func (s *supervisor) empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.containers) == 0 && len(s.adding) == 0
}

func (s *supervisor) awaitEmpty() {
	for !s.empty() {
		<-s.idle
	}
}

// tryExit decides, under the directory lock that Start takes, whether the
// monitor is done: no container left and no request pending. Then the pid
// file goes, so that a later Start launches a new monitor.
func (s *supervisor) tryExit() bool {
	unlock, err := lockDir(s.cfg.Dir)
	if err != nil {
		s.log.Warn("exiting without the lock", "err", err)
		unlock = func() {}
	}
	defer unlock()
	if !s.empty() || len(s.pendingAdds()) > 0 {
		return false
	}
	os.Remove(s.cfg.PidPath())
	return true
}

// startTracked starts c and tracks its pid. Until the pid is tracked, reap
// must not collect unknown children: c's process may already be a zombie.
func (s *supervisor) startTracked(ctx context.Context, c *container) error {
	s.commands.RLock()
	err := c.start(ctx)
	if err == nil {
		c.beginRun() // before reap can see the pid: exited closes the run's done
		s.mu.Lock()
		s.live[c.pid] = c
		s.mu.Unlock()
		c.writeStatus()
	}
	s.commands.RUnlock()
	s.reap() // it may have exited already
	return err
}

// reap collects every tracked container that has exited, then, when no
// runtime command is in flight (os/exec waits for those itself), any other
// child: as a subreaper the monitor inherits the orphans of containers that
// share the host's PID namespace.
func (s *supervisor) reap() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for pid, c := range s.live {
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if got == 0 || errors.Is(err, unix.EINTR) {
			continue
		}
		s.exited(c, ws, err)
	}
	if !s.commands.TryLock() {
		return
	}
	defer s.commands.Unlock()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
		if c, ok := s.live[pid]; ok {
			s.exited(c, ws, nil)
		}
	}
}

// exited records that c's process ended; called with s.mu held.
func (s *supervisor) exited(c *container, ws unix.WaitStatus, err error) {
	delete(s.live, c.pid)
	c.mu.Lock()
	close(c.run.done)
	c.mu.Unlock()
	e := Exit{StartedAt: c.startedAt, FinishedAt: time.Now().UTC()}
	switch {
	case err != nil: // not our child: the status is lost
		s.log.Warn("container process is not a child of the monitor", "id", c.spec.ID, "pid", c.pid, "err", err)
		e.Code = 255
	case ws.Signaled():
		e.Signal = int(ws.Signal())
		e.Code = 128 + e.Signal
	default:
		e.Code = ws.ExitStatus()
	}
	e.RestartCount = c.restarts
	go s.afterExit(c, e)
}

// runCommand runs a runtime command; while any runs, reap leaves unknown
// children alone so that os/exec can collect its own. (Nested inside
// startTracked's read lock, which is safe: nobody blocks on the write lock.)
func (s *supervisor) runCommand(ctx context.Context, cmd *cmdexec.Cmd) error {
	s.commands.RLock()
	err := s.cmds.Run(ctx, cmd)
	s.commands.RUnlock()
	s.reap() // a SIGCHLD that arrived meanwhile may have been skipped
	return err
}

// abort removes the containers started so far.
func (s *supervisor) abort(ctx context.Context) {
	s.mu.Lock()
	live := s.live
	s.live = map[int]*container{}
	s.mu.Unlock()
	for pid, c := range live {
		_ = unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, 0, nil)
		c.mu.Lock()
		close(c.run.done)
		c.mu.Unlock()
		c.endRun()
		c.closeStdio()
		c.finalize(ctx, Exit{Code: 128 + int(unix.SIGKILL), Signal: int(unix.SIGKILL), StartedAt: c.startedAt, FinishedAt: time.Now().UTC(), RestartCount: c.restarts})
	}
}

func (s *supervisor) fail(sync *os.File, err error) error {
	s.log.Error("monitor failed", "err", err)
	os.Remove(s.cfg.PidPath())
	s.send(sync, report{Error: err.Error()})
	return err
}

func (s *supervisor) send(sync *os.File, rep report) {
	if sync == nil {
		return
	}
	if _, err := sync.Write(encodeReport(&rep)); err != nil {
		s.log.Warn("writing start report", "err", err)
	}
	sync.Close()
}

// catchInheritedIgnores turns every signal the monitor was started with
// ignored (a shell's background job, nohup, a CI runner) into a caught and
// discarded one: exec resets caught signals to their defaults, so the
// runtime and the containers do not inherit the ignores.
func catchInheritedIgnores() {
	ch := make(chan os.Signal, 4)
	caught := 0
	for n := 1; n <= 64; n++ {
		sig := syscall.Signal(n)
		if sig == syscall.SIGKILL || sig == syscall.SIGSTOP || !signal.Ignored(sig) {
			continue
		}
		signal.Notify(ch, sig)
		caught++
	}
	if caught > 0 {
		go func() {
			for range ch {
			}
		}()
	}
	resetIgnoredRealtime()
}

// kernelSigaction is the kernel's struct sigaction on Linux.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// resetIgnoredRealtime gives back the default disposition to real-time
// signals inherited ignored (GNU make starts its recipes with 32 and 33
// ignored). Go installs no handler for 32 and 33, so os/signal cannot undo it.
func resetIgnoredRealtime() {
	const sigIgn, sigDfl = 1, 0
	for n := 32; n <= 64; n++ {
		var old kernelSigaction
		if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(n), 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 {
			continue
		}
		if old.handler != sigIgn {
			continue
		}
		dfl := kernelSigaction{handler: sigDfl}
		_, _, _ = unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(n), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
	}
}
