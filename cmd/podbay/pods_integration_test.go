//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type podRow struct {
	Id         string
	Name       string
	Status     string
	InfraId    string
	Containers []struct {
		Id     string
		Names  string
		Status string
	}
}

func (e *env) pods() []podRow {
	e.t.Helper()
	var rows []podRow
	if err := json.Unmarshal([]byte(e.ok("pod", "ps", "--format", "json")), &rows); err != nil {
		e.t.Fatal(err)
	}
	return rows
}

func (e *env) podIP(name string) string {
	e.t.Helper()
	var out []struct{ IP string }
	if err := json.Unmarshal([]byte(e.ok("pod", "inspect", name)), &out); err != nil || len(out) != 1 {
		e.t.Fatalf("pod inspect %s: %v", name, err)
	}
	return out[0].IP
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestPodContainersShareNamespacesAndLocalhost(t *testing.T) {
	e := pulled(t)
	e.ok("pod", "create", "--name", "duo", "--hostname", "duohost", "--add-host", "db.local:10.1.2.3")
	e.ok("run", "-d", "--pod", "duo", "--name", "web", e.busybox, "httpd", "-f", "-p", "8080", "-h", "/var/www")
	e.ok("run", "-d", "--pod", "duo", "--name", "side", e.busybox, "sleep", "1000")
	waitFor(t, "httpd over the pod's localhost", 10*time.Second, func() bool {
		return e.run("exec", "side", "wget", "-qO-", "http://127.0.0.1:8080/").stdout == "hello from podbay\n"
	})
	ns := func(ctr string) string {
		return e.ok("exec", ctr, "sh", "-c", "for n in net ipc uts; do readlink /proc/self/ns/$n; done")
	}
	if a, b := ns("web"), ns("side"); a != b {
		t.Errorf("containers of one pod have different namespaces:\n%s\n%s", a, b)
	}
	e.ok("run", "-d", "--name", "alone", e.busybox, "sleep", "1000")
	if a, b := ns("web"), ns("alone"); a == b {
		t.Errorf("a standalone container shares the pod's namespaces: %s", a)
	}
	for _, ctr := range []string{"web", "side"} {
		if h := strings.TrimSpace(e.ok("exec", ctr, "hostname")); h != "duohost" {
			t.Errorf("%s: hostname %q", ctr, h)
		}
		hosts := e.ok("exec", ctr, "cat", "/etc/hosts")
		if !strings.Contains(hosts, "duohost duo") || !strings.Contains(hosts, "10.1.2.3\tdb.local") {
			t.Errorf("%s: /etc/hosts:\n%s", ctr, hosts)
		}
	}
	rows := e.pods()
	if len(rows) != 1 || rows[0].Status != "Running" || len(rows[0].Containers) != 3 {
		t.Fatalf("pod ps: %+v", rows)
	}
	// One cgroup parent holds the whole pod.
	cg := "/sys/fs/cgroup/pids" + cgroupParent + "/pod-" + rows[0].Id[:12]
	ents, err := os.ReadDir(cg)
	if err != nil {
		t.Fatalf("pod cgroup: %v", err)
	}
	children := 0
	for _, en := range ents {
		if en.IsDir() {
			children++
		}
	}
	if children != 3 {
		t.Errorf("pod cgroup %s has %d child cgroups, want 3 (infra, web, side)", cg, children)
	}
	e.fails([]string{"duo", "running"}, "pod", "rm", "duo")
	e.ok("pod", "stop", "-t", "1", "duo")
	if st := e.pods()[0].Status; st != "Exited" {
		t.Errorf("after pod stop: %s", st)
	}
	e.ok("pod", "start", "duo")
	if st := e.pods()[0].Status; st != "Running" {
		t.Errorf("after pod start: %s", st)
	}
}

func TestPublishedPortAnswersFromTheHost(t *testing.T) {
	e := pulled(t)
	port := freePort(t)
	e.ok("pod", "create", "--name", "pub", "-p", fmt.Sprintf("127.0.0.1:%d:8080", port))
	e.ok("run", "-d", "--pod", "pub", e.busybox, "httpd", "-f", "-p", "8080", "-h", "/var/www")
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	var body string
	waitFor(t, "the published port", 10*time.Second, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == 200
	})
	if body != "hello from podbay\n" {
		t.Errorf("GET %s: %q", url, body)
	}
	// ps and inspect show the pod's ports and address, as Podman's do.
	want := fmt.Sprintf("127.0.0.1:%d->8080/tcp\n", port)
	if out := e.ok("ps", "--format", "{{.Ports}}"); out != want+want {
		t.Errorf("ps --format {{.Ports}}: %q, want %q for the infra and the server", out, want)
	}
	infra := strings.TrimSpace(e.ok("pod", "ps", "--format", "{{.InfraID}}"))
	ip := e.ok("inspect", "--format", `{{.NetworkSettings.IPAddress}} {{index .NetworkSettings.Ports "8080/tcp"}}`, infra)
	if !strings.HasPrefix(ip, "10.") || !strings.HasSuffix(ip, fmt.Sprintf(" [{127.0.0.1 %d}]\n", port)) {
		t.Errorf("inspect --format {{.NetworkSettings.IPAddress}} ...: %q", ip)
	}
}

func TestPodsReachEachOtherByName(t *testing.T) {
	e := pulled(t)
	e.ok("network", "create", "--subnet", "10.231.7.0/24", "--interface-name", "pbtnamed", "appnet")
	e.ok("pod", "create", "--name", "server", "--network", "appnet")
	e.ok("run", "-d", "--pod", "server", e.busybox, "httpd", "-f", "-p", "8080", "-h", "/var/www")
	e.ok("pod", "create", "--name", "client", "--network", "appnet")
	e.ok("run", "-d", "--pod", "client", "--name", "cli", e.busybox, "sleep", "1000")
	ip := e.podIP("server")
	if !strings.HasPrefix(ip, "10.231.7.") {
		t.Fatalf("server IP %q is not in the network's subnet", ip)
	}
	for _, target := range []string{ip, "server"} {
		url := "http://" + target + ":8080/"
		waitFor(t, "the server at "+url, 10*time.Second, func() bool {
			return e.run("exec", "cli", "wget", "-qO-", url).stdout == "hello from podbay\n"
		})
	}
}

func TestPodTeardownLeavesNothing(t *testing.T) {
	e := pulled(t)
	port := freePort(t)
	id := strings.TrimSpace(e.ok("pod", "create", "--name", "gone", "-p", fmt.Sprintf("%d:80", port)))
	e.ok("run", "-d", "--pod", "gone", e.busybox, "sleep", "1000")
	e.ok("run", "-d", "--pod", "gone", e.busybox, "sleep", "1000")
	ip := e.podIP("gone")
	if ip == "" {
		t.Fatal("the pod has no address")
	}
	ifaces := vethCount(t)
	if !strings.Contains(iptablesSave(t), id[:12]) && !strings.Contains(iptablesSave(t), ip) {
		t.Fatalf("no iptables rule for the pod while it runs (id %s, ip %s)", id[:12], ip)
	}
	e.ok("pod", "rm", "-f", "-t", "1", "gone")

	if _, err := os.Stat(filepath.Join(e.runroot, "netns", id)); !os.IsNotExist(err) {
		t.Errorf("netns bind mount left: %v", err)
	}
	if n := vethCount(t); n != ifaces-1 {
		t.Errorf("veths: %d before rm, %d after; want one fewer", ifaces, n)
	}
	if leases := leaseFiles(t, e.root); len(leases) > 0 {
		t.Errorf("IPAM leases left: %v", leases)
	}
	if rules := iptablesSave(t); strings.Contains(rules, id[:12]) || strings.Contains(rules, ip+"/") || strings.Contains(rules, fmt.Sprint(port)) {
		t.Errorf("iptables rules of the pod left:\n%s", grepLines(rules, id[:12], ip, fmt.Sprint(port)))
	}
	for _, m := range mountsUnder(t, e.root, e.runroot) {
		if m != filepath.Join(e.runroot, "netns") {
			t.Errorf("mount left: %s", m)
		}
	}
	if p := processesMentioning(e.runroot); len(p) > 0 {
		t.Errorf("processes left: %v", p)
	}
	if _, err := os.Stat("/sys/fs/cgroup/pids" + cgroupParent + "/pod-" + id[:12]); !os.IsNotExist(err) {
		t.Errorf("pod cgroup left: %v", err)
	}
	if rows := e.ps(); len(rows) != 0 {
		t.Errorf("containers left: %+v", rows)
	}
}

func vethCount(t *testing.T) int {
	out, err := exec.Command("ip", "-o", "link", "show", "type", "veth").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(out), "\n")
}

func iptablesSave(t *testing.T) string {
	out, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func grepLines(s string, words ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// leaseFiles lists host-local's per-address lease files under root.
func leaseFiles(t *testing.T, root string) []string {
	var out []string
	_ = filepath.Walk(filepath.Join(root, "networks"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && net.ParseIP(filepath.Base(p)) != nil {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestPodFaultsChangeNothing(t *testing.T) {
	e := pulled(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	e.ok("pod", "create", "--name", "clash", "-p", fmt.Sprintf("127.0.0.1:%d:80", busy))
	e.fails([]string{fmt.Sprint(busy)}, "run", "-d", "--pod", "clash", e.busybox, "sleep", "1000")
	if rows := e.ps(); len(rows) != 1 || rows[0].State == "running" {
		t.Errorf("after a port clash: %+v", rows)
	}
	// The infra and network come up while the container is created: a
	// container that cannot be created takes them down again.
	e.ok("pod", "create", "--name", "noimage")
	e.fails([]string{"nosuch/image"}, "run", "-d", "--pod", "noimage", "--pull", "never", "nosuch/image:1", "sleep", "1000")
	e.fails([]string{"nosuchnet"}, "pod", "create", "--name", "x", "--network", "nosuchnet")
	e.fails([]string{"clash"}, "pod", "create", "--name", "clash")

	e.ok("network", "create", "--subnet", "10.231.9.0/30", "--interface-name", "pbttiny", "tiny")
	e.ok("pod", "create", "--name", "first", "--network", "tiny")
	e.ok("run", "-d", "--pod", "first", e.busybox, "sleep", "1000")
	e.ok("pod", "create", "--name", "second", "--network", "tiny")
	e.fails([]string{"tiny"}, "run", "-d", "--pod", "second", e.busybox, "sleep", "1000")

	// A plugin that fails halfway: bridge runs, its IPAM plugin is missing.
	noIPAM := t.TempDir()
	for _, p := range []string{"bridge", "loopback", "portmap", "firewall"} {
		if err := os.Symlink("/usr/lib/cni/"+p, filepath.Join(noIPAM, p)); err != nil {
			t.Fatal(err)
		}
	}
	saved := e.extraEnv
	e.extraEnv = append(append([]string{}, saved...), "PODBAY_CNI_PLUGIN_DIRS="+noIPAM)
	e.ok("pod", "create", "--name", "broken")
	e.fails([]string{"host-local"}, "run", "-d", "--pod", "broken", e.busybox, "sleep", "1000")
	e.extraEnv = saved
	// Each failed start left its pod as it was: nothing runs, no namespace.
	for _, row := range e.pods() {
		if row.Name == "first" {
			continue
		}
		for _, c := range row.Containers {
			if c.Status == "running" {
				t.Errorf("pod %s: container %s runs after a failed start", row.Name, c.Names)
			}
		}
		if _, err := os.Stat(filepath.Join(e.runroot, "netns", row.Id)); !os.IsNotExist(err) {
			t.Errorf("pod %s: netns left after a failed start", row.Name)
		}
	}
	if leases := leaseFiles(t, e.root); len(leases) != 1 {
		t.Errorf("want only pod first's lease, got %v", leases)
	}
}

// TestConcurrentRunsIntoAStoppedPod: three `run -d --pod` at once into a
// pod whose infra is down all succeed, and the pod has one infra, one
// network namespace and one IP. (Before the infra lock, each set up the
// network: at most one succeeded, often none, with "file exists" on the
// netns or "eth0 already exists" from the bridge plugin.)
func TestConcurrentRunsIntoAStoppedPod(t *testing.T) {
	e := pulled(t)
	e.ok("pod", "create", "--name", "race")
	results := e.runConcurrently(3, "run", "-d", "--pod", "race", e.busybox, "sleep", "1000")
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("run %d: exit %d: %s", i, r.code, r.stderr)
		}
	}
	rows := e.pods()
	if len(rows) != 1 || len(rows[0].Containers) != 4 {
		t.Fatalf("pods: %+v", rows)
	}
	for _, c := range rows[0].Containers {
		if c.Status != "running" {
			t.Errorf("container %s: %s", c.Names, c.Status)
		}
	}
	if ns, _ := os.ReadDir(filepath.Join(e.runroot, "netns")); len(ns) != 1 {
		t.Errorf("network namespaces: %d, want 1", len(ns))
	}
	if leases := leaseFiles(t, e.root); len(leases) != 1 {
		t.Errorf("leases: %v, want 1", leases)
	}
	e.ok("pod", "rm", "-f", "race")
}

func TestTwentyPodsAtOnce(t *testing.T) {
	e := pulled(t)
	var wg sync.WaitGroup
	errs := make([]string, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := fmt.Sprintf("p%d", i)
			if r := e.run("pod", "create", "--name", name); r.code != 0 {
				errs[i] = r.stderr
				return
			}
			if r := e.run("run", "-d", "--pod", name, e.busybox, "sleep", "1000"); r.code != 0 {
				errs[i] = r.stderr
			}
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != "" {
			t.Errorf("pod %d: %s", i, err)
		}
	}
	ips := map[string]bool{}
	for _, row := range e.pods() {
		if row.Status != "Running" {
			t.Errorf("pod %s: %s", row.Name, row.Status)
		}
		ips[e.podIP(row.Name)] = true
	}
	if len(ips) != 20 {
		t.Errorf("20 pods got %d distinct addresses", len(ips))
	}
}

func TestPodHostAndNoneNetworksAndVerbs(t *testing.T) {
	e := pulled(t)
	e.ok("pod", "create", "--name", "onhost", "--network", "host")
	e.ok("run", "-d", "--pod", "onhost", "--name", "h", e.busybox, "sleep", "1000")
	if h := strings.TrimSpace(e.ok("exec", "h", "hostname")); h != mustHostname(t) {
		t.Errorf("host pod: hostname %q, want the host's", h)
	}
	hostNet, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if ns := strings.TrimSpace(e.ok("exec", "h", "readlink", "/proc/self/ns/net")); ns != hostNet {
		t.Errorf("host pod: netns %s, want the host's %s", ns, hostNet)
	}
	e.ok("pod", "create", "--name", "isolated", "--network", "none", "--dns", "192.0.2.53", "--dns-search", "example.test")
	e.ok("run", "-d", "--pod", "isolated", "--name", "i", e.busybox, "sh", "-c", "echo from-i; exec sleep 1000")
	links := e.ok("exec", "i", "ls", "/sys/class/net")
	if strings.TrimSpace(links) != "lo" {
		t.Errorf("none pod: interfaces %q, want only lo", links)
	}
	resolv := e.ok("exec", "i", "cat", "/etc/resolv.conf")
	if !strings.Contains(resolv, "nameserver 192.0.2.53") || !strings.Contains(resolv, "search example.test") {
		t.Errorf("--dns, --dns-search: resolv.conf:\n%s", resolv)
	}
	if r := e.run("pod", "exists", "isolated"); r.code != 0 {
		t.Errorf("pod exists isolated: exit %d", r.code)
	}
	if r := e.run("pod", "exists", "nosuch"); r.code != 1 {
		t.Errorf("pod exists nosuch: exit %d, want 1", r.code)
	}
	waitFor(t, "pod logs", 5*time.Second, func() bool { return e.ok("pod", "logs", "isolated") == "i from-i\n" })
	e.ok("pod", "restart", "-t", "1", "isolated")
	rows := e.pods()
	for _, r := range rows {
		if r.Status != "Running" {
			t.Errorf("pod %s: %s after restart", r.Name, r.Status)
		}
	}
}
