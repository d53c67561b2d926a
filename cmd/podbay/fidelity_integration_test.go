//go:build integration

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podbay/podbay/engine/state"
)

// volumeNames lists the named volumes of e's store.
func (e *env) volumeNames() []string {
	e.t.Helper()
	var vols []struct{ Name string }
	if err := json.Unmarshal([]byte(e.ok("volume", "ls", "--format", "json")), &vols); err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, v := range vols {
		out = append(out, v.Name)
	}
	return out
}

const statefulClaims = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: c
          image: docker.io/library/busybox:1.36
          command: ["sh", "-c", "hostname >> /data/log; trap 'exit 0' TERM; sleep 1000 & wait"]
          volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec:
        accessModes: [ReadWriteOnce]
        resources: {requests: {storage: 1Gi}}
`

// TestStatefulSetClaimsPersist: each replica gets its own claim, named as
// Kubernetes names it, kept after kube down, found again by the next play
// and removed by kube down --force.
func TestStatefulSetClaimsPersist(t *testing.T) {
	e := kubeEnv(t)
	path := writeKubeManifest(t, statefulClaims)
	logOf := func(pod string) string {
		var out string
		waitFor(t, pod+" writing its claim", 20*time.Second, func() bool {
			r := e.run("exec", pod+"-c", "cat", "/data/log")
			out = r.stdout
			return r.code == 0 && out != ""
		})
		return out
	}
	e.ok("kube", "play", path)
	for _, p := range []string{"db-0", "db-1"} {
		if got := logOf(p); got != p+"\n" {
			t.Errorf("%s's claim holds %q, want its own hostname once", p, got)
		}
	}
	e.ok("kube", "down", path)
	if got := strings.Join(e.volumeNames(), " "); got != "data-db-0 data-db-1" {
		t.Fatalf("after kube down: volumes %q, want data-db-0 data-db-1 kept", got)
	}
	e.ok("kube", "play", path)
	waitFor(t, "db-1 writing its claim again", 20*time.Second, func() bool {
		return e.run("exec", "db-1-c", "cat", "/data/log").stdout == "db-1\ndb-1\n"
	})
	if got := logOf("db-0"); got != "db-0\ndb-0\n" {
		t.Errorf("db-0's claim after the second play holds %q", got)
	}
	e.ok("kube", "down", "--force", path)
	if vols := e.volumeNames(); len(vols) != 0 {
		t.Errorf("kube down --force left volumes %v", vols)
	}
}

const clusterStorage = `apiVersion: v1
kind: Pod
metadata: {name: nfsuser}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: c
      image: docker.io/library/busybox:1.36
      command: ["sh", "-c", "echo hi > /shared/f; trap 'exit 0' TERM; sleep 1000 & wait"]
      volumeMounts: [{name: shared, mountPath: /shared}]
  volumes:
    - name: shared
      nfs: {server: nfs.example.com, path: /exports}
`

// TestClusterStorageSubstitute: an nfs volume plays as a local named
// volume with a warning; --strict refuses it and changes nothing.
func TestClusterStorageSubstitute(t *testing.T) {
	e := kubeEnv(t)
	path := writeKubeManifest(t, clusterStorage)
	e.fails([]string{"app.yaml:13:7", "volumes[0].nfs", `volume "shared" is nfs storage`, `"nfsuser-shared"`}, "kube", "play", "--strict", path)
	if vols := e.volumeNames(); len(vols) != 0 || len(e.pods()) != 0 {
		t.Fatalf("a refused play left volumes %v, pods %v", vols, e.pods())
	}
	r := e.run("kube", "play", path)
	if r.code != 0 || !strings.Contains(r.stderr, `app.yaml:13:7: Pod/nfsuser: spec.volumes[0].nfs: volume "shared" is nfs storage`) {
		t.Fatalf("kube play: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	waitFor(t, "the pod writing into the substitute", 20*time.Second, func() bool {
		return e.run("exec", "nfsuser-c", "cat", "/shared/f").stdout == "hi\n"
	})
	e.ok("kube", "down", path)
	if got := strings.Join(e.volumeNames(), " "); got != "nfsuser-shared" {
		t.Errorf("after kube down: volumes %q, want nfsuser-shared kept", got)
	}
	e.ok("kube", "down", "--force", path)
	if vols := e.volumeNames(); len(vols) != 0 {
		t.Errorf("kube down --force left %v", vols)
	}
}

// TestPlayFindsStoredObjects: a play references a ConfigMap an earlier play
// brought and a secret made by podbay secret create; an optional reference
// to nothing leaves its variable unset; a required one fails, naming it.
func TestPlayFindsStoredObjects(t *testing.T) {
	e := kubeEnv(t)
	cm := writeKubeManifest(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: prod}\n")
	e.ok("kube", "play", cm)
	secretFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secretFile, []byte("s3cr3t"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.ok("secret", "create", "api-token", secretFile)
	e.fails([]string{"api-token", "exists"}, "secret", "create", "api-token", secretFile)
	if ls := e.ok("secret", "ls"); !strings.Contains(ls, "api-token") {
		t.Errorf("secret ls:\n%s", ls)
	}
	app := writeKubeManifest(t, `apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: c
      image: docker.io/library/busybox:1.36
      command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
      env:
        - {name: MODE, valueFrom: {configMapKeyRef: {name: settings, key: mode}}}
        - {name: TOKEN, valueFrom: {secretKeyRef: {name: api-token, key: api-token}}}
        - {name: BETA, valueFrom: {configMapKeyRef: {name: flags, key: beta, optional: true}}}
`)
	e.ok("kube", "play", app)
	env := e.ok("exec", "app-c", "env")
	for _, want := range []string{"MODE=prod", "TOKEN=s3cr3t"} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %s:\n%s", want, env)
		}
	}
	if strings.Contains(env, "BETA=") {
		t.Errorf("an optional reference to a missing ConfigMap set BETA:\n%s", env)
	}
	e.ok("kube", "down", app)
	e.ok("secret", "rm", "api-token")
	e.fails([]string{"app.yaml:12:", "secretKeyRef.name", `secrets "api-token" not found`}, "kube", "play", app)
	e.ok("kube", "down", cm)
}

// serviceRecords reads the Services recorded in e's state store.
func (e *env) serviceRecords() []string {
	e.t.Helper()
	st, err := state.Open(e.root)
	if err != nil {
		e.t.Fatal(err)
	}
	var keys []string
	err = st.View(context.Background(), func(tx *state.Tx) error {
		objs, err := tx.Objects("kube-service")
		for k := range objs {
			keys = append(keys, k)
		}
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return keys
}

// TestFailedPlayKeepsNoVolumeOrService: a play whose image cannot be
// pulled leaves neither the claims' volumes it created nor its Services;
// a volume that existed before stays.
func TestFailedPlayKeepsNoVolumeOrService(t *testing.T) {
	e := kubeEnv(t)
	e.ok("volume", "create", "kept")
	bad := writeKubeManifest(t, `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: fresh}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: kept}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers:
    - name: c
      image: `+e.registry+`/library/nosuch:1
      volumeMounts: [{name: d, mountPath: /d}]
  volumes:
    - {name: d, persistentVolumeClaim: {claimName: fresh}}
`)
	e.fails([]string{"nosuch"}, "kube", "play", "--tls-verify=false", bad)
	if got := strings.Join(e.volumeNames(), " "); got != "kept" {
		t.Errorf("after a failed play: volumes %q, want only kept", got)
	}
	if svcs := e.serviceRecords(); len(svcs) != 0 {
		t.Errorf("after a failed play: Services %v still registered", svcs)
	}
	if rows := e.pods(); len(rows) != 0 {
		t.Errorf("after a failed play: pods %+v", rows)
	}
}

const namespacedServices = `apiVersion: v1
kind: Namespace
metadata: {name: alpha}
---
apiVersion: v1
kind: Namespace
metadata: {name: beta}
---
apiVersion: v1
kind: Pod
metadata: {name: web-alpha, namespace: alpha, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: httpd
      image: docker.io/library/busybox:1.36
      command: ["sh", "-c", "mkdir -p /www && echo alpha > /www/index.html && exec httpd -f -p 8080 -h /www"]
---
apiVersion: v1
kind: Pod
metadata: {name: web-beta, namespace: beta, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: httpd
      image: docker.io/library/busybox:1.36
      command: ["sh", "-c", "mkdir -p /www && echo beta > /www/index.html && exec httpd -f -p 8080 -h /www"]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: alpha}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: beta}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: alpha}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: c
      image: docker.io/library/busybox:1.36
      command: ["sleep", "3600"]
`

// TestServiceNamesAcrossNamespaces: from a pod in namespace alpha, the
// short name is alpha's Service, NAME.NAMESPACE and the cluster domain
// name reach either namespace's.
func TestServiceNamesAcrossNamespaces(t *testing.T) {
	e := kubeEnv(t)
	path := writeKubeManifest(t, namespacedServices)
	e.ok("kube", "play", path)
	for addr, want := range map[string]string{
		"web:80": "alpha", "web.alpha:80": "alpha", "web.alpha.svc.cluster.local:80": "alpha",
		"web.beta:80": "beta", "web.beta.svc.cluster.local:80": "beta",
	} {
		if got := e.get(addr, func(s string) bool { return s == want }); got != want {
			t.Errorf("%s answered %q, want %q", addr, got, want)
		}
	}
	hosts := e.ok("exec", "client-c", "cat", "/etc/hosts")
	for _, line := range strings.Split(hosts, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], "web.beta") && strings.Contains(" "+strings.Join(f[1:], " ")+" ", " web ") {
			t.Errorf("beta's Service answers to the short name in alpha:\n%s", hosts)
		}
	}
	e.ok("kube", "down", path)
}
