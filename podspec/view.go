package podspec

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// NetworkName is the network a pod joins as the engine names it: host,
// none, a network name, or "" for the default network.
func (p *Pod) NetworkName() string {
	switch p.Network.Mode {
	case NetworkHost, NetworkNone:
		return p.Network.Mode
	}
	if len(p.Network.Networks) > 0 {
		return p.Network.Networks[0]
	}
	return ""
}

// HostnameOrName is the pod's host name: its own, else its name.
func (p *Pod) HostnameOrName() string {
	if p.Hostname != "" {
		return p.Hostname
	}
	return p.Name
}

// Shares tells whether the pod's containers share namespace ns (net, ipc,
// uts or pid) through the pod's infra.
func (p *Pod) Shares(ns string) bool {
	if len(p.Share) > 0 {
		return slices.Contains(p.Share, ns)
	}
	if ns == "pid" {
		return p.ShareProcessNamespace
	}
	return true
}

// View is the pod as one of its containers sees it: every pod-level
// setting, that container alone (an init container stays one) and the
// volumes it mounts; without the Kubernetes source and the projected
// files, which the pod's own record keeps. A container's record keeps its
// view. ok is false when no container has that name.
func (p *Pod) View(name string) (v Pod, ok bool) {
	v = *p
	v.Source, v.InitContainers, v.Containers, v.Volumes = nil, nil, nil, nil
	var c *Container
	for i := range p.InitContainers {
		if p.InitContainers[i].Name == name {
			c = &p.InitContainers[i]
			v.InitContainers = []Container{*c}
		}
	}
	for i := range p.Containers {
		if p.Containers[i].Name == name {
			c = &p.Containers[i]
			v.Containers = []Container{*c}
		}
	}
	if c == nil {
		return Pod{}, false
	}
	for _, vol := range p.Volumes {
		if slices.ContainsFunc(c.Mounts, func(m Mount) bool { return m.Volume == vol.Name }) {
			vol.Files = nil
			v.Volumes = append(v.Volumes, vol)
		}
	}
	return v, true
}

// Container is a view's container (see View); nil when there is none.
func (p *Pod) Container() *Container {
	switch {
	case len(p.Containers) > 0:
		return &p.Containers[0]
	case len(p.InitContainers) > 0:
		return &p.InitContainers[0]
	}
	return nil
}

// IsInit tells whether a view's container is an init container (a native
// sidecar included).
func (p *Pod) IsInit() bool { return len(p.Containers) == 0 && len(p.InitContainers) > 0 }

// IsSidecar tells whether a view's container is a native sidecar: an init
// container with restartPolicy Always.
func (p *Pod) IsSidecar() bool { return p.IsInit() && p.InitContainers[0].IsSidecar() }

// ContainerRestartPolicy is the restart policy the kubelet applies to a
// view's container: Always for a native sidecar, Never for another init
// container (it runs to completion first), else the pod's.
func (p *Pod) ContainerRestartPolicy() string {
	switch {
	case p.IsSidecar():
		return "Always"
	case p.IsInit():
		return "Never"
	case p.RestartPolicy == "":
		return "Always"
	}
	return p.RestartPolicy
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// KubeName makes a Kubernetes name (a DNS-1123 label) of a podbay name:
// lower case, other characters as dashes, at most 63 characters.
func KubeName(n string) string {
	s := strings.Trim(notDNS.ReplaceAllString(strings.ToLower(n), "-"), "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	if s == "" {
		s = "container"
	}
	return s
}

// EnvList is the container's environment as NAME=VALUE entries.
func (c *Container) EnvList() []string {
	out := make([]string, 0, len(c.Env))
	for _, e := range c.Env {
		out = append(out, e.Name+"="+e.Value)
	}
	return out
}

// UserOr is the user the container runs as: runAsUser[:runAsGroup], else
// the command line's --user, else def (the image's).
func (c *Container) UserOr(def string) string {
	sec := c.Security
	if sec.RunAsUser == nil {
		if c.User != "" {
			return c.User
		}
		return def
	}
	u := strconv.FormatInt(*sec.RunAsUser, 10)
	if sec.RunAsGroup != nil {
		u += ":" + strconv.FormatInt(*sec.RunAsGroup, 10)
	}
	return u
}
