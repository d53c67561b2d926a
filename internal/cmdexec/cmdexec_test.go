package cmdexec

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestHostRun(t *testing.T) {
	ctx := context.Background()
	var h Host
	sh, err := h.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		script string
		stdin  string
		out    string
		code   int    // -1: no exit status in the error
		err    string // "": success
	}{
		{name: "output", script: "echo hello", out: "hello\n", code: -1},
		{name: "stdin", script: "tr a-z A-Z", stdin: "abc", out: "ABC", code: -1},
		{name: "exit status and stderr", script: "echo oops >&2; exit 3", code: 3,
			err: "sh -c echo oops >&2; exit 3: exit status 3: oops"},
		{name: "exit status without stderr", script: "exit 4", code: 4, err: "sh -c exit 4: exit status 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Cmd{Path: sh, Args: []string{"-c", tt.script}}
			if tt.stdin != "" {
				c.Stdin = strings.NewReader(tt.stdin)
			}
			out, err := Output(ctx, h, c)
			if string(out) != tt.out {
				t.Errorf("output %q, want %q", out, tt.out)
			}
			if (err == nil) != (tt.err == "") || err != nil && err.Error() != tt.err {
				t.Errorf("error %v, want %q", err, tt.err)
			}
			code, ok := ExitCode(err)
			if tt.code >= 0 && (!ok || code != tt.code) || tt.code < 0 && ok {
				t.Errorf("ExitCode = %d, %v; want %d", code, ok, tt.code)
			}
		})
	}
}

func TestHostRunMissingBinary(t *testing.T) {
	err := Host{}.Run(context.Background(), &Cmd{Path: "podbay-no-such-binary", Args: []string{"x"}})
	if !errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), "podbay-no-such-binary x: ") {
		t.Fatalf("error %v, want one naming the command and wrapping ErrNotFound", err)
	}
	if _, ok := ExitCode(err); ok {
		t.Fatal("a command that never ran has an exit status")
	}
}

// TestHostRunContext: an ended context kills the command; a context ended
// before the start runs nothing.
func TestHostRunContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := &signalWriter{ch: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- Host{}.Run(ctx, &Cmd{Path: "sh", Args: []string{"-c", "echo started; exec sleep 600"}, Stdout: started})
	}()
	<-started.ch
	cancel()
	err := <-done
	if code, ok := ExitCode(err); !ok || code != -1 || !strings.HasPrefix(err.Error(), "sh -c ") {
		t.Fatalf("error %v (exit code %d, %v), want a killed sh", err, code, ok)
	}
	err = Host{}.Run(ctx, &Cmd{Path: "sh", Args: []string{"-c", "exit 0"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with an ended context: %v, want context.Canceled", err)
	}
}

// TestHostRunWaitDelay: WaitDelay bounds the wait for a background child
// that keeps the output open after the command exited.
func TestHostRunWaitDelay(t *testing.T) {
	var out strings.Builder
	err := Host{}.Run(context.Background(), &Cmd{Path: "sh", Args: []string{"-c", "sleep 600 & echo $!"}, Stdout: &out,
		WaitDelay: 10 * time.Millisecond})
	if pid, perr := strconv.Atoi(strings.TrimSpace(out.String())); perr == nil {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if !errors.Is(err, ErrWaitDelay) {
		t.Fatalf("error %v, want ErrWaitDelay", err)
	}
}

// signalWriter closes ch at its first write.
type signalWriter struct {
	once sync.Once
	ch   chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.ch) })
	return len(p), nil
}

// TestHostRunDropsNotifySocket: a command run by podbay under systemd
// (runc, above all) never sees the service's $NOTIFY_SOCKET.
func TestHostRunDropsNotifySocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "/run/systemd/notify")
	t.Setenv("PODBAY_KEPT", "yes")
	var out bytes.Buffer
	if err := (Host{}).Run(context.Background(), &Cmd{Path: "env", Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "NOTIFY_SOCKET") || !strings.Contains(out.String(), "PODBAY_KEPT=yes") {
		t.Errorf("the child's environment:\n%s", out.String())
	}
}
