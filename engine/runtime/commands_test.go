package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/podbay/podbay/internal/cmdexec"
	"github.com/podbay/podbay/internal/cmdexec/cmdexectest"
)

func fakeRuntime(t *testing.T, f cmdexec.Runner) *Runtime {
	t.Helper()
	r, err := New("runc", "/r", WithRunner(f))
	if err != nil {
		t.Fatal(err)
	}
	if r.Path() != "/fake/bin/runc" {
		t.Fatalf("runtime looked up as %s, want through the fake", r.Path())
	}
	return r
}

// TestCommandLines: the runtime's command lines, and its errors: the
// operation and container first, then the runtime's JSON message (with the
// sentinel), or the command line when it said nothing.
func TestCommandLines(t *testing.T) {
	ctx := context.Background()
	notExist := `{"level":"error","msg":"container \"c1\" does not exist","time":"t"}` + "\n"
	tests := []struct {
		name  string
		reply cmdexectest.Reply
		do    func(r *Runtime) error
		line  string
		is    error
		err   string
	}{
		{name: "delete", do: func(r *Runtime) error { return r.Delete(ctx, "c1", DeleteOptions{}) },
			line: "runc --root /r --log-format json delete c1"},
		{name: "delete force", do: func(r *Runtime) error { return r.Delete(ctx, "c1", DeleteOptions{Force: true}) },
			line: "runc --root /r --log-format json delete --force c1"},
		{name: "delete missing", reply: cmdexectest.Reply{Stderr: notExist, Exit: 1},
			do:   func(r *Runtime) error { return r.Delete(ctx, "c1", DeleteOptions{Force: true}) },
			line: "runc --root /r --log-format json delete --force c1",
			is:   ErrNotExist, err: `deleting container "c1": container does not exist: container "c1" does not exist`},
		{name: "kill", do: func(r *Runtime) error { return r.Kill(ctx, "c1", syscall.SIGTERM, KillOptions{}) },
			line: "runc --root /r --log-format json kill c1 15"},
		{name: "kill all", do: func(r *Runtime) error { return r.Kill(ctx, "c1", syscall.SIGKILL, KillOptions{All: true}) },
			line: "runc --root /r --log-format json kill --all c1 9"},
		{name: "kill not running", reply: cmdexectest.Reply{Stderr: `{"level":"error","msg":"container not running"}`, Exit: 1},
			do:   func(r *Runtime) error { return r.Kill(ctx, "c1", syscall.SIGTERM, KillOptions{}) },
			line: "runc --root /r --log-format json kill c1 15",
			is:   ErrNotRunning, err: `killing container "c1": container is not running: container not running`},
		{name: "kill silent failure", reply: cmdexectest.Reply{Exit: 2},
			do:   func(r *Runtime) error { return r.Kill(ctx, "c1", syscall.SIGTERM, KillOptions{}) },
			line: "runc --root /r --log-format json kill c1 15",
			err:  `killing container "c1": runc --root /r --log-format json kill c1 15: exit status 2`},
		{name: "state", reply: cmdexectest.Reply{Stdout: `{"ociVersion":"1.0.2","id":"c1","status":"running","pid":42,"bundle":"/b"}`},
			do: func(r *Runtime) error {
				st, err := r.State(ctx, "c1")
				if err == nil && (st.Pid != 42 || st.Status != specs.StateRunning || st.Bundle != "/b") {
					err = fmt.Errorf("state decoded as %+v", st)
				}
				return err
			},
			line: "runc --root /r --log-format json state c1"},
		{name: "state undecodable", reply: cmdexectest.Reply{Stdout: "not json"},
			do: func(r *Runtime) error { _, err := r.State(ctx, "c1"); return err }, line: "runc --root /r --log-format json state c1",
			err: `state of container "c1": decoding: invalid character 'o' in literal null (expecting 'u')`},
		{name: "list", reply: cmdexectest.Reply{Stdout: `[{"id":"a"},{"id":"b"}]`},
			do: func(r *Runtime) error {
				l, err := r.List(ctx)
				if err == nil && (len(l) != 2 || l[1].ID != "b") {
					err = errors.New("list decoded wrong")
				}
				return err
			},
			line: "runc --root /r --log-format json list --format json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &cmdexectest.Fake{Replies: []cmdexectest.Reply{tt.reply}}
			err := tt.do(fakeRuntime(t, f))
			if got := f.Lines(); len(got) != 1 || got[0] != tt.line {
				t.Errorf("ran %q, want %q", got, tt.line)
			}
			if (err == nil) != (tt.err == "") || err != nil && err.Error() != tt.err {
				t.Errorf("error %v, want %q", err, tt.err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

func TestExecCommandLine(t *testing.T) {
	ctx := context.Background()
	// A container whose rootfs names user app (1000:1000, in group extra).
	bundle := t.TempDir()
	if err := WriteBundle(bundle, mustSpec(t, WithArgs("true"))); err != nil {
		t.Fatal(err)
	}
	etc := filepath.Join(bundle, "rootfs", "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"passwd": "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
		"group":  "root:x:0:\napp:x:1000:\nextra:x:2000:app\n",
	} {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	state := cmdexectest.Reply{Prefix: "runc --root /r --log-format json state c1",
		Stdout: `{"ociVersion":"1.0.2","id":"c1","status":"running","pid":42,"bundle":"` + bundle + `"}`}

	tests := []struct {
		name    string
		opts    ExecOptions
		reply   cmdexectest.Reply // to the exec
		log     string            // what the runtime writes to --log
		line    string            // after the global flags, which name the log
		process string            // process.json's args, "" for none
		code    int
		err     string
	}{
		{name: "args", opts: ExecOptions{Args: []string{"sh", "-c", "id"}, Env: []string{"A=1"}, Cwd: "/tmp", User: "1000:1000", Tty: true},
			line: "exec --tty --env A=1 --env HOME=/home/app --cwd /tmp --user 1000:1000 --additional-gids 2000 c1 sh -c id"},
		{name: "user by name", opts: ExecOptions{Args: []string{"id"}, User: "app", Env: []string{"HOME=/h"}},
			line: "exec --env HOME=/h --user 1000:1000 --additional-gids 2000 c1 id"},
		{name: "no user", opts: ExecOptions{Args: []string{"id"}}, line: "exec c1 id"},
		{name: "exit status", opts: ExecOptions{Args: []string{"false"}}, reply: cmdexectest.Reply{Exit: 3},
			line: "exec c1 false", code: 3},
		{name: "process file", opts: ExecOptions{Process: &specs.Process{Args: []string{"true"}, Cwd: "/"}, Detach: true, User: "app"},
			line: "exec --detach --process PROCESS c1", process: "true"},
		{name: "runtime message", opts: ExecOptions{Args: []string{"nope"}}, reply: cmdexectest.Reply{Exit: 1},
			log:  `{"level":"error","msg":"exec failed: unable to start container process: exec: \"nope\": executable file not found in $PATH"}`,
			line: "exec c1 nope", code: -1,
			err: `exec in container "c1": exec failed: unable to start container process: exec: "nope": executable file not found in $PATH`},
		{name: "cannot run", opts: ExecOptions{Args: []string{"id"}}, reply: cmdexectest.Reply{Err: os.ErrPermission},
			line: "exec c1 id", code: -1, err: `exec in container "c1": runc --root /r --log LOG --log-format json exec c1 id: permission denied`},
		{name: "no command", opts: ExecOptions{}, code: -1, err: `exec in container "c1": no command given`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.reply.Prefix = "runc --root /r --log "
			var process string
			f := &cmdexectest.Fake{Replies: []cmdexectest.Reply{state, tt.reply}, Before: func(c *cmdexec.Cmd) {
				if p := cmdexectest.Flag(c.Args, "--process"); p != "" {
					var proc specs.Process
					data, err := os.ReadFile(p)
					if err == nil {
						err = json.Unmarshal(data, &proc)
					}
					if err != nil {
						t.Errorf("reading process.json: %v", err)
					}
					process = strings.Join(proc.Args, " ")
				}
				if log := cmdexectest.Flag(c.Args, "--log"); log != "" && tt.log != "" {
					if err := os.WriteFile(log, []byte(tt.log), 0o600); err != nil {
						t.Error(err)
					}
				}
			}}
			code, err := fakeRuntime(t, f).Exec(ctx, "c1", tt.opts)
			if code != tt.code || (err == nil) != (tt.err == "") {
				t.Fatalf("Exec = %d, %v; want %d, %q", code, err, tt.code, tt.err)
			}
			calls := f.Calls()
			var line string
			if n := len(calls); n > 0 && calls[n-1].Args[2] == "--log" {
				args := slices.Clone(calls[n-1].Args)
				if filepath.Base(args[3]) != "log.json" {
					t.Errorf("runtime log %s", args[3])
				}
				if p := cmdexectest.Flag(args, "--process"); p != "" {
					args[slices.Index(args, p)] = "PROCESS"
				}
				if err != nil {
					tt.err = strings.Replace(tt.err, "LOG", args[3], 1)
				}
				if !slices.Equal(args[:6], []string{"--root", "/r", "--log", args[3], "--log-format", "json"}) {
					t.Errorf("global flags %q", args[:6])
				}
				line = strings.Join(args[6:], " ")
			}
			if line != tt.line {
				t.Errorf("ran exec %q, want %q", line, tt.line)
			}
			if err != nil && err.Error() != tt.err {
				t.Errorf("error %v, want %q", err, tt.err)
			}
			if process != tt.process {
				t.Errorf("process.json args %q, want %q", process, tt.process)
			}
		})
	}
}
