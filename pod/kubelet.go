package pod

import (
	"time"

	"github.com/podbay/podbay/engine/monitor"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/podspec"
)

// kubeletPart hands a container's lifecycle to its monitor: its restart
// policy (Always for native sidecars, none for other init containers:
// kube play runs those to completion itself), probes made from the pod's
// network namespace, postStart and preStop hooks, the stop signal and the
// grace period.
func (m *Manager) kubeletPart(c *state.Container, view *podspec.Pod, mc monitor.Container) monitor.Container {
	kc := view.Container()
	mc.Restart, mc.Sidecar = view.ContainerRestartPolicy(), view.IsSidecar()
	if c.PodID != "" && view.NetworkName() != podspec.NetworkHost {
		mc.NetNS = m.netnsPath(c.PodID)
	}
	mc.Probes = monitor.Probes{Liveness: probeOf(kc.Liveness), Readiness: probeOf(kc.Readiness), Startup: probeOf(kc.Startup)}
	mc.PostStart, mc.PreStop = handlerOf(kc.Lifecycle.PostStart), handlerOf(kc.Lifecycle.PreStop)
	if sig := signalNum(c.StopSignal); sig != 0 {
		mc.StopSignal = int(sig)
	}
	mc.GracePeriod = time.Duration(view.TerminationGracePeriodSeconds) * time.Second
	if view.TerminationGracePeriodSeconds == 0 {
		mc.GracePeriod = time.Millisecond // 0 in Kubernetes: kill at once
	}
	return mc
}

func probeOf(p *podspec.Probe) *monitor.Probe {
	if p == nil {
		return nil
	}
	mp := &monitor.Probe{
		Exec: p.Exec, HTTPGet: httpGetOf(p.HTTPGet),
		InitialDelay:     time.Duration(p.InitialDelaySeconds) * time.Second,
		Period:           time.Duration(p.PeriodSeconds) * time.Second,
		Timeout:          time.Duration(p.TimeoutSeconds) * time.Second,
		SuccessThreshold: int(p.SuccessThreshold), FailureThreshold: int(p.FailureThreshold),
	}
	if p.TCPSocket != nil {
		mp.TCPSocket = &monitor.TCPSocket{Host: p.TCPSocket.Host, Port: int(p.TCPSocket.Port)}
	}
	if p.GRPC != nil {
		mp.GRPC = &monitor.GRPC{Port: int(p.GRPC.Port), Service: p.GRPC.Service}
	}
	return mp
}

func httpGetOf(h *podspec.HTTPGetAction) *monitor.HTTPGet {
	if h == nil {
		return nil
	}
	return &monitor.HTTPGet{Path: h.Path, Host: h.Host, Scheme: h.Scheme, Port: int(h.Port), Headers: h.Headers}
}

func handlerOf(h *podspec.Handler) *monitor.Handler {
	if h == nil {
		return nil
	}
	return &monitor.Handler{Exec: h.Exec, HTTPGet: httpGetOf(h.HTTPGet), Sleep: time.Duration(h.SleepSeconds) * time.Second}
}
