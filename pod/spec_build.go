package pod

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/podbay/podbay/engine/image"
	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/podspec"
)

// buildSpec writes nothing: it resolves a container's host paths (its
// /etc files, volumes, cgroup) and builds its OCI spec from its view.
func (m *Manager) buildSpec(ctx context.Context, c *state.Container, img *image.Image, view *podspec.Pod, vols map[string]preparedVolume) (*specs.Spec, error) {
	in := ociInput{Name: c.Name, View: view, Image: img.Config.Config, Rootfs: c.Rootfs, Cgroup: m.containerCgroup(c), InPod: c.PodID != ""}
	var err error
	if in.InPod {
		// Namespaces are joined at start (joinPod); the pod's files are shared.
		in.Etc = m.podEtc(c.PodID)
	} else {
		in.Hostname = firstNonEmpty(view.Hostname, c.ID[:12])
		if in.Etc, err = m.writeEtcFiles(c, in.Hostname, view.NetworkName()); err != nil {
			return nil, err
		}
	}
	if in.Mounts, err = mountOptions(view.Container(), vols); err != nil {
		return nil, err
	}
	opts, err := ociOptions(in)
	if err != nil {
		return nil, err
	}
	return runtime.NewSpec(opts...)
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

type etcFiles struct{ hosts, resolv, hostname string }

// writeEtcFiles prepares /etc/hosts, /etc/resolv.conf and /etc/hostname for
// a container in its run directory.
func (m *Manager) writeEtcFiles(c *state.Container, hostname, network string) (etcFiles, error) {
	dir := m.containerRunDir(c.ID)
	f := etcFiles{hosts: filepath.Join(dir, "hosts"), resolv: filepath.Join(dir, "resolv.conf"), hostname: filepath.Join(dir, "hostname")}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, err
	}
	hosts := "127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost localhost.localdomain\n"
	hosts += fmt.Sprintf("127.0.1.1\t%s %s\n", hostname, c.Name)
	if network == "host" {
		if h, err := os.ReadFile("/etc/hosts"); err == nil {
			hosts = string(h)
		}
		if n, err := os.Hostname(); err == nil {
			hostname = n
		}
	}
	resolv, err := hostResolvConf(network == "host")
	if err != nil {
		return f, err
	}
	for path, data := range map[string]string{f.hosts: hosts, f.resolv: resolv, f.hostname: hostname + "\n"} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			return f, fmt.Errorf("writing %s: %w", path, err)
		}
	}
	return f, nil
}

// hostResolvConf returns the host's resolv.conf; unless keepLocal, name
// servers on loopback (unreachable from a container's namespace) are dropped.
func hostResolvConf(keepLocal bool) (string, error) {
	data, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		if os.IsNotExist(err) {
			return "", nil
		}
		return "", fmt.Errorf("reading host resolv.conf: %w", err)
	}
	if keepLocal {
		return string(data), nil
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "nameserver" && (strings.HasPrefix(fields[1], "127.") || fields[1] == "::1") {
			continue
		}
		out.WriteString(line + "\n")
	}
	return out.String(), nil
}
