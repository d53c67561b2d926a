package network

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// checkPorts refuses host ports that another attachment publishes or that
// a host process has bound: portmap itself would silently shadow them.
func (m *Manager) checkPorts(containerID string, ports []PortMapping) error {
	published, err := m.publishedPorts(containerID)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range ports {
		for _, q := range published {
			if q.port.Protocol == p.Protocol && q.port.HostPort == p.HostPort && hostPortConflict(p.HostIP, q.port.HostIP) {
				errs = append(errs, fmt.Errorf("host port %s: %w: published by %.12s on network %q",
					portString(p), ErrPortInUse, q.containerID, q.network))
			}
		}
		if err := probePort(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

type publishedPort struct {
	containerID, network string
	port                 PortMapping
}

// publishedPorts lists the ports held by every attachment under Root but
// containerID's own.
func (m *Manager) publishedPorts(containerID string) ([]publishedPort, error) {
	base := filepath.Join(m.dir, "attachments")
	nets, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing attachments: %w", err)
	}
	var out []publishedPort
	for _, d := range nets {
		atts, err := m.attachments(d.Name())
		if err != nil {
			return nil, err
		}
		for _, a := range atts {
			if a.ContainerID == containerID {
				continue
			}
			for _, p := range a.Ports {
				out = append(out, publishedPort{containerID: a.ContainerID, network: a.Network, port: p})
			}
		}
	}
	return out, nil
}

// probePort binds the host port for a moment to learn whether a host
// process holds it.
func probePort(p PortMapping) error {
	addr := net.JoinHostPort(p.HostIP, strconv.Itoa(int(p.HostPort)))
	var err error
	if p.Protocol == "udp" {
		var c net.PacketConn
		if c, err = net.ListenPacket("udp4", addr); err == nil {
			c.Close()
		}
	} else {
		var l net.Listener
		if l, err = net.Listen("tcp4", addr); err == nil {
			l.Close()
		}
	}
	if err == nil {
		return nil
	}
	if strings.Contains(err.Error(), "address already in use") {
		return fmt.Errorf("host port %s: %w", portString(p), ErrPortInUse)
	}
	return fmt.Errorf("host port %s: %w", portString(p), err)
}

func portString(p PortMapping) string {
	proto := p.Protocol
	if proto == "" {
		proto = "tcp"
	}
	if p.HostIP == "" {
		return fmt.Sprintf("%d/%s", p.HostPort, proto)
	}
	return fmt.Sprintf("%s/%s", net.JoinHostPort(p.HostIP, strconv.Itoa(int(p.HostPort))), proto)
}
