package monitor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The monitor reads its config and writes its report and exit files without
// encoding/json: reflection-driven decoding alone costs about 600 KiB of
// resident memory in a process whose whole budget is 2 MiB per container.
// The config is a line format, one "key value" per line, a "container ID"
// line opening each container:
//
//	id pod1
//	runtime /usr/sbin/runc
//	container c1
//	bundle /run/podbay/c1
//	stdin true

// encodeConfig writes cfg in the line format; values must be single lines.
func encodeConfig(cfg *Config) ([]byte, error) {
	var b bytes.Buffer
	var errs []error
	put := func(key, value string) {
		if strings.ContainsAny(value, "\n\r") {
			errs = append(errs, fmt.Errorf("%s %q: contains a line break", key, value))
		}
		if value != "" {
			b.WriteString(key + " " + value + "\n")
		}
	}
	put("id", cfg.ID)
	put("runtime", cfg.Runtime)
	put("runtimeRoot", cfg.RuntimeRoot)
	put("dir", cfg.Dir)
	if cfg.BackoffBase > 0 {
		put("backoffBase", strconv.FormatInt(int64(cfg.BackoffBase), 10))
	}
	if cfg.BackoffMax > 0 {
		put("backoffMax", strconv.FormatInt(int64(cfg.BackoffMax), 10))
	}
	for _, arg := range cfg.OnReady {
		if arg == "" {
			errs = append(errs, fmt.Errorf("onReady: empty argument"))
		}
		put("onReady", arg)
	}
	for _, c := range cfg.Containers {
		put("container", c.ID)
		put("bundle", c.Bundle)
		put("logPath", c.LogPath)
		put("exitFile", c.ExitFile)
		put("rootfs", c.Rootfs)
		if c.Stdin {
			put("stdin", "true")
		}
		if c.Terminal {
			put("terminal", "true")
		}
		if c.StdinOnce {
			put("stdinOnce", "true")
		}
		put("restart", c.Restart)
		put("cgroup", c.Cgroup)
		encodeKubelet(put, &c)
	}
	return b.Bytes(), errors.Join(errs...)
}

// decodeConfig parses the line format.
func decodeConfig(r io.Reader) (*Config, error) {
	cfg := &Config{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "" {
			continue
		}
		key, value, _ := strings.Cut(line, " ")
		if err := cfg.set(key, value); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
	}
	return cfg, sc.Err()
}

func (cfg *Config) set(key, value string) error {
	switch key {
	case "id":
		cfg.ID = value
		return nil
	case "runtime":
		cfg.Runtime = value
		return nil
	case "runtimeRoot":
		cfg.RuntimeRoot = value
		return nil
	case "dir":
		cfg.Dir = value
		return nil
	case "container":
		cfg.Containers = append(cfg.Containers, Container{ID: value})
		return nil
	case "onReady":
		cfg.OnReady = append(cfg.OnReady, value)
		return nil
	case "backoffBase", "backoffMax":
		ns, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if key == "backoffBase" {
			cfg.BackoffBase = time.Duration(ns)
		} else {
			cfg.BackoffMax = time.Duration(ns)
		}
		return nil
	}
	if len(cfg.Containers) == 0 {
		return fmt.Errorf("unknown key %q", key)
	}
	c := &cfg.Containers[len(cfg.Containers)-1]
	switch key {
	case "bundle":
		c.Bundle = value
	case "logPath":
		c.LogPath = value
	case "exitFile":
		c.ExitFile = value
	case "rootfs":
		c.Rootfs = value
	case "stdin":
		c.Stdin = value == "true"
	case "terminal":
		c.Terminal = value == "true"
	case "stdinOnce":
		c.StdinOnce = value == "true"
	case "restart":
		c.Restart = value
	case "cgroup":
		c.Cgroup = value
	default:
		ok, err := c.setKubelet(key, value)
		if !ok {
			return fmt.Errorf("unknown key %q", key)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return nil
}

// The report is "started ID PID STARTED_UNIX_NANO" lines, or one "error MESSAGE" line.

func encodeReport(rep *report) []byte {
	if rep.Error != "" {
		return []byte("error " + strings.ReplaceAll(rep.Error, "\n", " ") + "\n")
	}
	var b []byte
	for _, c := range rep.Containers {
		b = append(b, "started "+c.ID+" "...)
		b = strconv.AppendInt(b, int64(c.Pid), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, c.StartedAt.UnixNano(), 10)
		b = append(b, '\n')
	}
	return b
}

func decodeReport(data []byte) (*report, error) {
	rep := &report{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if msg, ok := strings.CutPrefix(line, "error "); ok {
			rep.Error = msg
			return rep, nil
		}
		f := strings.Fields(line)
		if len(f) != 4 || f[0] != "started" {
			return nil, fmt.Errorf("decoding monitor report: unexpected line %q", line)
		}
		pid, err1 := strconv.Atoi(f[2])
		ns, err2 := strconv.ParseInt(f[3], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("decoding monitor report line %q: %w", line, err)
		}
		rep.Containers = append(rep.Containers, StartedContainer{ID: f[1], Pid: pid, StartedAt: time.Unix(0, ns).UTC()})
	}
	return rep, nil
}

// encodeExit writes the JSON of an exit file by hand (see ReadExit).
func encodeExit(e Exit) []byte {
	b := []byte(`{"exitCode":`)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	if e.Signal != 0 {
		b = append(b, `,"signal":`...)
		b = strconv.AppendInt(b, int64(e.Signal), 10)
	}
	b = append(b, `,"startedAt":"`...)
	b = e.StartedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","finishedAt":"`...)
	b = e.FinishedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if e.RestartCount != 0 {
		b = append(b, `,"restartCount":`...)
		b = strconv.AppendInt(b, int64(e.RestartCount), 10)
	}
	return append(b, "}\n"...)
}

// encodeStatus writes the JSON of a status file by hand (see ReadStatus).
func encodeStatus(st Status) []byte {
	b := []byte(`{"pid":`)
	b = strconv.AppendInt(b, int64(st.Pid), 10)
	b = append(b, `,"startedAt":"`...)
	b = st.StartedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","restartCount":`...)
	b = strconv.AppendInt(b, int64(st.RestartCount), 10)
	b = append(b, `,"lastExitCode":`...)
	b = strconv.AppendInt(b, int64(st.LastExitCode), 10)
	b = append(b, `,"ready":`...)
	b = strconv.AppendBool(b, st.Ready)
	return append(b, "}\n"...)
}
