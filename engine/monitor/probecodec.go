package monitor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The kubelet fields of a container in the config line format: probes and
// hooks under a prefix ("liveness.period 1000000000", "preStop.exec "sh"
// "-c" "x""), lists as Go-quoted strings, durations in nanoseconds.

func encodeKubelet(put func(key, value string), c *Container) {
	if c.StopSignal != 0 {
		put("stopSignal", strconv.Itoa(c.StopSignal))
	}
	if c.GracePeriod != 0 {
		put("gracePeriod", strconv.FormatInt(int64(c.GracePeriod), 10))
	}
	put("netns", c.NetNS)
	if c.Sidecar {
		put("sidecar", "true")
	}
	for _, p := range []struct {
		name  string
		probe *Probe
	}{{"liveness", c.Probes.Liveness}, {"readiness", c.Probes.Readiness}, {"startup", c.Probes.Startup}} {
		if p.probe != nil {
			encodeProbe(put, p.name, p.probe)
		}
	}
	for _, h := range []struct {
		name    string
		handler *Handler
	}{{"postStart", c.PostStart}, {"preStop", c.PreStop}} {
		if h.handler != nil {
			encodeAction(put, h.name, h.handler.Exec, h.handler.HTTPGet)
			if h.handler.Sleep > 0 {
				put(h.name+".sleep", strconv.FormatInt(int64(h.handler.Sleep), 10))
			}
		}
	}
}

func encodeProbe(put func(key, value string), name string, p *Probe) {
	encodeAction(put, name, p.Exec, p.HTTPGet)
	if p.TCPSocket != nil {
		put(name+".tcp.port", strconv.Itoa(p.TCPSocket.Port))
		put(name+".tcp.host", p.TCPSocket.Host)
	}
	if p.GRPC != nil {
		put(name+".grpc.port", strconv.Itoa(p.GRPC.Port))
		put(name+".grpc.service", p.GRPC.Service)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"initialDelay", p.InitialDelay}, {"period", p.Period}, {"timeout", p.Timeout}} {
		if d.v != 0 {
			put(name+"."+d.key, strconv.FormatInt(int64(d.v), 10))
		}
	}
	if p.SuccessThreshold != 0 {
		put(name+".success", strconv.Itoa(p.SuccessThreshold))
	}
	if p.FailureThreshold != 0 {
		put(name+".failure", strconv.Itoa(p.FailureThreshold))
	}
}

func encodeAction(put func(key, value string), name string, exec []string, get *HTTPGet) {
	if len(exec) > 0 {
		put(name+".exec", quoteList(exec))
	}
	if get == nil {
		return
	}
	put(name+".http.port", strconv.Itoa(get.Port))
	put(name+".http.path", get.Path)
	put(name+".http.host", get.Host)
	put(name+".http.scheme", get.Scheme)
	keys := make([]string, 0, len(get.Headers))
	for k := range get.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		put(name+".http.header", quoteList([]string{k, get.Headers[k]}))
	}
}

func quoteList(list []string) string {
	var b []byte
	for i, s := range list {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendQuote(b, s)
	}
	return string(b)
}

func unquoteList(s string) ([]string, error) {
	var list []string
	for s = strings.TrimLeft(s, " "); s != ""; s = strings.TrimLeft(s, " ") {
		q, err := strconv.QuotedPrefix(s)
		if err != nil {
			return nil, fmt.Errorf("quoted list %q: %w", s, err)
		}
		v, _ := strconv.Unquote(q)
		list = append(list, v)
		s = s[len(q):]
	}
	return list, nil
}

// setKubelet sets a kubelet key of c; false means the key is not one.
func (c *Container) setKubelet(key, value string) (bool, error) {
	switch key {
	case "stopSignal":
		n, err := strconv.Atoi(value)
		c.StopSignal = n
		return true, err
	case "gracePeriod":
		d, err := parseNanos(value)
		c.GracePeriod = d
		return true, err
	case "netns":
		c.NetNS = value
		return true, nil
	case "sidecar":
		c.Sidecar = value == "true"
		return true, nil
	}
	prefix, sub, ok := strings.Cut(key, ".")
	if !ok {
		return false, nil
	}
	switch prefix {
	case "liveness", "readiness", "startup":
		p := c.probe(prefix)
		return true, p.set(sub, value)
	case "postStart", "preStop":
		h := &c.PostStart
		if prefix == "preStop" {
			h = &c.PreStop
		}
		if *h == nil {
			*h = &Handler{}
		}
		return true, (*h).set(sub, value)
	}
	return false, nil
}

// probe returns the probe called name, creating it.
func (c *Container) probe(name string) *Probe {
	pp := &c.Probes.Liveness
	switch name {
	case "readiness":
		pp = &c.Probes.Readiness
	case "startup":
		pp = &c.Probes.Startup
	}
	if *pp == nil {
		*pp = &Probe{}
	}
	return *pp
}

func (p *Probe) set(key, value string) error {
	var err error
	switch key {
	case "exec", "http.port", "http.path", "http.host", "http.scheme", "http.header":
		return setAction(&p.Exec, &p.HTTPGet, key, value)
	case "tcp.port", "tcp.host":
		if p.TCPSocket == nil {
			p.TCPSocket = &TCPSocket{}
		}
		if key == "tcp.host" {
			p.TCPSocket.Host = value
			return nil
		}
		p.TCPSocket.Port, err = strconv.Atoi(value)
	case "grpc.port", "grpc.service":
		if p.GRPC == nil {
			p.GRPC = &GRPC{}
		}
		if key == "grpc.service" {
			p.GRPC.Service = value
			return nil
		}
		p.GRPC.Port, err = strconv.Atoi(value)
	case "initialDelay":
		p.InitialDelay, err = parseNanos(value)
	case "period":
		p.Period, err = parseNanos(value)
	case "timeout":
		p.Timeout, err = parseNanos(value)
	case "success":
		p.SuccessThreshold, err = strconv.Atoi(value)
	case "failure":
		p.FailureThreshold, err = strconv.Atoi(value)
	default:
		return fmt.Errorf("unknown probe key %q", key)
	}
	return err
}

func (h *Handler) set(key, value string) error {
	if key == "sleep" {
		d, err := parseNanos(value)
		h.Sleep = d
		return err
	}
	return setAction(&h.Exec, &h.HTTPGet, key, value)
}

func setAction(exec *[]string, get **HTTPGet, key, value string) error {
	if key == "exec" {
		list, err := unquoteList(value)
		*exec = list
		return err
	}
	if *get == nil {
		*get = &HTTPGet{}
	}
	g := *get
	var err error
	switch key {
	case "http.port":
		g.Port, err = strconv.Atoi(value)
	case "http.path":
		g.Path = value
	case "http.host":
		g.Host = value
	case "http.scheme":
		g.Scheme = value
	case "http.header":
		kv, lerr := unquoteList(value)
		if lerr != nil || len(kv) != 2 {
			return fmt.Errorf("http header %q: want a quoted name and value", value)
		}
		if g.Headers == nil {
			g.Headers = map[string]string{}
		}
		g.Headers[kv[0]] = kv[1]
	default:
		return fmt.Errorf("unknown action key %q", key)
	}
	return err
}

func parseNanos(value string) (time.Duration, error) {
	ns, err := strconv.ParseInt(value, 10, 64)
	return time.Duration(ns), err
}
