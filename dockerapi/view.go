package dockerapi

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/podspec"
)

// netInfo is a container's place on its network, as inspect shows it.
type netInfo struct {
	Name      string // the network as Docker clients name it ("bridge" for the default)
	ID        string
	IP        string
	PrefixLen int
	Gateway   string
	MAC       string
}

// dockerState is a container's state as Docker names it.
func dockerState(c *state.Container) string {
	switch c.State {
	case state.StateRunning, state.StateCreated, state.StateExited, state.StatePaused:
		return c.State
	case "creating":
		return "created"
	}
	return "dead"
}

// statusText is docker ps's STATUS.
func statusText(c *state.Container, now time.Time) string {
	switch c.State {
	case state.StateRunning:
		return "Up " + humanDuration(now.Sub(c.StartedAt))
	case state.StateExited:
		return fmt.Sprintf("Exited (%d) %s ago", c.ExitCode, humanDuration(now.Sub(c.FinishedAt)))
	}
	return "Created"
}

func humanDuration(d time.Duration) string {
	switch s := int(d.Seconds()); {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return strconv.Itoa(s) + " seconds"
	case s < 120:
		return "About a minute"
	case s < 3600:
		return strconv.Itoa(s/60) + " minutes"
	case s < 7200:
		return "About an hour"
	case s < 48*3600:
		return strconv.Itoa(s/3600) + " hours"
	default:
		return strconv.Itoa(s/86400) + " days"
	}
}

// dockerTime is a time as Docker writes it; the zero time is Docker's zero.
func dockerTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// networkMode is HostConfig.NetworkMode of a view.
func networkMode(v *podspec.Pod) string {
	switch n := v.NetworkName(); n {
	case "":
		return "bridge"
	default:
		return n
	}
}

// portsOf are NetworkSettings.Ports: every declared port, with its host
// bindings.
func portsOf(v *podspec.Pod, ctr *podspec.Container) map[string]any {
	out := map[string]any{}
	for _, p := range ctr.Ports {
		out[portKey(p.ContainerPort, p.Protocol)] = nil
	}
	for _, p := range v.Network.Ports {
		key := portKey(p.ContainerPort, p.Protocol)
		list, _ := out[key].([]map[string]string)
		ip := p.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		out[key] = append(list, map[string]string{"HostIp": ip, "HostPort": strconv.Itoa(int(p.HostPort))})
	}
	return out
}

func portKey(port uint16, proto string) string {
	return strconv.Itoa(int(port)) + "/" + strings.ToLower(proto)
}

// summaryPorts are docker ps's ports.
func summaryPorts(v *podspec.Pod, ctr *podspec.Container) []map[string]any {
	out := []map[string]any{}
	bound := map[string]bool{}
	for _, p := range v.Network.Ports {
		ip := p.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		out = append(out, map[string]any{"IP": ip, "PrivatePort": p.ContainerPort, "PublicPort": p.HostPort, "Type": strings.ToLower(p.Protocol)})
		bound[portKey(p.ContainerPort, p.Protocol)] = true
	}
	for _, p := range ctr.Ports {
		if !bound[portKey(p.ContainerPort, p.Protocol)] {
			out = append(out, map[string]any{"PrivatePort": p.ContainerPort, "Type": strings.ToLower(p.Protocol)})
		}
	}
	return out
}

// mountsOf are a container's mounts as Docker lists them.
func mountsOf(v *podspec.Pod, ctr *podspec.Container, volumeDir string) []map[string]any {
	out := []map[string]any{}
	for _, m := range ctr.Mounts {
		i := slices.IndexFunc(v.Volumes, func(vol podspec.Volume) bool { return vol.Name == m.Volume })
		if i < 0 {
			continue
		}
		vol := v.Volumes[i]
		row := map[string]any{"Destination": m.Destination, "RW": !m.ReadOnly, "Mode": "", "Propagation": m.Propagation}
		if !m.ReadOnly {
			row["Mode"] = "rw"
		} else {
			row["Mode"] = "ro"
		}
		switch vol.Kind {
		case podspec.VolumeHostPath:
			row["Type"], row["Source"] = "bind", vol.HostPath.Path
			if m.Propagation == "" {
				row["Propagation"] = "rprivate"
			}
		case podspec.VolumePVC:
			row["Type"], row["Name"], row["Driver"] = "volume", vol.ClaimName, "local"
			row["Source"] = volumeDir + "/" + vol.ClaimName + "/_data"
		default:
			row["Type"], row["Source"] = "tmpfs", ""
		}
		out = append(out, row)
	}
	return out
}

// binds are HostConfig.Binds: host paths and named volumes.
func binds(v *podspec.Pod, ctr *podspec.Container) []string {
	var out []string
	for _, m := range ctr.Mounts {
		i := slices.IndexFunc(v.Volumes, func(vol podspec.Volume) bool { return vol.Name == m.Volume })
		if i < 0 {
			continue
		}
		src := ""
		switch vol := v.Volumes[i]; vol.Kind {
		case podspec.VolumeHostPath:
			src = vol.HostPath.Path
		case podspec.VolumePVC:
			src = vol.ClaimName
		default:
			continue
		}
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		out = append(out, src+":"+m.Destination+":"+mode)
	}
	return out
}

func restartName(p string) string {
	switch p {
	case "Always":
		return "always"
	case "OnFailure":
		return "on-failure"
	}
	return "no"
}

// endpoint is one NetworkSettings.Networks entry; its aliases hold the
// container's short ID, as Docker adds it (Compose checks for it).
func endpoint(c *state.Container, v *podspec.Pod, n netInfo) map[string]any {
	aliases := append(slices.Clone(v.Network.Aliases), c.ID[:12])
	return map[string]any{"Aliases": aliases, "NetworkID": n.ID, "EndpointID": n.ID, "Gateway": n.Gateway,
		"IPAddress": n.IP, "IPPrefixLen": n.PrefixLen, "MacAddress": n.MAC, "IPv6Gateway": "", "GlobalIPv6Address": "",
		"GlobalIPv6PrefixLen": 0, "Links": nil, "DriverOpts": nil, "IPAMConfig": nil}
}

// networksOf is NetworkSettings.Networks: the container's network.
func networksOf(c *state.Container, v *podspec.Pod, n netInfo) map[string]any {
	switch v.Network.Mode {
	case podspec.NetworkNone, podspec.NetworkHost:
		return map[string]any{v.Network.Mode: endpoint(c, v, netInfo{})}
	}
	return map[string]any{n.Name: endpoint(c, v, n)}
}

// inspectOf is GET /containers/{id}/json.
func inspectOf(c *state.Container, v *podspec.Pod, n netInfo, health string, volumeDir string) map[string]any {
	ctr := v.Container()
	if ctr == nil {
		ctr = &podspec.Container{}
	}
	var path string
	var args []string
	if len(c.Command) > 0 {
		path, args = c.Command[0], c.Command[1:]
	}
	st := map[string]any{"Status": dockerState(c), "Running": c.State == state.StateRunning, "Paused": false,
		"Restarting": false, "OOMKilled": false, "Dead": false, "Pid": 0, "ExitCode": c.ExitCode, "Error": "",
		"StartedAt": dockerTime(c.StartedAt), "FinishedAt": dockerTime(c.FinishedAt)}
	if c.State == state.StateRunning {
		st["Pid"] = c.Pid
	}
	if health != "" {
		st["Health"] = map[string]any{"Status": health, "FailingStreak": 0, "Log": []any{}}
	}
	exposed := map[string]any{}
	for _, p := range ctr.Ports {
		exposed[portKey(p.ContainerPort, p.Protocol)] = struct{}{}
	}
	user := ctr.UserOr("")
	cmd := ctr.Args
	if len(ctr.Command) == 0 && len(ctr.Args) == 0 {
		cmd = args
	}
	hostname := v.HostnameOrName()
	return map[string]any{
		"Id": c.ID, "Created": dockerTime(c.Created), "Path": path, "Args": nonNil(args), "State": st,
		"Image": "sha256:" + c.ImageID, "Name": "/" + c.Name, "RestartCount": c.RestartCount, "Driver": "overlay",
		"Platform": "linux", "LogPath": c.LogPath, "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "",
		"ExecIDs": nil, "ResolvConfPath": "", "HostnamePath": "", "HostsPath": "",
		"HostConfig": map[string]any{
			"NetworkMode": networkMode(v), "Binds": binds(v, ctr), "PortBindings": portsOf(v, &podspec.Container{}),
			"RestartPolicy": map[string]any{"Name": restartName(v.RestartPolicy), "MaximumRetryCount": 0},
			"AutoRemove":    c.AutoRemove, "Privileged": ctr.Security.Privileged, "ReadonlyRootfs": ctr.Security.ReadOnlyRootfs,
			"CapAdd": ctr.Security.CapAdd, "CapDrop": ctr.Security.CapDrop, "Memory": ctr.Resources.MemoryLimit,
			"NanoCpus": ctr.Resources.CPULimit * 1e6, "CpuShares": ctr.Resources.CPURequest * 1024 / 1000,
			"Init": v.ShareProcessNamespace, "LogConfig": map[string]any{"Type": "k8s-file", "Config": map[string]string{}},
			"Runtime": "runc", "Dns": v.Network.DNS.Servers, "ExtraHosts": nil, "VolumesFrom": nil,
		},
		"GraphDriver": map[string]any{"Name": "overlay", "Data": map[string]string{"MergedDir": c.Rootfs, "UpperDir": c.Upper}},
		"Mounts":      mountsOf(v, ctr, volumeDir),
		"Config": map[string]any{
			"Hostname": hostname, "Domainname": "", "User": user, "AttachStdin": false, "AttachStdout": false,
			"AttachStderr": false, "Tty": ctr.TTY, "OpenStdin": ctr.Stdin, "StdinOnce": ctr.StdinOnce,
			"Env": ctr.EnvList(), "Cmd": nonNil(cmd), "Entrypoint": ctr.Command, "Image": familiar(c.Image),
			"WorkingDir": ctr.WorkingDir, "Labels": nonNilMap(c.Labels), "ExposedPorts": exposed,
			"StopSignal": c.StopSignal, "StopTimeout": v.TerminationGracePeriodSeconds, "Volumes": nil, "OnBuild": nil,
		},
		"NetworkSettings": map[string]any{
			"Bridge": "", "SandboxID": c.PodID, "HairpinMode": false, "Ports": portsOf(v, ctr), "SandboxKey": "",
			"IPAddress": n.IP, "IPPrefixLen": n.PrefixLen, "Gateway": n.Gateway, "MacAddress": n.MAC,
			"Networks": networksOf(c, v, n),
		},
	}
}

// summaryOf is one row of GET /containers/json.
func summaryOf(c *state.Container, v *podspec.Pod, n netInfo, volumeDir string, now time.Time) map[string]any {
	ctr := v.Container()
	if ctr == nil {
		ctr = &podspec.Container{}
	}
	return map[string]any{
		"Id": c.ID, "Names": []string{"/" + c.Name}, "Image": familiar(c.Image), "ImageID": "sha256:" + c.ImageID,
		"Command": strings.Join(c.Command, " "), "Created": c.Created.Unix(), "Ports": summaryPorts(v, ctr),
		"Labels": nonNilMap(c.Labels), "State": dockerState(c), "Status": statusText(c, now),
		"HostConfig":      map[string]string{"NetworkMode": networkMode(v)},
		"NetworkSettings": map[string]any{"Networks": networksOf(c, v, n)},
		"Mounts":          mountsOf(v, ctr, volumeDir),
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
