//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cleanDeployment passes every layer, --strict --pss restricted included.
const cleanDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile:
          type: RuntimeDefault
      containers:
      - name: web
        image: quay.io/podbay/web:1.4.2
        ports:
        - name: http
          containerPort: 8080
        readinessProbe:
          httpGet:
            path: /healthz
            port: http
        resources:
          requests:
            cpu: 100m
            memory: 64Mi
          limits:
            memory: 128Mi
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop: [ALL]
`

// privilegedPod is accepted by Kubernetes (--allow-privileged) but not by OpenShift.
const privilegedPod = `apiVersion: v1
kind: Pod
metadata:
  name: agent
spec:
  containers:
  - name: agent
    image: quay.io/podbay/agent:2.0
    resources:
      requests: {cpu: 10m, memory: 16Mi}
      limits: {memory: 32Mi}
    securityContext:
      privileged: true
`

// baselinePod passes baseline but not restricted.
const baselinePod = `apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
  - name: app
    image: docker.io/library/nginx:1.27
    resources:
      requests: {cpu: 10m, memory: 16Mi}
      limits: {memory: 32Mi}
`

// jsonFinding mirrors validate.Finding's JSON.
type jsonFinding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Path     string `json:"path"`
	Object   string `json:"object"`
	Message  string `json:"message"`
	Hint     string `json:"hint"`
}

// validateRun runs podbay with temporary roots; no registry is needed to validate.
func validateRun(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	dir := t.TempDir()
	full := append([]string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run")}, args...)
	return runCommand(t, exec.Command(filepath.Join(binDir, "podbay"), full...), stdin)
}

// validateWant runs podbay kube validate and checks the exit status.
func validateWant(t *testing.T, code int, stdin []byte, args ...string) result {
	t.Helper()
	r := validateRun(t, stdin, append([]string{"kube", "validate"}, args...)...)
	if r.code != code {
		t.Fatalf("kube validate %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	if code != 2 && r.stderr != "" {
		t.Errorf("kube validate %s: unexpected stderr:\n%s", strings.Join(args, " "), r.stderr)
	}
	return r
}

func writeManifest(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func parseFindings(t *testing.T, out string) []jsonFinding {
	t.Helper()
	var fs []jsonFinding
	if err := json.Unmarshal([]byte(out), &fs); err != nil {
		t.Fatalf("-o json output is not a JSON array of findings: %v\n%s", err, out)
	}
	return fs
}

// lineOf returns the 1-based line of the first line of content containing s.
func lineOf(t *testing.T, content, s string) int {
	t.Helper()
	for i, l := range strings.Split(content, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%q not in the manifest", s)
	return 0
}

func TestKubeValidateClean(t *testing.T) {
	file := writeManifest(t, "web.yaml", cleanDeployment)
	r := validateWant(t, 0, nil, "--strict", "--pss", "restricted", file)
	if want := "0 errors, 0 warnings, 0 changes in 1 object\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	r = validateWant(t, 0, nil, "-o", "json", file)
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("-o json of a clean input: %q, want []", r.stdout)
	}
}

func TestKubeValidateOpenShiftPrivileged(t *testing.T) {
	file := writeManifest(t, "agent.yaml", privilegedPod)
	validateWant(t, 0, nil, file) // Kubernetes admits it: baseline failures are warnings by default
	r := validateWant(t, 1, nil, "--openshift", file)
	line := lineOf(t, privilegedPod, "privileged: true")
	for _, want := range []string{
		"unable to validate against any security context constraint",
		"Privileged containers are not allowed",
		fmt.Sprintf("%s:%d:7: error: Pod/agent: spec.containers[0].securityContext.privileged: ", file, line),
		"(openshift.scc.privileged)",
		`"privileged"`, // the SCC that would admit it
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout does not contain %q:\n%s", want, r.stdout)
		}
	}
	if !strings.HasSuffix(r.stdout, " in 1 object\n") || strings.Contains(r.stdout, "Error:") {
		t.Errorf("want findings then a summary line, no error line:\n%s", r.stdout)
	}
}

func TestKubeValidatePSSRestricted(t *testing.T) {
	file := writeManifest(t, "app.yaml", baselinePod)
	validateWant(t, 0, nil, file)
	validateWant(t, 0, nil, "--pss", "baseline", file)
	r := validateWant(t, 1, nil, "--pss", "restricted", "-o", "json", file)
	rules := map[string]bool{}
	for _, f := range parseFindings(t, r.stdout) {
		rules[f.Rule] = true
	}
	for _, want := range []string{"pss.restricted.runAsNonRoot", "pss.restricted.allowPrivilegeEscalation",
		"pss.restricted.capabilities_restricted", "pss.restricted.seccompProfile_restricted"} {
		if !rules[want] {
			t.Errorf("no %s finding in %v", want, rules)
		}
	}
}

func TestKubeValidateJSON(t *testing.T) {
	file := writeManifest(t, "agent.yaml", privilegedPod)
	r := validateWant(t, 1, nil, "--openshift", "-o", "json", file)
	fs := parseFindings(t, r.stdout)
	if len(fs) == 0 {
		t.Fatal("no findings")
	}
	var found bool
	for _, f := range fs {
		if f.Rule == "" || f.Severity == "" || f.Object != "Pod/agent" || f.File != file || f.Line == 0 || f.Message == "" {
			t.Errorf("incomplete finding %+v", f)
		}
		if f.Rule == "openshift.scc.privileged" {
			found = true
			want := jsonFinding{Rule: f.Rule, Severity: "error", File: file, Line: lineOf(t, privilegedPod, "privileged: true"),
				Col: 7, Path: "spec.containers[0].securityContext.privileged", Object: "Pod/agent"}
			got := f
			got.Message, got.Hint = "", ""
			if got != want {
				t.Errorf("finding\n got %+v\nwant %+v", got, want)
			}
		}
	}
	if !found {
		t.Errorf("no openshift.scc.privileged finding in %+v", fs)
	}
}

// TestKubeValidateUnknownField: an unknown field (a misspelt one, one in another
// case) is an error, as kubectl apply's default strict field validation makes it;
// --validate=warn makes it a warning, --validate=ignore drops it.
func TestKubeValidateUnknownField(t *testing.T) {
	content := strings.Replace(cleanDeployment, "        ports:\n", "        portz: []\n        ports:\n", 1)
	content = strings.Replace(content, "          containerPort: 8080\n", "          ContainerPort: 8080\n          containerPort: 8080\n", 1)
	file := writeManifest(t, "typo.yaml", content)
	line := lineOf(t, content, "portz")
	finding := func(severity string) string {
		return fmt.Sprintf("%s:%d:9: %s: Deployment/web: spec.template.spec.containers[0].portz: unknown field \"portz\" (manifest.unknown-field)\n  hint: did you mean \"ports\"?\n", file, line, severity) +
			fmt.Sprintf("%s:%d:11: %s: Deployment/web: spec.template.spec.containers[0].ports[0].ContainerPort: unknown field \"ContainerPort\" (manifest.unknown-field)\n  hint: did you mean \"containerPort\"? field names are case-sensitive\n", file, line+3, severity)
	}
	cases := []struct {
		args    []string
		code    int
		finding string
		summary string
	}{
		{nil, 1, finding("error"), "2 errors, 0 warnings, 0 changes in 1 object\n"},
		{[]string{"--validate=strict"}, 1, finding("error"), "2 errors, 0 warnings, 0 changes in 1 object\n"},
		{[]string{"--validate=warn"}, 0, finding("warning"), "0 errors, 2 warnings, 0 changes in 1 object\n"},
		{[]string{"--validate=warn", "--strict"}, 1, finding("warning"), "0 errors, 2 warnings, 0 changes in 1 object\n"},
		{[]string{"--validate=ignore", "--strict"}, 0, "", "0 errors, 0 warnings, 0 changes in 1 object\n"},
		{[]string{"--validate=false"}, 0, "", "0 errors, 0 warnings, 0 changes in 1 object\n"},
	}
	for _, tc := range cases {
		r := validateWant(t, tc.code, nil, append(tc.args, file)...)
		if r.stdout != tc.finding+tc.summary {
			t.Errorf("kube validate %s:\n%s\nwant:\n%s", strings.Join(tc.args, " "), r.stdout, tc.finding+tc.summary)
		}
	}
	r := validateRun(t, nil, "kube", "validate", "--validate=maybe", file)
	if want := "Error: --validate \"maybe\": want strict (or true), warn, or ignore (or false)\n"; r.code != 125 || r.stderr != want {
		t.Errorf("--validate=maybe: exit %d, stderr %q; want 125, %q", r.code, r.stderr, want)
	}
}

// TestKubeValidateDuplicateKey: a key written twice is a warning naming both lines,
// and what is checked is its last value, as kubectl sends it.
func TestKubeValidateDuplicateKey(t *testing.T) {
	content := strings.Replace(cleanDeployment, "  replicas: 2\n", "  replicas: 2\n  replicas: -1\n  replicas: 3\n", 1)
	file := writeManifest(t, "dup.yaml", content)
	first := lineOf(t, content, "replicas: 2")
	r := validateWant(t, 0, nil, file)
	want := fmt.Sprintf("%[1]s:%[2]d:3: warning: Deployment/web: spec.replicas: duplicate key \"replicas\" (first at line %[3]d); the last value is used (manifest.duplicate-key)\n", file, first+1, first) +
		fmt.Sprintf("%[1]s:%[2]d:3: warning: Deployment/web: spec.replicas: duplicate key \"replicas\" (first at line %[3]d); the last value is used (manifest.duplicate-key)\n", file, first+2, first) +
		"0 errors, 2 warnings, 0 changes in 1 object\n"
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	validateWant(t, 1, nil, "--strict", file)
	negative := strings.Replace(cleanDeployment, "  replicas: 2\n", "  replicas: 2\n  replicas: -1\n", 1)
	r = validateWant(t, 1, nil, writeManifest(t, "neg.yaml", negative))
	if !strings.Contains(r.stdout, "spec.replicas: Invalid value: -1") {
		t.Errorf("the last value (-1) is not the one checked:\n%s", r.stdout)
	}
}

func TestKubeValidateReadingErrors(t *testing.T) {
	content := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a: x\n  a: y\n---\n" +
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: quay.io/a/b:1\n    ports:\n    - containerPort: \"80\"\n"
	file := writeManifest(t, "bad.yaml", content)
	r := validateWant(t, 1, nil, "-o", "json", file)
	var got []string
	for _, f := range parseFindings(t, r.stdout) {
		if strings.HasPrefix(f.Rule, "manifest.") {
			got = append(got, fmt.Sprintf("%d:%d %s %s %s", f.Line, f.Col, f.Severity, f.Rule, f.Path))
		}
	}
	want := []string{"6:3 warning manifest.duplicate-key data.a", "16:7 error manifest.wrong-type spec.containers[0].ports[0].containerPort"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("reading findings %q, want %q", got, want)
	}
	syntax := writeManifest(t, "syntax.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n   bad: indent\n")
	r = validateWant(t, 1, nil, syntax)
	if want := syntax + ":5: error: -: invalid YAML: "; !strings.HasPrefix(r.stdout, want) {
		t.Errorf("stdout %q, want it to start with %q", r.stdout, want)
	}
}

func TestKubeValidateStdin(t *testing.T) {
	r := validateWant(t, 1, []byte(privilegedPod), "--openshift", "-")
	if !strings.Contains(r.stdout, "<stdin>:") || !strings.Contains(r.stdout, "Privileged containers are not allowed") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	validateWant(t, 0, []byte(cleanDeployment), "--strict", "-")
}

func TestKubeValidateURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/agent.yaml" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/yaml")
		fmt.Fprint(w, privilegedPod)
	}))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server on %s, want 127.0.0.1", srv.URL)
	}
	url := srv.URL + "/agent.yaml"
	r := validateWant(t, 1, nil, "--openshift", url)
	if !strings.Contains(r.stdout, url+":13:7: error: Pod/agent: spec.containers[0].securityContext.privileged") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	r = validateWant(t, 2, nil, srv.URL+"/gone.yaml")
	if want := "Error: fetching " + srv.URL + "/gone.yaml: server answered 404 Not Found\n"; r.stderr != want || r.stdout != "" {
		t.Errorf("stderr %q, want %q; stdout %q", r.stderr, want, r.stdout)
	}
}

func TestKubeValidateUnreadable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	good := writeManifest(t, "web.yaml", cleanDeployment)
	r := validateWant(t, 2, nil, good, missing)
	if want := fmt.Sprintf("Error: reading %q: no such file or directory\n", missing); r.stderr != want || r.stdout != "" {
		t.Errorf("stderr %q, want %q; stdout %q", r.stderr, want, r.stdout)
	}
	dir := t.TempDir()
	r = validateWant(t, 2, nil, dir)
	if !strings.Contains(r.stderr, dir) || !strings.Contains(r.stderr, "is a directory") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestKubeValidateThousandDocuments(t *testing.T) {
	var b strings.Builder
	for i := range 1000 {
		if i > 0 {
			b.WriteString("---\n")
		}
		doc := strings.Replace(cleanDeployment, "name: web\nspec:", fmt.Sprintf("name: web-%d\nspec:", i), 1)
		b.WriteString(strings.ReplaceAll(doc, "app: web\n", fmt.Sprintf("app: web-%d\n", i)))
	}
	file := writeManifest(t, "many.yaml", b.String())
	start := time.Now()
	r := validateWant(t, 0, nil, "--openshift", "--pss", "restricted", file)
	t.Logf("kube validate --openshift --pss restricted of 1,000 Deployments: %s (whole process)", time.Since(start))
	if !strings.HasSuffix(r.stdout, " in 1000 objects\n") {
		t.Errorf("summary: %s", r.stdout[max(0, len(r.stdout)-200):])
	}
}
