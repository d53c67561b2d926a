package runccmd

import (
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestArgv(t *testing.T) {
	g := Global{Root: "/run/x/runtime", Log: "/run/x/c1.log", LogFormat: "json"}
	bare := Global{Root: "/r"}
	tests := []struct {
		name string
		got  []string
		want string
	}{
		{"global flags", Global{Root: "/r", Log: "/l", LogFormat: "text", SystemdCgroup: true}.State("c1"),
			"--root /r --log /l --log-format text --systemd-cgroup state c1"},
		{"no global flags", Global{}.State("c1"), "state c1"},
		{"global flags alone", g.Args(), "--root /run/x/runtime --log /run/x/c1.log --log-format json"},
		{"run detached", g.Run("c1", CreateOptions{Bundle: "/b", PidFile: "/p", Detach: true}),
			"--root /run/x/runtime --log /run/x/c1.log --log-format json run --detach --pid-file /p --bundle /b c1"},
		{"run with a terminal", bare.Run("c1", CreateOptions{Bundle: "/b", PidFile: "/p", ConsoleSocket: "/s", Detach: true}),
			"--root /r run --detach --console-socket /s --pid-file /p --bundle /b c1"},
		{"run attached", bare.Run("c1", CreateOptions{Bundle: "/b"}), "--root /r run --bundle /b c1"},
		{"create ignores detach", bare.Create("c1", CreateOptions{Bundle: "/b", PidFile: "/p", Detach: true}),
			"--root /r create --pid-file /p --bundle /b c1"},
		{"start", bare.Start("c1"), "--root /r start c1"},
		{"exec args", bare.Exec("c1", ExecOptions{Args: []string{"sh", "-c", "echo hi"}}), "--root /r exec c1 sh -c echo hi"},
		{"exec every option", g.Exec("c1", ExecOptions{
			Args: []string{"ls", "-l"}, Tty: true, Cwd: "/w", Env: []string{"A=1", "B=2"}, User: "1000:1000",
			AdditionalGids: []uint32{10, 20}, ConsoleSocket: "/s", PidFile: "/p", Detach: true}),
			"--root /run/x/runtime --log /run/x/c1.log --log-format json exec --detach --console-socket /s --pid-file /p" +
				" --tty --env A=1 --env B=2 --cwd /w --user 1000:1000 --additional-gids 10 --additional-gids 20 c1 ls -l"},
		{"exec process file wins", bare.Exec("c1", ExecOptions{Process: "/t/process.json", Args: []string{"ignored"},
			Tty: true, Cwd: "/w", Env: []string{"A=1"}, User: "0", AdditionalGids: []uint32{1}, Detach: true}),
			"--root /r exec --detach --process /t/process.json c1"},
		{"kill", bare.Kill("c1", syscall.SIGTERM, KillOptions{}), "--root /r kill c1 15"},
		{"kill all", bare.Kill("c1", syscall.SIGKILL, KillOptions{All: true}), "--root /r kill --all c1 9"},
		{"delete", bare.Delete("c1", DeleteOptions{}), "--root /r delete c1"},
		{"delete force", bare.Delete("c1", DeleteOptions{Force: true}), "--root /r delete --force c1"},
		{"state", g.State("c1"), "--root /run/x/runtime --log /run/x/c1.log --log-format json state c1"},
		{"list", bare.List(), "--root /r list --format json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(tt.got, " "); got != tt.want {
				t.Errorf("argv\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestArgvKeepsArgumentsWhole: an argument with spaces stays one element,
// and the command after the id is passed as given, flags included.
func TestArgvKeepsArgumentsWhole(t *testing.T) {
	got := Global{Root: "/my root"}.Exec("c1", ExecOptions{Env: []string{"A=x y"}, Args: []string{"sh", "-c", "--tty"}})
	want := []string{"--root", "/my root", "exec", "--env", "A=x y", "c1", "sh", "-c", "--tty"}
	if !slices.Equal(got, want) {
		t.Fatalf("argv %q, want %q", got, want)
	}
}
