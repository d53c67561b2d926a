package monitor

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/podbay/podbay/internal/cmdexec"
	"github.com/podbay/podbay/internal/cmdexec/cmdexectest"
)

// recordLog keeps the monitor's log lines.
type recordLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *recordLog) add(level, msg string, args []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprint(append([]any{level, msg}, args...)...))
}
func (l *recordLog) Debug(msg string, args ...any) { l.add("DEBUG", msg, args) }
func (l *recordLog) Warn(msg string, args ...any)  { l.add("WARN", msg, args) }
func (l *recordLog) Error(msg string, args ...any) { l.add("ERROR", msg, args) }

func (l *recordLog) has(level, msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.lines, func(s string) bool { return strings.HasPrefix(s, level+msg) })
}

// fakeContainer is container c1 of a supervisor whose commands go to r.
func fakeContainer(t *testing.T, r cmdexec.Runner) (*container, *recordLog) {
	t.Helper()
	dir := t.TempDir()
	log := &recordLog{}
	s := &supervisor{cfg: &Config{Dir: dir, Runtime: "/usr/sbin/runc", RuntimeRoot: "/r"}, log: log, cmds: r,
		live: map[int]*container{}, containers: map[string]*container{}}
	return newContainer(s, Container{ID: "c1", Bundle: "/b", LogPath: filepath.Join(dir, "c1.log")}), log
}

// TestRuntimeCommandLines: kill, delete and exec as the monitor runs them,
// and what it makes of their failures.
func TestRuntimeCommandLines(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		reply cmdexectest.Reply
		do    func(c *container) error
		line  string
		err   string
		warn  string // a warning the monitor must log
	}{
		{name: "kill", do: func(c *container) error { c.kill(syscall.SIGTERM); return nil }, line: "runc --root /r kill c1 15"},
		{name: "delete", do: func(c *container) error { c.deleteRuntime(ctx); return nil }, line: "runc --root /r delete --force c1"},
		{name: "delete of a missing container is quiet", reply: cmdexectest.Reply{Stderr: "container does not exist", Exit: 1},
			do: func(c *container) error { c.deleteRuntime(ctx); return nil }, line: "runc --root /r delete --force c1"},
		{name: "delete failure warns", reply: cmdexectest.Reply{Stderr: "device busy", Exit: 1},
			do: func(c *container) error { c.deleteRuntime(ctx); return nil }, line: "runc --root /r delete --force c1",
			warn: "deleting container"},
		{name: "exec", do: func(c *container) error { return c.execIn(ctx, []string{"cat", "/ready"}) },
			line: "runc --root /r exec c1 cat /ready"},
		{name: "exec failure", reply: cmdexectest.Reply{Stdout: "cat: /ready: No such file", Exit: 1},
			do:   func(c *container) error { return c.execIn(ctx, []string{"cat", "/ready"}) },
			line: "runc --root /r exec c1 cat /ready",
			err:  `exec "cat": runc --root /r exec c1 cat /ready: exit status 1: cat: /ready: No such file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &cmdexectest.Fake{Replies: []cmdexectest.Reply{tt.reply}}
			c, log := fakeContainer(t, f)
			err := tt.do(c)
			if got := f.Lines(); len(got) != 1 || got[0] != tt.line {
				t.Errorf("ran %q, want %q", got, tt.line)
			}
			if (err == nil) != (tt.err == "") || err != nil && err.Error() != tt.err {
				t.Errorf("error %v, want %q", err, tt.err)
			}
			if tt.warn != "" && !log.has("WARN", tt.warn) || tt.warn == "" && log.has("WARN", "") {
				t.Errorf("log %q, want a warning %q: %v", log.lines, tt.warn, tt.warn != "")
			}
		})
	}
}

// TestStartCommandLine: `runc run -d` with the pid file, the bundle and
// the runtime's JSON log, the output going through pipes into the CRI log;
// on failure the runtime's message is the error and the container is
// deleted.
func TestStartCommandLine(t *testing.T) {
	ctx := context.Background()
	runtime := func(fail bool) *cmdexectest.Fake {
		reply := cmdexectest.Reply{Prefix: "runc --root /r --log "}
		if fail {
			reply.Exit = 1
		}
		return &cmdexectest.Fake{Replies: []cmdexectest.Reply{reply}, Before: func(c *cmdexec.Cmd) {
			switch {
			case !slices.Contains(c.Args, "run"):
			case fail:
				os.WriteFile(cmdexectest.Flag(c.Args, "--log"), []byte(`{"level":"error","msg":"no such bundle"}`+"\n"), 0o600)
			default:
				io.WriteString(c.Stdout, "hello\n")
				os.WriteFile(cmdexectest.Flag(c.Args, "--pid-file"), []byte("4242"), 0o600)
			}
		}}
	}

	r := runtime(false)
	c, _ := fakeContainer(t, r)
	dir := c.s.cfg.Dir
	if err := c.start(ctx); err != nil {
		t.Fatal(err)
	}
	c.closeStdio()
	want := "runc --root /r --log " + dir + "/c1.runtime.log --log-format json run --detach --pid-file " + dir + "/c1.pid --bundle /b c1"
	if got := r.Lines(); !slices.Equal(got, []string{want}) {
		t.Errorf("ran %q, want %q", got, want)
	}
	if c.pid != 4242 {
		t.Errorf("pid %d, want the pid file's 4242", c.pid)
	}
	if log, err := os.ReadFile(c.spec.LogPath); err != nil || !strings.Contains(string(log), " stdout F hello\n") {
		t.Errorf("CRI log %q, %v: want the output", log, err)
	}

	r = runtime(true)
	c, _ = fakeContainer(t, r)
	err := c.start(ctx)
	if err == nil || err.Error() != `starting container "c1": no such bundle` {
		t.Errorf("error %v, want the runtime's message", err)
	}
	if got := r.Lines(); len(got) != 2 || got[1] != "runc --root /r delete --force c1" {
		t.Errorf("ran %q, want the run then a delete", got)
	}
}
