package monitor

import (
	"errors"
	"fmt"
	"time"
)

// Probes are a container's Kubernetes probes; nil ones are not run.
type Probes struct {
	Liveness  *Probe
	Readiness *Probe
	Startup   *Probe
}

// Probe is one Kubernetes probe: exactly one action, and its timing
// (zero values take Kubernetes' defaults: period 10 s, timeout 1 s,
// success threshold 1, failure threshold 3).
type Probe struct {
	Exec      []string // run in the container through the runtime
	HTTPGet   *HTTPGet
	TCPSocket *TCPSocket
	GRPC      *GRPC

	InitialDelay     time.Duration
	Period           time.Duration
	Timeout          time.Duration
	SuccessThreshold int
	FailureThreshold int
}

// HTTPGet is an HTTP GET made from the pod's network namespace; a status
// from 200 to 399 is a success. Host must be an IP address (default
// 127.0.0.1); Scheme HTTP only.
type HTTPGet struct {
	Path    string
	Host    string
	Scheme  string
	Port    int
	Headers map[string]string
}

// TCPSocket succeeds when a connection opens, from the pod's network namespace.
type TCPSocket struct {
	Host string
	Port int
}

// GRPC is a grpc.health.v1.Health/Check call over plaintext HTTP/2.
type GRPC struct {
	Port    int
	Service string
}

// Handler is a lifecycle hook: exactly one of its actions.
type Handler struct {
	Exec    []string
	HTTPGet *HTTPGet
	Sleep   time.Duration
}

// Kubernetes' probe defaults and the default grace period.
const (
	defaultPeriod      = 10 * time.Second
	defaultTimeout     = time.Second
	defaultFailures    = 3
	DefaultGracePeriod = 30 * time.Second
)

func (p *Probe) period() time.Duration  { return orDuration(p.Period, defaultPeriod) }
func (p *Probe) timeout() time.Duration { return orDuration(p.Timeout, defaultTimeout) }
func (p *Probe) successes() int         { return max(p.SuccessThreshold, 1) }
func (p *Probe) failures() int {
	if p.FailureThreshold <= 0 {
		return defaultFailures
	}
	return p.FailureThreshold
}

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (p *Probe) validate(name string) error {
	if p == nil {
		return nil
	}
	n := 0
	for _, set := range []bool{len(p.Exec) > 0, p.HTTPGet != nil, p.TCPSocket != nil, p.GRPC != nil} {
		if set {
			n++
		}
	}
	var errs []error
	if n != 1 {
		errs = append(errs, fmt.Errorf("%s probe: %d actions, want exactly one", name, n))
	}
	if p.HTTPGet != nil {
		errs = append(errs, p.HTTPGet.validate(name+" probe"))
	}
	if p.TCPSocket != nil && !validPort(p.TCPSocket.Port) {
		errs = append(errs, fmt.Errorf("%s probe: tcp port %d out of range", name, p.TCPSocket.Port))
	}
	if p.GRPC != nil && !validPort(p.GRPC.Port) {
		errs = append(errs, fmt.Errorf("%s probe: grpc port %d out of range", name, p.GRPC.Port))
	}
	if name != "readiness" && p.SuccessThreshold > 1 {
		errs = append(errs, fmt.Errorf("%s probe: success threshold must be 1", name))
	}
	return errors.Join(errs...)
}

func (h *Handler) validate(name string) error {
	if h == nil {
		return nil
	}
	n := 0
	for _, set := range []bool{len(h.Exec) > 0, h.HTTPGet != nil, h.Sleep > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%s hook: %d actions, want exactly one", name, n)
	}
	if h.HTTPGet != nil {
		return h.HTTPGet.validate(name + " hook")
	}
	return nil
}

func (g *HTTPGet) validate(what string) error {
	if !validPort(g.Port) {
		return fmt.Errorf("%s: http port %d out of range", what, g.Port)
	}
	switch g.Scheme {
	case "", "HTTP", "http":
		return nil
	}
	return fmt.Errorf("%s: scheme %q not supported (HTTP only)", what, g.Scheme)
}

func validPort(p int) bool { return p > 0 && p < 65536 }
