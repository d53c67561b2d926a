package orchestrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

// inventory is a fake engine to export from: one command-line pod with a
// container, one standalone container.
type inventory struct {
	pods map[string]*pod.PodStatus
	ctrs map[string]*state.Container
}

func (i *inventory) PodStatusOf(_ context.Context, ref string) (*pod.PodStatus, error) {
	if st, ok := i.pods[ref]; ok {
		return st, nil
	}
	for _, st := range i.pods {
		if st.Pod.ID == ref {
			return st, nil
		}
	}
	return nil, fmt.Errorf("pod %s: %w", ref, state.ErrNotFound)
}

func (i *inventory) Lookup(_ context.Context, ref string) (*state.Container, error) {
	if c, ok := i.ctrs[ref]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("container %s: %w", ref, state.ErrNotFound)
}

func (i *inventory) List(context.Context) ([]*state.Container, error) {
	var out []*state.Container
	seen := map[string]bool{}
	for _, c := range i.ctrs { // under their names and IDs
		if !seen[c.ID] {
			seen[c.ID] = true
			out = append(out, c)
		}
	}
	return out, nil
}

func (i *inventory) ImageConfig(context.Context, string) (*v1.Config, error) {
	return &v1.Config{Cmd: []string{"sh"}, Env: []string{"PATH=/bin"}}, nil
}

func newInventory(t *testing.T) *inventory {
	t.Helper()
	podSpec, err := podspec.FromPodFlags(podspec.PodFlags{Name: "web", Publish: []string{"8080:80"}})
	if err != nil {
		t.Fatal(err)
	}
	ctr, err := podspec.FromContainerFlags(podspec.ContainerFlags{Name: "web-srv", Image: "busybox", Args: []string{"httpd", "-f"}})
	if err != nil {
		t.Fatal(err)
	}
	c := ctr.Containers[0]
	c.Name = "srv"
	podSpec.Containers = []podspec.Container{c}
	srvView, _ := podSpec.View("srv")
	view, _ := json.Marshal(srvView)
	srv := &state.Container{ID: "c1", Name: "web-srv", Image: "docker.io/library/busybox:latest", PodID: "p1", PodName: "web", Config: view}
	alone, err := podspec.FromContainerFlags(podspec.ContainerFlags{Name: "box_1", Image: "busybox", Args: []string{"sleep", "9"}, Memory: "64m"})
	if err != nil {
		t.Fatal(err)
	}
	aloneView, _ := json.Marshal(alone)
	return &inventory{
		pods: map[string]*pod.PodStatus{"web": {Pod: &state.Pod{ID: "p1", Name: "web"}, Spec: podSpec, Containers: []*state.Container{srv}}},
		ctrs: map[string]*state.Container{"web-srv": srv, "box_1": {ID: "c2", Name: "box_1", Image: "busybox", Config: aloneView,
			Labels: map[string]string{"team": "a"}}},
	}
}

func TestExport(t *testing.T) {
	w := newWorld()
	w.volumes["data"] = true
	e := w.engine()
	e.Inventory = newInventory(t)
	pods, vols, err := e.Export(context.Background(), []string{"web", "web-srv", "box_1", "data"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 3 || len(vols) != 1 || vols[0] != "data" {
		t.Fatalf("exported %d pods, volumes %v", len(pods), vols)
	}
	for i, want := range []string{"web", "web", "box-1"} {
		if pods[i].Spec.Name != want {
			t.Errorf("pod %d is %q, want %q", i, pods[i].Spec.Name, want)
		}
	}
	if c := pods[0].Spec.Containers; len(c) != 1 || c[0].Name != "srv" || pods[0].Containers[0].Name != "srv" || pods[0].Containers[0].ImageConfig == nil {
		t.Errorf("the pod's containers: %+v, states %+v", c, pods[0].Containers)
	}
	alone := pods[2]
	if alone.Spec.Network.Mode != podspec.NetworkBridge || alone.Spec.Labels["team"] != "a" || alone.Spec.Containers[0].Resources.MemoryLimit != 64<<20 {
		t.Errorf("the standalone container's pod: %+v", alone.Spec)
	}
	if _, _, err := e.Export(context.Background(), []string{"nothing"}); !errors.Is(err, ErrNothingNamed) {
		t.Errorf("export of nothing: %v", err)
	}
}
