//go:build integration

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCLIPodRoundTrip: a pod made on the command line exports with its
// env, ports, volumes, limits and security settings, and the export plays
// back into a pod that runs the same way; its own export is then the
// same YAML again.
func TestCLIPodRoundTrip(t *testing.T) {
	e := pulled(t)
	www := t.TempDir()
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte("round trip\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok("pod", "create", "--name", "shop", "-p", "127.0.0.1:18191:8080", "--add-host", "db.local:10.1.2.3")
	e.ok("run", "-d", "--pod", "shop", "--name", "shop-web", "-e", "GREETING=hi", "-v", www+":/www:ro",
		"--memory", "32m", "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", "--read-only", "--user", "1000:1000",
		e.busybox, "httpd", "-f", "-p", "8080", "-h", "/www")
	check := func(when string) {
		t.Helper()
		if body := httpGet(t, "http://127.0.0.1:18191/"); body != "round trip\n" {
			t.Errorf("%s: the published port answered %q", when, body)
		}
		for cmd, want := range map[string]string{
			"echo $GREETING": "hi",
			"id -u; id -g":   "1000\n1000",
			"cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max": "33554432",
			"grep CapBnd /proc/self/status":                               "CapBnd:\t0000000000000400",
			"touch /x 2>/dev/null && echo writable || echo read-only":     "read-only",
			"touch /www/x 2>/dev/null && echo writable || echo read-only": "read-only",
			"grep db.local /etc/hosts":                                    "10.1.2.3\tdb.local",
		} {
			if got := strings.TrimSpace(e.ok("exec", "shop-web", "sh", "-c", cmd)); got != want {
				t.Errorf("%s: %s gave %q, want %q", when, cmd, got, want)
			}
		}
	}
	check("the command-line pod")
	yaml := e.ok("kube", "generate", "shop")
	for _, want := range []string{"name: web", "name: GREETING", "value: hi", "path: " + www, "readOnly: true", "memory: 32Mi",
		"readOnlyRootFilesystem: true", "- ALL", "- NET_BIND_SERVICE", "runAsUser: 1000", "runAsGroup: 1000",
		"containerPort: 8080", "hostPort: 18191", "hostIP: 127.0.0.1", "db.local", "restartPolicy: Never"} {
		if !strings.Contains(yaml, want) {
			t.Errorf("the export lacks %q:\n%s", want, yaml)
		}
	}
	e.ok("pod", "rm", "-f", "shop")
	path := writeKubeManifest(t, yaml)
	e.ok("kube", "validate", path)
	e.ok("kube", "play", path)
	check("the played export")
	if again := e.ok("kube", "generate", "shop"); again != yaml {
		t.Errorf("the played export exports differently:\n--- first\n%s\n--- second\n%s", yaml, again)
	}
	e.ok("kube", "down", path)
	waitFor(t, "no pod left", 10*time.Second, func() bool { return len(e.pods()) == 0 })
}
