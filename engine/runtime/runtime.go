package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Sentinel errors, matched with errors.Is.
var (
	ErrNotExist   = errors.New("container does not exist")
	ErrNotRunning = errors.New("container is not running")
)

// Runtime drives one OCI runtime binary with its own state root.
type Runtime struct {
	path string
	root string
}

// New resolves "runc", "crun" or an absolute path; every invocation passes
// --root stateRoot so that different runroots never collide.
func New(nameOrPath, stateRoot string) (*Runtime, error) {
	if nameOrPath == "" {
		nameOrPath = "runc"
	}
	if stateRoot == "" {
		return nil, fmt.Errorf("runtime %q: empty state root", nameOrPath)
	}
	path := nameOrPath
	if filepath.IsAbs(path) {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("runtime %q: %w", nameOrPath, err)
		}
	} else {
		if strings.ContainsRune(path, '/') {
			return nil, fmt.Errorf("runtime %q: want a name or an absolute path", nameOrPath)
		}
		p, err := exec.LookPath(path)
		if err != nil {
			return nil, fmt.Errorf("runtime %q: %w", nameOrPath, err)
		}
		path = p
	}
	return &Runtime{path: path, root: stateRoot}, nil
}

// Path is the runtime binary.
func (r *Runtime) Path() string { return r.path }

// Root is the runtime's state root.
func (r *Runtime) Root() string { return r.root }

// GlobalArgs are the arguments every invocation starts with.
func (r *Runtime) GlobalArgs() []string {
	return []string{"--root", r.root, "--log-format", "json"}
}

// run invokes the runtime, returning stdout; failures carry its error text.
func (r *Runtime) run(ctx context.Context, op, id string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, r.path, append(r.GlobalArgs(), args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, runtimeError(op, id, stderr.Bytes(), err)
	}
	return stdout.Bytes(), nil
}

// runtimeError builds "<op> container "id": <runtime message>".
func runtimeError(op, id string, log []byte, err error) error {
	msg := LogMessage(log)
	if msg == "" {
		return fmt.Errorf("%s container %q: %w", op, id, err)
	}
	var sentinel error
	switch {
	case strings.Contains(msg, "does not exist"):
		sentinel = ErrNotExist
	case strings.Contains(msg, "not running"):
		sentinel = ErrNotRunning
	}
	if sentinel != nil {
		return fmt.Errorf("%s container %q: %w: %s", op, id, sentinel, msg)
	}
	return fmt.Errorf("%s container %q: %s", op, id, msg)
}

// LogMessage extracts the error messages of a runtime's JSON log (one
// {"level","msg"} object per line); text that is not JSON is returned as is.
func LogMessage(log []byte) string {
	var msgs, plain []string
	for _, line := range bytes.Split(log, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var entry struct{ Level, Msg string }
		if line[0] != '{' || json.Unmarshal(line, &entry) != nil {
			plain = append(plain, string(line))
			continue
		}
		if entry.Level == "error" || entry.Level == "fatal" {
			msgs = append(msgs, entry.Msg)
		}
	}
	if len(msgs) == 0 {
		msgs = plain
	}
	return strings.Join(msgs, ": ")
}

// State reports the runtime's view of a container.
func (r *Runtime) State(ctx context.Context, id string) (*specs.State, error) {
	out, err := r.run(ctx, "state of", id, "state", id)
	if err != nil {
		return nil, err
	}
	var st specs.State
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("state of container %q: decoding: %w", id, err)
	}
	return &st, nil
}

// List reports every container in the runtime's state root.
func (r *Runtime) List(ctx context.Context) ([]specs.State, error) {
	out, err := r.run(ctx, "listing", "*", "list", "--format", "json")
	if err != nil {
		return nil, err
	}
	var list []specs.State
	if len(bytes.TrimSpace(out)) == 0 || bytes.Equal(bytes.TrimSpace(out), []byte("null")) {
		return nil, nil
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("listing containers: decoding: %w", err)
	}
	return list, nil
}

// KillOptions tune Kill.
type KillOptions struct {
	All bool // signal every process of the container, not only its init
}

// Kill sends sig to the container.
func (r *Runtime) Kill(ctx context.Context, id string, sig syscall.Signal, opts KillOptions) error {
	args := []string{"kill"}
	if opts.All {
		args = append(args, "--all")
	}
	_, err := r.run(ctx, "killing", id, append(args, id, strconv.Itoa(int(sig)))...)
	return err
}

// DeleteOptions tune Delete.
type DeleteOptions struct {
	Force bool // kill a running container first
}

// Delete removes the container from the runtime.
func (r *Runtime) Delete(ctx context.Context, id string, opts DeleteOptions) error {
	args := []string{"delete"}
	if opts.Force {
		args = append(args, "--force")
	}
	_, err := r.run(ctx, "deleting", id, append(args, id)...)
	return err
}
