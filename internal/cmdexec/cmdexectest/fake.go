// Package cmdexectest is a fake cmdexec.Runner for unit tests: it records
// each command's argv and stdin and answers with canned output, no process
// started and no root needed.
package cmdexectest

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/podbay/podbay/internal/cmdexec"
)

// Call is one command the fake ran.
type Call struct {
	Path  string
	Args  []string
	Stdin string
}

// String is the command line: the binary's base name and the arguments.
func (c Call) String() string {
	return (&cmdexec.Cmd{Path: c.Path, Args: c.Args}).String()
}

// Reply is a canned answer to the commands whose line (Call.String)
// starts with Prefix.
type Reply struct {
	Prefix string
	Stdout string
	Stderr string
	Exit   int   // non-zero: the command "exits" with this status
	Err    error // the command could not run (no such binary, ...)
}

// Fake is a cmdexec.Runner. Each command gets the first Reply whose Prefix
// matches, or an empty success. Safe for concurrent use.
type Fake struct {
	Replies []Reply
	// Paths answers LookPath: name to path, names missing from it not
	// found. Nil: every name is found, as /fake/bin/NAME.
	Paths map[string]string
	// Before, if set, runs with each command before the fake answers it:
	// to play the command's side effects (a file it writes, output on a
	// file it is handed).
	Before func(c *cmdexec.Cmd)

	mu    sync.Mutex
	calls []Call
}

// Run implements cmdexec.Runner.
func (f *Fake) Run(ctx context.Context, c *cmdexec.Cmd) error {
	call := Call{Path: c.Path, Args: append([]string(nil), c.Args...)}
	if c.Stdin != nil {
		data, err := io.ReadAll(c.Stdin)
		if err != nil {
			return fmt.Errorf("%s: reading stdin: %w", c, err)
		}
		call.Stdin = string(data)
	}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	if f.Before != nil {
		f.Before(c)
	}
	r := f.reply(call.String())
	if r.Err != nil {
		return fmt.Errorf("%s: %w", c, r.Err)
	}
	if c.Stdout != nil {
		io.WriteString(c.Stdout, r.Stdout)
	}
	if c.Stderr != nil {
		io.WriteString(c.Stderr, r.Stderr)
	}
	if r.Exit != 0 {
		return fmt.Errorf("%s: %w", c, ExitError(r.Exit))
	}
	return nil
}

func (f *Fake) reply(line string) Reply {
	for _, r := range f.Replies {
		if strings.HasPrefix(line, r.Prefix) {
			return r
		}
	}
	return Reply{}
}

// LookPath implements cmdexec.Runner.
func (f *Fake) LookPath(name string) (string, error) {
	if f.Paths == nil {
		return filepath.Join("/fake/bin", name), nil
	}
	if p, ok := f.Paths[name]; ok {
		return p, nil
	}
	return "", fmt.Errorf("%s: %w", name, cmdexec.ErrNotFound)
}

// Calls are the commands run so far, in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Lines are the command lines run so far (Call.String), in order.
func (f *Fake) Lines() []string {
	var lines []string
	for _, c := range f.Calls() {
		lines = append(lines, c.String())
	}
	return lines
}

// Flag is the value that follows flag in args, "" if none.
func Flag(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// ExitError is a fake exit status, found by cmdexec.ExitCode.
type ExitError int

func (e ExitError) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// ExitCode is the status.
func (e ExitError) ExitCode() int { return int(e) }
