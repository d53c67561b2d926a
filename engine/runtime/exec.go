package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ExecOptions describe a process to run in a running container. Process,
// when set, is used whole; otherwise Args, Env, Cwd and User amend the
// container's own process (runc's behaviour).
type ExecOptions struct {
	Process *specs.Process
	Args    []string
	Env     []string // added to the container's environment
	Cwd     string
	User    string // numeric "uid[:gid]"; resolve names with LookupUser
	Tty     bool   // foreground: the runtime allocates a pty and relays the caller's stdio
	Detach  bool   // do not wait; stdio goes to /dev/null
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
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
	args, err := execArgs(id, opts, tmp)
	if err != nil {
		return -1, err
	}
	all := append([]string{"--root", r.root, "--log", logPath, "--log-format", "json"}, args...)
	cmd := exec.CommandContext(ctx, r.path, all...)
	if !opts.Detach {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	}
	runErr := cmd.Run()
	log, _ := os.ReadFile(logPath)
	if msg := LogMessage(log); msg != "" && (runErr != nil || opts.Detach) {
		return -1, runtimeError("exec in", id, log, runErr)
	}
	var exitErr *exec.ExitError
	if errors.As(runErr, &exitErr) {
		return exitErr.ExitCode(), nil
	}
	if runErr != nil {
		return -1, fmt.Errorf("exec in container %q: %w", id, runErr)
	}
	return 0, nil
}

func execArgs(id string, opts ExecOptions, tmp string) ([]string, error) {
	args := []string{"exec"}
	if opts.Detach {
		args = append(args, "--detach")
	}
	if opts.Process != nil {
		data, err := json.Marshal(opts.Process)
		if err != nil {
			return nil, fmt.Errorf("exec in container %q: encoding process: %w", id, err)
		}
		path := filepath.Join(tmp, "process.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, fmt.Errorf("exec in container %q: %w", id, err)
		}
		return append(args, "--process", path, id), nil
	}
	if len(opts.Args) == 0 {
		return nil, fmt.Errorf("exec in container %q: no command given", id)
	}
	if opts.Tty {
		args = append(args, "--tty")
	}
	for _, e := range opts.Env {
		args = append(args, "--env", e)
	}
	if opts.Cwd != "" {
		args = append(args, "--cwd", opts.Cwd)
	}
	if opts.User != "" {
		args = append(args, "--user", opts.User)
	}
	args = append(args, id)
	return append(args, opts.Args...), nil
}
