package pod

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/podbay/podbay/engine/monitor"
	"github.com/podbay/podbay/engine/network"
	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/podspec"
)

// netnsPath is where a pod's network namespace is bind-mounted.
func (m *Manager) netnsPath(podID string) string { return netnsPathIn(m.Runroot, podID) }

// netnsPathIn is where pod podID's network namespace is bind-mounted under
// runroot.
func netnsPathIn(runroot, podID string) string {
	return filepath.Join(network.NetNSDir(runroot), podID)
}

// ensureInfra starts a pod's infra (network first) unless it runs. The
// network namespace is made first; the CNI ADD that wires it and the start
// of the infra process that joins it then run at once (neither needs the
// other's result), and the pod's containers, which need both, come after.
func (m *Manager) ensureInfra(ctx context.Context, st *PodStatus) (err error) {
	if st.Infra == nil {
		return fmt.Errorf("pod %s: no infra container", st.Pod.Name)
	}
	if st.Infra.State == state.StateRunning {
		return nil
	}
	unlock, err := m.lockInfra(st.Pod.ID)
	if err != nil {
		return err
	}
	defer unlock()
	// Another command may have started it while this one waited.
	if cur, err := m.Lookup(ctx, st.Infra.ID); err == nil && cur.State == state.StateRunning {
		st.Infra = cur
		return nil
	}
	defer m.warm.Hold()()
	o := &st.Spec
	netns, err := m.setupNetNS(st.Pod, o)
	if err != nil {
		return err
	}
	// The CNI ADD, the longest part, goes first.
	var att *network.Attachment
	attached := make(chan error, 1)
	go func() {
		var err error
		att, err = m.attachNetwork(ctx, st.Pod, o, netns)
		attached <- err
	}()
	// The pod's monitor starts now and waits for the infra's config: its
	// exec and start-up overlap the network set-up.
	pre, _ := m.monitors().Prelaunch(m.MonitorBin, m.podMonitorConfig(st.Pod.ID))
	defer pre.Cancel() // unless handed over
	infraErr := m.startInfra(ctx, st, o, pre)
	err = <-attached
	if err == nil {
		err = infraErr
	}
	if err == nil {
		err = m.writePodEtc(ctx, st.Pod, o, att)
	}
	if err != nil {
		cctx := context.WithoutCancel(ctx)
		var errs []error
		if infraErr == nil {
			_, stopErr := m.Stop(cctx, st.Infra.ID, StopOptions{Timeout: 0})
			errs = append(errs, stopErr)
		}
		errs = append(errs, m.teardownNetwork(cctx, st.Pod, o))
		return errors.Join(append([]error{err}, errs...)...)
	}
	return nil
}

// lockInfra serialises the start of pod podID's infra across processes:
// two commands starting containers in a stopped pod at once would each set
// up its network namespace and network, and start its infra.
func (m *Manager) lockInfra(podID string) (unlock func(), err error) {
	return lockPath(filepath.Join(m.podRunDir(podID), "infra.lock"))
}

// startInfra writes the infra's bundle and starts it (pre: the pod's
// monitor, prelaunched, or nil).
func (m *Manager) startInfra(ctx context.Context, st *PodStatus, o *podspec.Pod, pre *monitor.Pending) error {
	spec, err := m.infraSpec(st, o)
	if err != nil {
		return err
	}
	if err := runtime.WriteBundle(st.Infra.Bundle, spec); err != nil {
		return err
	}
	_, err = m.start(ctx, st.Infra.ID, pre)
	return err
}

// setupNetNS makes the pod's network namespace ("" for the host's); with
// network "none" it only brings up lo in it.
func (m *Manager) setupNetNS(p *state.Pod, o *podspec.Pod) (string, error) {
	if o.NetworkName() == podspec.NetworkHost {
		return "", nil
	}
	path := m.netnsPath(p.ID)
	if _, err := os.Lstat(path); err == nil {
		// A stale one from a killed stop, or the empty file of a start
		// killed before it mounted the namespace there.
		_ = m.host().RemoveNetNS(path)
	}
	path, err := m.host().NewNetNS(m.Runroot, p.ID)
	if err != nil {
		return "", err
	}
	if o.NetworkName() == podspec.NetworkNone {
		if err := m.host().SetupLoopback(path); err != nil {
			return "", errors.Join(err, m.host().RemoveNetNS(path))
		}
	}
	return path, nil
}

// attachNetwork runs the CNI ADD of the pod's network for netns; nothing
// for host and none. On error the namespace is removed.
func (m *Manager) attachNetwork(ctx context.Context, p *state.Pod, o *podspec.Pod, netns string) (*network.Attachment, error) {
	if !onNetwork(o) {
		return nil, nil
	}
	att, err := m.Networks.Attach(ctx, network.AttachOptions{
		ContainerID: p.ID, Name: p.Name, NetNS: netns, Network: o.NetworkName(), Ports: portMappings(o.Network.Ports),
		Aliases: append([]string{o.HostnameOrName()}, o.Network.Aliases...),
	})
	if err != nil {
		return nil, fmt.Errorf("pod %s: %w", p.Name, err)
	}
	return att, nil
}

func (m *Manager) teardownNetwork(ctx context.Context, p *state.Pod, o *podspec.Pod) error {
	if o.NetworkName() == podspec.NetworkHost {
		return nil
	}
	var errs []error
	if onNetwork(o) {
		errs = append(errs, m.Networks.Detach(ctx, network.AttachOptions{ContainerID: p.ID, Network: o.NetworkName(), NetNS: m.netnsPath(p.ID)}))
	}
	errs = append(errs, m.host().RemoveNetNS(m.netnsPath(p.ID)))
	if onNetwork(o) {
		errs = append(errs, m.Services().refreshPeerHosts(ctx, o.NetworkName()))
	}
	return errors.Join(errs...)
}

// onNetwork tells whether a pod joins a CNI network (not host, not none).
func onNetwork(o *podspec.Pod) bool {
	n := o.NetworkName()
	return n != podspec.NetworkHost && n != podspec.NetworkNone
}

// portMappings are a pod's published ports as the network publishes them.
func portMappings(ports []podspec.PortMapping) []network.PortMapping {
	out := make([]network.PortMapping, 0, len(ports))
	for _, p := range ports {
		out = append(out, network.PortMapping{HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort,
			Protocol: strings.ToLower(p.Protocol)})
	}
	return out
}

// stopInfra stops the infra and releases the pod's network.
func (m *Manager) stopInfra(ctx context.Context, st *PodStatus) error {
	if st.Infra == nil {
		return nil
	}
	var errs []error
	if st.Infra.State == state.StateRunning {
		_, err := m.Stop(ctx, st.Infra.ID, StopOptions{Timeout: 5 * time.Second})
		errs = append(errs, err)
	}
	errs = append(errs, m.teardownNetwork(ctx, st.Pod, &st.Spec))
	return errors.Join(errs...)
}

// infraRootfs is the empty, read-only root filesystem every infra runs
// in: one for all pods (a pod's own cost a handful of inodes, on a path
// where creating inodes is what a play spends most of its own time on).
func (m *Manager) infraRootfs() string { return filepath.Join(m.Runroot, "infra", "rootfs") }

// ensureInfraRootfs creates the infra root filesystem unless it exists.
// Concurrent callers all succeed: every step is idempotent.
func ensureInfraRootfs(rootfs string) error {
	pause := filepath.Join(rootfs, "pause")
	if _, err := os.Stat(pause); err == nil {
		return nil
	}
	for _, d := range []string{"proc", "dev", "sys", "etc"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return fmt.Errorf("creating infra root filesystem: %w", err)
		}
	}
	f, err := os.OpenFile(pause, os.O_CREATE|os.O_RDONLY, 0o755)
	if err != nil {
		return fmt.Errorf("creating infra root filesystem: %w", err)
	}
	f.Close()
	return os.Chmod(rootfs, 0o755)
}

// infraSpec runs the pause mode of podbay-monitor, bind-mounted read-only
// into an empty root filesystem: no pause image is needed.
func (m *Manager) infraSpec(st *PodStatus, o *podspec.Pod) (*specs.Spec, error) {
	rootfs := st.Infra.Rootfs
	if err := ensureInfraRootfs(rootfs); err != nil {
		return nil, err
	}
	opts := []runtime.SpecOpt{
		runtime.WithRootfs(rootfs, true),
		runtime.WithArgs("/pause", "pause"),
		runtime.WithBindMount(m.MonitorBin, "/pause", true),
		runtime.WithNamespaceHolderMounts(),
		runtime.WithCgroupsPath(m.podCgroup(st.Pod.ID) + "/" + st.Infra.ID[:12]),
		runtime.WithCapDrop("ALL"),
		runtime.WithNoNewPrivileges(),
	}
	if o.NetworkName() == podspec.NetworkHost {
		opts = append(opts, runtime.WithHostNamespace(specs.NetworkNamespace), runtime.WithHostNamespace(specs.UTSNamespace))
	} else {
		opts = append(opts, runtime.WithNamespacePath(specs.NetworkNamespace, m.netnsPath(st.Pod.ID)), runtime.WithHostname(o.HostnameOrName()))
	}
	if o.HostIPC {
		opts = append(opts, runtime.WithHostNamespace(specs.IPCNamespace))
	}
	return runtime.NewSpec(opts...)
}

// joinPod rewrites a pod container's bundle to join the namespaces of the
// pod's running infra (its pid changes with every start). st is the pod's
// status if the caller has it (its infra state may be stale), else nil.
func (m *Manager) joinPod(ctx context.Context, c *state.Container, st *PodStatus) error {
	if st == nil {
		var err error
		if st, err = m.PodStatusOf(ctx, c.PodID); err != nil {
			return err
		}
	}
	if err := m.ensureInfra(ctx, st); err != nil {
		return err
	}
	infra, err := m.Lookup(ctx, st.Infra.ID)
	if err != nil {
		return err
	}
	spec, err := runtime.ReadBundle(c.Bundle)
	if err != nil {
		return err
	}
	o := &st.Spec
	hostNet := o.NetworkName() == podspec.NetworkHost
	join := map[specs.LinuxNamespaceType]bool{
		specs.IPCNamespace: o.Shares("ipc"), specs.UTSNamespace: o.Shares("uts") && !hostNet,
		specs.PIDNamespace: o.Shares("pid"),
	}
	var opts []runtime.SpecOpt
	for typ, share := range join {
		host := typ == specs.IPCNamespace && o.HostIPC || typ == specs.PIDNamespace && o.HostPID
		switch {
		case host:
			opts = append(opts, runtime.WithHostNamespace(typ))
		case share:
			opts = append(opts, runtime.WithNamespacePath(typ, fmt.Sprintf("/proc/%d/ns/%s", infra.Pid, nsFile(typ))))
		}
	}
	if hostNet {
		opts = append(opts, runtime.WithHostNamespace(specs.NetworkNamespace))
	} else {
		opts = append(opts, runtime.WithNamespacePath(specs.NetworkNamespace, m.netnsPath(st.Pod.ID)))
	}
	if err := runtime.Compose(opts...)(spec); err != nil {
		return err
	}
	return runtime.WriteBundle(c.Bundle, spec)
}

func nsFile(t specs.LinuxNamespaceType) string {
	if t == specs.NetworkNamespace {
		return "net"
	}
	return string(t)
}

// PodIP is the pod's address on its network ("" for host and none).
func (m *Manager) PodIP(ctx context.Context, st *PodStatus) (string, error) {
	a, err := m.PodAttachment(ctx, st.Pod)
	if a == nil || err != nil {
		return "", err
	}
	return a.IP, nil
}

// PodAttachment is the pod's attachment to its network: nil for host and
// none, and while the pod has no network namespace.
func (m *Manager) PodAttachment(ctx context.Context, p *state.Pod) (*network.Attachment, error) {
	o := SpecOf(p)
	if !onNetwork(&o) {
		return nil, nil
	}
	n, err := m.Networks.Get(ctx, o.NetworkName())
	if err != nil {
		return nil, err
	}
	atts, err := m.Networks.Attachments(ctx, n.Name)
	if err != nil {
		return nil, err
	}
	for _, a := range atts {
		if a.ContainerID == p.ID {
			return a, nil
		}
	}
	return nil, nil
}
