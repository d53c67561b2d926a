package generate

import (
	"bytes"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podbay/podbay/podspec"
)

var nginxImage = &ImageConfig{Entrypoint: []string{"/docker-entrypoint.sh"}, Cmd: []string{"nginx", "-g", "daemon off;"},
	Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NGINX_VERSION=1.27.0"}}

var busyboxImage = &ImageConfig{Cmd: []string{"sh"}, Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}

// cliPods are pods as `podbay pod create` and `podbay run --pod` make them: no Source.
func cliPods() []Pod {
	imageEnv := []podspec.EnvVar{{Name: "PATH", Value: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}
	web := podspec.Pod{
		Name: "web", Hostname: "web", Labels: map[string]string{"app": "web"},
		Annotations:   map[string]string{"owner": "alice", "podbay.io/created-by": "cli", "io.podman.annotations.autoremove": "false"},
		RestartPolicy: "Always", TerminationGracePeriodSeconds: 10,
		Network: podspec.NetworkSpec{Mode: podspec.NetworkBridge, Ports: []podspec.PortMapping{
			{HostPort: 8080, ContainerPort: 80, Protocol: "TCP"}, {HostPort: 30053, ContainerPort: 53, Protocol: "UDP"}},
			DNS: podspec.DNSSpec{Servers: []string{"9.9.9.9"}}, HostAliases: []podspec.HostAlias{{IP: "10.1.1.1", Names: []string{"db"}}}},
		Volumes: []podspec.Volume{
			{Name: "webdata", Kind: podspec.VolumePVC, ClaimName: "webdata"},
			{Name: "site", Kind: podspec.VolumeHostPath, HostPath: &podspec.HostPathSource{Path: "/srv/site", Type: "Directory"}},
			{Name: "tmp", Kind: podspec.VolumeEmptyDir, EmptyDir: &podspec.EmptyDirSource{Medium: "Memory"}},
		},
		Containers: []podspec.Container{{
			Name: "nginx", RuntimeName: "web-nginx", Image: "docker.io/library/nginx:1.27", PullPolicy: "IfNotPresent",
			Command:   []string{"/docker-entrypoint.sh", "nginx", "-g", "daemon off;"},
			Env:       append(imageEnv, podspec.EnvVar{Name: "NGINX_VERSION", Value: "1.27.0"}, podspec.EnvVar{Name: "MODE", Value: "prod"}),
			Resources: podspec.Resources{CPULimit: 1500, MemoryLimit: 256 << 20, CPURequest: 1500, MemoryRequest: 256 << 20},
			Security: podspec.ContainerSecurity{ReadOnlyRootfs: true, CapAdd: []string{"CAP_NET_ADMIN", "CAP_CHOWN", "cap_sys_time"},
				CapDrop: []string{"cap_sys_admin", "KILL"}},
			Mounts: []podspec.Mount{{Volume: "webdata", Destination: "/usr/share/nginx/html"},
				{Volume: "site", Destination: "/srv", ReadOnly: true}, {Volume: "tmp", Destination: "/tmp"}},
			Liveness: &podspec.Probe{Handler: podspec.Handler{HTTPGet: &podspec.HTTPGetAction{Path: "/", Port: 80, Scheme: "HTTP"}},
				PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3},
		}, {
			Name: "sidecar", RuntimeName: "web-sidecar", Image: "busybox:1.36", PullPolicy: "IfNotPresent",
			Args: []string{"sleep", "3600"}, Env: imageEnv, WorkingDir: "/work",
		}, {
			Name: "default-cmd", RuntimeName: "web-default-cmd", Image: "busybox:1.36", PullPolicy: "IfNotPresent",
			Command: []string{"sh"}, Env: imageEnv,
		}},
	}
	solo := podspec.Pod{
		Name: "solo", Hostname: "solo-host", RestartPolicy: "OnFailure", TerminationGracePeriodSeconds: 30,
		Network: podspec.NetworkSpec{Mode: podspec.NetworkHost},
		Containers: []podspec.Container{{Name: "solo", RuntimeName: "solo", Image: "alpine", PullPolicy: "Always",
			Command: []string{"sleep", "infinity"}, Security: podspec.ContainerSecurity{Privileged: true}}},
	}
	return []Pod{
		{Spec: web, Containers: []ContainerState{{Name: "nginx", ImageConfig: nginxImage},
			{Name: "sidecar", ImageConfig: busyboxImage}, {Name: "default-cmd", ImageConfig: busyboxImage}}},
		{Spec: solo},
	}
}

// TestGenerateWithoutSource exports pods made on the command line: golden output,
// Kubernetes spelling, image defaults left out, volumes mapped, and law 2.
func TestGenerateWithoutSource(t *testing.T) {
	res, err := Generate(cliPods(), Options{Service: true})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(res, testVersion)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/cli-pods.want.yaml", out)
	s := string(out)
	for _, want := range []string{"- NET_ADMIN", "- SYS_TIME", "- KILL", "name: MODE", "persistentVolumeClaim:",
		"kind: PersistentVolumeClaim", "hostPath:", "type: Directory", "medium: Memory", "nodePort: 30053",
		"hostname: solo-host", "hostNetwork: true", "owner: alice"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, bad := range []string{"CAP_", "CHOWN", "SYS_ADMIN", "NGINX_VERSION", "PATH", "/docker-entrypoint.sh",
		"web-nginx", "podbay.io/", "io.podman", "hostname: web", "- sh"} {
		if strings.Contains(s, bad) {
			t.Errorf("output has %q", bad)
		}
	}
	if len(res.Notes) != 2 || !strings.Contains(res.Notes[0], "host port 8080") || !strings.Contains(res.Notes[1], `"solo" declares no container port`) {
		t.Errorf("notes = %q, want host port 8080 and solo without ports", res.Notes)
	}
	set := decodeStrict(t, "out.yaml", out)
	for _, e := range apiErrors(set) {
		t.Errorf("API validation: %s", e)
	}
	// law 2: playing the export and exporting again gives the same bytes
	res2, err := Generate(playPods(t, set, caseOptionsFor(res).play()), Options{Service: true})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Render(res2, testVersion)
	if !bytes.Equal(again, out) {
		t.Errorf("law 2: the export of the played export differs:\n%s", again)
	}
}

// caseOptionsFor publishes what the first export's pods published.
func caseOptionsFor(*Result) caseOptions {
	return caseOptions{Publish: []string{"8080:80", "30053:53/udp"}}
}

// TestRenderKeepsLargeIntegers: an int64 beyond float64's 53 bits comes
// out of Render exactly (it came out as ...992).
func TestRenderKeepsLargeIntegers(t *testing.T) {
	deadline := int64(1<<53 + 1)
	p := &corev1.Pod{}
	p.Name = "x"
	p.Spec.Containers = []corev1.Container{{Name: "c", Image: "busybox"}}
	p.Spec.ActiveDeadlineSeconds = &deadline
	out, err := Render(&Result{Objects: []runtime.Object{p}}, testVersion)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "activeDeadlineSeconds: 9007199254740993\n") {
		t.Errorf("output lacks activeDeadlineSeconds: 9007199254740993:\n%s", out)
	}
}
