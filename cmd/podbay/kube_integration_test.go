//go:build integration

package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kubeEnv is an env whose store has busybox under the name the manifests
// use: docker.io/library/busybox:1.36.
func kubeEnv(t *testing.T) *env {
	e := pulled(t)
	e.ok("tag", e.busybox, "docker.io/library/busybox:1.36")
	return e
}

func writeKubeManifest(t *testing.T, yaml string) string {
	p := filepath.Join(t.TempDir(), "app.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func httpGet(t *testing.T, url string) string {
	var body string
	waitFor(t, url, 10*time.Second, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == 200
	})
	return body
}

func TestKubePlayDemoAndRoundTrip(t *testing.T) {
	e := kubeEnv(t)
	demo, err := filepath.Abs("../../manifests/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := e.ok("kube", "play", demo)
	if !strings.Contains(out, "Pod:") || strings.Count(out, "\n") < 4 {
		t.Errorf("kube play printed %q", out)
	}
	if body := httpGet(t, "http://127.0.0.1:18080/"); body != "<h1>hello from podbay</h1>\n" {
		t.Errorf("published port answered %q", body)
	}
	env := e.ok("exec", "web-pod-0-server", "env")
	if !strings.Contains(env, "GREETING=s3cr3t-hello") || !strings.Contains(env, "POD_IP=10.") {
		t.Errorf("environment:\n%s", env)
	}
	if lim := strings.TrimSpace(e.ok("exec", "web-pod-0-server", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")); lim != "67108864" {
		t.Errorf("memory limit %s, want 64Mi", lim)
	}
	if mode := strings.TrimSpace(e.ok("exec", "web-pod-0-server", "stat", "-L", "-c", "%a", "/www/index.html")); mode != "644" {
		t.Errorf("configMap file mode %s, want 644", mode)
	}
	e.fails([]string{"already exists", "--replace"}, "kube", "play", demo)

	first := e.ok("kube", "generate", "web-pod-0")
	for _, want := range []string{"kind: Deployment", "name: server", "secretKeyRef", "kind: ConfigMap", "kind: Secret", "hostPort: 18080"} {
		if !strings.Contains(first, want) {
			t.Errorf("generate lacks %q:\n%s", want, first)
		}
	}
	if strings.Contains(first, "web-pod-0-server") || strings.Contains(first, "CAP_") {
		t.Errorf("generate leaks runtime names:\n%s", first)
	}
	e.ok("kube", "down", demo)
	if rows := e.pods(); len(rows) != 0 {
		t.Fatalf("after down: %+v", rows)
	}
	// play(generate(pod)) makes a pod whose export is byte-identical.
	gen := writeKubeManifest(t, first)
	e.ok("kube", "play", gen)
	second := e.ok("kube", "generate", "web-pod-0")
	if first != second {
		t.Errorf("second export differs:\n--- first\n%s\n--- second\n%s", first, second)
	}
	out = filepath.Join(t.TempDir(), "out.yaml")
	e.ok("kube", "generate", "-f", out, "web-pod-0")
	e.fails([]string{"exists", "--force"}, "kube", "generate", "-f", out, "web-pod-0")
	e.ok("kube", "generate", "-f", out, "--force", "web-pod-0")
	e.fails([]string{"nosuchthing"}, "kube", "generate", "nosuchthing")
	e.ok("play", "kube", "--down", gen)
}

func TestKubePlayIsAllOrNothing(t *testing.T) {
	e := kubeEnv(t)
	bad := writeKubeManifest(t, `apiVersion: v1
kind: Pod
metadata:
  name: good
spec:
  containers:
  - name: c
    image: docker.io/library/busybox:1.36
    command: ["sleep", "1000"]
---
apiVersion: v1
kind: Pod
metadata:
  name: missing-image
spec:
  containers:
  - name: c
    image: `+e.registry+`/library/nosuch:1
    imagePullPolicy: IfNotPresent
`)
	e.fails([]string{"nosuch"}, "kube", "play", "--tls-verify=false", bad)
	if rows := e.pods(); len(rows) != 0 {
		t.Errorf("a failed play left pods: %+v", rows)
	}
	missingKey := writeKubeManifest(t, `apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  a: "1"
---
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: c
    image: docker.io/library/busybox:1.36
    env:
    - name: B
      valueFrom:
        configMapKeyRef:
          name: cfg
          key: b
`)
	e.fails([]string{"app.yaml:21:11", "configMapKeyRef", "couldn't find key b"}, "kube", "play", missingKey)
	typo := writeKubeManifest(t, `apiVersion: v1
kind: Pod
metadata:
  name: typo
spec:
  containerz: []
  containers:
  - name: c
    image: docker.io/library/busybox:1.36
    command: ["true"]
`)
	e.fails([]string{"app.yaml:6:3", "containerz", `did you mean "containers"`}, "kube", "play", "--strict", typo)
	if rows := e.pods(); len(rows) != 0 {
		t.Errorf("a failed play left pods: %+v", rows)
	}
	// --dry-run pulls nothing and creates nothing, even for images not at hand.
	out := e.ok("kube", "play", "--dry-run", bad)
	if !strings.Contains(out, "pod missing-image") || !strings.Contains(out, "nosuch:1") {
		t.Errorf("dry run printed:\n%s", out)
	}
	if rows := e.pods(); len(rows) != 0 {
		t.Errorf("--dry-run created pods: %+v", rows)
	}
}

func TestKubePlayWorkloadsInitAndGrace(t *testing.T) {
	e := kubeEnv(t)
	app := writeKubeManifest(t, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: stubborn
spec:
  replicas: 3
  selector: {matchLabels: {app: stubborn}}
  template:
    metadata: {labels: {app: stubborn}}
    spec:
      terminationGracePeriodSeconds: 2
      initContainers:
      - name: prepare
        image: docker.io/library/busybox:1.36
        command: ["sh", "-c", "echo prepared > /work/ready"]
        volumeMounts: [{name: work, mountPath: /work}]
      containers:
      - name: main
        image: docker.io/library/busybox:1.36
        command: ["sh", "-c", "trap '' TERM; cat /work/ready; while true; do sleep 1; done"]
        volumeMounts: [{name: work, mountPath: /work}]
      volumes:
      - name: work
        emptyDir: {}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: db
        image: docker.io/library/busybox:1.36
        command: ["sleep", "1000"]
`)
	e.ok("kube", "play", app)
	names := map[string]string{}
	for _, r := range e.pods() {
		names[r.Name] = r.Status
	}
	for _, n := range []string{"stubborn-pod-0", "stubborn-pod-1", "stubborn-pod-2", "db-0", "db-1"} {
		if names[n] != "Running" {
			t.Errorf("pod %s: %q (all: %v)", n, names[n], names)
		}
	}
	waitFor(t, "the init container's file", 5*time.Second, func() bool {
		return e.ok("logs", "stubborn-pod-1-main") == "prepared\n"
	})
	if h := strings.TrimSpace(e.ok("exec", "db-1-db", "hostname")); h != "db-1" {
		t.Errorf("StatefulSet pod hostname %q, want db-1", h)
	}
	start := time.Now()
	e.ok("kube", "down", app)
	t.Logf("kube down of 3 pods ignoring SIGTERM with a 2 s grace period, and 2 more: %v", time.Since(start))
	if rows := e.pods(); len(rows) != 0 {
		t.Errorf("after down: %+v", rows)
	}
	if rows := e.ps(); len(rows) != 0 {
		t.Errorf("after down: containers %+v", rows)
	}
}

func TestKubePlayOpenShift(t *testing.T) {
	e := kubeEnv(t)
	ok := writeKubeManifest(t, `apiVersion: v1
kind: Pod
metadata:
  name: restricted
spec:
  containers:
  - name: c
    image: docker.io/library/busybox:1.36
    command: ["sleep", "1000"]
`)
	e.ok("kube", "play", "--openshift", ok)
	id := strings.Fields(e.ok("exec", "restricted-c", "id"))
	if len(id) < 2 || id[0] != "uid=1000650000" || id[1] != "gid=0(root)" {
		t.Errorf("restricted-v2 runs as an arbitrary UID with GID 0; got %v", id)
	}
	status := e.ok("exec", "restricted-c", "cat", "/proc/self/status")
	for _, want := range []string{"CapEff:\t0000000000000000", "NoNewPrivs:\t1"} {
		if !strings.Contains(status, want) {
			t.Errorf("want %q in /proc/self/status", want)
		}
	}
	priv := writeKubeManifest(t, `apiVersion: v1
kind: Pod
metadata:
  name: priv
spec:
  containers:
  - name: c
    image: docker.io/library/busybox:1.36
    securityContext:
      privileged: true
`)
	e.fails([]string{"unable to validate against any security context constraint", "Privileged containers are not allowed"}, "kube", "play", "--openshift", priv)
	if n := len(e.pods()); n != 1 {
		t.Errorf("%d pods, want only the restricted one", n)
	}
}

func (e *env) podStatuses() map[string]string {
	out := map[string]string{}
	for _, r := range e.pods() {
		out[r.Name] = r.Status
	}
	return out
}

func TestKubeJobsRunToCompletion(t *testing.T) {
	e := kubeEnv(t)
	jobs := writeKubeManifest(t, `apiVersion: batch/v1
kind: Job
metadata:
  name: work
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - name: w
        image: docker.io/library/busybox:1.36
        command: ["sh", "-c", "echo working; exit 0"]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: flaky
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - name: w
        image: docker.io/library/busybox:1.36
        command: ["sh", "-c", "exit 3"]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: slow
spec:
  activeDeadlineSeconds: 2
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - name: w
        image: docker.io/library/busybox:1.36
        command: ["sleep", "1000"]
`)
	e.ok("kube", "play", jobs)
	waitFor(t, "the jobs to finish", 60*time.Second, func() bool {
		st := e.podStatuses()
		return st["work-pod-2"] == "Exited" && st["work-pod-0"] == "Exited" && st["work-pod-1"] == "Exited" &&
			st["flaky-pod-1"] == "Exited" && st["slow-pod-0"] == "Exited"
	})
	st := e.podStatuses()
	if _, ok := st["work-pod-3"]; ok {
		t.Errorf("completions 3 made a fourth pod: %v", st)
	}
	if _, ok := st["flaky-pod-2"]; ok {
		t.Errorf("backoffLimit 1 allows 2 failures, not 3: %v", st)
	}
	codes := map[string]int{}
	for _, r := range e.ps() {
		codes[r.Names[0]] = r.ExitCode
	}
	for name, want := range map[string]int{"work-pod-0-w": 0, "work-pod-2-w": 0, "flaky-pod-0-w": 3, "flaky-pod-1-w": 3, "slow-pod-0-w": 137} {
		if got, ok := codes[name]; !ok || got != want {
			t.Errorf("%s: exit code %d (present %v), want %d", name, got, ok, want)
		}
	}
	e.ok("kube", "down", jobs)
	if rows := e.pods(); len(rows) != 0 {
		t.Errorf("after down: %v", rows)
	}
}

func TestKubeFieldsSeenFromInside(t *testing.T) {
	e := kubeEnv(t)
	m := writeKubeManifest(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {greeting: hello, extra: "1", "app.conf": "key=value\n"}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
stringData: {password: pw}
---
apiVersion: v1
kind: Pod
metadata:
  name: fields
  labels: {tier: backend}
spec:
  hostAliases: [{ip: 10.9.8.7, hostnames: [db.example]}]
  dnsPolicy: None
  dnsConfig: {nameservers: [192.0.2.1], searches: [corp.example], options: [{name: ndots, value: "2"}]}
  securityContext:
    runAsUser: 1000
    runAsGroup: 2000
    fsGroup: 3000
    supplementalGroups: [4000]
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: c
    image: docker.io/library/busybox:1.36
    command: ["sh", "-c", "echo '$(GREETING) $$(GREETING)'; sleep 1000"]
    env:
    - {name: GREETING, valueFrom: {configMapKeyRef: {name: cfg, key: greeting}}}
    - {name: COMBINED, value: "$(GREETING)-world"}
    - {name: TIER, valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}}
    - {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    envFrom:
    - {prefix: CFG_, configMapRef: {name: cfg}}
    resources: {limits: {cpu: 250m, memory: 32Mi}, requests: {cpu: 100m}}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}
    volumeMounts:
    - {name: conf, mountPath: /etc/app}
    - {name: secret, mountPath: /secret}
    - {name: scratch, mountPath: /scratch}
    - {name: mem, mountPath: /mem}
    - {name: info, mountPath: /info}
    - {name: scratch, mountPath: /sub, subPath: nested/dir}
  volumes:
  - {name: conf, configMap: {name: cfg, items: [{key: app.conf, path: app.conf}], defaultMode: 0440}}
  - {name: secret, secret: {secretName: sec, defaultMode: 0400}}
  - {name: scratch, emptyDir: {}}
  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 8Mi}}
  - {name: info, downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}}
`)
	e.ok("kube", "play", m)
	x := func(script string) string { return strings.TrimSpace(e.ok("exec", "fields-c", "sh", "-c", script)) }
	checks := []struct{ script, want string }{
		{"id -u; id -g", "1000\n2000"},
		{"id -G | tr ' ' '\\n' | sort -n | tr '\\n' ' '", "2000 3000 4000"},
		{"echo $COMBINED $TIER $MEM $CFG_extra", "hello-world backend 32 1"},
		{"cat /etc/app/app.conf; stat -L -c %a /etc/app/app.conf", "key=value\n440"},
		{"cat /secret/password; stat -L -c '%a %g' /secret/password", "pw440 3000"}, // fsGroup: group-readable, as the kubelet does
		{"stat -c %g /scratch; touch /scratch/f && echo writable", "3000\nwritable"},
		{"grep ' /mem ' /proc/mounts | cut -d' ' -f3", "tmpfs"},
		{"cat /info/labels", `tier="backend"`},
		{"touch /rootfile 2>/dev/null && echo rw || echo ro", "ro"},
		{"grep -E '^(CapBnd|NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\\t' ' '", "CapBnd: 0000000000000400\nNoNewPrivs: 1\nSeccomp: 2"},
		{"cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares", "25000\n102"},
		{"grep db.example /etc/hosts | tr -s '\\t' ' '", "10.9.8.7 db.example"},
		{"grep -E '^(nameserver|search|options)' /etc/resolv.conf", "nameserver 192.0.2.1\nsearch corp.example\noptions ndots:2"},
		{"test -d /scratch/nested/dir && echo subpath", "subpath"},
	}
	for _, c := range checks {
		if got := x(c.script); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.script, got, c.want)
		}
	}
	waitFor(t, "the expanded command's output", 5*time.Second, func() bool {
		return e.ok("logs", "fields-c") == "hello $(GREETING)\n"
	})
	nonRoot := writeKubeManifest(t, `apiVersion: v1
kind: Pod
metadata: {name: nonroot}
spec:
  securityContext: {runAsNonRoot: true}
  containers:
  - name: c
    image: docker.io/library/busybox:1.36
    command: ["sleep", "1000"]
`)
	e.fails([]string{"container has runAsNonRoot and image will run as root", `pod: "nonroot"`}, "kube", "play", nonRoot)
	if n := len(e.pods()); n != 1 {
		t.Errorf("%d pods after a refused play, want 1", n)
	}
}

type podReadyRow struct {
	Name       string
	Status     string
	Ready      string
	Containers []struct {
		Names        string
		Status       string
		RestartCount int
	}
}

func (e *env) podRows() map[string]podReadyRow {
	e.t.Helper()
	var rows []podReadyRow
	if err := json.Unmarshal([]byte(e.ok("pod", "ps", "--format", "json")), &rows); err != nil {
		e.t.Fatal(err)
	}
	out := map[string]podReadyRow{}
	for _, r := range rows {
		out[r.Name] = r
	}
	return out
}

func TestKubeletLifecycle(t *testing.T) {
	e := kubeEnv(t)
	hostDir := t.TempDir()
	// The grace period bounds the stops whose order the test checks: the
	// containers end on SIGTERM at once, and the preStop hook (a runtime
	// exec) may take seconds on a loaded machine.
	m := writeKubeManifest(t, `apiVersion: v1
kind: Pod
metadata: {name: life}
spec:
  terminationGracePeriodSeconds: 30
  initContainers:
  - name: sidecar
    image: docker.io/library/busybox:1.36
    restartPolicy: Always
    command: ["sh", "-c", "trap 'echo sidecar-stopped >> /host/order; exit 0' TERM; while true; do sleep 0.2; done"]
    volumeMounts: [{name: host, mountPath: /host}]
  containers:
  - name: web
    image: docker.io/library/busybox:1.36
    command: ["sh", "-c", "trap 'echo web-stopped >> /host/order; exit 0' TERM; mkdir -p /www; cat /tmp/started > /www/index.html; httpd -p 8080 -h /www; while true; do sleep 0.2; done"]
    lifecycle:
      postStart: {exec: {command: ["sh", "-c", "echo poststart > /tmp/started"]}}
      preStop: {exec: {command: ["sh", "-c", "echo prestop >> /host/order"]}}
    readinessProbe:
      exec: {command: ["test", "-f", "/tmp/ready"]}
      periodSeconds: 1
    livenessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 1
      failureThreshold: 2
    volumeMounts: [{name: host, mountPath: /host}]
  volumes:
  - {name: host, hostPath: {path: `+hostDir+`, type: Directory}}
`)
	e.ok("kube", "play", m)
	waitFor(t, "the pod to run, not ready", 10*time.Second, func() bool {
		r := e.podRows()["life"]
		return r.Status == "Running" && r.Ready == "1/2"
	})
	e.ok("exec", "life-web", "touch", "/tmp/ready")
	waitFor(t, "readiness", 30*time.Second, func() bool { return e.podRows()["life"].Ready == "2/2" })
	// Liveness: removing the page makes httpGet fail; the container restarts.
	e.ok("exec", "life-web", "rm", "/www/index.html")
	waitFor(t, "a liveness restart", 60*time.Second, func() bool {
		for _, c := range e.podRows()["life"].Containers {
			if c.Names == "life-web" && c.RestartCount >= 1 {
				return true
			}
		}
		return false
	})
	var insp []struct{ RestartCount int }
	if err := json.Unmarshal([]byte(e.ok("inspect", "life-web")), &insp); err != nil || insp[0].RestartCount < 1 {
		t.Errorf("inspect RestartCount: %+v %v", insp, err)
	}
	e.ok("kube", "down", m)
	order, err := os.ReadFile(filepath.Join(hostDir, "order"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(order))
	// preStop, then the app container's stop, and the sidecar last.
	if len(lines) < 3 || lines[len(lines)-1] != "sidecar-stopped" || !strings.Contains(string(order), "prestop\nweb-stopped") {
		t.Errorf("stop order:\n%s", order)
	}
}

func TestTerminalAndStdin(t *testing.T) {
	e := kubeEnv(t)
	e.ok("run", "-dt", "--name", "tty", "docker.io/library/busybox:1.36", "sh", "-c", "tty; sleep 1000")
	waitFor(t, "the terminal's output", 5*time.Second, func() bool {
		return strings.TrimSpace(e.ok("logs", "tty")) == "/dev/pts/0"
	})
	m := writeKubeManifest(t, `apiVersion: v1
kind: Pod
metadata: {name: term}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: withtty
    image: docker.io/library/busybox:1.36
    tty: true
    command: ["sh", "-c", "tty; sleep 1000"]
  - name: withstdin
    image: docker.io/library/busybox:1.36
    stdin: true
    command: ["cat"]
`)
	e.ok("kube", "play", m)
	waitFor(t, "the pod's terminal output", 5*time.Second, func() bool {
		return strings.TrimSpace(e.ok("logs", "term-withtty")) == "/dev/pts/0"
	})
	// With stdin kept open, cat keeps running instead of reading EOF.
	if st := e.podRows()["term"]; st.Status != "Running" {
		t.Errorf("pod with a stdin container: %+v", st)
	}
	e.ok("kube", "down", m)
}

func TestKubeSharedPIDSysctlsAndProcMount(t *testing.T) {
	e := kubeEnv(t)
	m := writeKubeManifest(t, `apiVersion: v1
kind: Pod
metadata: {name: shared}
spec:
  terminationGracePeriodSeconds: 1
  shareProcessNamespace: true
  securityContext:
    sysctls: [{name: net.ipv4.ip_local_port_range, value: "20000 30000"}]
  containers:
  - name: a
    image: docker.io/library/busybox:1.36
    command: ["sh", "-c", "exec sleep 1001"]
  - name: b
    image: docker.io/library/busybox:1.36
    command: ["sh", "-c", "exec sleep 1002"]
`)
	e.ok("kube", "play", m)
	ps := e.ok("exec", "shared-a", "ps", "-o", "args")
	if !strings.Contains(ps, "sleep 1002") || !strings.Contains(ps, "/pause") {
		t.Errorf("shareProcessNamespace: container a does not see b and the infra:\n%s", ps)
	}
	if r := strings.TrimSpace(e.ok("exec", "shared-b", "cat", "/proc/sys/net/ipv4/ip_local_port_range")); strings.Join(strings.Fields(r), " ") != "20000 30000" {
		t.Errorf("sysctl: %q", r)
	}
	e.ok("kube", "down", m)
}

func TestKubePlayWait(t *testing.T) {
	e := kubeEnv(t)
	m := writeKubeManifest(t, `apiVersion: v1
kind: Pod
metadata: {name: once}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: docker.io/library/busybox:1.36
    command: ["sh", "-c", "echo done"]
`)
	// --wait stays until the pods are done, then takes everything down.
	e.ok("kube", "play", "--wait", m)
	if rows := e.pods(); len(rows) != 0 {
		t.Errorf("after play --wait returned: %+v", rows)
	}
}

func TestKubeCronJob(t *testing.T) {
	e := kubeEnv(t)
	m := writeKubeManifest(t, `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          terminationGracePeriodSeconds: 1
          containers:
          - name: c
            image: docker.io/library/busybox:1.36
            command: ["sh", "-c", "echo nightly run"]
`)
	r := e.run("kube", "play", m)
	if r.code != 0 || !strings.Contains(r.stderr, "CronJob") || len(e.pods()) != 0 {
		t.Errorf("without --run-cronjobs: exit %d, want a warning naming the CronJob and no pod: %s", r.code, r.stderr)
	}
	e.ok("kube", "play", "--run-cronjobs", m)
	waitFor(t, "the job's run", 20*time.Second, func() bool {
		for _, c := range e.ps() {
			if strings.HasPrefix(c.Names[0], "nightly") && c.State == "exited" && c.ExitCode == 0 {
				return true
			}
		}
		return false
	})
	e.ok("kube", "down", m)
	if rows := e.pods(); len(rows) != 0 {
		t.Errorf("kube down left the CronJob's pods: %+v", rows)
	}
}
