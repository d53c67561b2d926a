package pod

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/podbay/podbay/engine/network"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/engine/svcproxy"
)

// Service types, as Kubernetes names them.
const (
	ServiceClusterIP    = "ClusterIP"
	ServiceNodePort     = "NodePort"
	ServiceLoadBalancer = "LoadBalancer"
	// ClusterIPNone makes a Service headless: its names resolve to the pods' own addresses.
	ClusterIPNone = "None"
)

// ServiceRange is where Service addresses are allocated.
var ServiceRange = netip.MustParsePrefix("10.96.0.0/16")

// nodePortMin and nodePortMax bound allocated node ports, as in Kubernetes.
const nodePortMin, nodePortMax = 30000, 32767

// serviceKind is the state object kind of Services.
const serviceKind = "kube-service"

// Service is a Kubernetes Service kept in the state store: its names resolve,
// from every pod on a network, to its address (or, headless, to its ready pods).
type Service struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Type      string            `json:"type"`
	ClusterIP string            `json:"clusterIP,omitempty"` // allocated when empty; "None" is headless
	Selector  map[string]string `json:"selector,omitempty"`
	Ports     []ServicePort     `json:"ports,omitempty"`
}

// ServicePort maps a Service port to a pod port, by number or by container port name.
type ServicePort struct {
	Name           string `json:"name,omitempty"`
	Protocol       string `json:"protocol"`
	Port           int32  `json:"port"`
	TargetPort     int32  `json:"targetPort,omitempty"`
	TargetPortName string `json:"targetPortName,omitempty"`
	NodePort       int32  `json:"nodePort,omitempty"` // allocated for NodePort and LoadBalancer
}

func (s *Service) key() string { return s.Namespace + "/" + s.Name }

func (s *Service) headless() bool { return s.ClusterIP == ClusterIPNone }

// hostPorts are the ports a Service publishes on the host: node ports, and
// for a LoadBalancer its own ports too (as k3s and Docker Desktop do).
func (s *Service) hostPorts(p ServicePort) []int {
	var out []int
	if s.Type == ServiceNodePort || s.Type == ServiceLoadBalancer {
		out = append(out, int(p.NodePort))
	}
	if s.Type == ServiceLoadBalancer && p.Port != p.NodePort {
		out = append(out, int(p.Port))
	}
	return out
}

// PutServices records Services, allocating each a cluster IP and node ports
// (a Service played again keeps its own), in one transaction. Host ports in
// use by another Service or by a listener on the host are refused.
func (m *Manager) PutServices(ctx context.Context, svcs []Service) ([]Service, error) {
	out := make([]Service, len(svcs))
	err := m.State.Update(ctx, func(tx *state.Tx) error {
		all, err := servicesIn(tx)
		if err != nil {
			return err
		}
		for i, s := range svcs {
			if s.Namespace == "" {
				s.Namespace = "default"
			}
			if prev, ok := all[s.key()]; ok {
				keepAllocation(&s, prev)
				delete(all, s.key())
			}
			if err := allocateService(&s, all); err != nil {
				return err
			}
			all[s.key()] = s
			out[i] = s
			if err := tx.PutObject(serviceKind, s.key(), s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteService forgets a Service; a missing one is not an error.
func (m *Manager) DeleteService(ctx context.Context, namespace, name string) error {
	return m.State.Update(ctx, func(tx *state.Tx) error {
		return tx.DeleteObject(serviceKind, namespace+"/"+name)
	})
}

// Services lists the recorded Services, sorted by namespace and name.
func (m *Manager) Services(ctx context.Context) ([]Service, error) {
	var all map[string]Service
	err := m.State.View(ctx, func(tx *state.Tx) error {
		var err error
		all, err = servicesIn(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Service, 0, len(all))
	for _, s := range all {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out, nil
}

// ServiceFields returns the runtime fields "service:<namespace>/<name>" ->
// cluster IP, for Spec.ResolveRuntime (service link variables).
func (m *Manager) ServiceFields(ctx context.Context) (map[string]string, error) {
	svcs, err := m.Services(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, s := range svcs {
		if !s.headless() {
			out["service:"+s.key()] = s.ClusterIP
		}
	}
	return out, nil
}

func servicesIn(tx *state.Tx) (map[string]Service, error) {
	raw, err := tx.Objects(serviceKind)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Service, len(raw))
	for k, v := range raw {
		var s Service
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("service %s: %w", k, err)
		}
		out[k] = s
	}
	return out, nil
}

// keepAllocation gives a Service played again the address and node ports
// it had, where it does not set them itself.
func keepAllocation(s *Service, prev Service) {
	if s.ClusterIP == "" && !prev.headless() {
		s.ClusterIP = prev.ClusterIP
	}
	for i := range s.Ports {
		for _, pp := range prev.Ports {
			if s.Ports[i].NodePort == 0 && pp.Port == s.Ports[i].Port && pp.Protocol == s.Ports[i].Protocol {
				s.Ports[i].NodePort = pp.NodePort
			}
		}
	}
}

// allocateService fills in a Service's cluster IP and node ports, clear of
// the others, and checks that its host ports are free.
func allocateService(s *Service, others map[string]Service) error {
	usedIP, usedPort := map[string]string{}, map[int]string{}
	for k, o := range others {
		usedIP[o.ClusterIP] = k
		for _, p := range o.Ports {
			for _, hp := range o.hostPorts(p) {
				usedPort[hp] = k
			}
		}
	}
	switch {
	case s.ClusterIP == "":
		ip, err := pickClusterIP(s.key(), usedIP)
		if err != nil {
			return err
		}
		s.ClusterIP = ip
	case s.headless():
	default:
		if a, err := netip.ParseAddr(s.ClusterIP); err != nil || !a.Is4() || a.IsLoopback() || a.IsUnspecified() {
			return fmt.Errorf("service %s: clusterIP %q: want an IPv4 address", s.key(), s.ClusterIP)
		}
		if k, ok := usedIP[s.ClusterIP]; ok {
			return fmt.Errorf("service %s: clusterIP %s is already the address of service %s", s.key(), s.ClusterIP, k)
		}
	}
	for i := range s.Ports {
		p := &s.Ports[i]
		if p.NodePort == 0 && (s.Type == ServiceNodePort || s.Type == ServiceLoadBalancer) {
			p.NodePort = int32(pickNodePort(s.key()+"/"+strconv.Itoa(int(p.Port)), usedPort))
		}
		for _, hp := range s.hostPorts(*p) {
			if k, ok := usedPort[hp]; ok {
				return fmt.Errorf("service %s: host port %d is already published by service %s", s.key(), hp, k)
			}
			if err := hostPortFree(p.Protocol, hp); err != nil {
				return fmt.Errorf("service %s: host port %d: %w", s.key(), hp, err)
			}
			usedPort[hp] = s.key()
		}
	}
	return nil
}

// pickClusterIP starts from a hash of the key, so a Service keeps its
// address across plays, and probes for a free one.
func pickClusterIP(key string, used map[string]string) (string, error) {
	base := binary.BigEndian.Uint32(ServiceRange.Addr().AsSlice())
	size := uint32(1) << (32 - ServiceRange.Bits())
	start := hash32(key) % size
	for i := uint32(0); i < size; i++ {
		off := (start + i) % size
		if off < 2 || off == size-1 { // the network, 10.96.0.1 (kubernetes), broadcast
			continue
		}
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], base+off)
		ip := netip.AddrFrom4(b).String()
		if _, taken := used[ip]; !taken {
			return ip, nil
		}
	}
	return "", fmt.Errorf("service %s: no free address left in %s", key, ServiceRange)
}

func pickNodePort(key string, used map[int]string) int {
	n := nodePortMax - nodePortMin + 1
	start := int(hash32(key) % uint32(n))
	for i := 0; i < n; i++ {
		p := nodePortMin + (start+i)%n
		if _, taken := used[p]; !taken && hostPortFree("TCP", p) == nil {
			return p
		}
	}
	return nodePortMin + start
}

func hash32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// hostPortFree reports a listener already bound to the port on the host.
func hostPortFree(proto string, port int) error {
	addr := ":" + strconv.Itoa(port)
	if strings.EqualFold(proto, "UDP") {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// SyncServices brings every pod on a network up to date with the recorded
// Services and the pods that are ready now: /etc/hosts names, the cluster
// search path in resolv.conf and the nat rules behind each cluster IP; and
// publishes node ports on the host. Run it whenever a pod or Service comes,
// goes or changes readiness.
func (m *Manager) SyncServices(ctx context.Context) error { return m.syncServices(ctx, "") }

// SyncPodServices prepares one pod that is about to start its containers:
// its names and rules for the Services as they are now.
func (m *Manager) SyncPodServices(ctx context.Context, podID string) error {
	return m.syncServices(ctx, podID)
}

func (m *Manager) syncServices(ctx context.Context, only string) error {
	unlock, err := m.lockServices()
	if err != nil {
		return err
	}
	defer unlock()
	svcs, err := m.Services(ctx)
	if err != nil {
		return err
	}
	if len(svcs) == 0 && !m.servicesApplied() {
		return nil // the common case: no Service, nothing to undo
	}
	pods, err := m.servicePods(ctx)
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
		nets[p.st.Options.Network] = true
		errs = append(errs, m.syncPod(ctx, p, svcs, eps))
	}
	for n := range nets {
		errs = append(errs, m.refreshPeerHosts(ctx, n))
	}
	if only == "" {
		errs = append(errs, m.syncHostPorts(ctx, svcs, eps))
	}
	return errors.Join(errs...)
}

// hostMarker exists while this root has node port rules on the host.
func (m *Manager) hostMarker() string { return filepath.Join(m.Runroot, "pods", ".services-host") }

// servicesApplied reports whether an earlier sync left anything to undo.
func (m *Manager) servicesApplied() bool {
	if _, err := os.Stat(m.hostMarker()); err == nil {
		return true
	}
	found, _ := filepath.Glob(filepath.Join(m.Runroot, "pods", "*", "hosts.services"))
	return len(found) > 0
}

func (m *Manager) lockServices() (func(), error) {
	lock := filepath.Join(m.Runroot, "pods", ".services.lock")
	if err := os.MkdirAll(filepath.Dir(lock), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", lock, err)
	}
	return func() { f.Close() }, nil
}

// servicePod is a pod as Services see it.
type servicePod struct {
	st        *PodStatus
	spec      Spec // the played spec; empty for pods made by `pod create`
	namespace string
	ip        string // "" when not on a network
	ready     bool
}

func (m *Manager) servicePods(ctx context.Context) ([]servicePod, error) {
	sts, err := m.PodStatuses(ctx)
	if err != nil {
		return nil, err
	}
	ips := map[string]string{}
	seen := map[string]bool{}
	for _, st := range sts {
		n := st.Options.Network
		if n == NetworkHost || n == NetworkNone || seen[n] {
			continue
		}
		seen[n] = true
		atts, err := m.Networks.Attachments(ctx, n)
		if err != nil {
			continue // a network removed under us: its pods have no address
		}
		for _, a := range atts {
			ips[a.ContainerID] = a.IP
		}
	}
	out := make([]servicePod, 0, len(sts))
	for _, st := range sts {
		p := servicePod{st: st, namespace: "default"}
		if len(st.Options.Source) > 0 {
			_ = json.Unmarshal(st.Options.Source, &p.spec)
		}
		if p.spec.Namespace != "" {
			p.namespace = p.spec.Namespace
		}
		if st.Infra != nil && st.Infra.State == state.StateRunning && onNetwork(st) {
			p.ip = ips[st.Pod.ID]
		}
		p.ready = p.ip != "" && m.podReady(st)
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].st.Pod.Name < out[j].st.Pod.Name })
	return out, nil
}

func onNetwork(st *PodStatus) bool {
	return st.Options.Network != NetworkHost && st.Options.Network != NetworkNone
}

// podReady: every app container runs and, where the monitor reports
// readiness (<runroot>/containers/<id>/ready), is ready.
func (m *Manager) podReady(st *PodStatus) bool {
	apps := 0
	for _, c := range st.Containers {
		if isInit(c) {
			continue
		}
		apps++
		if c.State != state.StateRunning || !m.containerReady(c.ID) {
			return false
		}
	}
	return apps > 0
}

// containerReady reads the monitor's readiness file: "true" or "1" is
// ready; no file means no readiness probe, so running is ready.
func (m *Manager) containerReady(id string) bool {
	b, err := os.ReadFile(filepath.Join(m.containerRunDir(id), "ready"))
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
func targetPort(sp ServicePort, spec *Spec) int {
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
func (m *Manager) syncPod(ctx context.Context, p servicePod, svcs []Service, eps map[string][]endpoint) error {
	path := m.netnsPath(p.st.Pod.ID)
	if !network.IsNetNS(path) {
		return nil // stopped or removed under us
	}
	section := m.podEtc(p.st.Pod.ID).hosts + ".services"
	table := svcproxy.Table{NetNS: path}
	if len(svcs) == 0 {
		if _, err := os.Stat(section); os.IsNotExist(err) {
			return nil
		}
		return errors.Join(os.Remove(section), table.Remove(ctx))
	}
	if err := writeInPlace(section, []byte(servicesHosts(p.namespace, svcs, eps))); err != nil {
		return err
	}
	if err := m.clusterSearch(p); err != nil {
		return err
	}
	var ports []svcproxy.Port
	for _, s := range svcs {
		ports = append(ports, proxyPorts(s, eps[s.key()], false)...)
	}
	return table.Apply(ctx, ports)
}

// clusterSearch adds the cluster search path to a played pod's resolv.conf
// unless its dnsPolicy asks for the host's own.
func (m *Manager) clusterSearch(p servicePod) error {
	if len(p.st.Options.Source) == 0 || !clusterDNS(p.spec.Network.DNS.Policy) {
		return nil
	}
	path := m.podEtc(p.st.Pod.ID).resolv
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
func (m *Manager) syncHostPorts(ctx context.Context, svcs []Service, eps map[string][]endpoint) error {
	var ports []svcproxy.Port
	for _, s := range svcs {
		ports = append(ports, proxyPorts(s, eps[s.key()], true)...)
	}
	if len(ports) == 0 {
		return m.RemoveHostServices(ctx)
	}
	if err := writeInPlace(m.hostMarker(), nil); err != nil {
		return err
	}
	return svcproxy.Table{Scope: m.Root}.Apply(ctx, ports)
}

// RemoveHostServices deletes this root's node port rules from the host.
func (m *Manager) RemoveHostServices(ctx context.Context) error {
	if err := (svcproxy.Table{Scope: m.Root}).Remove(ctx); err != nil {
		return err
	}
	if err := os.Remove(m.hostMarker()); err != nil && !os.IsNotExist(err) {
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
