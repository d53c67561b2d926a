package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is everything a monitor needs; it is written as JSON into Dir.
type Config struct {
	ID          string      `json:"id"`          // the pod (or standalone container) id
	Runtime     string      `json:"runtime"`     // OCI runtime binary path
	RuntimeRoot string      `json:"runtimeRoot"` // the runtime's --root
	Dir         string      `json:"dir"`         // this monitor's runroot directory: config, pid files, runtime logs
	Containers  []Container `json:"containers"`  // started in order
	// Restart back-off (only for containers with a restart policy); zero
	// means Kubernetes' 10 s doubling up to 5 min.
	BackoffBase time.Duration `json:"backoffBase,omitempty"`
	BackoffMax  time.Duration `json:"backoffMax,omitempty"`
	// OnReady is a command the monitor starts (and does not wait for) when
	// a container's readiness changes: podbay re-syncs Services with it.
	OnReady []string `json:"onReady,omitempty"`
}

// Container is one container the monitor runs.
type Container struct {
	ID       string `json:"id"`
	Bundle   string `json:"bundle"`             // directory holding config.json
	LogPath  string `json:"logPath"`            // CRI log, appended to
	ExitFile string `json:"exitFile"`           // written atomically when the container exits
	Rootfs   string `json:"rootfs,omitempty"`   // unmounted after exit when set
	Stdin    bool   `json:"stdin,omitempty"`    // keep an open stdin pipe
	Terminal bool   `json:"terminal,omitempty"` // the process has a terminal (spec process.terminal): output through a pty
	// StdinOnce closes the stdin pipe when an attached client ends its
	// input (Docker's StdinOnce); otherwise it stays open for the next.
	StdinOnce bool   `json:"stdinOnce,omitempty"`
	Restart   string `json:"restart,omitempty"` // Always, OnFailure or Never (""); see RequestStop
	// Cgroup is the container's cgroups path, set when the runtime is runc
	// and the container has its own PID namespace and no hooks: then, once
	// it has exited, the monitor deletes it by removing its cgroups and
	// runc's state directory instead of running `runc delete`.
	Cgroup string `json:"cgroup,omitempty"`

	// The kubelet's part, all optional.
	Probes      Probes        `json:"-"`
	PostStart   *Handler      `json:"-"` // a failure kills the container
	PreStop     *Handler      `json:"-"` // before the stop signal, on every stop the monitor makes
	StopSignal  int           `json:"-"` // 0: SIGTERM
	GracePeriod time.Duration `json:"-"` // stop signal to SIGKILL; 0: DefaultGracePeriod
	NetNS       string        `json:"-"` // the pod's network namespace (path) for network probes and hooks; "": the monitor's
	Sidecar     bool          `json:"-"` // stopped after the other containers by StopAll
}

// Exit records how a container ended.
type Exit struct {
	Code       int       `json:"exitCode"`         // 128+signal when killed
	Signal     int       `json:"signal,omitempty"` // the killing signal, if any
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	// RestartCount is how many times the monitor restarted the container.
	RestartCount int `json:"restartCount,omitempty"`
}

// Started reports a launched monitor and its running containers.
type Started struct {
	MonitorPid int                `json:"monitorPid"`
	Containers []StartedContainer `json:"containers"`
}

// StartedContainer is one running container.
type StartedContainer struct {
	ID        string    `json:"id"`
	Pid       int       `json:"pid"`
	StartedAt time.Time `json:"startedAt"`
	// MonitorPid is the monitor running it (set by Start only).
	MonitorPid int `json:"monitorPid,omitempty"`
}

// report is what the monitor writes to its sync pipe once every container
// runs or one failed (see encodeReport).
type report struct {
	Started
	Error string `json:"error,omitempty"`
}

// Validate checks that cfg is complete.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.ID == "" {
		errs = append(errs, errors.New("empty id"))
	}
	for name, v := range map[string]string{"runtime": cfg.Runtime, "runtime root": cfg.RuntimeRoot, "dir": cfg.Dir} {
		if !filepath.IsAbs(v) {
			errs = append(errs, fmt.Errorf("%s %q is not an absolute path", name, v))
		}
	}
	if len(cfg.Containers) == 0 {
		errs = append(errs, errors.New("no containers"))
	}
	for i, c := range cfg.Containers {
		if c.ID == "" {
			errs = append(errs, fmt.Errorf("container %d: empty id", i))
		}
		errs = append(errs, c.validate())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("monitor config %q: %w", cfg.ID, err)
	}
	return nil
}

// validate checks one container's config.
func (c *Container) validate() error {
	var errs []error
	switch c.Restart {
	case "", RestartAlways, RestartOnFailure, RestartNever:
	default:
		errs = append(errs, fmt.Errorf("unknown restart policy %q", c.Restart))
	}
	if strings.ContainsAny(c.ID, "/\x00") || c.ID == "." || c.ID == ".." {
		errs = append(errs, fmt.Errorf("invalid id"))
	}
	for name, v := range map[string]string{"bundle": c.Bundle, "log path": c.LogPath, "exit file": c.ExitFile} {
		if !filepath.IsAbs(v) {
			errs = append(errs, fmt.Errorf("%s %q is not an absolute path", name, v))
		}
	}
	if c.NetNS != "" && !filepath.IsAbs(c.NetNS) {
		errs = append(errs, fmt.Errorf("netns %q is not an absolute path", c.NetNS))
	}
	if c.StopSignal < 0 || c.StopSignal > 64 {
		errs = append(errs, fmt.Errorf("stop signal %d out of range", c.StopSignal))
	}
	errs = append(errs, c.Probes.Liveness.validate("liveness"), c.Probes.Readiness.validate("readiness"),
		c.Probes.Startup.validate("startup"), c.PostStart.validate("postStart"), c.PreStop.validate("preStop"))
	var wrapped []error
	for _, err := range errs {
		if err != nil {
			wrapped = append(wrapped, fmt.Errorf("container %q: %w", c.ID, err))
		}
	}
	return errors.Join(wrapped...)
}

// ConfigPath is where Launch writes the config of a monitor.
func (cfg *Config) ConfigPath() string { return filepath.Join(cfg.Dir, "monitor.conf") }

// PidPath is the monitor's pid file.
func (cfg *Config) PidPath() string { return filepath.Join(cfg.Dir, "monitor.pid") }

// ReadConfig reads a monitor config file written by Launch.
func ReadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading monitor config: %w", err)
	}
	defer f.Close()
	cfg, err := decodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("decoding monitor config %q: %w", path, err)
	}
	return cfg, cfg.Validate()
}

// WriteConfig writes cfg to its ConfigPath, atomically.
func WriteConfig(cfg *Config) error {
	data, err := encodeConfig(cfg)
	if err != nil {
		return fmt.Errorf("encoding monitor config %q: %w", cfg.ID, err)
	}
	return writeFileAtomic(cfg.ConfigPath(), data)
}

// ReadStatus reads a status file (see Config.StatusPath).
func ReadStatus(path string) (*Status, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading status file: %w", err)
	}
	var st Status
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("decoding status file %q: %w", path, err)
	}
	return &st, nil
}

// ReadExit reads an exit file; a missing file matches os.ErrNotExist.
func ReadExit(path string) (*Exit, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading exit file: %w", err)
	}
	var e Exit
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("decoding exit file %q: %w", path, err)
	}
	return &e, nil
}

// WriteExit writes an exit file atomically.
func WriteExit(path string, e Exit) error {
	return writeFileAtomic(path, encodeExit(e))
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %q: %w", path, err)
	}
	return nil
}
