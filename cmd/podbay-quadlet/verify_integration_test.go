//go:build integration

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// verify runs systemd-analyze verify on units (as the user's manager
// would read them with user) and fails on any complaint about them.
func verify(t *testing.T, user bool, units ...string) {
	t.Helper()
	args := []string{"verify"}
	if user {
		args = []string{"--user", "verify"}
	}
	cmd := exec.Command("systemd-analyze", append(args, units...)...)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+t.TempDir(), "SYSTEMD_LOG_COLOR=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, u := range units {
		if strings.Contains(string(out), filepath.Base(u)) {
			t.Errorf("systemd-analyze complains about %s:\n%s", filepath.Base(u), out)
		}
	}
}

// TestGeneratedUnitsPassSystemdAnalyzeVerify (issue 18): every unit the
// generator makes of the golden cases (quadlet/testdata), run as systemd
// runs it, naming the podbay built for the test, passes systemd-analyze
// verify: settings, quoting, dependencies between the generated units,
// executables.
func TestGeneratedUnitsPassSystemdAnalyzeVerify(t *testing.T) {
	cases, err := filepath.Glob("../../quadlet/testdata/*")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, dir := range cases {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			args := []string{out}
			user := strings.HasPrefix(name, "user-")
			if user {
				args = append([]string{"-user"}, args...)
			}
			cmd := exec.Command(filepath.Join(binDir, "podbay-quadlet"), args...)
			cmd.Env = append(os.Environ(), "QUADLET_UNIT_DIRS="+dir)
			msg, err := cmd.CombinedOutput()
			if bad := strings.HasSuffix(name, "errors"); (err != nil) != bad {
				t.Fatalf("podbay-quadlet on a case with bad files: %v, want a failure exactly when the case is *errors\n%s", err, msg)
			}
			units, _ := filepath.Glob(filepath.Join(out, "*.service"))
			if len(units) == 0 {
				t.Fatalf("no units generated:\n%s", msg)
			}
			for _, u := range units {
				data, _ := os.ReadFile(u)
				if !strings.Contains(string(data), filepath.Join(binDir, "podbay")+" ") {
					t.Errorf("%s does not run the podbay beside the generator:\n%s", filepath.Base(u), data)
				}
			}
			verify(t, user, units...)
		})
	}
}

// TestMakeInstall: make install puts the four binaries side by side and
// links the generator into systemd's generator directories; run through
// the user generator's link, it makes user units that run the installed
// podbay; the auto-update units pass systemd-analyze verify. With DESTDIR
// the same tree is staged, its links naming the final paths.
func TestMakeInstall(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "usr")
	systemd := filepath.Join(prefix, "lib", "systemd")
	install := func(vars ...string) {
		t.Helper()
		cmd := exec.Command("make", append([]string{"-C", "../..", "-o", "build", "install", "BIN=" + binDir}, vars...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make install: %v\n%s", err, out)
		}
	}
	install("PREFIX="+prefix, "SYSTEMDDIR="+systemd)
	for _, b := range []string{"podbay", "podbay-kube", "podbay-monitor", "podbay-quadlet"} {
		if st, err := os.Stat(filepath.Join(prefix, "bin", b)); err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("%s: %v", b, err)
		}
	}
	for _, l := range []string{"system-generators/podbay-system-generator", "user-generators/podbay-user-generator"} {
		if target, err := os.Readlink(filepath.Join(systemd, l)); err != nil || target != filepath.Join(prefix, "bin", "podbay-quadlet") {
			t.Errorf("%s -> %q, %v", l, target, err)
		}
	}
	config := t.TempDir()
	if err := os.MkdirAll(filepath.Join(config, "containers", "systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(config, "containers", "systemd", "web.kube"), []byte("[Kube]\nYaml=web.yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(systemd, "user-generators", "podbay-user-generator"), "-dryrun")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+config, "QUADLET_UNIT_DIRS=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ExecStart="+filepath.Join(prefix, "bin", "podbay")+" kube play") ||
		strings.Contains(string(out), "network-online.target") {
		t.Errorf("the installed user generator: %v\n%s", err, out)
	}
	verify(t, false, filepath.Join(systemd, "system", "podbay-auto-update.service"), filepath.Join(systemd, "system", "podbay-auto-update.timer"))

	stage := t.TempDir()
	install("DESTDIR="+stage, "PREFIX=/usr")
	if target, err := os.Readlink(filepath.Join(stage, "usr/lib/systemd/system-generators/podbay-system-generator")); err != nil || target != "/usr/bin/podbay-quadlet" {
		t.Errorf("staged generator link -> %q, %v", target, err)
	}
	if data, err := os.ReadFile(filepath.Join(stage, "usr/lib/systemd/user/podbay-auto-update.service")); err != nil || !strings.Contains(string(data), "ExecStart=/usr/bin/podbay auto-update") {
		t.Errorf("staged user auto-update unit: %v\n%s", err, data)
	}
}
