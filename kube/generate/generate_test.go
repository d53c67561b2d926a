package generate

import (
	"bytes"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podbay/podbay/podspec"
)

const playedPod = `apiVersion: v1
kind: Pod
metadata:
  name: app
  labels: {app: app}
  annotations: {owner: bob}
spec:
  containers:
    - name: web
      image: nginx:1.26
      command: [nginx, -g, "daemon off;"]
    - name: gone
      image: busybox:1.36
`

// played returns the pod of playedPod as the runtime keeps it after kube play.
func played(t *testing.T) Pod {
	t.Helper()
	pods := playPods(t, decodeStrict(t, "in.yaml", []byte(playedPod)), caseOptions{}.play())
	return pods[0]
}

func render(t *testing.T, pods []Pod, opts Options) (string, *Result) {
	t.Helper()
	res, err := Generate(pods, opts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(res, testVersion)
	if err != nil {
		t.Fatal(err)
	}
	return string(out), res
}

// TestSourceUpdated checks that a played pod exports from its manifest, updated by
// what changed since: a new image, a container removed, a container added.
func TestSourceUpdated(t *testing.T) {
	p := played(t)
	p.Spec.Annotations = map[string]string{"owner": "bob", "podbay.io/play": "x"}
	p.Spec.Containers = []podspec.Container{p.Spec.Containers[0],
		{Name: "extra", Image: "redis:7", PullPolicy: "IfNotPresent", Command: []string{"redis-server"}}}
	p.Containers = []ContainerState{{Name: "web", Image: "nginx:1.27"}}
	out, _ := render(t, []Pod{p}, Options{})
	for _, want := range []string{"image: nginx:1.27", "- daemon off;", "name: extra", "- redis-server", "owner: bob"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"nginx:1.26", "name: gone", "app-web"} {
		if strings.Contains(out, bad) {
			t.Errorf("output has %q:\n%s", bad, out)
		}
	}
}

func TestAnnotations(t *testing.T) {
	p := played(t)
	src := strings.Replace(string(p.Spec.Source), `"owner":"bob"`, `"owner":"bob","podbay.io/replicas":"1","io.podman.annotations.init":"true"`, 1)
	p.Spec.Source = []byte(src)
	out, _ := render(t, []Pod{p}, Options{})
	if strings.Contains(out, "podbay.io/") || strings.Contains(out, "io.podman") || !strings.Contains(out, "owner: bob") {
		t.Errorf("engine annotations not dropped or user ones lost:\n%s", out)
	}
	out, _ = render(t, []Pod{p}, Options{PodbayAnnotations: true})
	if !strings.Contains(out, "podbay.io/replicas") || !strings.Contains(out, "io.podman.annotations.init") {
		t.Errorf("PodbayAnnotations did not keep engine annotations:\n%s", out)
	}
}

func TestTypes(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		want  []string
		notes int
	}{
		{"deployment", Options{Type: TypeDeployment, Replicas: 3}, []string{"kind: Deployment", "replicas: 3", "matchLabels:"}, 0},
		{"statefulset", Options{Type: TypeStatefulSet}, []string{"kind: StatefulSet", "serviceName: app"}, 0},
		{"daemonset", Options{Type: TypeDaemonSet}, []string{"kind: DaemonSet", "matchLabels:"}, 0},
		{"job", Options{Type: TypeJob}, []string{"kind: Job", "restartPolicy: Never"}, 1},
		{"pod", Options{Type: TypePod}, []string{"kind: Pod"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, res := render(t, []Pod{played(t)}, tt.opts)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if len(res.Notes) != tt.notes {
				t.Errorf("notes = %q, want %d", res.Notes, tt.notes)
			}
			for _, e := range apiErrors(decodeStrict(t, "out.yaml", []byte(out))) {
				t.Errorf("API validation: %s", e)
			}
		})
	}
}

func TestUnknownType(t *testing.T) {
	_, err := Generate(nil, Options{Type: "cronjob"})
	if err == nil || err.Error() != `generate: unknown type "cronjob" (want pod, deployment, statefulset, daemonset or job)` {
		t.Errorf("err = %v", err)
	}
}

func TestBadSource(t *testing.T) {
	p := played(t)
	p.Spec.Source = []byte("{")
	_, err := Generate([]Pod{p}, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), `pod "app": decoding its source: `) {
		t.Errorf("err = %v", err)
	}
}

// TestDeterministic checks that the output does not depend on the order of the pods.
func TestDeterministic(t *testing.T) {
	in, co := readCase(t, "../../testdata/roundtrip/13-volumes-emptydir-pvc.yaml")
	pods := append(playPods(t, decodeStrict(t, "a", in), co.play()), cliPods()...)
	first, _ := render(t, pods, Options{Service: true})
	for i := 0; i < 5; i++ {
		rev := make([]Pod, len(pods))
		for j := range pods {
			rev[len(pods)-1-j] = pods[j]
		}
		pods = rev
		again, _ := render(t, pods, Options{Service: true})
		if again != first {
			t.Fatalf("output depends on pod order:\n%s\n---- vs ----\n%s", first, again)
		}
	}
}

func TestCapabilities(t *testing.T) {
	tests := []struct {
		add, drop       []string
		wantAdd, wantDr []corev1.Capability
	}{
		{[]string{"CAP_NET_ADMIN", "net_raw", "CHOWN"}, nil, []corev1.Capability{"NET_ADMIN", "NET_RAW"}, nil},
		{[]string{"cap_chown"}, []string{"ALL"}, []corev1.Capability{"CHOWN"}, []corev1.Capability{"ALL"}},
		{nil, []string{"CAP_KILL", "cap_net_admin", "KILL", "mknod"}, nil, []corev1.Capability{"KILL", "MKNOD"}},
		{[]string{"CHOWN"}, nil, nil, nil},
	}
	for _, tt := range tests {
		got := capabilities(tt.add, tt.drop)
		var add, drop []corev1.Capability
		if got != nil {
			add, drop = got.Add, got.Drop
		}
		if !equalCaps(add, tt.wantAdd) || !equalCaps(drop, tt.wantDr) {
			t.Errorf("capabilities(%q, %q) = %v, %v; want %v, %v", tt.add, tt.drop, add, drop, tt.wantAdd, tt.wantDr)
		}
	}
}

func equalCaps(a, b []corev1.Capability) bool {
	return bytes.Equal([]byte(strings.Join(capStrings(a), ",")), []byte(strings.Join(capStrings(b), ",")))
}

func capStrings(cs []corev1.Capability) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

func TestCommandOf(t *testing.T) {
	img := &ImageConfig{Entrypoint: []string{"/entry"}, Cmd: []string{"serve"}}
	tests := []struct {
		name            string
		cmd, args       []string
		wantCmd, wantAr []string
	}{
		{"image default as process", []string{"/entry", "serve"}, nil, nil, nil},
		{"image default as args", nil, []string{"serve"}, nil, nil},
		{"nothing set", nil, nil, nil, nil},
		{"other args in process", []string{"/entry", "migrate"}, nil, nil, []string{"migrate"}},
		{"entrypoint and args", []string{"/entry"}, []string{"migrate"}, nil, []string{"migrate"}},
		{"entrypoint only drops cmd", []string{"/entry"}, nil, []string{"/entry"}, nil},
		{"other command", []string{"sh", "-c", "x"}, nil, []string{"sh", "-c", "x"}, nil},
	}
	for _, tt := range tests {
		c, a := commandOf(&podspec.Container{Command: tt.cmd, Args: tt.args}, img)
		if strings.Join(c, " ") != strings.Join(tt.wantCmd, " ") || strings.Join(a, " ") != strings.Join(tt.wantAr, " ") ||
			(c == nil) != (tt.wantCmd == nil) {
			t.Errorf("%s: got %q %q, want %q %q", tt.name, c, a, tt.wantCmd, tt.wantAr)
		}
	}
}
