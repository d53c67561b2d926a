package validate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func ptr[T any](v T) *T { return &v }

// goodPod is a pod spec every layer accepts (OpenShift only changes it).
func goodPod() corev1.PodSpec {
	return corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name:  "web",
			Image: "quay.io/podbay/web:1.0",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")},
			},
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr(false),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
		}},
	}
}

func deployment(mut func(*corev1.PodSpec)) Object {
	spec := goodPod()
	if mut != nil {
		mut(&spec)
	}
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}
	return Object{Kind: "Deployment", Name: "web", Obj: d}
}

func rules(r Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Severity+" "+f.Rule)
	}
	return out
}

// TestRules checks, rule by rule, that a minimal change to a good Deployment
// yields exactly the expected findings.
func TestRules(t *testing.T) {
	c0 := func(s *corev1.PodSpec) *corev1.Container { return &s.Containers[0] }
	cases := []struct {
		name string
		opts Options
		mut  func(*corev1.PodSpec)
		want []string
	}{
		{"good", Options{}, nil, nil},
		{"k8s.required image", Options{}, func(s *corev1.PodSpec) { c0(s).Image = "" }, []string{"error k8s.required"}},
		{"k8s.invalid port", Options{}, func(s *corev1.PodSpec) { c0(s).Ports[0].ContainerPort = 0 }, []string{"error k8s.required"}},
		{"k8s.notsupported restartPolicy", Options{}, func(s *corev1.PodSpec) { s.RestartPolicy = "Sometimes" }, []string{"error k8s.notsupported", "error k8s.notsupported"}},
		{"privileged passes the API server", Options{}, func(s *corev1.PodSpec) {
			c0(s).SecurityContext = &corev1.SecurityContext{Privileged: ptr(true)}
		}, []string{"warning pss.baseline.privileged"}},
		{"pss baseline is an error with --pss baseline", Options{PSS: "baseline"}, func(s *corev1.PodSpec) { s.HostNetwork = true },
			[]string{"error pss.baseline.hostNamespaces"}},
		{"pss restricted", Options{PSS: "restricted"}, func(s *corev1.PodSpec) { c0(s).SecurityContext = nil },
			[]string{"error pss.restricted.allowPrivilegeEscalation", "error pss.restricted.capabilities_restricted"}},
		{"openshift privileged", Options{OpenShift: true}, func(s *corev1.PodSpec) { c0(s).SecurityContext.Privileged = ptr(true) },
			[]string{"error k8s.invalid", "warning pss.baseline.privileged", "error openshift.scc.privileged", "error openshift.scc.admission"}},
		{"openshift uid outside the range", Options{OpenShift: true, UIDRange: "2000/10"}, func(s *corev1.PodSpec) { s.SecurityContext.RunAsUser = ptr(int64(1999)) },
			[]string{"error openshift.scc.admission", "error openshift.scc.run-as-user"}},
		{"openshift uid inside the range", Options{OpenShift: true, UIDRange: "2000/10"}, func(s *corev1.PodSpec) { s.SecurityContext.RunAsUser = ptr(int64(2009)) },
			[]string{"change openshift.change.fs-group", "change openshift.change.selinux-level"}},
		{"short name", Options{}, func(s *corev1.PodSpec) { c0(s).Image = "busybox:1.36" }, []string{"warning portability.short-image-name"}},
		{"latest", Options{}, func(s *corev1.PodSpec) { c0(s).Image = "quay.io/x/y:latest" }, []string{"warning portability.latest-tag"}},
		{"registry port is not a tag", Options{}, func(s *corev1.PodSpec) { c0(s).Image = "localhost:5000/y" }, []string{"warning portability.missing-tag"}},
		{"privileged port", Options{}, func(s *corev1.PodSpec) { c0(s).Ports[0].ContainerPort = 80 }, []string{"warning portability.privileged-port"}},
		{"root may bind port 80", Options{}, func(s *corev1.PodSpec) {
			c0(s).Ports[0].ContainerPort = 80
			s.SecurityContext.RunAsNonRoot = nil
		}, nil},
		{"probe on an undeclared named port", Options{}, func(s *corev1.PodSpec) {
			c0(s).LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intOrString("metrics")}}}
		}, []string{"warning portability.probe-port"}},
		{"no resources", Options{}, func(s *corev1.PodSpec) { c0(s).Resources = corev1.ResourceRequirements{} },
			[]string{"warning portability.missing-limits", "warning portability.missing-requests"}},
		{"pss privileged checks nothing", Options{PSS: "privileged"}, func(s *corev1.PodSpec) { s.HostPID = true }, nil},
		{"unknown pss level", Options{PSS: "strict"}, nil, []string{"error options.pss"}},
		{"strict rejects warnings", Options{Strict: true}, func(s *corev1.PodSpec) { c0(s).Image = "quay.io/x/y" }, []string{"warning portability.missing-tag"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Validate([]Object{deployment(tc.mut)}, tc.opts)
			got := rules(r)
			if !slices.Equal(sorted(got), sorted(tc.want)) {
				t.Fatalf("findings:\n%s\nwant rules %v", r.Text(), tc.want)
			}
			wantRejected := slices.ContainsFunc(tc.want, func(s string) bool {
				return strings.HasPrefix(s, "error") || (tc.opts.Strict && strings.HasPrefix(s, "warning"))
			})
			if r.Rejected != wantRejected {
				t.Errorf("Rejected = %v, want %v", r.Rejected, wantRejected)
			}
		})
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestLeastPrivilegedSCC(t *testing.T) {
	env := envOf(Options{})
	cases := []struct {
		name string
		mut  func(*corev1.PodSpec)
		want string
	}{
		{"default", func(*corev1.PodSpec) {}, "restricted-v2"},
		{"fixed uid", func(s *corev1.PodSpec) { s.SecurityContext.RunAsUser = ptr(int64(1001)) }, "nonroot-v2"},
		{"host network", func(s *corev1.PodSpec) { s.HostNetwork = true }, "hostnetwork-v2"},
		{"root without seccomp", func(s *corev1.PodSpec) {
			s.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr(int64(0))}
		}, "anyuid"},
		{"host path as root", func(s *corev1.PodSpec) {
			s.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr(int64(0))}
			s.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv"}}}}
		}, "hostmount-anyuid"},
		{"host pid", func(s *corev1.PodSpec) {
			s.SecurityContext.SeccompProfile = nil
			s.HostPID = true
		}, "hostaccess"},
		{"privileged", func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.Privileged = ptr(true) }, "privileged"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := goodPod()
			tc.mut(&spec)
			if got := leastPrivilegedSCC(&spec, env); got != tc.want {
				t.Errorf("least privileged SCC = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMutate(t *testing.T) {
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "quay.io/x/app:1"}}}
	changes := Mutate(&spec, Options{UIDRange: "5000/100"})
	sc, psc := spec.Containers[0].SecurityContext, spec.SecurityContext
	switch {
	case sc == nil || psc == nil:
		t.Fatalf("no security context after Mutate: %+v", spec)
	case *sc.RunAsUser != 5000 || !*sc.RunAsNonRoot || *sc.AllowPrivilegeEscalation:
		t.Errorf("container security context = %+v", sc)
	case !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}):
		t.Errorf("drop = %v, want [ALL]", sc.Capabilities.Drop)
	case *psc.FSGroup != 5000 || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault || psc.SELinuxOptions.Level != defaultMCS:
		t.Errorf("pod security context = %+v", psc)
	}
	if len(changes) != 7 {
		t.Errorf("got %d changes, want 7:\n%s", len(changes), Report{Findings: changes}.Text())
	}
	for _, c := range changes {
		if c.Severity != SeverityChange || !strings.HasPrefix(c.Path, "spec.") {
			t.Errorf("bad change %s", c)
		}
	}
	// A second pass changes nothing: the mutated spec is what restricted-v2 admits as is.
	if again := Mutate(&spec, Options{UIDRange: "5000/100"}); len(again) != 0 {
		t.Errorf("second Mutate changed:\n%s", Report{Findings: again}.Text())
	}
}

func TestMutateRejected(t *testing.T) {
	spec := corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{{Name: "app", Image: "quay.io/x/app:1"}}}
	fs := Mutate(&spec, Options{})
	if spec.SecurityContext != nil {
		t.Errorf("rejected spec was changed: %+v", spec.SecurityContext)
	}
	last := fs[len(fs)-1]
	want := `unable to validate against any security context constraint: [provider "restricted-v2": spec.securityContext.hostNetwork: Invalid value: true: Host network is not allowed to be used, provider "nonroot-v2": Forbidden`
	if last.Rule != ruleAdmission || !strings.HasPrefix(last.Message, want) {
		t.Errorf("last finding = %s\nwant message starting %s", last, want)
	}
}

func TestFindingFormats(t *testing.T) {
	f := Finding{Rule: "k8s.invalid", Severity: SeverityError, Position: Position{File: "app.yaml", Line: 12, Col: 7},
		Path: "spec.replicas", Object: "Deployment/web", Message: "Invalid value: -1: must be greater than or equal to 0", Hint: "set replicas >= 0"}
	wantText := "app.yaml:12:7: error: Deployment/web: spec.replicas: Invalid value: -1: must be greater than or equal to 0 (k8s.invalid)\n  hint: set replicas >= 0"
	if f.String() != wantText {
		t.Errorf("text:\n%s\nwant:\n%s", f, wantText)
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"rule":"k8s.invalid","severity":"error","file":"app.yaml","line":12,"col":7,"path":"spec.replicas","object":"Deployment/web","message":"Invalid value: -1: must be greater than or equal to 0","hint":"set replicas \u003e= 0"}`
	if string(b) != wantJSON {
		t.Errorf("json:\n%s\nwant:\n%s", b, wantJSON)
	}
	for p, want := range map[Position]string{{}: "-", {File: "a"}: "a", {File: "a", Line: 3}: "a:3"} {
		if p.String() != want {
			t.Errorf("%#v.String() = %q, want %q", p, p.String(), want)
		}
	}
}

func TestParseUIDRange(t *testing.T) {
	for in, want := range map[string]UIDRange{"": {1000650000, 10000}, "5000/100": {5000, 100}} {
		got, err := ParseUIDRange(in)
		if err != nil || got != want {
			t.Errorf("ParseUIDRange(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"5000", "x/1", "5/0", "5/-1", "-1/5"} {
		if _, err := ParseUIDRange(in); err == nil {
			t.Errorf("ParseUIDRange(%q) succeeded", in)
		}
	}
}

// allRules lists every rule id Validate can emit, bar internal errors; the corpus
// must exercise each one.
var allRules = []string{
	"k8s.required", "k8s.invalid", "k8s.duplicate", "k8s.notsupported",
	"pss.baseline.privileged", "pss.baseline.hostNamespaces", "pss.baseline.hostPorts", "pss.baseline.hostPathVolumes",
	"pss.baseline.capabilities_baseline", "pss.baseline.appArmorProfile", "pss.baseline.seLinuxOptions", "pss.baseline.procMount",
	"pss.baseline.seccompProfile_baseline", "pss.baseline.sysctls", "pss.baseline.hostProbesAndHostLifecycle",
	"pss.restricted.restrictedVolumes", "pss.restricted.allowPrivilegeEscalation", "pss.restricted.capabilities_restricted",
	"pss.restricted.runAsNonRoot", "pss.restricted.runAsUser", "pss.restricted.seccompProfile_restricted",
	"openshift.scc.admission", "openshift.scc.privileged", "openshift.scc.allow-privilege-escalation", "openshift.scc.capabilities",
	"openshift.scc.run-as-user", "openshift.scc.fs-group", "openshift.scc.selinux", "openshift.scc.seccomp", "openshift.scc.volumes",
	"openshift.scc.host-namespaces", "openshift.scc.host-ports", "openshift.scc.sysctls",
	"openshift.change.run-as-user", "openshift.change.run-as-non-root", "openshift.change.capabilities",
	"openshift.change.allow-privilege-escalation", "openshift.change.seccomp", "openshift.change.fs-group", "openshift.change.selinux-level",
	"portability.short-image-name", "portability.missing-tag", "portability.latest-tag", "portability.privileged-port",
	"portability.deploymentconfig", "portability.unchecked-kind", "portability.missing-requests", "portability.missing-limits",
	"portability.selector-overlap", "portability.service-selects-nothing", "portability.service-target-port", "portability.probe-port",
	"options.uid-range", "options.pss",
}

func TestCorpusCoversEveryRule(t *testing.T) {
	wants, _ := filepath.Glob(filepath.Join(corpusDir, "*.want"))
	if len(wants) < 40 {
		t.Errorf("corpus has %d cases, want at least 40", len(wants))
	}
	seen := map[string]bool{}
	ruleRE := regexp.MustCompile(`\(([a-z0-9._-]+[A-Za-z_]*)\)$`)
	for _, w := range wants {
		data, err := os.ReadFile(w)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if m := ruleRE.FindStringSubmatch(line); m != nil {
				seen[m[1]] = true
			}
		}
	}
	for _, r := range allRules {
		if !seen[r] {
			t.Errorf("no corpus case yields rule %s", r)
		}
	}
}

func intOrString(s string) intstr.IntOrString { return intstr.FromString(s) }
