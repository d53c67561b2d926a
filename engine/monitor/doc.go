// Package monitor is the per-pod supervisor: it starts a pod's containers through the OCI runtime (more join a running monitor through Start), owns their stdio, writes CRI logs, and applies the kubelet's logic: restart back-off, probes, readiness, lifecycle hooks, graceful and ordered stops.
package monitor
