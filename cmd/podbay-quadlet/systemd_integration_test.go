//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/podbay/podbay/internal/fixture"
	"github.com/podbay/podbay/internal/testenv"
)

var nextNet atomic.Int32

// sdEnv is one test's systemd, podbay roots and registry. The Quadlet
// files go into quadlets, which the generator reads at boot
// ($QUADLET_UNIT_DIRS, passed through the manager's environment).
type sdEnv struct {
	t             *testing.T
	sd            *testenv.Systemd
	dir           string
	quadlets      string
	root, runroot string
	registry      string
	env           []string // PODBAY_* settings of the units and the test's commands
	cgroupParent  string
}

func newSdEnv(t *testing.T) *sdEnv {
	t.Helper()
	dir := t.TempDir()
	n := nextNet.Add(1)
	e := &sdEnv{t: t, dir: dir, quadlets: filepath.Join(dir, "quadlets"), root: filepath.Join(dir, "root"),
		runroot: filepath.Join(dir, "run"), cgroupParent: fmt.Sprintf("/podbay-sdtest-%d-%d", os.Getpid(), n)}
	e.env = []string{fmt.Sprintf("PODBAY_DEFAULT_NETWORK=pbsd%d", n), fmt.Sprintf("PODBAY_DEFAULT_BRIDGE=pbsd%d", n),
		fmt.Sprintf("PODBAY_DEFAULT_SUBNET=10.231.%d.0/24", n), "PODBAY_CGROUP_PARENT=" + e.cgroupParent}
	if err := os.MkdirAll(e.quadlets, 0o755); err != nil {
		t.Fatal(err)
	}
	// Registered first, run last: once systemd is gone with every process
	// it started, no cgroup of the pods' may remain.
	t.Cleanup(func() {
		if left := testenv.RemoveCgroupTree(e.cgroupParent); len(left) > 0 {
			t.Errorf("cgroups left with processes in them: %v", left)
		}
	})
	e.registry = testenv.StartRegistry(t)
	return e
}

// write puts a file among the Quadlet files.
func (e *sdEnv) write(name, content string) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.quadlets, name), []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// quadletFile is a Quadlet file of kind (its section: Kube, Container,
// Pod, Network, Volume) on this test's roots, network and registry, with
// keys in that section and more sections after [Service].
func (e *sdEnv) quadletFile(kind string, keys []string, more string) string {
	args := ""
	if kind == "Kube" || kind == "Container" {
		args = "PodmanArgs=--tls-verify=false\n"
	}
	return fmt.Sprintf(`[Unit]
Description=%s (podbay systemd test)

[%s]
GlobalArgs=--root %s --runroot %s
%s%s

[Service]
Environment=%s
%s`, kind, kind, e.root, e.runroot, args, strings.Join(keys, "\n"), strings.Join(e.env, " "), more)
}

// kubeUnit is a .kube file for yaml.
func (e *sdEnv) kubeUnit(yaml string, kube []string, more string) string {
	return e.quadletFile("Kube", append([]string{"Yaml=" + yaml}, kube...), more)
}

// boot starts systemd with podbay-quadlet as its only generator.
func (e *sdEnv) boot() {
	e.t.Helper()
	gens := filepath.Join(e.dir, "generators")
	if err := os.MkdirAll(gens, 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(binDir, "podbay-quadlet"), filepath.Join(gens, "podbay-system-generator")); err != nil {
		e.t.Fatal(err)
	}
	e.sd = testenv.BootSystemd(e.t, testenv.SystemdOptions{GeneratorDir: gens, Env: []string{"QUADLET_UNIT_DIRS=" + e.quadlets}})
	e.t.Cleanup(e.checkNothingLeft)
}

// podbay runs podbay inside the manager's namespaces, on the test's roots.
func (e *sdEnv) podbay(args ...string) (string, error) {
	cmd := append(append([]string{"env"}, e.env...), filepath.Join(binDir, "podbay"), "--root", e.root, "--runroot", e.runroot)
	return e.sd.Run(append(cmd, args...)...)
}

func (e *sdEnv) ok(args ...string) string {
	e.t.Helper()
	out, err := e.podbay(args...)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *sdEnv) systemctl(args ...string) {
	e.t.Helper()
	if _, err := e.sd.Run(append([]string{"systemctl"}, args...)...); err != nil {
		e.t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *sdEnv) awaitState(unit, want string) {
	e.t.Helper()
	waitFor(e.t, unit+" "+want, 90*time.Second, func() bool { return e.sd.Show(unit, "ActiveState") == want })
}

type podRow struct {
	Name   string
	Status string
	Ready  string
}

func (e *sdEnv) pods() []podRow {
	e.t.Helper()
	var rows []podRow
	if err := json.Unmarshal([]byte(e.ok("pod", "ps", "--format", "json")), &rows); err != nil {
		e.t.Fatal(err)
	}
	return rows
}

// get fetches url and returns the body of a 200 answer.
func get(url string) (string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(b), err
}

// checkNothingLeft: once the units are stopped, no pod, container,
// process, mount or cgroup of theirs is left.
func (e *sdEnv) checkNothingLeft() {
	t := e.t
	if rows := e.pods(); len(rows) != 0 {
		t.Errorf("pods left: %+v", rows)
	}
	if out := strings.TrimSpace(e.ok("ps", "-a", "-q")); out != "" {
		t.Errorf("containers left: %s", out)
	}
	for _, line := range strings.Split(e.sd.MountInfo(), "\n") {
		if f := strings.Fields(line); len(f) > 4 && (strings.HasPrefix(f[4], e.root) || strings.HasPrefix(f[4], e.runroot)) {
			t.Errorf("mounted under the roots: %s", f[4])
		}
	}
	ents, _ := os.ReadDir("/proc")
	for _, p := range ents {
		if b, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline")); err == nil && strings.Contains(string(b), e.runroot) {
			t.Errorf("process left: %s %s", p.Name(), strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	mounts, _ := filepath.Glob("/sys/fs/cgroup/*" + e.cgroupParent)
	for _, m := range mounts {
		kids, _ := os.ReadDir(m)
		for _, k := range kids {
			if k.IsDir() {
				t.Errorf("cgroup left: %s/%s", m, k.Name())
			}
		}
	}
}

// webYAML is a pod serving text on port 80 whose readiness the test
// decides: it is ready once flagDir/ready exists.
func webYAML(image, flagDir string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: httpd
    image: %s
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "mkdir -p /www && echo hello from a unit > /www/index.html; trap 'exit 0' TERM; httpd -f -p 80 -h /www & wait"]
    ports: [{containerPort: 80}]
    readinessProbe:
      exec: {command: ["test", "-f", "/flag/ready"]}
      periodSeconds: 1
    volumeMounts: [{name: flag, mountPath: /flag}]
  volumes:
  - {name: flag, hostPath: {path: %s, type: Directory}}
`, image, flagDir)
}

// TestSystemdKubeUnit (issue 18): under a real systemd, podbay-quadlet
// turns web.kube into web.service at boot, which [Install] starts; the
// service stays activating while the pod runs unready and becomes active
// once the pod is ready; the published port answers; the pod's monitors
// live in the unit's cgroup; systemctl stop ends it in success. Started
// again by systemctl start, it is ready when the command returns. Nothing
// is left behind (checked at the end).
func TestSystemdKubeUnit(t *testing.T) {
	e := newSdEnv(t)
	img, err := fixture.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	ref := testenv.PushImage(t, e.registry, "library/busybox", img)
	flag := t.TempDir()
	e.write("web.yaml", webYAML(ref, flag))
	e.write("web.kube", e.kubeUnit("web.yaml", []string{"PublishPort=127.0.0.1:18481:80"}, "TimeoutStartSec=120\n\n[Install]\nWantedBy=default.target\n"))
	e.boot()

	waitFor(t, "the service to wait for the pod's readiness", 90*time.Second, func() bool {
		return strings.Contains(e.sd.Show("web.service", "StatusText"), "waiting for web (0/1 ready)")
	})
	if st := e.sd.Show("web.service", "ActiveState"); st != "activating" {
		t.Fatalf("web.service is %s while its pod is not ready", st)
	}
	if rows := e.pods(); len(rows) != 1 || rows[0].Status != "Running" || rows[0].Ready != "0/1" {
		t.Fatalf("pods while activating: %+v", rows)
	}
	if err := os.WriteFile(filepath.Join(flag, "ready"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e.awaitState("web.service", "active")
	if rows := e.pods(); len(rows) != 1 || rows[0].Ready != "1/1" {
		t.Errorf("pods once active: %+v", rows)
	}
	if body, err := get("http://127.0.0.1:18481/"); err != nil || body != "hello from a unit\n" {
		t.Errorf("the published port: %q, %v", body, err)
	}
	procs, err := os.ReadFile(filepath.Join(e.sd.UnitCgroup("web.service"), "cgroup.procs"))
	if err != nil {
		t.Fatal(err)
	}
	var comms []string
	for _, pid := range strings.Fields(string(procs)) {
		c, _ := os.ReadFile(filepath.Join("/proc", pid, "comm"))
		comms = append(comms, strings.TrimSpace(string(c)))
		t.Logf("the unit's process %s (%s): %s", pid, strings.TrimSpace(string(c)), rss(pid))
	}
	if got := strings.Join(comms, " "); !strings.Contains(got, "podbay-kube") || !strings.Contains(got, "podbay-monitor") {
		t.Errorf("the unit's processes: %s; want the play (main) and the pod's monitor", got)
	}

	e.systemctl("stop", "web.service")
	if st, res := e.sd.Show("web.service", "ActiveState"), e.sd.Show("web.service", "Result"); st != "inactive" || res != "success" {
		t.Errorf("after stop: %s, result %s", st, res)
	}
	if _, err := os.Stat(e.sd.UnitCgroup("web.service")); !os.IsNotExist(err) {
		t.Errorf("the unit's cgroup is still there: %v", err)
	}
	if _, err := get("http://127.0.0.1:18481/"); err == nil {
		t.Error("the port still answers after the stop")
	}
	e.checkNothingLeft()

	// systemctl start returns once the service is ready (Type=notify): its
	// pod is ready by then.
	e.systemctl("start", "web.service")
	if rows := e.pods(); e.sd.Show("web.service", "ActiveState") != "active" || len(rows) != 1 || rows[0].Ready != "1/1" {
		t.Errorf("when systemctl start returned: %s, pods %+v", e.sd.Show("web.service", "ActiveState"), rows)
	}
	if body, err := get("http://127.0.0.1:18481/"); err != nil || body != "hello from a unit\n" {
		t.Errorf("the published port after a start: %q, %v", body, err)
	}
	e.systemctl("stop", "web.service")
}

// appImage is busybox serving text on port 80 as its command, or, broken,
// exiting 3 at once.
func appImage(t *testing.T, text string, broken bool) v1.Image {
	t.Helper()
	img, err := fixture.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	cfg := fixture.BusyboxConfig()
	cfg.Cmd = []string{"sh", "-c", "mkdir -p /www && echo " + text + " > /www/index.html; trap 'exit 0' TERM; httpd -f -p 80 -h /www & wait"}
	if broken {
		cfg.Cmd = []string{"sh", "-c", "echo broken; exit 3"}
	}
	if img, err = mutate.Config(img, cfg); err != nil {
		t.Fatal(err)
	}
	return img
}

func appYAML(ref string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 5
  containers:
  - name: web
    image: %s
    ports: [{containerPort: 80}]
    readinessProbe:
      httpGet: {path: /, port: 80}
      periodSeconds: 1
`, ref)
}

type updateRow struct{ Unit, Container, Image, Policy, Updated string }

// autoUpdate runs podbay auto-update and returns its rows and whether it
// succeeded.
func (e *sdEnv) autoUpdate(args ...string) ([]updateRow, error) {
	e.t.Helper()
	start := time.Now()
	out, runErr := e.podbay(append([]string{"auto-update", "--tls-verify=false", "--format", "json"}, args...)...)
	e.t.Logf("auto-update %v: %s", args, time.Since(start).Round(time.Millisecond))
	var rows []updateRow
	i := strings.Index(out, "[")
	if i < 0 || json.Unmarshal([]byte(out[i:strings.LastIndex(out, "]")+1]), &rows) != nil {
		e.t.Fatalf("auto-update printed no JSON: %s (%v)", out, runErr)
	}
	return rows, runErr
}

func updated(rows []updateRow) string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Unit+":"+r.Container+"="+r.Updated)
	}
	return strings.Join(out, " ")
}

// TestSystemdAutoUpdate (issue 18): a .kube unit with AutoUpdate=registry
// follows its image's tag. A new image whose container fails is pulled,
// the unit's restart fails (the pod never gets ready), and auto-update
// tags the previous image again and restarts the unit on it: rolled back,
// serving the old content. A good new image is then taken up.
func TestSystemdAutoUpdate(t *testing.T) {
	e := newSdEnv(t)
	ref := testenv.PushImage(t, e.registry, "podbay/app:stable", appImage(t, "v1", false))
	e.write("app.yaml", appYAML(ref))
	e.write("app.kube", e.kubeUnit("app.yaml", []string{"PublishPort=127.0.0.1:18482:80", "AutoUpdate=registry"},
		"TimeoutStartSec=120\n\n[Install]\nWantedBy=default.target\n"))
	e.boot()
	start := time.Now()
	e.awaitState("app.service", "active")
	t.Logf("app.service active %s after boot", time.Since(start).Round(time.Millisecond))
	if body, err := get("http://127.0.0.1:18482/"); err != nil || body != "v1\n" {
		t.Fatalf("v1: %q, %v", body, err)
	}
	if rows, err := e.autoUpdate("--dry-run"); err != nil || updated(rows) != "app.service:app-web=false" {
		t.Errorf("dry run with nothing new: %s, %v", updated(rows), err)
	}

	testenv.PushImage(t, e.registry, "podbay/app:stable", appImage(t, "", true))
	if rows, err := e.autoUpdate("--dry-run"); err != nil || updated(rows) != "app.service:app-web=pending" {
		t.Errorf("dry run with a new image: %s, %v", updated(rows), err)
	}
	rows, err := e.autoUpdate()
	if err == nil || updated(rows) != "app.service:app-web=rolled back" {
		t.Errorf("update to a broken image: %s, %v; want rolled back and a failure", updated(rows), err)
	}
	if st := e.sd.Show("app.service", "ActiveState"); st != "active" {
		t.Errorf("after the rollback app.service is %s", st)
	}
	if body, err := get("http://127.0.0.1:18482/"); err != nil || body != "v1\n" {
		t.Errorf("after the rollback: %q, %v; want v1", body, err)
	}

	testenv.PushImage(t, e.registry, "podbay/app:stable", appImage(t, "v2", false))
	if rows, err := e.autoUpdate(); err != nil || updated(rows) != "app.service:app-web=true" {
		t.Errorf("update to a good image: %s, %v", updated(rows), err)
	}
	if body, err := get("http://127.0.0.1:18482/"); err != nil || body != "v2\n" {
		t.Errorf("after the update: %q, %v; want v2", body, err)
	}
	e.systemctl("stop", "app.service")
}

// TestSystemdPodAndContainerUnits (issue 18): a .pod file's pod on a
// .network file's network, with a .container in it that mounts a .volume
// file's volume: at boot the network, the volume, the pod and the
// container come up in order ([Install] on the pod, which wants its
// containers); the container's service is active once it runs, and the
// pod's published port answers from it; stopping the pod's service stops
// the container's first (BindsTo=) and leaves nothing behind.
func TestSystemdPodAndContainerUnits(t *testing.T) {
	e := newSdEnv(t)
	img, err := fixture.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	ref := testenv.PushImage(t, e.registry, "library/busybox", img)
	e.write("app.network", e.quadletFile("Network", []string{"Subnet=10.232.7.0/24"}, ""))
	e.write("data.volume", e.quadletFile("Volume", nil, ""))
	e.write("web.pod", e.quadletFile("Pod", []string{"Network=app.network", "PublishPort=127.0.0.1:18483:80"},
		"\n[Install]\nWantedBy=default.target\n"))
	e.write("web.container", e.quadletFile("Container", []string{"Pod=web.pod", "Image=" + ref, "Volume=data.volume:/data",
		`Exec=sh -c "echo served from a volume > /data/index.html; trap 'exit 0' TERM; httpd -f -p 80 -h /data & wait"`}, ""))
	e.boot()
	e.awaitState("web.service", "active")
	for _, u := range []string{"app-network.service", "data-volume.service", "web-pod.service"} {
		if st := e.sd.Show(u, "ActiveState"); st != "active" {
			t.Errorf("%s is %s", u, st)
		}
	}
	var body string
	waitFor(t, "the pod's published port", 30*time.Second, func() bool {
		body, err = get("http://127.0.0.1:18483/")
		return err == nil
	})
	if body != "served from a volume\n" {
		t.Errorf("the published port answered %q", body)
	}
	if rows := e.pods(); len(rows) != 1 || rows[0].Name != "systemd-web" {
		t.Errorf("pods: %+v", rows)
	}
	e.systemctl("stop", "web-pod.service")
	for _, u := range []string{"web.service", "web-pod.service"} {
		if st := e.sd.Show(u, "ActiveState"); st != "inactive" {
			t.Errorf("after stopping the pod, %s is %s", u, st)
		}
	}
	if res := e.sd.Show("web.service", "Result"); res != "success" {
		t.Errorf("the container's service ended with %s", res)
	}
}

// rss is a process's resident set size, and its anonymous and file parts,
// as /proc/PID/status says them.
func rss(pid string) string {
	b, _ := os.ReadFile(filepath.Join("/proc", pid, "status"))
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, k := range []string{"VmRSS:", "RssAnon:", "RssFile:"} {
			if strings.HasPrefix(l, k) {
				out = append(out, k+" "+strings.Join(strings.Fields(strings.TrimPrefix(l, k)), " "))
			}
		}
	}
	return strings.Join(out, ", ")
}
