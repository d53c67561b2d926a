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
	"strconv"

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
	User    string // "name|uid[:group|gid]", names looked up in the container's rootfs
	Tty     bool   // foreground: the runtime allocates a pty and relays the caller's stdio
	Detach  bool   // do not wait; stdio goes to /dev/null
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer

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
	for _, g := range opts.additionalGids {
		args = append(args, "--additional-gids", strconv.FormatUint(uint64(g), 10))
	}
	args = append(args, id)
	return append(args, opts.Args...), nil
}
