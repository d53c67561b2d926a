package state

import (
	"encoding/json"
	"time"
)

// Container states, as Podman names them.
const (
	StateCreated = "created"
	StateRunning = "running"
	StateExited  = "exited"
	StatePaused  = "paused"
	StateUnknown = "unknown"
)

// Container is one container's record.
type Container struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Image   string    `json:"image"`   // reference as resolved (docker.io/library/busybox:latest)
	ImageID string    `json:"imageId"` // config digest hex
	Command []string  `json:"command"` // process args as run
	Created time.Time `json:"created"`
	PodID   string    `json:"podId,omitempty"`
	PodName string    `json:"podName,omitempty"`
	Infra   bool      `json:"infra,omitempty"`

	// Where it lives.
	Bundle  string `json:"bundle"`  // holds config.json; under --runroot
	Rootfs  string `json:"rootfs"`  // overlay mount point
	Upper   string `json:"upper"`   // overlay upper and work dirs live beside it
	LogPath string `json:"logPath"` // CRI-format log
	Runtime string `json:"runtime"` // OCI runtime binary

	// Lifecycle, as last recorded.
	State        string    `json:"state"`
	Pid          int       `json:"pid,omitempty"`
	PidStart     uint64    `json:"pidStart,omitempty"` // start time in clock ticks, to detect pid reuse
	MonitorPid   int       `json:"monitorPid,omitempty"`
	MonitorStart uint64    `json:"monitorStart,omitempty"`
	StartedAt    time.Time `json:"startedAt,omitempty"`
	FinishedAt   time.Time `json:"finishedAt,omitempty"`
	ExitCode     int       `json:"exitCode"`
	RestartCount int       `json:"restartCount"`
	AutoRemove   bool      `json:"autoRemove,omitempty"`
	// StopSignal is the container's own stop signal, else its image's.
	StopSignal string `json:"stopSignal,omitempty"`

	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Config holds the spec the container was made from (owned by the pod
	// package: its pod's settings, the container and its volumes).
	Config json.RawMessage `json:"config,omitempty"`
}

// Pod is one pod's record.
type Pod struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Created     time.Time         `json:"created"`
	State       string            `json:"state"`
	InfraID     string            `json:"infraId,omitempty"`
	MonitorPid  int               `json:"monitorPid,omitempty"`
	Containers  []string          `json:"containers,omitempty"` // IDs, in creation order
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Spec holds the pod-level creation options (owned by the pod package).
	Spec json.RawMessage `json:"spec,omitempty"`
}
