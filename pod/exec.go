package pod

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/engine/state"
)

// execWarmHold bounds how long an exec keeps cgroup migrations warm: runc
// exec moves its process into the container's cgroup within it.
const execWarmHold = 200 * time.Millisecond

// ExecOptions describe a process to run in a running container.
type ExecOptions struct {
	Args    []string
	Env     []string
	Workdir string
	User    string // name or uid[:group], looked up in the container's /etc/passwd
	Tty     bool
	// Terminal, with Tty, is a pseudo-terminal's slave the runtime relays
	// in place of Stdin, Stdout and Stderr (see runtime.ExecOptions).
	Terminal *os.File
	Detach   bool
	Stdin    io.Reader
	Stdout   io.Writer
	Stderr   io.Writer
}

// Exec runs a process in a running container and returns its exit code.
func (m *Manager) Exec(ctx context.Context, ref string, o ExecOptions) (int, error) {
	c, err := m.Lookup(ctx, ref)
	if err != nil {
		return -1, err
	}
	if c.State != state.StateRunning {
		return -1, fmt.Errorf("exec in %s: can only exec into running containers: %w", c.Name, ErrNotRunning)
	}
	user := ""
	if o.User != "" {
		u, err := runtime.LookupUser(c.Rootfs, o.User)
		if err != nil {
			return -1, fmt.Errorf("exec in %s: %w", c.Name, err)
		}
		user = fmt.Sprintf("%d:%d", u.UID, u.GID)
	}
	env := o.Env
	if o.Tty && !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "TERM=") }) {
		env = append(env, "TERM=xterm") // as Podman sets it for -t
	}
	// runc moves the process into the container's cgroup early on; an
	// exec's foreground part may last for hours, so the hold is short.
	release := m.warm.Hold()
	defer time.AfterFunc(execWarmHold, release).Stop()
	defer release()
	return m.Runtime.Exec(ctx, c.ID, runtime.ExecOptions{
		Args: o.Args, Env: env, Cwd: o.Workdir, User: user, Tty: o.Tty, Terminal: o.Terminal, Detach: o.Detach,
		Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr,
	})
}
