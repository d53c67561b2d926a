package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/internal/report"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

// psSpec is what ps --format may name: Podman's placeholders.
var psSpec = report.Spec{
	Name:    "ps",
	Default: "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedHuman}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}",
	Headers: map[string]string{
		"ID": "CONTAINER ID", "CreatedHuman": "CREATED", "Pod": "POD ID", "PodName": "PODNAME", "Networks": "NETWORKS",
	},
	Item: containerItem{},
}

// containerItem is one container as ps --format sees it.
type containerItem struct {
	c   *state.Container
	pod *podspec.Pod // its pod's spec; nil outside a pod
}

func (r containerItem) ID() string      { return short(r.c.ID) }
func (r containerItem) Names() string   { return r.c.Name }
func (r containerItem) Image() string   { return r.c.Image }
func (r containerItem) ImageID() string { return short(r.c.ImageID) }

// Command is the process's command line, cut to 20 characters.
func (r containerItem) Command() string {
	command := strings.Join(r.c.Command, " ")
	if len(command) > 20 {
		command = command[:17] + "..."
	}
	return command
}

func (r containerItem) Created() time.Time   { return r.c.Created }
func (r containerItem) CreatedAt() string    { return r.c.Created.String() }
func (r containerItem) CreatedHuman() string { return humanDuration(r.c.Created) }
func (r containerItem) RunningFor() string   { return humanDuration(r.c.Created) }
func (r containerItem) Status() string       { return statusText(r.c) }
func (r containerItem) State() string        { return r.c.State }
func (r containerItem) ExitCode() int        { return r.c.ExitCode }
func (r containerItem) Exited() bool         { return r.c.State == state.StateExited }
func (r containerItem) ExitedAt() int64      { return unixOrZero(r.c.FinishedAt) }
func (r containerItem) StartedAt() int64     { return unixOrZero(r.c.StartedAt) }
func (r containerItem) Restarts() int        { return r.c.RestartCount }
func (r containerItem) IsInfra() bool        { return r.c.Infra }
func (r containerItem) AutoRemove() bool     { return r.c.AutoRemove }
func (r containerItem) Pod() string          { return short(r.c.PodID) }
func (r containerItem) PodName() string      { return r.c.PodName }

func (r containerItem) Labels() map[string]string { return r.c.Labels }
func (r containerItem) Label(key string) string   { return r.c.Labels[key] }

// Pid is the container's process while it runs, else 0.
func (r containerItem) Pid() int {
	if r.c.State == state.StateRunning {
		return r.c.Pid
	}
	return 0
}

// Ports are the ports its pod publishes, as Podman lists them.
func (r containerItem) Ports() string {
	if r.pod == nil {
		return ""
	}
	return portsText(r.pod.Network.Ports)
}

// Networks are its pod's networks, comma-separated.
func (r containerItem) Networks() string {
	if r.pod == nil {
		return ""
	}
	return strings.Join(podNetworks(r.pod), ",")
}

// Mounts are the container paths mounted into it, comma-separated.
func (r containerItem) Mounts() string {
	var dsts []string
	v := pod.ViewOf(r.c)
	if c := v.Container(); c != nil {
		for _, m := range c.Mounts {
			dsts = append(dsts, m.Destination)
		}
	}
	return strings.Join(dsts, ",")
}

// containerItems pairs each container with its pod's options.
func containerItems(cs []*state.Container, pods map[string]*podspec.Pod) []containerItem {
	rows := make([]containerItem, 0, len(cs))
	for _, c := range cs {
		rows = append(rows, containerItem{c: c, pod: pods[c.PodID]})
	}
	return rows
}

// portsText renders published ports as Podman's ps does:
// "0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp".
func portsText(ports []podspec.PortMapping) string {
	parts := make([]string, 0, len(ports))
	for _, p := range ports {
		parts = append(parts, fmt.Sprintf("%s:%d->%d/%s", firstNonEmptyStr(p.HostIP, "0.0.0.0"), p.HostPort, p.ContainerPort, strings.ToLower(p.Protocol)))
	}
	return strings.Join(parts, ", ")
}

// podNetworks names the networks a pod joins: none for host and none.
func podNetworks(o *podspec.Pod) []string {
	n := o.NetworkName()
	if n == podspec.NetworkHost || n == podspec.NetworkNone {
		return []string{}
	}
	return []string{firstNonEmptyStr(n, envOr("PODBAY_DEFAULT_NETWORK", "podbay"))}
}

// podPsSpec is what pod ps --format may name: Podman's placeholders.
var podPsSpec = report.Spec{
	Name:    "pod ps",
	Default: "{{.ID}}\t{{.Name}}\t{{.Status}}\t{{.Ready}}\t{{.Created}}\t{{.InfraID}}\t{{.NumberOfContainers}}",
	Headers: map[string]string{
		"ID": "POD ID", "Id": "POD ID", "InfraID": "INFRA ID", "NumberOfContainers": "# OF CONTAINERS",
		"ContainerIds": "IDS", "ContainerNames": "NAMES", "ContainerStatuses": "STATUS",
	},
	Item: podItem{},
}

// podItem is one pod as pod ps --format sees it.
type podItem struct {
	st    *pod.PodStatus
	ready string // ready/total app containers
}

func (r podItem) ID() string                { return short(r.st.Pod.ID) }
func (r podItem) Id() string                { return short(r.st.Pod.ID) } //nolint:revive // Podman's name
func (r podItem) Name() string              { return r.st.Pod.Name }
func (r podItem) Status() string            { return r.st.Status }
func (r podItem) Ready() string             { return r.ready }
func (r podItem) Created() string           { return humanDuration(r.st.Pod.Created) }
func (r podItem) InfraID() string           { return short(r.st.Pod.InfraID) }
func (r podItem) Labels() map[string]string { return r.st.Pod.Labels }
func (r podItem) Label(key string) string   { return r.st.Pod.Labels[key] }
func (r podItem) Networks() string          { return strings.Join(podNetworks(&r.st.Spec), ",") }
func (r podItem) Cgroup() string {
	return envOr("PODBAY_CGROUP_PARENT", pod.DefaultCgroupParent) + "/pod-" + short(r.st.Pod.ID)
}
func (r podItem) NumberOfContainers() int { return len(r.all()) }

// ContainerIds, ContainerNames and ContainerStatuses list its containers,
// the infra first, comma-separated.
func (r podItem) ContainerIds() string {
	return r.join(func(c *state.Container) string { return short(c.ID) })
}

func (r podItem) ContainerNames() string {
	return r.join(func(c *state.Container) string { return c.Name })
}

func (r podItem) ContainerStatuses() string {
	return r.join(func(c *state.Container) string { return c.State })
}

// Restarts is the sum of its containers' restarts.
func (r podItem) Restarts() int {
	n := 0
	for _, c := range r.all() {
		n += c.RestartCount
	}
	return n
}

func (r podItem) join(field func(*state.Container) string) string {
	var out []string
	for _, c := range r.all() {
		out = append(out, field(c))
	}
	return strings.Join(out, ",")
}

// all is the pod's containers, the infra first.
func (r podItem) all() []*state.Container {
	if r.st.Infra == nil {
		return r.st.Containers
	}
	return append([]*state.Container{r.st.Infra}, r.st.Containers...)
}
