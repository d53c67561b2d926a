package play

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/podbay/podbay/kube/manifest"
	"github.com/podbay/podbay/podspec"
)

// publishSpec is one parsed --publish value.
type publishSpec struct {
	raw           string
	hostIP        string
	hostPort      uint16
	containerPort uint16
	protocol      string
	used          bool
}

// parsePublish parses [[hostIP:][hostPort]:]containerPort[/protocol] values.
func parsePublish(values []string) ([]publishSpec, error) {
	var out []publishSpec
	for _, v := range values {
		ps, err := parseOnePublish(v)
		if err != nil {
			return nil, fmt.Errorf("--publish %q: %w", v, err)
		}
		out = append(out, ps)
	}
	return out, nil
}

func parseOnePublish(v string) (publishSpec, error) {
	ps := publishSpec{raw: v, protocol: "TCP"}
	rest, proto, hasProto := strings.Cut(v, "/")
	if hasProto {
		ps.protocol = strings.ToUpper(proto)
		if ps.protocol != "TCP" && ps.protocol != "UDP" && ps.protocol != "SCTP" {
			return ps, fmt.Errorf("unknown protocol %q", proto)
		}
	}
	host, cport := "", rest
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		host, cport = rest[:i], rest[i+1:]
	}
	c, err := parsePort(cport)
	if err != nil {
		return ps, fmt.Errorf("container port: %w", err)
	}
	ps.containerPort, ps.hostPort = c, c
	if host == "" {
		return ps, nil
	}
	hp := host
	if i := strings.LastIndex(host, ":"); i >= 0 {
		ps.hostIP, hp = strings.Trim(host[:i], "[]"), host[i+1:]
		if net.ParseIP(ps.hostIP) == nil {
			return ps, fmt.Errorf("invalid host IP %q", ps.hostIP)
		}
	}
	if hp != "" {
		if ps.hostPort, err = parsePort(hp); err != nil {
			return ps, fmt.Errorf("host port: %w", err)
		}
	}
	return ps, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return uint16(n), nil
}

// publishPort applies --publish/--publish-all to a container port and records the
// pod's mapping; a host port already taken by an earlier pod is dropped with a warning.
func (p *podBuilder) publishPort(cp *podspec.ContainerPort, rel string) {
	for i := range p.t.publish {
		ps := &p.t.publish[i]
		if ps.containerPort == cp.ContainerPort && ps.protocol == cp.Protocol {
			cp.HostPort, cp.HostIP, ps.used = ps.hostPort, ps.hostIP, true
		}
	}
	if cp.HostPort == 0 && p.t.opts.PublishAll {
		cp.HostPort = cp.ContainerPort
	}
	if cp.HostPort == 0 {
		return
	}
	key := fmt.Sprintf("%s:%d/%s", cp.HostIP, cp.HostPort, cp.Protocol)
	if owner, taken := p.t.published[key]; taken {
		p.warn(rel+".hostPort", "host port %d/%s is already published by pod %q: not published for pod %q",
			cp.HostPort, cp.Protocol, owner, p.out.Name)
		return
	}
	p.t.published[key] = p.out.Name
	p.out.Network.Ports = append(p.out.Network.Ports, podspec.PortMapping{HostIP: cp.HostIP, HostPort: cp.HostPort,
		ContainerPort: cp.ContainerPort, Protocol: cp.Protocol})
}

// checkPublish warns about --publish values no container port matched.
func (t *translator) checkPublish() {
	for _, ps := range t.publish {
		if !ps.used {
			t.warn(manifest.Finding{Severity: manifest.SeverityWarning,
				Message: fmt.Sprintf("--publish %s: no container declares port %d/%s", ps.raw, ps.containerPort, ps.protocol)})
		}
	}
}
