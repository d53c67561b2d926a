//go:build integration

package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

const servicesManifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: docker.io/library/busybox:1.36
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ports:
        - {name: http, containerPort: 8080}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - {port: 80, targetPort: 8080}
---
apiVersion: v1
kind: Service
metadata:
  name: web-named
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - {port: 81, targetPort: http, nodePort: 30080}
---
apiVersion: v1
kind: Service
metadata:
  name: web-direct
spec:
  clusterIP: None
  selector: {app: web}
---
apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: docker.io/library/busybox:1.36
    command: ["sleep", "3600"]
`

// get fetches http://addr/ from inside the client pod with nc (the wget of
// Debian's static busybox crashes), retrying until the deadline, and
// returns the body's last line.
func (e *env) get(addr string, want func(string) bool) string {
	e.t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	var body string
	waitFor(e.t, "GET http://"+addr+"/ from the client pod", 30*time.Second, func() bool {
		r := e.run("exec", "client-c", "sh", "-c", `printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 "$0" "$1"`, host, port)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		body = strings.TrimSpace(lines[len(lines)-1])
		return r.code == 0 && want(body)
	})
	return body
}

func webPod(s string) bool { return s == "web-pod-0" || s == "web-pod-1" }

func TestKubePlayServices(t *testing.T) {
	e := kubeEnv(t)
	path := writeKubeManifest(t, servicesManifest)
	e.ok("kube", "play", path)

	for _, addr := range []string{"web:80", "web.default:80", "web.default.svc.cluster.local:80", "web-named:81", "web-direct:8080"} {
		e.get(addr, webPod)
	}
	// Both replicas answer through the one name.
	seen := map[string]bool{}
	waitFor(t, "both replicas behind web:80", 30*time.Second, func() bool {
		seen[e.get("web:80", webPod)] = true
		return len(seen) == 2
	})
	hosts := e.ok("exec", "client-c", "cat", "/etc/hosts")
	if strings.Count(hosts, "web-direct.default.svc.cluster.local") != 2 {
		t.Errorf("the headless service should list both pods:\n%s", hosts)
	}
	resolv := e.ok("exec", "client-c", "cat", "/etc/resolv.conf")
	if !strings.Contains(resolv, "search default.svc.cluster.local svc.cluster.local cluster.local") {
		t.Errorf("resolv.conf lacks the cluster search path:\n%s", resolv)
	}
	env := e.ok("exec", "client-c", "env")
	if !strings.Contains(env, "WEB_SERVICE_HOST=10.96.") || !strings.Contains(env, "WEB_SERVICE_PORT=80") {
		t.Errorf("service link variables missing:\n%s", env)
	}
	if body := httpGet(t, "http://127.0.0.1:30080/"); !webPod(strings.TrimSpace(body)) {
		t.Errorf("node port 30080 answered %q", body)
	}

	// A pod that goes away leaves the service; the other keeps answering.
	e.ok("pod", "stop", "-t", "1", "web-pod-0")
	for i := 0; i < 10; i++ {
		if got := e.get("web:80", webPod); got != "web-pod-1" {
			t.Fatalf("after web-pod-0 stopped, web:80 answered %q", got)
		}
	}
	e.ok("pod", "start", "web-pod-0")
	waitFor(t, "web-pod-0 back behind web:80", 30*time.Second, func() bool {
		return e.get("web:80", webPod) == "web-pod-0"
	})

	e.ok("kube", "down", path)
	out, err := exec.Command("iptables-save").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "PODBAY") {
		t.Errorf("kube down left service rules on the host:\n%s", out)
	}
}

// TestServiceFollowsReadiness: a pod that is not ready is out of its
// Service, and comes in when its readiness probe passes, with no podbay
// command in between (the pod's monitor re-syncs).
func TestServiceFollowsReadiness(t *testing.T) {
	e := kubeEnv(t)
	path := writeKubeManifest(t, `apiVersion: v1
kind: Pod
metadata:
  name: gated
  labels: {app: gated}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: docker.io/library/busybox:1.36
    command: ["sh", "-c", "mkdir -p /www && echo gated > /www/index.html && exec httpd -f -p 8080 -h /www"]
    readinessProbe:
      exec: {command: ["test", "-f", "/tmp/ready"]}
      periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: gate}
spec:
  selector: {app: gated}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: docker.io/library/busybox:1.36
    command: ["sleep", "3600"]
`)
	e.ok("kube", "play", path)
	waitFor(t, "the client", 10*time.Second, func() bool { return e.run("exec", "client-c", "true").code == 0 })
	r := e.run("exec", "client-c", "sh", "-c", `printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 gate 80`)
	if strings.Contains(r.stdout, "gated") {
		t.Fatalf("a pod that is not ready answers through its Service: %q", r.stdout)
	}
	e.ok("exec", "gated-httpd", "touch", "/tmp/ready")
	if body := e.get("gate:80", func(s string) bool { return s == "gated" }); body != "gated" {
		t.Errorf("after readiness: %q", body)
	}
	e.ok("kube", "down", path)
}
