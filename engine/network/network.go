package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/vishvananda/netlink"

	"github.com/podbay/podbay/internal/cmdexec"
)

// Sentinel errors, matched with errors.Is.
var (
	ErrNotFound        = errors.New("no such network")
	ErrExists          = errors.New("network already exists")
	ErrSubnetOverlap   = errors.New("subnet overlaps another network")
	ErrInUse           = errors.New("network has attachments")
	ErrSubnetExhausted = errors.New("no free addresses")
	ErrPortInUse       = errors.New("already in use")
	ErrAttached        = errors.New("already attached")
)

// Defaults for Options.
const (
	DefaultName   = "podbay"
	DefaultBridge = "podbay0"
	DefaultSubnet = "10.90.0.0/16"
)

// DefaultPluginDirs are searched for CNI plugins when Options.PluginDirs is empty.
var DefaultPluginDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}

// validName checks a network name (nameRule). Not a regexp: `{0,62}`
// compiled into 850 allocations, 0.3 ms of every podbay command's start.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}

const nameRule = "1-63 letters, digits, '_', '.' or '-', starting with a letter or digit"

// Options configure a Manager.
type Options struct {
	Root          string // --root: network records, IPAM leases, CNI cache
	Runroot       string // --runroot: network namespaces
	PluginDirs    []string
	DefaultName   string
	DefaultBridge string
	DefaultSubnet string
	Log           *slog.Logger
	// Exec runs the CNI plugins (libcni's seam); nil: the host's, their
	// stderr in the debug log.
	Exec invoke.Exec
	// Commands runs iptables; nil: the host's.
	Commands cmdexec.Runner
}

// Manager creates CNI networks and attaches network namespaces to them.
// It holds no state between calls beyond its options; every change takes a
// file lock under Root, so concurrent podbay processes are safe.
type Manager struct {
	opts Options
	dir  string // <root>/networks
	cni  *libcni.CNIConfig
	exec invoke.Exec
	ipt  ipTables
	log  *slog.Logger
}

// Network is one network's record.
type Network struct {
	Name     string    `json:"name"`
	Driver   string    `json:"driver"`
	Bridge   string    `json:"bridge"`
	Subnet   string    `json:"subnet"`
	Gateway  string    `json:"gateway"`
	Internal bool      `json:"internal"`
	Default  bool      `json:"default,omitempty"`
	Created  time.Time `json:"created"`
}

// CreateOptions describe a new network; empty fields are chosen for you.
type CreateOptions struct {
	Name     string
	Subnet   string
	Gateway  string
	Bridge   string
	Internal bool
}

// RemoveOptions control Remove.
type RemoveOptions struct {
	Force bool // detach every attachment first
}

// New returns a Manager over opts.Root and opts.Runroot.
func New(opts Options) (*Manager, error) {
	if opts.Root == "" || opts.Runroot == "" {
		return nil, errors.New("network manager: root and runroot are required")
	}
	if len(opts.PluginDirs) == 0 {
		opts.PluginDirs = DefaultPluginDirs
	}
	if opts.DefaultName == "" {
		opts.DefaultName = DefaultName
	}
	if opts.DefaultBridge == "" {
		opts.DefaultBridge = DefaultBridge
	}
	if opts.DefaultSubnet == "" {
		opts.DefaultSubnet = DefaultSubnet
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Join(opts.Root, "networks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating network directory: %w", err)
	}
	exec := opts.Exec
	if exec == nil {
		exec = &invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: &logWriter{log: opts.Log}}}
	}
	if opts.Commands == nil {
		opts.Commands = cmdexec.Host{}
	}
	cni := libcni.NewCNIConfigWithCacheDir(opts.PluginDirs, filepath.Join(dir, "cache"), exec)
	return &Manager{opts: opts, dir: dir, cni: cni, exec: exec, ipt: ipTables{cmds: opts.Commands}, log: opts.Log}, nil
}

// logWriter sends plugin stderr to the debug log.
type logWriter struct{ log *slog.Logger }

func (w *logWriter) Write(p []byte) (int, error) {
	w.log.Debug("cni plugin stderr", "text", strings.TrimSpace(string(p)))
	return len(p), nil
}

func (m *Manager) lock() (unlock func(), err error) { return lockFile(filepath.Join(m.dir, ".lock")) }

func (m *Manager) recordPath(name string) string { return filepath.Join(m.dir, name+".json") }

// Create makes a network. An empty subnet picks a free /24; an overlapping
// subnet or a name in use is refused.
func (m *Manager) Create(ctx context.Context, opts CreateOptions) (*Network, error) {
	if !validName(opts.Name) {
		return nil, fmt.Errorf("network name %q: must be %s", opts.Name, nameRule)
	}
	unlock, err := m.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return m.createLocked(ctx, opts, false)
}

func (m *Manager) createLocked(ctx context.Context, opts CreateOptions, isDefault bool) (*Network, error) {
	if _, err := m.read(opts.Name); err == nil {
		return nil, fmt.Errorf("network %q: %w", opts.Name, ErrExists)
	}
	nets, err := m.list()
	if err != nil {
		return nil, err
	}
	subnet, err := m.chooseSubnet(opts, nets)
	if err != nil {
		return nil, err
	}
	prefix, gw, err := subnetAndGateway(subnet, opts.Gateway)
	if err != nil {
		return nil, fmt.Errorf("network %q: %w", opts.Name, err)
	}
	for _, n := range nets {
		if p, err := netip.ParsePrefix(n.Subnet); err == nil && p.Overlaps(prefix) {
			return nil, fmt.Errorf("network %q: subnet %s overlaps %s of network %q: %w", opts.Name, prefix, p, n.Name, ErrSubnetOverlap)
		}
	}
	bridge, err := m.chooseBridge(opts.Bridge, nets)
	if err != nil {
		return nil, fmt.Errorf("network %q: %w", opts.Name, err)
	}
	n := &Network{
		Name: opts.Name, Driver: "bridge", Bridge: bridge, Subnet: prefix.String(),
		Gateway: gw.String(), Internal: opts.Internal, Default: isDefault, Created: time.Now().UTC(),
	}
	if err := m.write(n); err != nil {
		return nil, err
	}
	m.log.DebugContext(ctx, "network created", "name", n.Name, "subnet", n.Subnet, "bridge", n.Bridge)
	return n, nil
}

func (m *Manager) chooseSubnet(opts CreateOptions, nets []*Network) (string, error) {
	if opts.Subnet != "" {
		return opts.Subnet, nil
	}
	used := hostPrefixes(m.log)
	for _, n := range nets {
		if p, err := netip.ParsePrefix(n.Subnet); err == nil {
			used = append(used, p)
		}
	}
	if p, err := netip.ParsePrefix(m.opts.DefaultSubnet); err == nil {
		used = append(used, p)
	}
	p, err := pickSubnet(autoPool, used)
	if err != nil {
		return "", fmt.Errorf("network %q: %w", opts.Name, err)
	}
	return p.String(), nil
}

// hostPrefixes lists the IPv4 routes of the host, so auto-picked subnets
// avoid networks the host already reaches.
func hostPrefixes(log *slog.Logger) []netip.Prefix {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		log.Debug("listing host routes", "err", err)
		return nil
	}
	var out []netip.Prefix
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		if ones == 0 {
			continue
		}
		if a, ok := netip.AddrFromSlice(r.Dst.IP.To4()); ok {
			out = append(out, netip.PrefixFrom(a, ones).Masked())
		}
	}
	return out
}

func (m *Manager) chooseBridge(want string, nets []*Network) (string, error) {
	taken := map[string]bool{}
	for _, n := range nets {
		taken[n.Bridge] = true
	}
	if want != "" {
		if len(want) > 15 || strings.ContainsAny(want, "/ \t") {
			return "", fmt.Errorf("bridge name %q: not a valid interface name", want)
		}
		if taken[want] {
			return "", fmt.Errorf("bridge %q: already used by another network", want)
		}
		return want, nil
	}
	for i := 1; i < 10000; i++ {
		name := fmt.Sprintf("%s%d", strings.TrimSuffix(m.opts.DefaultBridge, "0"), i)
		if taken[name] {
			continue
		}
		if _, err := net.InterfaceByName(name); err == nil {
			continue
		}
		return name, nil
	}
	return "", errors.New("no free bridge name")
}

// Get returns the named network; the default network is created on first use.
func (m *Manager) Get(ctx context.Context, name string) (*Network, error) {
	if name == "" {
		name = m.opts.DefaultName
	}
	n, err := m.read(name)
	if err == nil || !errors.Is(err, ErrNotFound) || name != m.opts.DefaultName {
		return n, err
	}
	unlock, err := m.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if n, err := m.read(name); err == nil {
		return n, nil
	}
	return m.createLocked(ctx, CreateOptions{
		Name: name, Subnet: m.opts.DefaultSubnet, Bridge: m.opts.DefaultBridge,
	}, true)
}

// List returns every network by name; the default network is always there.
func (m *Manager) List(ctx context.Context) ([]*Network, error) {
	if _, err := m.Get(ctx, m.opts.DefaultName); err != nil {
		return nil, err
	}
	return m.list()
}

func (m *Manager) list() ([]*Network, error) {
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		return nil, fmt.Errorf("listing networks: %w", err)
	}
	var out []*Network
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		n, err := m.read(name)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *Manager) read(name string) (*Network, error) {
	if !validName(name) {
		return nil, fmt.Errorf("network %q: %w", name, ErrNotFound)
	}
	data, err := os.ReadFile(m.recordPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("network %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading network %q: %w", name, err)
	}
	var n Network
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("decoding network %q: %w", name, err)
	}
	return &n, nil
}

func (m *Manager) write(n *Network) error {
	data, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(m.recordPath(n.Name), data)
}

// writeFileAtomic replaces path with data through a rename.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Remove deletes a network, its iptables rules (and the PODBAY chains once
// empty) with every claim on them, its IPAM leases and its bridge. It refuses while attachments exist
// unless opts.Force, which detaches them first.
func (m *Manager) Remove(ctx context.Context, name string, opts RemoveOptions) error {
	n, err := m.read(name)
	if err != nil {
		return err
	}
	atts, err := m.attachments(name)
	if err != nil {
		return err
	}
	if len(atts) > 0 && !opts.Force {
		return fmt.Errorf("network %q: %w (%d containers, e.g. %.12s)", name, ErrInUse, len(atts), atts[0].ContainerID)
	}
	var errs []error
	for _, a := range atts {
		errs = append(errs, m.Detach(ctx, AttachOptions{ContainerID: a.ContainerID, Network: name, IfName: a.Interface}))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing network %q: %w", name, err)
	}
	unlock, err := m.lock()
	if err != nil {
		return err
	}
	defer unlock()
	// The rules go first: should that fail, the record stays for a retry.
	if err := m.removeRules(ctx, name); err != nil {
		return err
	}
	if err := os.Remove(m.recordPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing network %q: %w", name, err)
	}
	errs = nil
	errs = append(errs, os.RemoveAll(filepath.Join(ipamDir(m.opts.Root), name)))
	errs = append(errs, os.RemoveAll(m.attachmentDir(name)))
	if link, err := netlink.LinkByName(n.Bridge); err == nil {
		if err := netlink.LinkDel(link); err != nil {
			errs = append(errs, fmt.Errorf("deleting bridge %s: %w", n.Bridge, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing network %q: %w", name, err)
	}
	return nil
}
