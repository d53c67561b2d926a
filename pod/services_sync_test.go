package pod

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podbay/podbay/engine/network"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/engine/svcproxy"
	"github.com/podbay/podbay/podspec"
)

// fakePods are ready pods for Services.
type fakePods struct{ sts []*PodStatus }

func (f *fakePods) PodStatuses(context.Context) ([]*PodStatus, error) { return f.sts, nil }
func (f *fakePods) ContainerReady(*state.Container) bool              { return true }

// fakeRules records the tables programmed.
type fakeRules struct{ applied map[string][]svcproxy.Port }

func (f *fakeRules) Apply(_ context.Context, t svcproxy.Table, ports []svcproxy.Port) error {
	f.applied[t.NetNS+t.Scope] = ports
	return nil
}
func (f *fakeRules) Remove(_ context.Context, t svcproxy.Table) error {
	delete(f.applied, t.NetNS+t.Scope)
	return nil
}

func runningPod(id, name, ns string, labels map[string]string) *PodStatus {
	return &PodStatus{
		Pod:        &state.Pod{ID: id, Name: name, Labels: labels},
		Spec:       podspec.Pod{Name: name, Namespace: ns, Network: podspec.NetworkSpec{Mode: podspec.NetworkBridge}},
		Status:     PodRunning,
		Infra:      &state.Container{ID: id + "-infra", Infra: true, State: state.StateRunning},
		Containers: []*state.Container{{ID: id + "-c", State: state.StateRunning}},
	}
}

// TestServicesSync: a Service's names go into every pod's hosts file (the
// short name only in its own namespace), its rules into every pod's
// namespace, its node port onto the host; with the Service gone, the
// names and rules go too. No root: the pods, the network and the rules
// are fakes.
func TestServicesSync(t *testing.T) {
	ctx := context.Background()
	f := newFakes(t)
	pods := &fakePods{sts: []*PodStatus{
		runningPod("p1", "web", "shop", map[string]string{"app": "web"}),
		runningPod("p2", "client", "other", nil),
	}}
	for i, id := range []string{"p1", "p2"} {
		f.net.attached[id] = &network.Attachment{ContainerID: id, Network: "podbay", IP: "10.90.0." + string(rune('2'+i))}
		if _, err := f.host.NewNetNS(f.m.Runroot, id); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(f.m.Runroot, "pods", id), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rules := &fakeRules{applied: map[string][]svcproxy.Port{}}
	sv := &Services{State: f.m.State, Root: f.m.Root, Runroot: f.m.Runroot, Networks: f.net, Host: f.host, Pods: pods, Rules: rules}
	if _, err := sv.Put(ctx, []Service{{Name: "web", Namespace: "shop", Type: ServiceNodePort, Selector: map[string]string{"app": "web"},
		Ports: []ServicePort{{Protocol: "TCP", Port: 80, TargetPort: 8080, NodePort: 30999}}}}); err != nil {
		t.Fatal(err)
	}
	if err := sv.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	read := func(id string) string {
		b, _ := os.ReadFile(podEtcIn(f.m.Runroot, id).hosts + ".services")
		return string(b)
	}
	svcs, _ := sv.List(ctx)
	ip := svcs[0].ClusterIP
	if got, want := read("p1"), ip+"\tweb web.shop web.shop.svc.cluster.local\n"; got != want {
		t.Errorf("web's own pod's names: %q, want %q", got, want)
	}
	if got, want := read("p2"), ip+"\tweb.shop web.shop.svc.cluster.local\n"; got != want {
		t.Errorf("another namespace's pod's names: %q, want %q (no short name)", got, want)
	}
	ns := netnsPathIn(f.m.Runroot, "p2")
	if ports := rules.applied[ns]; len(ports) != 1 || ports[0].ClusterIP != ip || len(ports[0].Endpoints) != 1 ||
		ports[0].Endpoints[0].IP != "10.90.0.2" || ports[0].Endpoints[0].Port != 8080 {
		t.Errorf("rules in the client's namespace: %+v", ports)
	}
	if host := rules.applied[f.m.Root]; len(host) != 1 || host[0].NodePorts[0] != 30999 {
		t.Errorf("node port rules on the host: %+v", host)
	}
	if err := sv.Delete(ctx, "shop", "web"); err != nil {
		t.Fatal(err)
	}
	if err := sv.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if read("p1") != "" || len(rules.applied) != 0 {
		t.Errorf("after the Service went: names %q, rules %v", read("p1"), rules.applied)
	}
	if strings.Contains(read("p2"), "web") {
		t.Errorf("the client still resolves web")
	}
}
