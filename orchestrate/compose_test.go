package orchestrate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/kube/generate"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// composeBody is a Docker create body as docker-compose sends it for one
// service of project proj.
func composeBody(service string, body podspec.DockerCreate) (string, podspec.DockerCreate) {
	name := "proj_" + service + "_1"
	body.Image = "127.0.0.1:5000/busybox"
	body.Labels = map[string]string{ComposeProjectLabel: "proj", ComposeServiceLabel: service,
		composeNumberLabel: "1", composeOneoffLabel: "False", "com.docker.compose.project.working_dir": "/srv/proj"}
	body.HostConfig.NetworkMode = "proj_default"
	body.NetworkingConfig.EndpointsConfig = map[string]*podspec.DockerEndpoint{"proj_default": {Aliases: []string{service}}}
	return name, body
}

// composeInventory holds the three services of a Compose project as the
// Docker API makes them (podspec.FromDocker: pods of one), one more
// project's container and a one-off run.
func composeInventory(t *testing.T) *inventory {
	t.Helper()
	inv := &inventory{pods: map[string]*pod.PodStatus{}, ctrs: map[string]*state.Container{}}
	add := func(name string, body podspec.DockerCreate) {
		spec, err := podspec.FromDocker(name, body)
		if err != nil {
			t.Fatal(err)
		}
		view, _ := spec.View(spec.Containers[0].Name)
		raw, err := json.Marshal(view)
		if err != nil {
			t.Fatal(err)
		}
		c := &state.Container{ID: name + "-id", Name: name, Image: body.Image, ImageID: "img", PodID: name + "-pod", PodName: name,
			Labels: body.Labels, Config: raw}
		inv.ctrs[c.ID], inv.ctrs[name] = c, c
		inv.pods[name] = &pod.PodStatus{Pod: &state.Pod{ID: name + "-pod", Name: name}, Spec: spec, Containers: []*state.Container{c}}
	}
	add(composeBody("web", podspec.DockerCreate{Cmd: []string{"httpd", "-f", "-p", "80", "-h", "/www"},
		HostConfig: podspec.DockerHostConfig{Binds: []string{"/srv/proj/index.html:/www/index.html:ro", "/srv/proj/site:/site:rw"},
			PortBindings: map[string][]podspec.DockerPortBinding{"80/tcp": {{HostIp: "127.0.0.1", HostPort: "8080"}}}},
		ExposedPorts: map[string]struct{}{"80/tcp": {}}}))
	add(composeBody("api", podspec.DockerCreate{Cmd: []string{"sh", "-c", "exec httpd -f -p 8080"}, Env: []string{"CACHE_URL=http://cache:6379"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Healthcheck:  &podspec.DockerHealthcheck{Test: []string{"CMD", "wget", "-qO-", "http://localhost:8080/"}, Interval: 2e9}}))
	add(composeBody("cache", podspec.DockerCreate{Cmd: []string{"httpd", "-f", "-p", "6379"}, ExposedPorts: map[string]struct{}{"6379/tcp": {}},
		HostConfig: podspec.DockerHostConfig{Binds: []string{"proj_cachedata:/data:rw"}, RestartPolicy: podspec.DockerRestartPolicy{Name: "always"}}}))
	other, body := composeBody("other", podspec.DockerCreate{Cmd: []string{"true"}})
	body.Labels[ComposeProjectLabel] = "another"
	add(other, body)
	oneoff, body := composeBody("run", podspec.DockerCreate{Cmd: []string{"true"}})
	body.Labels[composeOneoffLabel] = "True"
	add(oneoff, body)
	return inv
}

// TestExportComposeGolden: a Compose project's containers export as one
// Deployment per service with Services for their ports, a ConfigMap for a
// small bind-mounted file (a directory stays a host path), a claim for a
// named volume (testdata/compose/project.want.yaml; go test ./orchestrate
// -update rewrites it).
func TestExportComposeGolden(t *testing.T) {
	e := newWorld().engine()
	e.Inventory = composeInventory(t)
	files := func(path string, limit int64) ([]byte, bool) {
		if path == "/srv/proj/index.html" {
			return []byte("hello from web\n"), true
		}
		return nil, false
	}
	pods, err := e.ExportCompose(context.Background(), "proj", files)
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 3 {
		t.Fatalf("%d pods exported, want the 3 services of proj", len(pods))
	}
	res, err := generate.Generate(pods, generate.Options{Service: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := generate.Render(res, "test")
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join("testdata", "compose", "project.want.yaml")
	if *update {
		if err := os.WriteFile(want, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w, err := os.ReadFile(want)
	if err != nil {
		t.Fatalf("%v (go test ./orchestrate -update)", err)
	}
	if !bytes.Equal(got, w) {
		t.Errorf("%s differs (go test ./orchestrate -update to accept):\n%s", want, got)
	}
	if _, err := e.ExportCompose(context.Background(), "nosuch", files); !errors.Is(err, ErrNoComposeProject) {
		t.Errorf("export of a missing project: %v, want ErrNoComposeProject", err)
	}
}

// TestReadSmallFile: a regular file within the limit is read; a larger
// one, a directory and a missing path are not.
func TestReadSmallFile(t *testing.T) {
	dir := t.TempDir()
	small, big := filepath.Join(dir, "small"), filepath.Join(dir, "big")
	os.WriteFile(small, []byte("abc"), 0o644)
	os.WriteFile(big, bytes.Repeat([]byte("x"), 11), 0o644)
	if data, ok := ReadSmallFile(small, 10); !ok || string(data) != "abc" {
		t.Errorf("small file: %q, %v", data, ok)
	}
	for _, p := range []string{big, dir, filepath.Join(dir, "missing")} {
		if _, ok := ReadSmallFile(p, 10); ok {
			t.Errorf("%s was read", p)
		}
	}
}
