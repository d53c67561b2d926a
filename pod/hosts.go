package pod

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/podbay/podbay/engine/network"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/podspec"
)

// podEtc are the files every container of a pod shares.
func (m *Manager) podEtc(podID string) etcFiles { return podEtcIn(m.Runroot, podID) }

// podEtcIn are the /etc files of pod podID under runroot.
func podEtcIn(runroot, podID string) etcFiles {
	dir := filepath.Join(runroot, "pods", podID)
	return etcFiles{hosts: filepath.Join(dir, "hosts"), resolv: filepath.Join(dir, "resolv.conf"), hostname: filepath.Join(dir, "hostname")}
}

// writePodEtc writes the pod's /etc/hosts base (its own names and
// --add-host entries), resolv.conf and hostname, then refreshes the hosts
// files of every pod on the network so that they know each other by name.
func (m *Manager) writePodEtc(ctx context.Context, p *state.Pod, o *podspec.Pod, att *network.Attachment) error {
	f := m.podEtc(p.ID)
	if err := os.MkdirAll(m.podRunDir(p.ID), 0o755); err != nil {
		return err
	}
	hostname := o.HostnameOrName()
	hostNet := o.NetworkName() == podspec.NetworkHost
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost localhost.localdomain\n")
	switch {
	case hostNet:
		if h, err := os.ReadFile("/etc/hosts"); err == nil {
			b.Reset()
			b.Write(h)
		}
	case att != nil:
		fmt.Fprintf(&b, "%s\t%s %s\n", att.IP, hostname, p.Name)
	default:
		fmt.Fprintf(&b, "127.0.1.1\t%s %s\n", hostname, p.Name)
	}
	for _, h := range o.Network.HostAliases {
		fmt.Fprintf(&b, "%s\t%s\n", h.IP, strings.Join(h.Names, " "))
	}
	resolv, err := podResolvConf(o)
	if err != nil {
		return err
	}
	for path, data := range map[string]string{f.hosts + ".base": b.String(), f.resolv: resolv, f.hostname: hostname + "\n"} {
		if err := writeInPlace(path, []byte(data)); err != nil {
			return err
		}
	}
	if err := writeInPlace(f.hosts, []byte(b.String())); err != nil {
		return err
	}
	if !onNetwork(o) {
		return nil
	}
	return m.Services().refreshPeerHosts(ctx, o.NetworkName())
}

func podResolvConf(o *podspec.Pod) (string, error) {
	dns := o.Network.DNS
	if len(dns.Servers) == 0 && len(dns.Searches) == 0 && len(dns.Options) == 0 {
		return hostResolvConf(o.NetworkName() == podspec.NetworkHost)
	}
	base, err := hostResolvConf(false)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	search := dns.Searches
	for _, line := range strings.Split(base, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case f[0] == "nameserver" && len(dns.Servers) > 0, f[0] == "options" && len(dns.Options) > 0:
		case f[0] == "search" && len(search) == 0:
			search = f[1:]
		case f[0] != "search":
			b.WriteString(line + "\n")
		}
	}
	for _, s := range dns.Servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	if len(dns.Options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(dns.Options, " "))
	}
	return b.String(), nil
}

// writeInPlace rewrites a file without replacing its inode, so bind mounts
// of it inside running containers see the new content.
func writeInPlace(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// refreshPeerHosts rewrites the hosts file of every pod on a network: its
// own base, then one line for each other pod, under a lock so concurrent
// starts do not interleave.
func (sv *Services) refreshPeerHosts(ctx context.Context, net string) error {
	unlock, err := lockPath(filepath.Join(sv.Runroot, "pods", ".hosts.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	peers, err := sv.Networks.Peers(ctx, net)
	if err != nil {
		return err
	}
	sort.Slice(peers, func(i, j int) bool { return peers[i].Name < peers[j].Name })
	for _, self := range peers {
		f := podEtcIn(sv.Runroot, self.ContainerID)
		base, err := os.ReadFile(f.hosts + ".base")
		if err != nil {
			continue // a pod of another root, or one being torn down
		}
		var b strings.Builder
		b.Write(base)
		for _, p := range peers {
			if p.ContainerID == self.ContainerID {
				continue
			}
			names := append([]string{p.Name}, p.Aliases...)
			fmt.Fprintf(&b, "%s\t%s\n", p.IP, strings.Join(uniq(names), " "))
		}
		b.Write(serviceHosts(f.hosts)) // the section SyncServices keeps (services.go)
		if err := writeInPlace(f.hosts, []byte(b.String())); err != nil {
			return err
		}
	}
	return nil
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	out := in[:0]
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
