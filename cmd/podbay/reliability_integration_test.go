//go:build integration

package main

// The reliability suite (issue 7): load, crashes, killed monitors, a full
// disk and hostile input. `make test-reliability` runs every TestReliability*
// test and the bounded fuzz runs; these helpers check that what podbay says
// (ps, pod ps, the state store) agrees with what runs (runc, /proc) and that
// nothing is left behind.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// reliabilityDir holds the suite's manifests.
const reliabilityDir = "../../testdata/reliability"

// twoBoxManifest renders testdata/reliability/<kind>.yaml for one pod name:
// a pod of two busybox containers that end on SIGTERM.
func twoBoxManifest(t *testing.T, kind, name string, extra ...string) string {
	t.Helper()
	tmpl, err := os.ReadFile(filepath.Join(reliabilityDir, kind+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer(append([]string{"NAME", name}, extra...)...)
	p := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(p, []byte(r.Replace(string(tmpl))), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// command builds a podbay command line of this env without running it.
func (e *env) command(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(binDir, "podbay"), append([]string{"--root", e.root, "--runroot", e.runroot}, args...)...)
	cmd.Env = append(os.Environ(), e.extraEnv...)
	return cmd
}

// runtimeEntry is one line of `runc list --format json`.
type runtimeEntry struct {
	ID     string `json:"id"`
	Pid    int    `json:"pid"`
	Status string `json:"status"`
}

// runtimeList asks runc what it runs under this env's runroot.
func (e *env) runtimeList() []runtimeEntry {
	e.t.Helper()
	out, err := exec.Command("runc", "--root", filepath.Join(e.runroot, "runtime"), "list", "--format", "json").Output()
	if err != nil {
		e.t.Fatalf("runc list: %v", err)
	}
	var list []runtimeEntry
	if s := strings.TrimSpace(string(out)); s != "" && s != "null" {
		if err := json.Unmarshal(out, &list); err != nil {
			e.t.Fatalf("runc list: %v: %s", err, out)
		}
	}
	return list
}

// stateRows lists every key of every bucket of the state database, opened
// read-only as a stranger would: "bucket/key". It fails the test when the
// store does not open.
func (e *env) stateRows() []string {
	e.t.Helper()
	path := filepath.Join(e.root, "state.db")
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 30 * time.Second})
	if err != nil {
		e.t.Fatalf("the state store does not open: %v", err)
	}
	defer db.Close()
	var rows []string
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, _ []byte) error {
				rows = append(rows, string(name)+"/"+string(k))
				return nil
			})
		})
	})
	if err != nil {
		e.t.Fatalf("reading the state store: %v", err)
	}
	return rows
}

// alive tells whether pid is a live (not zombie) process.
func alive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil && !isZombie(pid)
}

// agree checks that ps, pod ps, the state store and the runtime tell the
// same story, and that wantPods pods of wantRunning running containers each
// are all there is. It returns the number of running containers.
func (e *env) agree(wantPods, wantRunning int) int {
	e.t.Helper()
	rows := e.ps()
	pods := e.pods()
	rt := map[string]runtimeEntry{}
	for _, r := range e.runtimeList() {
		rt[r.ID] = r
	}
	running := 0
	for _, r := range rows {
		if r.State != "running" {
			continue
		}
		running++
		ent, ok := rt[r.Id]
		switch {
		case !ok:
			e.t.Errorf("ps: %s %v runs (pid %d), runc does not know it", r.Id[:12], r.Names, r.Pid)
		case ent.Status != "running" || ent.Pid != r.Pid:
			e.t.Errorf("ps: %s %v runs as pid %d; runc says %s pid %d", r.Id[:12], r.Names, r.Pid, ent.Status, ent.Pid)
		case !alive(r.Pid):
			e.t.Errorf("ps: %s %v runs as pid %d, which is not alive", r.Id[:12], r.Names, r.Pid)
		}
	}
	// Everything runc runs is a container ps lists or a pod's infra.
	known := map[string]bool{}
	for _, r := range rows {
		known[r.Id] = true
	}
	for _, p := range pods {
		known[p.InfraId] = true
	}
	for id, ent := range rt {
		if !known[id] {
			e.t.Errorf("runc runs %s (pid %d, %s), which neither ps nor pod ps shows", id, ent.Pid, ent.Status)
		}
	}
	if running != wantRunning {
		e.t.Errorf("ps -a: %d running containers, want %d", running, wantRunning)
	}
	if len(pods) != wantPods {
		e.t.Errorf("pod ps: %d pods, want %d", len(pods), wantPods)
	}
	inPods := 0
	for _, p := range pods {
		for _, c := range p.Containers {
			if c.Id != p.InfraId {
				inPods++
			}
		}
	}
	if inPods != len(rows) {
		e.t.Errorf("pod ps lists %d containers, ps -a %d", inPods, len(rows))
	}
	var statePods, stateCtrs int
	for _, k := range e.stateRows() {
		switch {
		case strings.HasPrefix(k, "pods/"):
			statePods++
		case strings.HasPrefix(k, "containers/"):
			stateCtrs++
		}
	}
	if statePods != len(pods) {
		e.t.Errorf("state: %d pod rows, pod ps shows %d", statePods, len(pods))
	}
	if infra := len(pods); stateCtrs != len(rows) && stateCtrs != len(rows)+infra {
		e.t.Errorf("state: %d container rows, ps -a shows %d (and %d infra)", stateCtrs, len(rows), infra)
	}
	return running
}

// leftovers is what must be gone once everything is down: it records the
// host's veths and iptables rules first, to compare with afterwards.
type leftovers struct {
	e      *env
	veths  int
	iptSet map[string]bool
}

func (e *env) baseline() *leftovers {
	e.t.Helper()
	return &leftovers{e: e, veths: vethCount(e.t), iptSet: ruleSet(iptablesSave(e.t))}
}

// ruleSet keeps iptables-save's rules and chain names, without counters.
func ruleSet(s string) map[string]bool {
	set := map[string]bool{}
	for _, l := range strings.Split(s, "\n") {
		switch {
		case strings.HasPrefix(l, "-A "):
			set[l] = true
		case strings.HasPrefix(l, ":"):
			set[strings.Fields(l)[0]] = true
		}
	}
	return set
}

// check lists whatever is left: mounts, netns files, veths, iptables rules,
// IPAM leases, runtime records, processes and state rows (stateOK tells which
// rows may stay, e.g. images' or networks' own).
func (l *leftovers) check(stateOK func(string) bool) []string {
	e := l.e
	e.t.Helper()
	var left []string
	for _, m := range mountsUnder(e.t, e.root, e.runroot) {
		if m != filepath.Join(e.runroot, "netns") {
			left = append(left, "mount "+m)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(e.runroot, "netns")); len(ents) > 0 {
		for _, n := range ents {
			left = append(left, "netns "+n.Name())
		}
	}
	if n := vethCount(e.t); n > l.veths {
		left = append(left, fmt.Sprintf("%d veths (had %d)", n, l.veths))
	}
	for r := range ruleSet(iptablesSave(e.t)) {
		if !l.iptSet[r] {
			left = append(left, "iptables "+r)
		}
	}
	for _, f := range leaseFiles(e.t, e.root) {
		left = append(left, "IPAM lease "+f)
	}
	for _, r := range e.runtimeList() {
		left = append(left, fmt.Sprintf("runtime record %s (%s, pid %d)", r.ID, r.Status, r.Pid))
	}
	for _, p := range processesMentioning(e.runroot) {
		left = append(left, "process "+p)
	}
	for _, k := range e.stateRows() {
		if stateOK == nil || !stateOK(k) {
			left = append(left, "state row "+k)
		}
	}
	slices.Sort(left)
	return left
}

// parallel runs n podbay commands at once and returns their results.
func (e *env) parallel(n int, args func(i int) []string) []result {
	out := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := e.command(args(i)...)
			var o, er bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &er
			err := cmd.Run()
			out[i] = result{stdout: o.String(), stderr: er.String()}
			if ee, ok := err.(*exec.ExitError); ok {
				out[i].code = ee.ExitCode()
			} else if err != nil {
				out[i] = result{stderr: err.Error(), code: -1}
			}
		}()
	}
	wg.Wait()
	return out
}

// TestReliabilityLoad plays 20 manifests (each one pod of two containers:
// bare Pods, Deployments, and Pods reading a ConfigMap) in 20 parallel
// processes, checks that ps, pod ps, the state and runc agree, then takes
// them down in 20 parallel processes.
func TestReliabilityLoad(t *testing.T) {
	const n = 20
	e := kubeEnv(t)
	base := e.baseline()
	files := make([]string, n)
	for i := range files {
		kind := []string{"pod", "deployment", "configmap"}[i%3]
		files[i] = twoBoxManifest(t, kind, fmt.Sprintf("load-%d", i))
	}
	start := time.Now()
	for i, r := range e.parallel(n, func(i int) []string { return []string{"kube", "play", "-q", files[i]} }) {
		if r.code != 0 {
			t.Errorf("kube play %s: exit %d: %s", filepath.Base(files[i]), r.code, r.stderr)
		}
	}
	t.Logf("20 parallel kube play: %v", time.Since(start))
	if t.Failed() {
		t.FailNow()
	}
	running := e.agree(n, 2*n)
	for _, p := range e.pods() {
		if p.Status != "Running" {
			t.Errorf("pod %s: %s", p.Name, p.Status)
		}
	}
	start = time.Now()
	for i, r := range e.parallel(n, func(i int) []string { return []string{"kube", "down", files[i]} }) {
		if r.code != 0 {
			t.Errorf("kube down %s: exit %d: %s", filepath.Base(files[i]), r.code, r.stderr)
		}
	}
	t.Logf("20 parallel kube down: %v; %d containers ran", time.Since(start), running)
	e.agree(0, 0)
	e.ok("system", "prune")
	if left := base.check(keptRows); len(left) > 0 {
		t.Errorf("left behind after 20 downs and prune:\n%s", strings.Join(left, "\n"))
	}
}

// keptRows are the state rows allowed to outlive every pod: none so far.
func keptRows(string) bool { return false }

// peakRSS runs a podbay command and returns its result and peak RSS in KiB
// (the kernel's ru_maxrss of the child, which exec keeps).
func (e *env) peakRSS(stdin []byte, args ...string) (result, int64) {
	e.t.Helper()
	cmd := e.command(args...)
	var o, er bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &er
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	r := result{stdout: o.String(), stderr: er.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("podbay %v: %v", args, err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		e.t.Fatal("no rusage")
	}
	return r, ru.Maxrss
}

// procStatusKiB reads one kB field (VmRSS, VmHWM) of /proc/<pid>/status.
func procStatusKiB(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}
