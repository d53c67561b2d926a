//go:build integration

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/podbay/podbay/internal/testcluster"
)

// clusterEnv is a podbay env and a real API server (etcd and kube-apiserver
// on loopback) that the subtests of TestClusterBridge share, each in
// namespaces of its own.
type clusterEnv struct {
	*env
	kc  *testcluster.Cluster
	dyn dynamic.Interface
}

// TestClusterBridge: kube apply, kube validate --server and kube play
// --from-cluster against a real kube-apiserver (built by
// hack/kube-apiserver.sh, started on Debian's etcd with token and
// client-certificate authentication, RBAC and Pod Security admission).
func TestClusterBridge(t *testing.T) {
	start := time.Now()
	kc := testcluster.Start(t)
	t.Logf("etcd and kube-apiserver ready in %v", time.Since(start).Round(time.Millisecond))
	dyn, err := dynamic.NewForConfig(kc.Admin())
	if err != nil {
		t.Fatal(err)
	}
	shared := kubeEnv(t)
	for _, sub := range []struct {
		name string
		test func(*testing.T, *clusterEnv)
	}{
		{"apply-file", testApplyFile},
		{"apply-running-pods", testApplyRunningPods},
		{"pod-security", testPodSecurity},
		{"play-from-cluster", testPlayFromCluster},
		{"errors", testErrors},
		{"apply-many", testApplyMany},
	} {
		t.Run(sub.name, func(t *testing.T) {
			e := *shared // the subtest's own t, for its failures
			e.t = t
			sub.test(t, &clusterEnv{env: &e, kc: kc, dyn: dyn})
		})
	}
}

// kube runs podbay kube ... with the test's kubeconfig and current context.
func (c *clusterEnv) kube(args ...string) result {
	c.t.Helper()
	return c.run(append([]string{"kube"}, append(args, "--kubeconfig", c.kc.Kubeconfig)...)...)
}

// kubeOK is kube, failing the test unless it exits 0.
func (c *clusterEnv) kubeOK(t *testing.T, args ...string) string {
	t.Helper()
	r := c.kube(args...)
	if r.code != 0 {
		t.Fatalf("podbay kube %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// get reads an object from the server as admin.
func (c *clusterEnv) get(t *testing.T, gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := c.dyn.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading %s %s/%s from the server: %v", gvr.Resource, ns, name, err)
	}
	return u
}

var (
	gvrConfigMaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	gvrPods        = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	gvrServices    = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	gvrDeployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

// wantLines checks that out has every line of want (in any order).
func wantLines(t *testing.T, what, out string, want ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		have[l] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("%s: no line %q in:\n%s", what, w, out)
		}
	}
}

const webApp = `apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {greeting: hello}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: docker.io/library/busybox:1.36
        command: [sleep, "3600"]
        envFrom: [{configMapRef: {name: web-config}}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`

// apply a file into a namespace that does not exist (created), again
// (unchanged: from stdin, through $KUBECONFIG), changed (configured: as a
// client-certificate user), then a server dry run that stores nothing.
func testApplyFile(t *testing.T, c *clusterEnv) {
	app := writeKubeManifest(t, strings.Replace(webApp, "REPLICAS", "2", 1))
	out := c.kubeOK(t, "apply", "-f", app, "--ns", "apply-file")
	wantLines(t, "first apply", out, "namespace/apply-file created: objects go into it", "configmap/web-config created",
		"deployment.apps/web created", "service/web created")
	dep := c.get(t, gvrDeployments, "apply-file", "web")
	if mf := dep.GetManagedFields(); len(mf) == 0 || mf[0].Manager != "podbay" || mf[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("managedFields of the applied Deployment: %+v", mf)
	}

	data, _ := os.ReadFile(app)
	c.extraEnv = append(c.extraEnv, "KUBECONFIG="+c.kc.Kubeconfig)
	r := c.runIn(data, "kube", "apply", "-f", "-", "--ns", "apply-file")
	c.extraEnv = c.extraEnv[:len(c.extraEnv)-1]
	if r.code != 0 {
		t.Fatalf("apply from stdin: exit %d: %s", r.code, r.stderr)
	}
	wantLines(t, "second apply", r.stdout, "configmap/web-config unchanged", "deployment.apps/web unchanged", "service/web unchanged")
	if strings.Contains(r.stdout, "namespace/") {
		t.Errorf("an existing namespace was reported: %s", r.stdout)
	}

	changed := strings.Replace(strings.Replace(webApp, "REPLICAS", "3", 1), "greeting: hello", "greeting: bonjour", 1)
	out = c.kubeOK(t, "apply", "-f", writeKubeManifest(t, changed), "--ns", "apply-file", "--context", "cert-admin")
	wantLines(t, "changed apply", out, "configmap/web-config configured", "deployment.apps/web configured", "service/web unchanged")
	if n, _, _ := unstructured.NestedInt64(c.get(t, gvrDeployments, "apply-file", "web").Object, "spec", "replicas"); n != 3 {
		t.Errorf("replicas on the server after the change: %d, want 3", n)
	}

	dry := strings.Replace(changed, "replicas: 3", "replicas: 5", 1)
	out = c.kubeOK(t, "apply", "--dry-run=server", "-f", writeKubeManifest(t, dry), "--ns", "apply-file")
	wantLines(t, "dry run", out, "deployment.apps/web configured (server dry run)", "configmap/web-config unchanged (server dry run)")
	if n, _, _ := unstructured.NestedInt64(c.get(t, gvrDeployments, "apply-file", "web").Object, "spec", "replicas"); n != 3 {
		t.Errorf("a server dry run changed replicas to %d", n)
	}
}

// apply a played pod and a standalone container, exported as kube
// generate exports them, with a Service for the pod.
func testApplyRunningPods(t *testing.T, c *clusterEnv) {
	pod := writeKubeManifest(t, `apiVersion: v1
kind: Pod
metadata: {name: running, labels: {app: running}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: docker.io/library/busybox:1.36
    command: [sleep, "3600"]
    ports: [{containerPort: 8080}]
`)
	c.ok("kube", "play", pod)
	defer c.ok("kube", "down", pod)
	c.ok("run", "-d", "--name", "solo", "docker.io/library/busybox:1.36", "sleep", "3600")
	defer c.ok("rm", "-f", "solo")
	out := c.kubeOK(t, "apply", "--service", "--ns", "from-podbay", "running", "solo")
	wantLines(t, "apply of running pods", out, "namespace/from-podbay created: objects go into it", "pod/running created", "service/running created", "pod/solo created")
	p := c.get(t, gvrPods, "from-podbay", "running")
	if img, _, _ := unstructured.NestedSlice(p.Object, "spec", "containers"); len(img) != 1 {
		t.Errorf("the pod on the server: %v", p.Object["spec"])
	}
	if port, _, _ := unstructured.NestedSlice(c.get(t, gvrServices, "from-podbay", "running").Object, "spec", "ports"); len(port) != 1 {
		t.Errorf("the Service has ports %v", port)
	}
	out = c.kubeOK(t, "apply", "--service", "--ns", "from-podbay", "running", "solo")
	wantLines(t, "second apply of running pods", out, "pod/running unchanged", "service/running unchanged", "pod/solo unchanged")
}

// A namespace enforcing the restricted Pod Security level rejects a
// privileged pod: validate --server says so next to podbay's offline
// verdict (which, without --pss, only warns), and apply reports the
// server's message for that pod while applying the rest.
func testPodSecurity(t *testing.T, c *clusterEnv) {
	ns := writeKubeManifest(t, `apiVersion: v1
kind: Namespace
metadata:
  name: locked
  labels: {pod-security.kubernetes.io/enforce: restricted, pod-security.kubernetes.io/warn: restricted}
`)
	wantLines(t, "namespace", c.kubeOK(t, "apply", "-f", ns), "namespace/locked created")
	priv := writeKubeManifest(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: locked}
data: {a: b}
---
apiVersion: v1
kind: Pod
metadata: {name: priv, namespace: locked}
spec:
  containers:
  - name: main
    image: docker.io/library/busybox:1.36
    securityContext: {privileged: true}
`)
	r := c.kube("validate", "--server", priv)
	if r.code != 1 {
		t.Errorf("validate --server of a privileged pod in a restricted namespace: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, w := range []string{
		`Pod/priv in locked: rejected: pods "priv" is forbidden: violates PodSecurity "restricted:latest": privileged`,
		"ConfigMap/settings in locked: accepted",
		"Differences:",
		`the server rejects Pod/priv: pods "priv" is forbidden: violates PodSecurity "restricted:latest"`,
		"podbay's offline check said: ok",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("validate --server does not say %q:\n%s", w, r.stdout)
		}
	}
	r = c.kube("apply", "-f", priv)
	if r.code != 1 {
		t.Errorf("apply of a privileged pod into a restricted namespace: exit %d, want 1", r.code)
	}
	wantLines(t, "apply stdout", r.stdout, "configmap/settings created")
	if !strings.Contains(r.stderr, `Error: pod/priv: pods "priv" is forbidden: violates PodSecurity "restricted:latest": privileged`) ||
		!strings.Contains(r.stderr, "Error: 1 of 2 objects failed") {
		t.Errorf("apply stderr:\n%s", r.stderr)
	}
	if _, err := c.dyn.Resource(gvrPods).Namespace("locked").Get(context.Background(), "priv", metav1.GetOptions{}); err == nil {
		t.Error("the rejected pod is on the server")
	}
	// A workload is not refused (Pod Security enforces on pods); the
	// server warns, and validate --server shows the warning.
	dep := writeKubeManifest(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: priv-web, namespace: locked}
spec:
  selector: {matchLabels: {app: p}}
  template:
    metadata: {labels: {app: p}}
    spec:
      containers: [{name: main, image: docker.io/library/busybox:1.36, securityContext: {privileged: true}}]
`)
	r = c.kube("validate", "--server", dep)
	if !strings.Contains(r.stdout, "Deployment/priv-web in locked: accepted") || !strings.Contains(r.stdout, `warning: would violate PodSecurity "restricted:latest"`) {
		t.Errorf("validate --server of a privileged Deployment:\n%s%s", r.stdout, r.stderr)
	}
	// The server refuses objects of a namespace it does not have, dry run
	// or not: such an object is not checked, and the report says why.
	r = c.kube("validate", "--server", "-n", "nowhere", priv)
	if !strings.Contains(r.stdout, `Pod/priv in locked: rejected`) ||
		!strings.Contains(r.stdout, `ConfigMap/settings in locked: accepted`) {
		t.Errorf("validate --server -n nowhere of objects naming their namespace:\n%s%s", r.stdout, r.stderr)
	}
	r = c.kube("validate", "--server", "-n", "nowhere", writeKubeManifest(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"))
	if r.code != 0 || !strings.Contains(r.stdout, `ConfigMap/c in nowhere: unchecked: namespace "nowhere" does not exist yet`) {
		t.Errorf("validate --server into a missing namespace: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// play --from-cluster fetches a Deployment with the ConfigMap and Secret it
// uses and the Service that selects it, and runs it here.
func testPlayFromCluster(t *testing.T, c *clusterEnv) {
	app := writeKubeManifest(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data: {GREETING: hello-from-the-cluster}
---
apiVersion: v1
kind: Secret
metadata: {name: app-secret}
stringData: {token: s3cr3t}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  selector: {matchLabels: {app: fetched}}
  template:
    metadata: {labels: {app: fetched}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: docker.io/library/busybox:1.36
        command: [sh, -c, 'echo "$GREETING $(cat /secret/token)"; exec sleep 3600']
        envFrom: [{configMapRef: {name: app-config}}]
        volumeMounts: [{name: secret, mountPath: /secret}]
      volumes:
      - {name: secret, secret: {secretName: app-secret}}
---
apiVersion: v1
kind: Service
metadata: {name: app}
spec:
  selector: {app: fetched}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: lone}
spec:
  containers: [{name: main, image: docker.io/library/busybox:1.36, command: [sleep, "3600"]}]
`)
	c.kubeOK(t, "apply", "-f", app, "--ns", "fetch")
	// The ServiceAccount admission plugin gave the pod a token volume:
	// a fetch drops it (and its mount), as it drops the node name.
	vols, _, _ := unstructured.NestedSlice(c.get(t, gvrPods, "fetch", "lone").Object, "spec", "volumes")
	if len(vols) != 1 || !strings.HasPrefix(vols[0].(map[string]any)["name"].(string), "kube-api-access-") {
		t.Errorf("the server's pod has volumes %v, want its service account token", vols)
	}
	lone := c.kubeOK(t, "play", "--from-cluster", "-n", "fetch", "--dry-run", "-o", "yaml", "pod/lone")
	if strings.Contains(lone, "kube-api-access") || !strings.Contains(lone, "lone") {
		t.Errorf("the fetched pod keeps the service account token volume:\n%s", lone)
	}
	if ip, _, _ := unstructured.NestedString(c.get(t, gvrServices, "fetch", "app").Object, "spec", "clusterIP"); ip == "" {
		t.Fatal("the server gave the Service no cluster IP")
	}
	dry := c.kubeOK(t, "play", "--from-cluster", "-n", "fetch", "--dry-run", "-o", "yaml", "deployment/app")
	for _, gone := range []string{"resourceVersion", "managedFields", "uid:", "creationTimestamp"} {
		if strings.Contains(dry, gone) {
			t.Errorf("the fetched workload keeps %s:\n%s", gone, dry)
		}
	}
	out := c.kubeOK(t, "play", "--from-cluster", "-n", "fetch", "deploy/app")
	defer c.kube("play", "--down", "--from-cluster", "-n", "fetch", "deploy/app")
	if !strings.Contains(out, "Pod:") {
		t.Errorf("play printed:\n%s", out)
	}
	var pod string
	for _, p := range c.pods() {
		if strings.HasPrefix(p.Name, "app") {
			pod = p.Name
			if p.Status != "Running" {
				t.Errorf("pod %s: %s", p.Name, p.Status)
			}
		}
	}
	if pod == "" {
		t.Fatalf("no pod of the fetched Deployment runs: %+v", c.pods())
	}
	waitFor(t, "the fetched pod's output", 10*time.Second, func() bool {
		return c.ok("logs", pod+"-main") == "hello-from-the-cluster s3cr3t\n"
	})
	down := c.kube("play", "--down", "--from-cluster", "-n", "fetch", "deploy/app")
	if down.code != 0 || len(c.pods()) != 0 {
		t.Errorf("down of the fetched workload: exit %d %s; pods left %+v", down.code, down.stderr, c.pods())
	}
	r := c.kube("play", "--from-cluster", "-n", "fetch", "deployment/nothing")
	if r.code == 0 || !strings.Contains(r.stderr, `fetching deployment/nothing from namespace "fetch": deployments.apps "nothing" not found`) {
		t.Errorf("fetching a missing Deployment: exit %d: %s", r.code, r.stderr)
	}
}

// An unreachable server and a refused token are one clear error each; a
// user without rights gets the server's refusal per object.
func testErrors(t *testing.T, c *clusterEnv) {
	cm := writeKubeManifest(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: errs}\ndata: {a: b}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: errs2}\n")
	c.kubeFails(t, []string{"cannot reach the cluster at https://127.0.0.1:", `(context "unreachable" of ` + c.kc.Kubeconfig + ")", "connection refused"},
		"apply", "-f", cm, "--context", "unreachable")
	c.kubeFails(t, []string{"does not accept the credentials of context \"bad-token\"", "(401 Unauthorized)"},
		"apply", "-f", cm, "--context", "bad-token")
	c.kubeFails(t, []string{"does not accept the credentials of context \"bad-token\""},
		"validate", "--server", cm, "--context", "bad-token")
	c.kubeFails(t, []string{"cannot reach the cluster"}, "play", "--from-cluster", "deployment/x", "--context", "unreachable")
	r := c.kube("apply", "-f", cm, "--context", "restricted")
	if r.code != 1 {
		t.Errorf("apply without rights: exit %d, want 1", r.code)
	}
	for _, w := range []string{
		`Error: configmap/errs: configmaps "errs" is forbidden: User "restricted" cannot patch resource "configmaps" in API group "" in the namespace "default"`,
		`Error: configmap/errs2: configmaps "errs2" is forbidden`,
		"Error: 2 of 2 objects failed",
	} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("apply without rights does not say %q:\n%s", w, r.stderr)
		}
	}
	bad := writeKubeManifest(t, "apiVersion: v1\nkind: Frobnicator\nmetadata: {name: f}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n")
	r = c.kube("apply", "-f", bad, "--ns", "errors")
	if r.code != 1 || !strings.Contains(r.stderr, `Error: frobnicator/f: the cluster does not serve it: no matches for kind "Frobnicator" in version "v1"`) {
		t.Errorf("apply of an unknown kind: exit %d: %s", r.code, r.stderr)
	}
	wantLines(t, "the object beside the unknown kind", r.stdout, "configmap/fine created")
	elsewhere := writeKubeManifest(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: elsewhere, namespace: other}\n")
	r = c.kube("apply", "-f", elsewhere, "--ns", "errors")
	if r.code != 1 || !strings.Contains(r.stderr, `Error: configmap/elsewhere: its namespace "other" is not the one asked for ("errors")`) {
		t.Errorf("apply of an object of another namespace than --ns: exit %d: %s", r.code, r.stderr)
	}
}

// kubeFails runs podbay kube ..., wants a non-zero exit and one error line
// saying every want.
func (c *clusterEnv) kubeFails(t *testing.T, want []string, args ...string) {
	t.Helper()
	r := c.kube(args...)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code == 0 || len(lines) != 1 {
		t.Errorf("podbay kube %s: exit %d, want a failure with one error line:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("podbay kube %s: error does not say %q:\n%s", strings.Join(args, " "), w, r.stderr)
		}
	}
}

// apply of many objects: each gets its result; the time is logged (a
// figure for the record, not a check).
func testApplyMany(t *testing.T, c *clusterEnv) {
	const n = 100
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: many-%d}\ndata: {i: \"%d\"}\n", i, i)
	}
	file := filepath.Join(t.TempDir(), "many.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out := c.kubeOK(t, "apply", "-f", file, "--ns", "many")
	created := time.Since(start)
	start = time.Now()
	again := c.kubeOK(t, "apply", "-f", file, "--ns", "many")
	t.Logf("kube apply of %d ConfigMaps: %v created, %v unchanged", n, created.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if got := strings.Count(out, " created"); got != n+1 {
		t.Errorf("%d created lines, want %d (the namespace and %d ConfigMaps)", got, n+1, n)
	}
	if got := strings.Count(again, " unchanged\n"); got != n {
		t.Errorf("%d unchanged lines, want %d", got, n)
	}
}
