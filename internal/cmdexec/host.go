package cmdexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Errors of Host.
var (
	ErrNotFound  = errors.New("executable file not found in $PATH")
	ErrWaitDelay = errors.New("output still open after the command exited and WaitDelay passed")
)

// ExitError is the status of a command that ran and did not succeed;
// ExitCode is its exit code, -1 when a signal killed it.
type ExitError struct{ *os.ProcessState }

func (e *ExitError) Error() string { return e.ProcessState.String() }

// Host runs commands on the host. It follows os/exec's rules (stdio, the
// context kills the process, WaitDelay) on os.StartProcess, without
// os/exec's environment handling and command-line rendering: the lean
// monitor binary runs every runtime command through it.
type Host struct{}

// Run implements Runner.
func (Host) Run(ctx context.Context, c *Cmd) error {
	if err := run(ctx, c); err != nil {
		return fmt.Errorf("%s: %w", c.String(), err)
	}
	return nil
}

func run(ctx context.Context, c *Cmd) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	path := c.Path
	if !strings.Contains(path, "/") {
		var err error
		if path, err = (Host{}).LookPath(path); err != nil {
			return err
		}
	}
	var s stdio
	files, err := s.open(c)
	if err == nil {
		var p *os.Process
		attr := &os.ProcAttr{Files: files, Env: Environ()}
		if c.ControllingTerminal {
			attr.Sys = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		}
		p, err = os.StartProcess(path, append([]string{c.Path}, c.Args...), attr)
		if err == nil {
			return s.wait(ctx, p, c.WaitDelay)
		}
	}
	closeFiles(s.child)
	closeFiles(s.parent)
	return err
}

// Environ is the environment podbay's children get: podbay's own, without
// $NOTIFY_SOCKET. runc, seeing that variable, takes it for the container's:
// it proxies the socket into the container and waits for the container to
// notify. A podbay run by systemd as a Type=notify service (a Quadlet unit)
// notifies systemd itself (package sdnotify); nothing it starts may.
func Environ() []string {
	env := os.Environ()
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			out = append(out, kv)
		}
	}
	return out
}

// LookPath implements Runner: an executable file named name in an
// absolute directory of PATH (relative ones are skipped, as os/exec
// refuses them); a name with a slash is checked as it is.
func (Host) LookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, executable(name)
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if p := filepath.Join(dir, name); filepath.IsAbs(dir) && executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, ErrNotFound)
}

func executable(path string) error {
	fi, err := os.Stat(path)
	if err == nil && (fi.IsDir() || fi.Mode()&0o111 == 0) {
		err = &fs.PathError{Op: "exec", Path: path, Err: fs.ErrPermission}
	}
	return err
}

// stdio are a command's stdin, stdout and stderr: an *os.File is handed
// to the process, nil is /dev/null, other readers and writers are copied
// through pipes (one for a writer that is both stdout and stderr).
type stdio struct {
	child  []*os.File     // the process' ends, closed once it started
	parent []*os.File     // our ends of the pipes
	copies []func() error // one per pipe
}

func (s *stdio) open(c *Cmd) ([]*os.File, error) {
	in, err := s.reader(c.Stdin)
	if err != nil {
		return nil, err
	}
	out, err := s.writer(c.Stdout)
	if err != nil {
		return nil, err
	}
	errOut := out
	if c.Stderr == nil || !sameWriter(c.Stdout, c.Stderr) {
		if errOut, err = s.writer(c.Stderr); err != nil {
			return nil, err
		}
	}
	return []*os.File{in, out, errOut}, nil
}

func (s *stdio) reader(r io.Reader) (*os.File, error) {
	if f, ok := r.(*os.File); ok {
		return f, nil
	}
	if r == nil {
		return s.devNull(os.O_RDONLY)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.child, s.parent = append(s.child, pr), append(s.parent, pw)
	s.copies = append(s.copies, func() error {
		_, err := io.Copy(pw, r)
		if errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed) {
			err = nil // the process exited without reading it all
		}
		return errors.Join(err, ignoreClosed(pw.Close()))
	})
	return pr, nil
}

func (s *stdio) writer(w io.Writer) (*os.File, error) {
	if f, ok := w.(*os.File); ok {
		return f, nil
	}
	if w == nil {
		return s.devNull(os.O_WRONLY)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.child, s.parent = append(s.child, pw), append(s.parent, pr)
	s.copies = append(s.copies, func() error {
		_, err := io.Copy(w, pr)
		pr.Close() // in case the writer failed
		return err
	})
	return pw, nil
}

func (s *stdio) devNull(flag int) (*os.File, error) {
	f, err := os.OpenFile(os.DevNull, flag, 0)
	if err == nil {
		s.child = append(s.child, f)
	}
	return f, err
}

// wait copies the stdio until the process exits, killing it if ctx ends
// first, then waits for the copies: at most delay (if not 0) before it
// closes the pipes and returns ErrWaitDelay.
func (s *stdio) wait(ctx context.Context, p *os.Process, delay time.Duration) error {
	closeFiles(s.child)
	copied := make(chan error, len(s.copies))
	for _, copy := range s.copies {
		go func() { copied <- copy() }()
	}
	exited := make(chan struct{})
	killed := make(chan error, 1)
	go func() {
		select {
		case <-ctx.Done():
			if errors.Is(p.Kill(), os.ErrProcessDone) {
				killed <- nil
			} else {
				killed <- ctx.Err()
			}
		case <-exited:
			killed <- nil
		}
	}()
	state, err := p.Wait()
	close(exited)
	if err == nil && !state.Success() {
		err = &ExitError{state}
	}
	if kerr := <-killed; err == nil {
		err = kerr
	}
	var timeout <-chan time.Time
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		timeout = t.C
	}
	var copyErr error
	late := false
	for pending := len(s.copies); pending > 0; {
		select {
		case e := <-copied:
			pending--
			copyErr = errors.Join(copyErr, e)
		case <-timeout:
			closeFiles(s.parent) // ends the copies
			timeout, late = nil, true
		}
	}
	closeFiles(s.parent)
	if late {
		copyErr = ErrWaitDelay // not the errors of the pipes closed under the copies
	}
	if err == nil {
		err = copyErr
	}
	return err
}

// sameWriter reports whether a and b are one writer (false for writers
// that cannot be compared).
func sameWriter(a, b io.Writer) (same bool) {
	defer func() { recover() }()
	return a == b
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

func ignoreClosed(err error) error {
	if errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}
