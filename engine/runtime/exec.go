package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/podbay/podbay/internal/cmdexec"
	"github.com/podbay/podbay/internal/runccmd"
)

// ExecOptions describe a process to run in a running container. Process,
// when set, is used whole; otherwise Args, Env, Cwd and User amend the
// container's own process (runc's behaviour).
type ExecOptions struct {
	Process *specs.Process
	Args    []string
	Env     []string // added to the container's environment
	Cwd     string
	User    string // "name|uid[:group|gid]", names looked up in the container's rootfs
	Tty     bool   // foreground: the runtime allocates a pty and relays the caller's stdio
	// Terminal, with Tty, is the slave of a pseudo-terminal pair that the
	// runtime relays (its stdio and controlling terminal) in place of the
	// caller's, for a caller without a terminal (the Docker API's exec -t).
	Terminal *os.File
	Detach   bool // do not wait; stdio goes to /dev/null
	Stdin    io.Reader
	Stdout   io.Writer
	Stderr   io.Writer

	additionalGids []uint32 // set by resolveExecUser
}

// resolveExecUser turns opts.User into numeric ids (with supplementary
// groups and HOME) by reading the container's /etc/passwd and /etc/group.
func (r *Runtime) resolveExecUser(ctx context.Context, id string, opts ExecOptions) (ExecOptions, error) {
	st, err := r.State(ctx, id)
	if err != nil {
		return opts, fmt.Errorf("exec in container %q: %w", id, err)
	}
	spec, err := ReadBundle(st.Bundle)
	if err != nil {
		return opts, fmt.Errorf("exec in container %q: %w", id, err)
	}
	root := ""
	if spec.Root != nil {
		root = spec.Root.Path
		if !filepath.IsAbs(root) {
			root = filepath.Join(st.Bundle, root)
		}
	}
	u, err := LookupUser(root, opts.User)
	if err != nil {
		return opts, fmt.Errorf("exec in container %q: %w", id, err)
	}
	opts.User = strconv.FormatUint(uint64(u.UID), 10) + ":" + strconv.FormatUint(uint64(u.GID), 10)
	opts.additionalGids = u.AdditionalGids
	if envIndex(opts.Env, "HOME") < 0 {
		opts.Env = append(clone(opts.Env), "HOME="+u.Home)
	}
	return opts, nil
}

// Exec runs a process in container id and returns its exit code (128+signal
// when killed). An error means the process could not be started.
func (r *Runtime) Exec(ctx context.Context, id string, opts ExecOptions) (int, error) {
	tmp, err := os.MkdirTemp("", "podbay-exec-")
	if err != nil {
		return -1, fmt.Errorf("exec in container %q: %w", id, err)
	}
	defer os.RemoveAll(tmp)
	logPath := filepath.Join(tmp, "log.json")
	if opts.Process == nil && opts.User != "" {
		if opts, err = r.resolveExecUser(ctx, id, opts); err != nil {
			return -1, err
		}
	}
	argv, err := r.execArgv(id, opts, tmp, logPath)
	if err != nil {
		return -1, err
	}
	cmd := &cmdexec.Cmd{Path: r.path, Args: argv}
	switch {
	case opts.Tty && opts.Terminal != nil && !opts.Detach:
		cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.ControllingTerminal = opts.Terminal, opts.Terminal, opts.Terminal, true
	case !opts.Detach:
		cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	}
	runErr := r.cmds.Run(ctx, cmd)
	log, _ := os.ReadFile(logPath)
	if msg := LogMessage(log); msg != "" && (runErr != nil || opts.Detach) {
		return -1, runtimeError("exec in", id, log, runErr)
	}
	if code, ok := cmdexec.ExitCode(runErr); ok {
		return code, nil
	}
	if runErr != nil {
		return -1, fmt.Errorf("exec in container %q: %w", id, runErr)
	}
	return 0, nil
}

// execArgv is the runtime's command line for opts; a Process is written
// to process.json in tmp, the runtime's log goes to logPath.
func (r *Runtime) execArgv(id string, opts ExecOptions, tmp, logPath string) ([]string, error) {
	o := runccmd.ExecOptions{Detach: opts.Detach}
	if opts.Process != nil {
		data, err := json.Marshal(opts.Process)
		if err != nil {
			return nil, fmt.Errorf("exec in container %q: encoding process: %w", id, err)
		}
		o.Process = filepath.Join(tmp, "process.json")
		if err := os.WriteFile(o.Process, data, 0o600); err != nil {
			return nil, fmt.Errorf("exec in container %q: %w", id, err)
		}
	} else {
		if len(opts.Args) == 0 {
			return nil, fmt.Errorf("exec in container %q: no command given", id)
		}
		o.Args, o.Tty, o.Env, o.Cwd, o.User, o.AdditionalGids = opts.Args, opts.Tty, opts.Env, opts.Cwd, opts.User, opts.additionalGids
	}
	return r.global(logPath).Exec(id, o), nil
}
