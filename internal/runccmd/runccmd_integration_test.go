//go:build integration

package runccmd

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestRuntimesKnowTheFlags: every flag the builder emits is in the help of
// runc and of crun, for the global flags and each subcommand; the one
// difference is --additional-gids, which crun's exec lacks.
func TestRuntimesKnowTheFlags(t *testing.T) {
	g := Global{Root: "/r", Log: "/l", LogFormat: "json", SystemdCgroup: true}
	all := CreateOptions{Bundle: "/b", PidFile: "/p", ConsoleSocket: "/s", Detach: true}
	commands := []struct {
		sub  string
		argv []string
	}{
		{"run", g.Run("c", all)},
		{"create", g.Create("c", all)},
		{"start", g.Start("c")},
		{"exec", g.Exec("c", ExecOptions{Args: []string{"x"}, Tty: true, Cwd: "/", Env: []string{"A=1"}, User: "0",
			AdditionalGids: []uint32{1}, ConsoleSocket: "/s", PidFile: "/p", Detach: true})},
		{"exec", g.Exec("c", ExecOptions{Process: "/p.json"})},
		{"kill", g.Kill("c", syscall.SIGTERM, KillOptions{All: true})},
		{"delete", g.Delete("c", DeleteOptions{Force: true})},
		{"state", g.State("c")},
		{"list", g.List()},
	}
	for _, rt := range []string{"runc", "crun"} {
		global := help(t, rt)
		for _, c := range commands {
			subHelp := help(t, rt, c.sub)
			before := true // global flags come before the subcommand
			for _, a := range c.argv {
				if a == c.sub {
					before = false
				}
				if !strings.HasPrefix(a, "--") {
					continue
				}
				known := strings.Contains(subHelp, a)
				if before {
					known = strings.Contains(global, a)
				}
				if rt == "crun" && a == "--additional-gids" {
					if known {
						t.Errorf("crun now knows %s: update ExecOptions.AdditionalGids", a)
					}
					continue
				}
				if !known {
					t.Errorf("%s %s: %s is not in its help", rt, c.sub, a)
				}
			}
		}
	}
}

func help(t *testing.T, rt string, sub ...string) string {
	t.Helper()
	out, err := exec.Command(rt, append(sub, "--help")...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s --help: %v\n%s", rt, strings.Join(sub, " "), err, out)
	}
	return string(out)
}
