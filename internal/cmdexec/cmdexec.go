package cmdexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
)

// Cmd is one external command.
type Cmd struct {
	Path string   // the binary: a path, or a name looked up in PATH
	Args []string // its arguments, after the binary
	// Stdin, Stdout and Stderr are its stdio; nil is /dev/null. *os.File
	// values are handed to the process as they are (a container started
	// by `runc run -d` keeps them), others are copied through pipes.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// WaitDelay bounds the wait for stdio copies once the process exited
	// or ctx ended (a background child holding the output); 0: unbounded.
	WaitDelay time.Duration
	// ControllingTerminal starts the process in a session of its own with
	// Stdin, a terminal (an *os.File), as its controlling terminal: what
	// `runc exec -t` in the foreground needs from a caller that has none.
	ControllingTerminal bool
}

// String is the command line: the binary's base name and the arguments.
func (c *Cmd) String() string {
	return strings.Join(append([]string{filepath.Base(c.Path)}, c.Args...), " ")
}

// Runner runs external commands. Run runs c to completion; when ctx ends
// first the process is killed. Its error names the command (Cmd.String);
// when the command ran and exited non-zero, ExitCode finds its status in
// the error. Callers add the operation ("deleting container "x": ...").
type Runner interface {
	Run(ctx context.Context, c *Cmd) error
	LookPath(name string) (string, error) // a name's executable in PATH; a path as it is
}

// ExitCode reports the exit status carried by an error of Run: the
// command ran and exited non-zero (-1 when a signal killed it).
func ExitCode(err error) (int, bool) {
	var coder interface{ ExitCode() int }
	if errors.As(err, &coder) {
		return coder.ExitCode(), true
	}
	return 0, false
}

// Output runs c with its stdout and stderr captured (c is left as it is); a failure's error
// ends with what the command wrote to stderr.
func Output(ctx context.Context, r Runner, c *Cmd) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	captured := *c
	captured.Stdout, captured.Stderr = &stdout, &stderr
	if err := r.Run(ctx, &captured); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("%w: %s", err, msg)
		}
		return nil, err
	}
	return stdout.Bytes(), nil
}
