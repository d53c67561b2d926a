package pod

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/podspec"
)

func servicePodFor(ns, ip string, spec podspec.Pod) *servicePod {
	return &servicePod{spec: spec, namespace: ns, ip: ip, ready: true}
}

func TestServicesHosts(t *testing.T) {
	svcs := []Service{
		{Name: "web", Namespace: "default", ClusterIP: "10.96.3.4"},
		{Name: "db", Namespace: "data", ClusterIP: ClusterIPNone},
	}
	eps := map[string][]endpoint{"data/db": {
		{pod: servicePodFor("data", "10.90.0.5", podspec.Pod{Hostname: "db-0", Subdomain: "db"})},
		{pod: servicePodFor("data", "10.90.0.6", podspec.Pod{})},
	}}
	got := servicesHosts("default", svcs, eps)
	want := "10.96.3.4\tweb web.default web.default.svc.cluster.local\n" +
		"10.90.0.5\tdb.data db.data.svc.cluster.local\n" +
		"10.90.0.6\tdb.data db.data.svc.cluster.local\n" +
		"10.90.0.5\tdb-0.db.data db-0.db.data.svc.cluster.local\n"
	if got != want {
		t.Errorf("from namespace default:\n%s\nwant:\n%s", got, want)
	}
	got = servicesHosts("data", svcs, nil)
	if want := "10.96.3.4\tweb.default web.default.svc.cluster.local\n"; got != want {
		t.Errorf("from namespace data:\n%s\nwant:\n%s", got, want)
	}
}

func TestWithClusterSearch(t *testing.T) {
	in := "nameserver 10.0.0.2\nsearch corp.example\noptions edns0\n"
	want := "nameserver 10.0.0.2\noptions edns0\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
	got := withClusterSearch(in, "shop")
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if again := withClusterSearch(got, "shop"); again != got {
		t.Errorf("not idempotent:\n%s", again)
	}
}

func TestTargetPort(t *testing.T) {
	spec := &podspec.Pod{Containers: []podspec.Container{{Ports: []podspec.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: "TCP"}, {Name: "dns", ContainerPort: 5353, Protocol: "UDP"}}}}}
	for name, tc := range map[string]struct {
		sp   ServicePort
		want int
	}{
		"number":       {ServicePort{Protocol: "TCP", Port: 80, TargetPort: 8080}, 8080},
		"defaulted":    {ServicePort{Protocol: "TCP", Port: 80}, 80},
		"named":        {ServicePort{Protocol: "TCP", Port: 80, TargetPortName: "http"}, 8080},
		"named udp":    {ServicePort{Protocol: "UDP", Port: 53, TargetPortName: "dns"}, 5353},
		"wrong proto":  {ServicePort{Protocol: "UDP", Port: 80, TargetPortName: "http"}, 0},
		"missing name": {ServicePort{Protocol: "TCP", Port: 80, TargetPortName: "admin"}, 0},
	} {
		if got := targetPort(tc.sp, spec); got != tc.want {
			t.Errorf("%s: got %d, want %d", name, got, tc.want)
		}
	}
}

func TestAllocateService(t *testing.T) {
	others := map[string]Service{
		"default/a": {Name: "a", Namespace: "default", ClusterIP: "10.96.0.10", Type: ServiceNodePort,
			Ports: []ServicePort{{Protocol: "TCP", Port: 80, NodePort: 30080}}},
	}
	s := Service{Name: "b", Namespace: "default", Type: ServiceNodePort, Ports: []ServicePort{{Protocol: "TCP", Port: 80}}}
	if err := allocateService(&s, others); err != nil {
		t.Fatal(err)
	}
	if !ServiceRange.Contains(mustAddr(t, s.ClusterIP)) || s.ClusterIP == "10.96.0.10" {
		t.Errorf("cluster IP %s: want a free one in %s", s.ClusterIP, ServiceRange)
	}
	if np := s.Ports[0].NodePort; np < nodePortMin || np > nodePortMax || np == 30080 {
		t.Errorf("node port %d: want a free one in %d-%d", np, nodePortMin, nodePortMax)
	}
	for name, tc := range map[string]struct {
		s    Service
		want string
	}{
		"taken ip":   {Service{Name: "c", Namespace: "default", ClusterIP: "10.96.0.10"}, "service default/c: clusterIP 10.96.0.10 is already the address of service default/a"},
		"bad ip":     {Service{Name: "c", Namespace: "default", ClusterIP: "fd00::1"}, `service default/c: clusterIP "fd00::1": want an IPv4 address`},
		"taken port": {Service{Name: "c", Namespace: "default", Type: ServiceNodePort, Ports: []ServicePort{{Protocol: "TCP", Port: 80, NodePort: 30080}}}, "service default/c: host port 30080 is already published by service default/a"},
	} {
		err := allocateService(&tc.s, others)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: err = %v, want %s", name, err, tc.want)
		}
	}
}

func TestKeepAllocation(t *testing.T) {
	prev := Service{ClusterIP: "10.96.7.7", Ports: []ServicePort{{Protocol: "TCP", Port: 80, NodePort: 31000}}}
	s := Service{Ports: []ServicePort{{Protocol: "TCP", Port: 80}, {Protocol: "TCP", Port: 443}}}
	keepAllocation(&s, prev)
	if s.ClusterIP != "10.96.7.7" || s.Ports[0].NodePort != 31000 || s.Ports[1].NodePort != 0 {
		t.Errorf("got %+v", s)
	}
}

func TestProxyPorts(t *testing.T) {
	s := Service{Name: "web", Namespace: "default", Type: ServiceLoadBalancer, ClusterIP: "10.96.0.20",
		Ports: []ServicePort{{Name: "http", Protocol: "TCP", Port: 80, NodePort: 30080}}}
	eps := []endpoint{{pod: &servicePod{ip: "10.90.0.2"}, ports: []int{8080}}, {pod: &servicePod{ip: "10.90.0.3"}, ports: []int{0}}}
	pod := proxyPorts(s, eps, false)
	if len(pod) != 1 || pod[0].ClusterIP != "10.96.0.20" || len(pod[0].NodePorts) != 0 || len(pod[0].Endpoints) != 1 || pod[0].Endpoints[0].Port != 8080 {
		t.Errorf("pod rules: %+v", pod)
	}
	host := proxyPorts(s, eps, true)
	if len(host) != 1 || host[0].ClusterIP != "" || !slices.Equal(host[0].NodePorts, []int{30080, 80}) {
		t.Errorf("host rules: %+v", host)
	}
	s.ClusterIP = ClusterIPNone
	s.Type = ServiceClusterIP
	if got := proxyPorts(s, eps, false); len(got) != 0 {
		t.Errorf("headless rules: %+v", got)
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestPodReady(t *testing.T) {
	m := &Manager{Runroot: t.TempDir()}
	app := &state.Container{ID: "app", State: state.StateRunning}
	view, _ := json.Marshal(podspec.Pod{InitContainers: []podspec.Container{{Name: "init"}}})
	initC := &state.Container{ID: "init", State: state.StateExited, Config: view}
	st := &PodStatus{Containers: []*state.Container{initC, app}}
	if !m.Services().podReady(st) {
		t.Error("a running pod without readiness files is not ready")
	}
	for value, want := range map[string]bool{"false\n": false, "0": false, "true\n": true, "1": true} {
		if err := os.MkdirAll(m.containerRunDir("app"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(m.containerRunDir("app"), "ready"), []byte(value), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := m.Services().podReady(st); got != want {
			t.Errorf("ready file %q: ready = %v, want %v", value, got, want)
		}
	}
	app.State = state.StateExited
	if m.Services().podReady(st) {
		t.Error("a pod whose app container exited is ready")
	}
	if m.Services().podReady(&PodStatus{Containers: []*state.Container{initC}}) {
		t.Error("a pod with no app container is ready")
	}
}

func TestEndpoints(t *testing.T) {
	pod := func(name, ns, ip string, ready bool, labels map[string]string) servicePod {
		return servicePod{st: &PodStatus{Pod: &state.Pod{Name: name, Labels: labels}}, namespace: ns, ip: ip, ready: ready}
	}
	web := map[string]string{"app": "web"}
	pods := []servicePod{
		pod("a", "default", "10.0.0.2", true, web),
		pod("b", "default", "10.0.0.3", false, web),
		pod("c", "other", "10.0.0.4", true, web),
		pod("d", "default", "10.0.0.5", true, map[string]string{"app": "db"}),
	}
	svcs := []Service{
		{Name: "web", Namespace: "default", Selector: web, Ports: []ServicePort{{Protocol: "TCP", Port: 80, TargetPort: 8080}}},
		{Name: "manual", Namespace: "default"},
	}
	eps := endpoints(svcs, pods)
	if got := eps["default/web"]; len(got) != 1 || got[0].pod.ip != "10.0.0.2" || got[0].ports[0] != 8080 {
		t.Errorf("default/web endpoints: %+v, want the ready pod of its namespace", got)
	}
	if got := eps["default/manual"]; len(got) != 0 {
		t.Errorf("a Service without selector has endpoints: %+v", got)
	}
}
