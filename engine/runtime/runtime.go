package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/podbay/podbay/internal/cmdexec"
	"github.com/podbay/podbay/internal/runccmd"
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
	cmds cmdexec.Runner
}

// Option tunes New.
type Option func(*Runtime)

// WithRunner runs the runtime (and looks it up) through r rather than on
// the host: tests pass a fake that records the command lines.
func WithRunner(r cmdexec.Runner) Option { return func(rt *Runtime) { rt.cmds = r } }

// New resolves "runc", "crun" or an absolute path; every invocation passes
// --root stateRoot so that different runroots never collide.
func New(nameOrPath, stateRoot string, opts ...Option) (*Runtime, error) {
	r := &Runtime{root: stateRoot, cmds: cmdexec.Host{}}
	for _, o := range opts {
		o(r)
	}
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
		p, err := r.cmds.LookPath(path)
		if err != nil {
			return nil, fmt.Errorf("runtime %q: %w", nameOrPath, err)
		}
		path = p
	}
	r.path = path
	return r, nil
}

// Path is the runtime binary.
func (r *Runtime) Path() string { return r.path }

// Root is the runtime's state root.
func (r *Runtime) Root() string { return r.root }

// global are the flags of every invocation: the state root and JSON
// errors (on stderr, or in log).
func (r *Runtime) global(log string) runccmd.Global {
	return runccmd.Global{Root: r.root, Log: log, LogFormat: "json"}
}

// GlobalArgs are the arguments every invocation starts with.
func (r *Runtime) GlobalArgs() []string {
	return r.global("").Args()
}

// run invokes the runtime with argv (runccmd's), returning stdout;
// failures carry its error text.
func (r *Runtime) run(ctx context.Context, op, id string, argv []string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	if err := r.cmds.Run(ctx, &cmdexec.Cmd{Path: r.path, Args: argv, Stdout: &stdout, Stderr: &stderr}); err != nil {
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
	out, err := r.run(ctx, "state of", id, r.global("").State(id))
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
	out, err := r.run(ctx, "listing", "*", r.global("").List())
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
type KillOptions = runccmd.KillOptions

// Kill sends sig to the container.
func (r *Runtime) Kill(ctx context.Context, id string, sig syscall.Signal, opts KillOptions) error {
	_, err := r.run(ctx, "killing", id, r.global("").Kill(id, sig, opts))
	return err
}

// DeleteOptions tune Delete.
type DeleteOptions = runccmd.DeleteOptions

// Delete removes the container from the runtime.
func (r *Runtime) Delete(ctx context.Context, id string, opts DeleteOptions) error {
	_, err := r.run(ctx, "deleting", id, r.global("").Delete(id, opts))
	return err
}
