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

// wget fetches url from inside the client pod, retrying until the deadline.
func (e *env) wget(url string, want func(string) bool) string {
	e.t.Helper()
	var body string
	waitFor(e.t, "wget "+url+" from the client pod", 15*time.Second, func() bool {
		r := e.run("exec", "client-c", "wget", "-qO-", "-T", "2", url)
		body = strings.TrimSpace(r.stdout)
		return r.code == 0 && want(body)
	})
	return body
}

func webPod(s string) bool { return s == "web-pod-0" || s == "web-pod-1" }

func TestKubePlayServices(t *testing.T) {
	e := kubeEnv(t)
	path := writeKubeManifest(t, servicesManifest)
	e.ok("kube", "play", path)

	for _, url := range []string{"http://web/", "http://web.default/", "http://web.default.svc.cluster.local/", "http://web-named:81/"} {
		e.wget(url, webPod)
	}
	// Both replicas answer through the one name.
	seen := map[string]bool{}
	waitFor(t, "both replicas behind http://web/", 30*time.Second, func() bool {
		seen[e.wget("http://web/", webPod)] = true
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
	if body := httpGet(t, "http://127.0.0.1:30080/"); !webPod(strings.TrimSpace(body)) {
		t.Errorf("node port 30080 answered %q", body)
	}

	// A pod that goes away leaves the service; the other keeps answering.
	e.ok("pod", "stop", "-t", "1", "web-pod-0")
	for i := 0; i < 10; i++ {
		if got := e.wget("http://web/", webPod); got != "web-pod-1" {
			t.Fatalf("after web-pod-0 stopped, http://web/ answered %q", got)
		}
	}
	e.ok("pod", "start", "web-pod-0")
	waitFor(t, "web-pod-0 back behind http://web/", 30*time.Second, func() bool {
		return e.wget("http://web/", webPod) == "web-pod-0"
	})

	e.ok("kube", "down", path)
	out, err := exec.Command("iptables-save", "-t", "nat").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "PODBAY") {
		t.Errorf("kube down left service rules on the host:\n%s", out)
	}
}
