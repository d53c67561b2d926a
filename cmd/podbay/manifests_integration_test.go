//go:build integration

package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func manifestPath(t *testing.T, name string) string {
	p, err := filepath.Abs(filepath.Join("../../manifests", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// nc sends an HTTP GET from inside a container and returns the answer.
func (e *env) ncGet(ctr, host, port, path string) string {
	r := e.run("exec", ctr, "sh", "-c", `printf 'GET %s HTTP/1.0\r\n\r\n' "$2" | nc -w 2 "$0" "$1"`, host, port, path)
	return r.stdout
}

func TestManifestWebapp(t *testing.T) {
	e := kubeEnv(t)
	m := manifestPath(t, "webapp.yaml")
	e.ok("kube", "play", m)
	waitFor(t, "both replicas ready", 30*time.Second, func() bool {
		rows := e.podRows()
		return rows["webapp-pod-0"].Ready == "2/2" && rows["webapp-pod-1"].Ready == "2/2"
	})
	waitFor(t, "the Service", 30*time.Second, func() bool {
		return strings.Contains(e.ncGet("webapp-pod-0-web", "webapp", "80", "/index.html"), "webapp on podbay")
	})
	if env := e.ok("exec", "webapp-pod-1-web", "env"); !strings.Contains(env, "TOKEN=not-a-real-token") || !strings.Contains(env, "GREETING=hello") {
		t.Errorf("environment:\n%s", env)
	}
	// Both replicas write to the one claim.
	waitFor(t, "two starts on the claim", 30*time.Second, func() bool {
		return strings.Count(e.ok("exec", "webapp-pod-0-web", "cat", "/data/starts"), "\n") == 2
	})
	e.ok("kube", "down", m)
	if out := e.ok("volume", "ls", "--format", "json"); !strings.Contains(out, "webapp-data") {
		t.Errorf("kube down without --force removed the claim's volume: %s", out)
	}
	e.ok("kube", "down", "--force", m)
	if out := e.ok("volume", "ls", "--format", "json"); strings.Contains(out, "webapp-data") {
		t.Errorf("kube down --force kept the claim's volume: %s", out)
	}
}

func TestManifestStatefulSet(t *testing.T) {
	e := kubeEnv(t)
	m := manifestPath(t, "statefulset.yaml")
	e.ok("kube", "play", m)
	for _, peer := range []string{"db-1.db", "db-2.db", "db-2.db.default.svc.cluster.local"} {
		want := "member " + strings.SplitN(peer, ".", 2)[0]
		waitFor(t, "db-0 reaching "+peer, 30*time.Second, func() bool {
			r := e.run("exec", "db-0-member", "sh", "-c", `nc -w 2 "$0" 7000 </dev/null`, peer)
			return strings.TrimSpace(r.stdout) == want
		})
	}
	e.ok("kube", "down", m)
}

func TestManifestJob(t *testing.T) {
	e := kubeEnv(t)
	m := manifestPath(t, "job.yaml")
	e.ok("kube", "play", m)
	waitFor(t, "six completions", 60*time.Second, func() bool {
		done := 0
		for _, r := range e.ps() {
			if strings.HasPrefix(r.Names[0], "batch-pod-") && r.State == "exited" && r.ExitCode == 0 {
				done++
			}
		}
		return done == 6
	})
	if logs := e.ok("logs", "batch-pod-5-worker"); !strings.Contains(logs, "processing item on batch-pod-5") {
		t.Errorf("job pod log: %q", logs)
	}
	e.ok("kube", "down", m)
}
