package pod

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/engine/svcproxy"
	"github.com/podbay/podbay/podspec"
)

// SyncServices brings every pod on a network up to date with the recorded
// Services and the pods that are ready now: /etc/hosts names, the cluster
// search path in resolv.conf and the nat rules behind each cluster IP; and
// publishes node ports on the host. Run it whenever a pod or Service comes,
// goes or changes readiness.
func (sv *Services) Sync(ctx context.Context) error { return sv.syncServices(ctx, "") }

// SyncPodServices prepares one pod that is about to start its containers:
// its names and rules for the Services as they are now.
func (sv *Services) SyncPod(ctx context.Context, podID string) error {
	return sv.syncServices(ctx, podID)
}

func (sv *Services) syncServices(ctx context.Context, only string) error {
	unlock, err := sv.lockServices()
	if err != nil {
		return err
	}
	defer unlock()
	svcs, err := sv.List(ctx)
	if err != nil {
		return err
	}
	if len(svcs) == 0 && !sv.servicesApplied() {
		return nil // the common case: no Service, nothing to undo
	}
	pods, err := sv.servicePods(ctx)
	if err != nil {
		return err
	}
	eps := endpoints(svcs, pods)
	var errs []error
	nets := map[string]bool{}
	for _, p := range pods {
		if p.ip == "" || (only != "" && p.st.Pod.ID != only) {
			continue
		}
		nets[p.st.Spec.NetworkName()] = true
		errs = append(errs, sv.syncPod(ctx, p, svcs, eps))
	}
	for n := range nets {
		errs = append(errs, sv.refreshPeerHosts(ctx, n))
	}
	if only == "" {
		errs = append(errs, sv.syncHostPorts(ctx, svcs, eps))
	}
	return errors.Join(errs...)
}

// hostMarker exists while this root has node port rules on the host.
func (sv *Services) hostMarker() string { return filepath.Join(sv.Runroot, "pods", ".services-host") }

// servicesApplied reports whether an earlier sync left anything to undo.
func (sv *Services) servicesApplied() bool {
	if _, err := os.Stat(sv.hostMarker()); err == nil {
		return true
	}
	found, _ := filepath.Glob(filepath.Join(sv.Runroot, "pods", "*", "hosts.services"))
	return len(found) > 0
}

func (sv *Services) lockServices() (func(), error) {
	return lockPath(filepath.Join(sv.Runroot, "pods", ".services.lock"))
}

// servicePod is a pod as Services see it.
type servicePod struct {
	st        *PodStatus
	spec      podspec.Pod // its spec (a played pod's has its Kubernetes source)
	namespace string
	ip        string // "" when not on a network
	ready     bool
}

func (sv *Services) servicePods(ctx context.Context) ([]servicePod, error) {
	sts, err := sv.Pods.PodStatuses(ctx)
	if err != nil {
		return nil, err
	}
	ips := map[string]string{}
	seen := map[string]bool{}
	for _, st := range sts {
		n := st.Spec.NetworkName()
		if !onNetwork(&st.Spec) || seen[n] {
			continue
		}
		seen[n] = true
		atts, err := sv.Networks.Attachments(ctx, n)
		if err != nil {
			continue // a network removed under us: its pods have no address
		}
		for _, a := range atts {
			ips[a.ContainerID] = a.IP
		}
	}
	out := make([]servicePod, 0, len(sts))
	for _, st := range sts {
		p := servicePod{st: st, spec: st.Spec, namespace: "default"}
		if p.spec.Namespace != "" {
			p.namespace = p.spec.Namespace
		}
		if st.Infra != nil && st.Infra.State == state.StateRunning && onNetwork(&st.Spec) {
			p.ip = ips[st.Pod.ID]
		}
		p.ready = p.ip != "" && sv.podReady(st)
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].st.Pod.Name < out[j].st.Pod.Name })
	return out, nil
}

// podReady: every app container runs and, where the monitor reports
// readiness (<runroot>/containers/<id>/ready), is ready.
func (sv *Services) podReady(st *PodStatus) bool {
	apps := 0
	for _, c := range st.Containers {
		if isInit(c) {
			continue
		}
		apps++
		if c.State != state.StateRunning || !sv.Pods.ContainerReady(c) {
			return false
		}
	}
	return apps > 0
}

// ContainerReady is the kubelet's readiness of a running container: what its
// monitor reports (readiness probe, startup probe and postStart done); else a
// ready file ("true" or "1"); else running is ready.
func (m *Manager) ContainerReady(c *state.Container) bool {
	if st := m.status(c); st != nil {
		return st.Ready
	}
	b, err := os.ReadFile(filepath.Join(m.containerRunDir(c.ID), "ready"))
	if err != nil {
		return true
	}
	v := strings.TrimSpace(string(b))
	return v == "true" || v == "1"
}

// endpoint is one ready pod behind a Service.
type endpoint struct {
	pod   *servicePod
	ports []int // per Service port, 0 where the pod has no such named port
}

// endpoints finds each Service's ready pods: same namespace, labels
// matching a non-empty selector.
func endpoints(svcs []Service, pods []servicePod) map[string][]endpoint {
	out := map[string][]endpoint{}
	for _, s := range svcs {
		if len(s.Selector) == 0 {
			continue
		}
		for i := range pods {
			p := &pods[i]
			if !p.ready || p.namespace != s.Namespace || !selects(s.Selector, p.st.Pod.Labels) {
				continue
			}
			e := endpoint{pod: p}
			for _, sp := range s.Ports {
				e.ports = append(e.ports, targetPort(sp, &p.spec))
			}
			out[s.key()] = append(out[s.key()], e)
		}
	}
	return out
}

func selects(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// targetPort resolves a Service port's target on one pod: by number, or by
// the name of one of its containers' ports.
func targetPort(sp ServicePort, spec *podspec.Pod) int {
	if sp.TargetPortName == "" {
		if sp.TargetPort != 0 {
			return int(sp.TargetPort)
		}
		return int(sp.Port)
	}
	for _, c := range spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == sp.TargetPortName && strings.EqualFold(firstNonEmpty(cp.Protocol, "TCP"), sp.Protocol) {
				return int(cp.ContainerPort)
			}
		}
	}
	return 0
}

// proxyPorts are the rules a Service needs: one per port with a cluster IP
// (none for headless Services), with node ports on the host.
func proxyPorts(s Service, eps []endpoint, host bool) []svcproxy.Port {
	if s.headless() && !host {
		return nil
	}
	var out []svcproxy.Port
	for i, sp := range s.Ports {
		p := svcproxy.Port{Service: s.key(), Name: sp.Name, Protocol: sp.Protocol, Port: int(sp.Port)}
		if host {
			p.NodePorts = s.hostPorts(sp)
			if len(p.NodePorts) == 0 {
				continue
			}
		} else {
			p.ClusterIP = s.ClusterIP
		}
		for _, e := range eps {
			if e.ports[i] != 0 {
				p.Endpoints = append(p.Endpoints, svcproxy.Endpoint{IP: e.pod.ip, Port: e.ports[i]})
			}
		}
		out = append(out, p)
	}
	return out
}

// syncPod writes one pod's service names and search path and programs its
// namespace; a pod never touched by Services costs nothing while none exist.
func (sv *Services) syncPod(ctx context.Context, p servicePod, svcs []Service, eps map[string][]endpoint) error {
	path := netnsPathIn(sv.Runroot, p.st.Pod.ID)
	if !sv.Host.IsNetNS(path) {
		return nil // stopped or removed under us
	}
	section := podEtcIn(sv.Runroot, p.st.Pod.ID).hosts + ".services"
	table := svcproxy.Table{NetNS: path}
	if len(svcs) == 0 {
		if _, err := os.Stat(section); os.IsNotExist(err) {
			return nil
		}
		return errors.Join(os.Remove(section), sv.Rules.Remove(ctx, table))
	}
	if err := writeInPlace(section, []byte(servicesHosts(p.namespace, svcs, eps))); err != nil {
		return err
	}
	if err := sv.clusterSearch(p); err != nil {
		return err
	}
	var ports []svcproxy.Port
	for _, s := range svcs {
		ports = append(ports, proxyPorts(s, eps[s.key()], false)...)
	}
	return sv.Rules.Apply(ctx, table, ports)
}

// clusterSearch adds the cluster search path to a played pod's resolv.conf
// unless its dnsPolicy asks for the host's own.
func (sv *Services) clusterSearch(p servicePod) error {
	if len(p.spec.Source) == 0 || !clusterDNS(p.spec.Network.DNS.Policy) {
		return nil
	}
	path := podEtcIn(sv.Runroot, p.st.Pod.ID).resolv
	resolv, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if next := withClusterSearch(string(resolv), p.namespace); next != string(resolv) {
		return writeInPlace(path, []byte(next))
	}
	return nil
}

// syncHostPorts publishes node ports through DNAT rules in the host's
// namespace, owned by this root; with none left, the rules go.
func (sv *Services) syncHostPorts(ctx context.Context, svcs []Service, eps map[string][]endpoint) error {
	var ports []svcproxy.Port
	for _, s := range svcs {
		ports = append(ports, proxyPorts(s, eps[s.key()], true)...)
	}
	if len(ports) == 0 {
		return sv.RemoveHost(ctx)
	}
	if err := writeInPlace(sv.hostMarker(), nil); err != nil {
		return err
	}
	return sv.Rules.Apply(ctx, svcproxy.Table{Scope: sv.Root}, ports)
}

// RemoveHostServices deletes this root's node port rules from the host.
func (sv *Services) RemoveHost(ctx context.Context) error {
	if err := sv.Rules.Remove(ctx, svcproxy.Table{Scope: sv.Root}); err != nil {
		return err
	}
	if err := os.Remove(sv.hostMarker()); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

func clusterDNS(policy string) bool {
	return policy == "" || policy == "ClusterFirst" || policy == "ClusterFirstWithHostNet"
}

// servicesHosts is the services section of a pod's /etc/hosts: NAME (same
// namespace only), NAME.NAMESPACE and NAME.NAMESPACE.svc.cluster.local for
// each Service; a headless one lists its ready pods, and a pod whose
// hostname and subdomain name it gets HOSTNAME.NAME... too.
func servicesHosts(ns string, svcs []Service, eps map[string][]endpoint) string {
	var b strings.Builder
	names := func(host, svcNS string) string {
		fq := []string{host + "." + svcNS, host + "." + svcNS + ".svc.cluster.local"}
		if svcNS == ns {
			fq = append([]string{host}, fq...)
		}
		return strings.Join(fq, " ")
	}
	for _, s := range svcs {
		if !s.headless() {
			fmt.Fprintf(&b, "%s\t%s\n", s.ClusterIP, names(s.Name, s.Namespace))
			continue
		}
		for _, e := range eps[s.key()] {
			fmt.Fprintf(&b, "%s\t%s\n", e.pod.ip, names(s.Name, s.Namespace))
		}
		for _, e := range eps[s.key()] {
			if h := e.pod.spec.Hostname; h != "" && e.pod.spec.Subdomain == s.Name {
				fmt.Fprintf(&b, "%s\t%s\n", e.pod.ip, names(h+"."+s.Name, s.Namespace))
			}
		}
	}
	return b.String()
}

// serviceHosts returns the services section written beside a pod's hosts
// file, for refreshPeerHosts to append.
func serviceHosts(hostsPath string) []byte {
	b, _ := os.ReadFile(hostsPath + ".services")
	return b
}

// withClusterSearch puts the namespace's cluster domains first on the
// search line of a resolv.conf, keeping the other domains after them.
func withClusterSearch(resolv, ns string) string {
	search := []string{ns + ".svc.cluster.local", "svc.cluster.local", "cluster.local"}
	var lines []string
	for _, line := range strings.Split(strings.TrimRight(resolv, "\n"), "\n") {
		if f := strings.Fields(line); len(f) > 0 && (f[0] == "search" || f[0] == "domain") {
			search = append(search, f[1:]...)
			continue
		}
		if line != "" {
			lines = append(lines, line)
		}
	}
	lines = append(lines, "search "+strings.Join(uniq(search), " "))
	return strings.Join(lines, "\n") + "\n"
}
