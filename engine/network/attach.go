package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
)

// PortMapping publishes a container port on the host.
type PortMapping struct {
	HostIP        string `json:"hostIP,omitempty"` // empty: every host address
	HostPort      uint16 `json:"hostPort"`
	ContainerPort uint16 `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"` // tcp (default) or udp
}

// AttachOptions name one container's attachment to one network.
type AttachOptions struct {
	ContainerID string // the pod's infra ID; the CNI container ID
	Name        string // the pod's name, for peers' /etc/hosts
	NetNS       string // path of the namespace (NewNetNS)
	Network     string // "" is the default network
	IfName      string // "" is eth0
	Ports       []PortMapping
	Aliases     []string
}

// Attachment is the result of Attach, also kept under Root until Detach.
type Attachment struct {
	ContainerID string          `json:"containerID"`
	Name        string          `json:"name,omitempty"`
	Network     string          `json:"network"`
	NetNS       string          `json:"netns"`
	Interface   string          `json:"interface"`
	IP          string          `json:"ip"`     // address without prefix length
	Prefix      string          `json:"prefix"` // address with prefix length
	Gateway     string          `json:"gateway,omitempty"`
	MAC         string          `json:"mac,omitempty"`
	Ports       []PortMapping   `json:"ports,omitempty"`
	Aliases     []string        `json:"aliases,omitempty"`
	Created     time.Time       `json:"created"`
	Conflist    json.RawMessage `json:"conflist"` // what ADD ran, for DEL
}

// Peer is one attachment seen by the other pods of its network.
type Peer struct {
	ContainerID string
	Name        string
	Aliases     []string
	IP          string
}

func (o *AttachOptions) normalize() error {
	if o.ContainerID == "" {
		return errors.New("attach: container ID is required")
	}
	if o.IfName == "" {
		o.IfName = "eth0"
	}
	for i := range o.Ports {
		p := &o.Ports[i]
		p.Protocol = strings.ToLower(p.Protocol)
		if p.Protocol == "" {
			p.Protocol = "tcp"
		}
		if p.Protocol != "tcp" && p.Protocol != "udp" {
			return fmt.Errorf("port %d/%s: protocol must be tcp or udp", p.HostPort, p.Protocol)
		}
		if p.HostPort == 0 || p.ContainerPort == 0 {
			return fmt.Errorf("port mapping %d:%d/%s: ports must be 1-65535", p.HostPort, p.ContainerPort, p.Protocol)
		}
	}
	return nil
}

func (o *AttachOptions) runtimeConf(netns string) *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{ContainerID: o.ContainerID, NetNS: netns, IfName: o.IfName}
	if len(o.Ports) > 0 {
		pm := make([]map[string]any, 0, len(o.Ports))
		for _, p := range o.Ports {
			pm = append(pm, map[string]any{
				"hostPort": int(p.HostPort), "containerPort": int(p.ContainerPort),
				"protocol": p.Protocol, "hostIP": p.HostIP,
			})
		}
		rt.CapabilityArgs = map[string]any{"portMappings": pm}
	}
	return rt
}

// Attach brings up loopback, makes sure the network's iptables rules are
// in place and claims them for the container (see ensureRules; the last
// Detach from the network removes them) while it runs the network's CNI
// ADD for the namespace: bridge (which runs host-local), and portmap when
// ports are published (after the rules, then). Published host ports are
// checked first (the error names the port). Whatever ADD half-created is
// torn down on error.
func (m *Manager) Attach(ctx context.Context, opts AttachOptions) (*Attachment, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	n, err := m.Get(ctx, opts.Network)
	if err != nil {
		return nil, fmt.Errorf("attaching %.12s: %w", opts.ContainerID, err)
	}
	opts.Network = n.Name
	if _, err := m.readAttachment(n.Name, opts.ContainerID); err == nil {
		return nil, fmt.Errorf("attaching %.12s to network %q: %w", opts.ContainerID, n.Name, ErrAttached)
	}
	if !IsNetNS(opts.NetNS) {
		return nil, fmt.Errorf("attaching %.12s to network %q: %s is not a network namespace", opts.ContainerID, n.Name, opts.NetNS)
	}
	if len(opts.Ports) > 0 {
		if n.Internal {
			return nil, fmt.Errorf("attaching %.12s: network %q is internal: ports cannot be published", opts.ContainerID, n.Name)
		}
		// Port checks and ADD run under one lock so that two processes
		// cannot publish the same port at once.
		unlock, err := lockFile(filepath.Join(m.dir, ".ports.lock"))
		if err != nil {
			return nil, err
		}
		defer unlock()
		if err := m.checkPorts(opts.ContainerID, opts.Ports); err != nil {
			return nil, fmt.Errorf("attaching %.12s to network %q: %w", opts.ContainerID, n.Name, err)
		}
	}
	a, err := m.add(ctx, n, &opts)
	if err != nil {
		return nil, fmt.Errorf("attaching %.12s to network %q: %w", opts.ContainerID, n.Name, err)
	}
	return a, nil
}

func (m *Manager) add(ctx context.Context, n *Network, opts *AttachOptions) (*Attachment, error) {
	conf, err := conflistJSON(m.opts.Root, n, listOptions{Publish: len(opts.Ports) > 0})
	if err != nil {
		return nil, err
	}
	list, err := parseConfList(conf)
	if err != nil {
		return nil, err
	}
	// lo in-process (netlink) rather than through the loopback plugin: one
	// exec less, and nothing to DEL (lo dies with the namespace).
	if err := SetupLoopback(opts.NetNS); err != nil {
		return nil, err
	}
	// The network's rules and the ADD are independent, and the first
	// attach since the rules went (at the network's last detach) installs
	// them: three iptables runs, as long as the ADD. So they run at once,
	// unless ports are published: then the rules go first, so that
	// portmap's jumps still come after podbay's.
	bridgeUp := linkExists(n.Bridge) // looked at before the ADD creates it
	rules := make(chan error, 1)
	go func() { rules <- m.claimRules(ctx, n, opts.ContainerID, bridgeUp) }()
	rulesWaited := false
	waitRules := func() error { // the claim's error, once
		if rulesWaited {
			return nil
		}
		rulesWaited = true
		return <-rules
	}
	if len(opts.Ports) > 0 {
		if err := waitRules(); err != nil {
			return nil, errors.Join(err, cleanupErr(m.releaseRules(context.WithoutCancel(ctx), n.Name, opts.ContainerID, true)))
		}
	}
	rt := opts.runtimeConf(opts.NetNS)
	// undo tears down what the plugins did before a failure (IP lease,
	// veth, portmap's rules), then drops the claim on the network's rules
	// (and the rules, were this the only container).
	undo := func(err error) error {
		cctx := context.WithoutCancel(ctx)
		err = errors.Join(err, waitRules()) // the claim is made before it is dropped
		return errors.Join(err,
			cleanupErr(m.delList(cctx, list, rt, true)),
			cleanupErr(m.ipt.sweep(cctx, sweepsFor(list), n.Name, opts.ContainerID, nil)),
			cleanupErr(m.releaseRules(cctx, n.Name, opts.ContainerID, true)))
	}
	a, err := m.addList(ctx, n, list, rt, opts)
	if err != nil {
		return nil, undo(err)
	}
	if err := waitRules(); err != nil {
		return nil, undo(err)
	}
	a.Conflist = conf
	if len(opts.Ports) > 0 {
		// 127.0.0.1 may only be DNATed to the bridge with route_localnet
		// (portmap sets it as well; be sure).
		if err := setSysctl(fmt.Sprintf("net/ipv4/conf/%s/route_localnet", n.Bridge), "1"); err != nil {
			m.log.WarnContext(ctx, "enabling route_localnet", "bridge", n.Bridge, "err", err)
		}
	}
	if err := m.writeAttachment(a); err != nil {
		return nil, undo(err)
	}
	m.log.DebugContext(ctx, "network attached", "container", opts.ContainerID, "network", n.Name, "ip", a.IP)
	return a, nil
}

// addList runs the CNI ADD of list and makes the attachment of its result.
func (m *Manager) addList(ctx context.Context, n *Network, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf, opts *AttachOptions) (*Attachment, error) {
	res, err := m.cni.AddNetworkList(ctx, list, rt)
	if err != nil {
		return nil, classifyAddError(n, err)
	}
	return attachmentFromResult(res, opts)
}

// sweep runs the iptables sweeps s asks for.
func (t ipTables) sweep(ctx context.Context, s sweeps, network, containerID string, ips []string) error {
	var errs []error
	if s.ids {
		errs = append(errs, t.sweepIPTables(ctx, containerID))
	}
	if s.addresses {
		errs = append(errs, t.sweepAddressRules(ctx, ips))
	}
	if s.chains {
		errs = append(errs, t.sweepPluginChains(ctx, network, containerID))
	}
	return errors.Join(errs...)
}

func cleanupErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("cleaning up: %w", err)
}

// classifyAddError turns an exhausted host-local range into ErrSubnetExhausted.
func classifyAddError(n *Network, err error) error {
	if strings.Contains(err.Error(), "no IP addresses available") {
		return fmt.Errorf("subnet %s: %w: %w", n.Subnet, ErrSubnetExhausted, err)
	}
	return fmt.Errorf("CNI ADD: %w", err)
}

func attachmentFromResult(res types.Result, opts *AttachOptions) (*Attachment, error) {
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		return nil, fmt.Errorf("converting CNI result: %w", err)
	}
	a := &Attachment{
		ContainerID: opts.ContainerID, Name: opts.Name, Network: opts.Network, NetNS: opts.NetNS,
		Interface: opts.IfName, Ports: opts.Ports, Aliases: opts.Aliases, Created: time.Now().UTC(),
	}
	for _, ifc := range r.Interfaces {
		if ifc.Name == opts.IfName && ifc.Sandbox != "" {
			a.MAC = ifc.Mac
		}
	}
	for _, ip := range r.IPs {
		if ip.Address.IP.To4() == nil {
			continue
		}
		a.IP = ip.Address.IP.String()
		a.Prefix = ip.Address.String()
		if ip.Gateway != nil {
			a.Gateway = ip.Gateway.String()
		}
		break
	}
	if a.IP == "" {
		return nil, errors.New("CNI result has no IPv4 address")
	}
	return a, nil
}

// Detach runs CNI DEL for an attachment. It is idempotent and works from
// the saved attachment even when the namespace is already gone. The last
// container to leave a network takes the network's iptables rules with it
// (see releaseRules), while its DEL runs; while others remain, Detach runs
// no iptables. Without published ports it runs bridge DEL alone: the
// iptables sweeps run only for what can have left rules (portmap, an older
// podbay's ipMasq and firewall plugin, or an unknown config after a killed
// ADD).
func (m *Manager) Detach(ctx context.Context, opts AttachOptions) error {
	if opts.ContainerID == "" {
		return errors.New("detach: container ID is required")
	}
	if opts.Network == "" {
		opts.Network = m.opts.DefaultName
	}
	a, err := m.readAttachment(opts.Network, opts.ContainerID)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if a != nil {
		opts.Ports, opts.IfName = a.Ports, a.Interface
		if opts.NetNS == "" {
			opts.NetNS = a.NetNS
		}
	}
	if opts.IfName == "" {
		opts.IfName = "eth0"
	}
	// An older podbay ran the loopback plugin through libcni: drop its
	// cache entry (a file; no plugin runs, lo dies with the namespace).
	lo := &libcni.NetworkConfigList{Name: legacyLoopbackNetwork, CNIVersion: cniVersion}
	if err := m.cni.DelNetworkList(ctx, lo, &libcni.RuntimeConf{ContainerID: opts.ContainerID, IfName: "lo"}); err != nil {
		m.log.DebugContext(ctx, "dropping the loopback cache entry", "container", opts.ContainerID, "err", err)
	}
	conf, err := m.detachConfig(opts, a)
	if err != nil {
		return err
	}
	if conf == nil {
		// Nothing to detach; a claim may still be left by a process killed
		// between ensureRules and the attachment record, or by a Detach
		// killed before it dropped it.
		if err := m.releaseRules(ctx, opts.Network, opts.ContainerID, false); err != nil {
			return fmt.Errorf("detaching %.12s from network %q: %w", opts.ContainerID, opts.Network, err)
		}
		return nil
	}
	netns := opts.NetNS
	if !IsNetNS(netns) {
		netns = "" // plugins then only release what lives outside it
	}
	list, err := parseConfList(conf)
	if err != nil {
		return err
	}
	s := allSweeps
	if a != nil {
		s = sweepsFor(list)
	}
	// A process killed inside ADD leaves rules no DEL can find without the
	// address (the firewall plugin's carry no container ID): take it from
	// the lease before DEL releases it.
	var ips []string
	if s.addresses {
		ips = m.leasedIPs(opts.Network, opts.ContainerID)
	}
	// The container leaves the network: its record goes, then its claim
	// (and the network's rules with the last claim) while DEL runs. The
	// rules and the DEL are independent: bridge DEL runs no iptables, and
	// portmap's rules, or an older podbay's, have chains of their own. The
	// last container's rules take an iptables-save and an iptables-restore,
	// as long as the DEL. The record goes first because a record without a
	// claim keeps the rules (see otherRulesUsers): two last containers
	// detaching at once would each see the other's. A Detach killed after
	// that finds the config in libcni's cache, as after a killed ADD; a
	// failed DEL writes the record back for the retry.
	if a != nil {
		if err := os.Remove(m.attachmentPath(opts.Network, opts.ContainerID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("detaching %.12s: %w", opts.ContainerID, err)
		}
	}
	// always: a container attached before claims existed has none, and
	// may be the last one.
	released := make(chan error, 1)
	go func() { released <- m.releaseRules(ctx, opts.Network, opts.ContainerID, true) }()
	var errs []error
	// Without a record (a play killed inside ADD), a plugin that is not
	// installed, or whose IPAM plugin is not, did nothing to undo.
	if err := m.delList(ctx, list, opts.runtimeConf(netns), a == nil); err != nil {
		errs = append(errs, fmt.Errorf("CNI DEL: %w", err))
	}
	errs = append(errs, m.ipt.sweep(ctx, s, opts.Network, opts.ContainerID, ips), <-released)
	if err := errors.Join(errs...); err != nil {
		if a != nil {
			err = errors.Join(err, m.writeAttachment(a))
		}
		return fmt.Errorf("detaching %.12s from network %q: %w", opts.ContainerID, opts.Network, err)
	}
	return nil
}

// detachConfig finds the config list to run DEL with: the saved attachment,
// else libcni's cache, else the network's current config. Nil means there
// is nothing to detach (nothing leased, or the network is gone too).
func (m *Manager) detachConfig(opts AttachOptions, a *Attachment) ([]byte, error) {
	if a != nil && len(a.Conflist) > 0 {
		return a.Conflist, nil
	}
	ifName := opts.IfName
	if ifName == "" {
		ifName = "eth0"
	}
	stub := &libcni.NetworkConfigList{Name: opts.Network}
	if cached, _, err := m.cni.GetNetworkListCachedConfig(stub, &libcni.RuntimeConf{ContainerID: opts.ContainerID, IfName: ifName}); err == nil && cached != nil {
		return cached, nil
	}
	// Neither is left by a Detach that already succeeded, and by a process
	// killed inside ADD. Without a lease ADD got no further than the bridge
	// plugin's veth (portmap, an older podbay's ipMasq and firewall all run
	// after host-local leased the address), which dies with the namespace:
	// with the namespace gone there is nothing to do, and a second Detach
	// costs no plugin run. With the namespace still there, DEL removes the
	// veth now rather than whenever the kernel gets round to destroying the
	// namespace.
	if len(m.leasedIPs(opts.Network, opts.ContainerID)) == 0 && !IsNetNS(opts.NetNS) {
		return nil, nil
	}
	// Else DEL with the network's config (plugins treat DEL of nothing as
	// success).
	n, err := m.read(opts.Network)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return conflistJSON(m.opts.Root, n, listOptions{Publish: true})
}

func (m *Manager) attachmentDir(network string) string {
	return filepath.Join(m.dir, "attachments", network)
}

func (m *Manager) attachmentPath(network, id string) string {
	return filepath.Join(m.attachmentDir(network), id+".json")
}

func (m *Manager) writeAttachment(a *Attachment) error {
	data, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(m.attachmentPath(a.Network, a.ContainerID), data)
}

func (m *Manager) readAttachment(network, id string) (*Attachment, error) {
	if filepath.Base(id) != id || !validName(network) {
		return nil, fs.ErrNotExist
	}
	data, err := os.ReadFile(m.attachmentPath(network, id))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("reading attachment %.12s: %w", id, err)
	}
	var a Attachment
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("decoding attachment %.12s: %w", id, err)
	}
	return &a, nil
}

// attachments lists the saved attachments of a network, oldest first.
func (m *Manager) attachments(network string) ([]*Attachment, error) {
	entries, err := os.ReadDir(m.attachmentDir(network))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing attachments of %q: %w", network, err)
	}
	var out []*Attachment
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		a, err := m.readAttachment(network, id)
		if errors.Is(err, fs.ErrNotExist) {
			continue // detached meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// Attachments lists the containers attached to a network.
func (m *Manager) Attachments(ctx context.Context, network string) ([]*Attachment, error) {
	if network == "" {
		network = m.opts.DefaultName
	}
	return m.attachments(network)
}

// Peers lists the named containers attached to a network, for /etc/hosts.
func (m *Manager) Peers(ctx context.Context, network string) ([]Peer, error) {
	atts, err := m.Attachments(ctx, network)
	if err != nil {
		return nil, err
	}
	out := make([]Peer, 0, len(atts))
	for _, a := range atts {
		out = append(out, Peer{ContainerID: a.ContainerID, Name: a.Name, Aliases: a.Aliases, IP: a.IP})
	}
	return out, nil
}

func setSysctl(name, value string) error {
	return os.WriteFile(filepath.Join("/proc/sys", name), []byte(value), 0o644)
}

// hostPortConflict reports whether two host IPs overlap ("" and 0.0.0.0
// mean every address).
func hostPortConflict(a, b string) bool {
	wildcard := func(s string) bool { return s == "" || s == "0.0.0.0" || s == "::" }
	if wildcard(a) || wildcard(b) {
		return true
	}
	return net.ParseIP(a).Equal(net.ParseIP(b))
}

// leasedIPs are the addresses host-local leased to a container on a network
// (a lease is a file named by the address holding the container ID).
func (m *Manager) leasedIPs(network, containerID string) []string {
	dir := filepath.Join(m.dir, "ipam", network)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if net.ParseIP(e.Name()) == nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(data)), containerID) {
			out = append(out, e.Name())
		}
	}
	return out
}
