//go:build integration

package runtime_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/engine/runtime/runtimetest"
)

func uniqueID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "pbtest-rt-" + hex.EncodeToString(b)
}

// started runs a detached container through the runtime binary (as the
// monitor does) and removes it at the end of the test.
func started(t *testing.T, name string, opts ...runtime.SpecOpt) (*runtime.Runtime, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("integration tests need root")
	}
	rt, err := runtime.New(name, filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatalf("integration tests need %s: %v", name, err)
	}
	id := uniqueID()
	spec, err := runtime.NewSpec(append([]runtime.SpecOpt{
		runtime.WithRootfs(runtimetest.Rootfs(t), false), runtime.WithArgs("sleep", "1000"),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "bundle")
	if err := runtime.WriteBundle(bundle, spec); err != nil {
		t.Fatal(err)
	}
	args := append(rt.GlobalArgs(), "run", "--detach", "--bundle", bundle, id)
	// The container inherits the runtime's stdio: keep it on /dev/null, or
	// waiting for the output would wait for the container.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, rt.Path(), args...)
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s run %s: %v", name, id, err)
	}
	t.Cleanup(func() { rt.Delete(context.Background(), id, runtime.DeleteOptions{Force: true}) })
	return rt, id
}

func TestMissingContainer(t *testing.T) {
	rt, err := runtime.New("runc", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := rt.State(ctx, "pbtest-none"); !errors.Is(err, runtime.ErrNotExist) {
		t.Errorf("state err = %v", err)
	}
	if err := rt.Kill(ctx, "pbtest-none", syscall.SIGTERM, runtime.KillOptions{}); !errors.Is(err, runtime.ErrNotExist) {
		t.Errorf("kill err = %v", err)
	}
	if err := rt.Delete(ctx, "pbtest-none", runtime.DeleteOptions{}); !errors.Is(err, runtime.ErrNotExist) {
		t.Errorf("delete err = %v", err)
	}
	if list, err := rt.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("list = %v, %v", list, err)
	}
}

func TestLifecycle(t *testing.T) {
	// crun 1.8 refuses hybrid cgroup hosts; the monitor tests cover it (TestCrun).
	for _, name := range []string{"runc"} {
		t.Run(name, func(t *testing.T) {
			rt, id := started(t, name, runtime.WithHostname("lc"), runtime.WithEnv("FOO=bar"))
			ctx := context.Background()
			st, err := rt.State(ctx, id)
			if err != nil || st.Status != specs.StateRunning || st.Pid <= 0 || st.ID != id {
				t.Fatalf("state = %+v, %v", st, err)
			}
			if list, err := rt.List(ctx); err != nil || len(list) != 1 || list[0].ID != id {
				t.Errorf("list = %+v, %v", list, err)
			}
			var out bytes.Buffer
			code, err := rt.Exec(ctx, id, runtime.ExecOptions{Args: []string{"sh", "-c", "echo $FOO $(hostname)"}, Stdout: &out})
			if err != nil || code != 0 || out.String() != "bar lc\n" {
				t.Errorf("exec = %d, %v, %q", code, err, out.String())
			}
			if err := rt.Kill(ctx, id, syscall.SIGKILL, runtime.KillOptions{}); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for st, err = rt.State(ctx, id); err == nil && st.Status != specs.StateStopped; st, err = rt.State(ctx, id) {
				if time.Now().After(deadline) {
					t.Fatalf("container still %s", st.Status)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err := rt.Kill(ctx, id, syscall.SIGTERM, runtime.KillOptions{}); err == nil {
				t.Error("kill of a stopped container succeeded")
			}
			if _, err := rt.Exec(ctx, id, runtime.ExecOptions{Args: []string{"true"}}); err == nil {
				t.Error("exec into a stopped container succeeded")
			}
			if err := rt.Delete(ctx, id, runtime.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := rt.State(ctx, id); !errors.Is(err, runtime.ErrNotExist) {
				t.Errorf("state after delete: %v", err)
			}
		})
	}
}

func TestSpecInContainer(t *testing.T) {
	root := runtimetest.Rootfs(t)
	hosts := filepath.Join(t.TempDir(), "hosts")
	os.WriteFile(hosts, []byte("127.0.0.1 localhost pbtest\n"), 0o644)
	rt, id := started(t, "runc", runtime.WithRootfs(root, true), runtime.WithUser(root, "app"),
		runtime.WithEtcFiles(hosts, "", ""), runtime.WithTmpfs("/scratch"), runtime.WithCapDrop("ALL"),
		runtime.WithNoNewPrivileges(), runtime.WithMemoryLimit(64<<20))
	var out bytes.Buffer
	script := `id; grep pbtest /etc/hosts; touch /scratch/ok && echo tmpfs-ok; touch /x 2>/dev/null || echo ro-ok; ulimit -n; grep CapEff /proc/self/status`
	code, err := rt.Exec(context.Background(), id, runtime.ExecOptions{Args: []string{"sh", "-c", script}, Stdout: &out, Stderr: &out})
	if err != nil || code != 0 {
		t.Fatalf("exec = %d, %v: %s", code, err, out.String())
	}
	var hard syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &hard)
	want := []string{"uid=1000(app) gid=1000(app) groups=2000(extra)", "pbtest", "tmpfs-ok", "ro-ok", "CapEff:\t0000000000000000"}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	t.Logf("in container:\n%s(host nofile hard limit %d)", out.String(), hard.Max)
}

func TestExecUserByName(t *testing.T) {
	rt, id := started(t, "runc")
	var out bytes.Buffer
	code, err := rt.Exec(context.Background(), id, runtime.ExecOptions{
		Args: []string{"sh", "-c", "id; echo $HOME"}, User: "app", Stdout: &out, Stderr: &out,
	})
	if err != nil || code != 0 || out.String() != "uid=1000(app) gid=1000(app) groups=2000(extra)\n/home/app\n" {
		t.Errorf("exec -u app = %d, %v, %q", code, err, out.String())
	}
	if _, err := rt.Exec(context.Background(), id, runtime.ExecOptions{Args: []string{"id"}, User: "ghost"}); err == nil || !strings.Contains(err.Error(), `user "ghost"`) {
		t.Errorf("exec -u ghost err = %v", err)
	}
}

func TestExecTty(t *testing.T) {
	rt, id := started(t, "runc")
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&out, ptmx); close(copied) }()
	code, err := rt.Exec(context.Background(), id, runtime.ExecOptions{
		Args: []string{"sh", "-c", "tty && test -t 0 && echo is-a-tty"}, Tty: true, Stdin: tty, Stdout: tty, Stderr: tty,
	})
	tty.Close()
	<-copied
	if err != nil || code != 0 || !strings.Contains(out.String(), "is-a-tty") || !strings.Contains(out.String(), "/dev/pts/") {
		t.Errorf("exec -t = %d, %v, %q", code, err, out.String())
	}
}
