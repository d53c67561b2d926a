package pod

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/podbay/podbay/engine/image"
	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/engine/state"
)

// processArgs merges the image's entrypoint and cmd with the user's, as
// Docker and Podman do: a new entrypoint drops the image's cmd.
func processArgs(cfg v1.Config, o ContainerOptions) ([]string, error) {
	entry, cmd := cfg.Entrypoint, cfg.Cmd
	if o.EntrySet {
		entry, cmd = o.Entrypoint, nil
	}
	if len(o.Command) > 0 {
		cmd = o.Command
	}
	args := append(append([]string{}, entry...), cmd...)
	if len(args) == 0 {
		return nil, fmt.Errorf("no command specified and image %q has no entrypoint or cmd", o.Image)
	}
	return args, nil
}

func (m *Manager) buildSpec(ctx context.Context, c *state.Container, img *image.Image, o ContainerOptions) (*specs.Spec, error) {
	cfg := img.Config.Config
	args, err := processArgs(cfg, o)
	if err != nil {
		return nil, err
	}
	cwd := firstNonEmpty(o.Workdir, cfg.WorkingDir, "/")
	user := firstNonEmpty(o.User, cfg.User)
	hostname := firstNonEmpty(o.Hostname, c.ID[:12])
	cgroup := "/podbay/" + c.ID
	var etc etcFiles
	if c.PodID != "" {
		// Namespaces are joined at start (joinPod); the pod's files are shared.
		etc, cgroup, hostname = m.podEtc(c.PodID), podCgroup(c.PodID)+"/"+c.ID[:12], ""
		o.Network = "pod"
	} else if etc, err = m.writeEtcFiles(c, hostname, o.Network); err != nil {
		return nil, err
	}
	opts := []runtime.SpecOpt{
		runtime.WithRootfs(c.Rootfs, o.ReadOnly),
		runtime.WithArgs(args...),
		runtime.WithEnv(append(append([]string{}, cfg.Env...), o.Env...)...),
		runtime.WithCwd(cwd),
		runtime.WithUser(c.Rootfs, user),
		// Kubernetes and Podman drop first, then add: drop ALL + add X keeps X.
		runtime.WithCapDrop(o.CapDrop...),
		runtime.WithCapAdd(o.CapAdd...),
		runtime.WithEtcFiles(etc.hosts, etc.resolv, etc.hostname),
		runtime.WithCgroupsPath(cgroup),
	}
	if o.Network != "host" && hostname != "" {
		opts = append(opts, runtime.WithHostname(hostname))
	}
	if o.Network == "host" {
		opts = append(opts, runtime.WithHostNamespace(specs.NetworkNamespace), runtime.WithHostNamespace(specs.UTSNamespace))
	}
	if o.Tty {
		opts = append(opts, runtime.WithTerminal())
	}
	if o.Privileged {
		opts = append(opts, runtime.WithPrivileged())
	}
	if o.Memory > 0 {
		opts = append(opts, runtime.WithMemoryLimit(o.Memory))
	}
	if o.CPUs > 0 {
		opts = append(opts, runtime.WithCPUs(o.CPUs))
	}
	opts = append(opts, m.kubeOptions(o)...)
	sec, err := seccompOption(o)
	if err != nil {
		return nil, err
	}
	if sec != nil {
		opts = append(opts, sec)
	}
	if o.RunAsNonRoot {
		if err := checkNonRoot(c, user); err != nil {
			return nil, err
		}
	}
	vols, err := parseVolumes(o.Volumes)
	if err != nil {
		return nil, err
	}
	for _, v := range vols {
		opts = append(opts, runtime.WithBindMount(v.src, v.dst, v.ro))
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

type volumeArg struct {
	src, dst string
	ro       bool
}

// parseVolumes reads -v SRC:DST[:ro|rw] for bind mounts; SRC must exist.
func parseVolumes(args []string) ([]volumeArg, error) {
	var out []volumeArg
	for _, a := range args {
		parts := strings.Split(a, ":")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !filepath.IsAbs(parts[1]) {
			return nil, fmt.Errorf("volume %q: want SRC:DST[:ro] with an absolute DST", a)
		}
		v := volumeArg{src: parts[0], dst: parts[1]}
		if len(parts) == 3 {
			for _, o := range strings.Split(parts[2], ",") {
				switch o {
				case "ro":
					v.ro = true
				case "rw", "z", "Z":
				default:
					return nil, fmt.Errorf("volume %q: unknown option %q", a, o)
				}
			}
		}
		if !filepath.IsAbs(v.src) {
			return nil, fmt.Errorf("volume %q: named volumes are not supported here yet; use an absolute host path", a)
		}
		if _, err := os.Stat(v.src); err != nil {
			return nil, fmt.Errorf("volume %q: %w", a, err)
		}
		out = append(out, v)
	}
	return out, nil
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

// seccompOption picks the seccomp profile: the runtime default for command
// line containers (as Podman) and for Kubernetes RuntimeDefault; none for
// privileged containers and Unconfined.
func seccompOption(o ContainerOptions) (runtime.SpecOpt, error) {
	if o.Privileged {
		return nil, nil
	}
	switch o.Seccomp {
	case "", "RuntimeDefault", "runtime/default":
		if o.Seccomp == "" && o.Kube != nil {
			return nil, nil // Kubernetes' default is Unconfined
		}
		return runtime.WithDefaultSeccomp(), nil
	case "unconfined", "Unconfined":
		return nil, nil
	}
	return nil, fmt.Errorf("seccomp profile %q is not supported (use RuntimeDefault or Unconfined)", o.Seccomp)
}
