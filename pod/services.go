package pod

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

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

// Services keeps the recorded Services and brings every pod's view of them
// up to date: names in its hosts file, the cluster search path, and the
// rules behind each cluster IP and node port. It reads the pods through
// Pods and programs rules through Rules, so it is a concern of its own;
// Manager.Services gives the one over a manager's pods.
type Services struct {
	State         *state.Store
	Root, Runroot string
	Networks      Networks
	Host          Host
	Pods          ServicePods
	// Rules programs the nat rules (default: iptables through svcproxy).
	Rules ServiceRules
}

// ServicePods is what Services need of the pods.
type ServicePods interface {
	PodStatuses(ctx context.Context) ([]*PodStatus, error)
	ContainerReady(c *state.Container) bool
}

// ServiceRules programs a table of Service rules (in a pod's network
// namespace, or node ports on the host).
type ServiceRules interface {
	Apply(ctx context.Context, t svcproxy.Table, ports []svcproxy.Port) error
	Remove(ctx context.Context, t svcproxy.Table) error
}

// iptablesRules are svcproxy's tables, in iptables.
type iptablesRules struct{}

func (iptablesRules) Apply(ctx context.Context, t svcproxy.Table, ports []svcproxy.Port) error {
	return t.Apply(ctx, ports)
}
func (iptablesRules) Remove(ctx context.Context, t svcproxy.Table) error { return t.Remove(ctx) }

// Services are the manager's Services, over its pods.
func (m *Manager) Services() *Services {
	return &Services{State: m.State, Root: m.Root, Runroot: m.Runroot, Networks: m.Networks, Host: m.host(), Pods: m,
		Rules: iptablesRules{}}
}

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
func (sv *Services) Put(ctx context.Context, svcs []Service) ([]Service, error) {
	out := make([]Service, len(svcs))
	err := sv.State.Update(ctx, func(tx *state.Tx) error {
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
func (sv *Services) Delete(ctx context.Context, namespace, name string) error {
	return sv.State.Update(ctx, func(tx *state.Tx) error {
		return tx.DeleteObject(serviceKind, namespace+"/"+name)
	})
}

// Services lists the recorded Services, sorted by namespace and name.
func (sv *Services) List(ctx context.Context) ([]Service, error) {
	var all map[string]Service
	err := sv.State.View(ctx, func(tx *state.Tx) error {
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
func (sv *Services) Fields(ctx context.Context) (map[string]string, error) {
	svcs, err := sv.List(ctx)
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
