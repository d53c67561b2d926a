package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"github.com/podbay/podbay/internal/cmdexec"
)

// Launch starts the monitor binary detached (own session, stdio on
// /dev/null) so that it outlives the caller, and waits until each container
// runs or one failed. On failure the monitor has removed every container it
// started and exited before Launch returns. If ctx ends first, Launch
// returns its error and the monitor carries on (its pid file is in cfg.Dir).
func Launch(ctx context.Context, binary string, cfg Config) (*Started, error) {
	p, err := Prelaunch(binary, cfg)
	if err != nil {
		return nil, err
	}
	return p.launch(ctx, cfg)
}

// Pending is a monitor process started before its config exists: it waits,
// having touched nothing, until it is handed its config (Start, StartPending)
// or its go pipe closes (Cancel, or the caller's death), when it exits. It
// lets the monitor's exec and start-up overlap the caller's own work.
type Pending struct {
	cmd    *exec.Cmd
	syncR  *os.File // the start report
	goW    *os.File // one byte: the config is written; closed unwritten: exit
	exited chan error
	config string // the config path the process was started with
}

// Prelaunch starts the monitor of cfg.Dir (cfg.ID and cfg.Dir set; the
// directory need not exist yet) waiting for its config.
func Prelaunch(binary string, cfg Config) (*Pending, error) {
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("launching monitor %q: %w", cfg.ID, err)
	}
	goR, goW, err := os.Pipe()
	if err != nil {
		syncR.Close()
		syncW.Close()
		return nil, fmt.Errorf("launching monitor %q: %w", cfg.ID, err)
	}
	p := &Pending{syncR: syncR, goW: goW, exited: make(chan error, 1), config: cfg.ConfigPath()}
	p.cmd = exec.Command(binary, "--config", p.config)
	p.cmd.ExtraFiles = []*os.File{syncW, goR} // fds 3 and 4 in the monitor
	// One P from the very start keeps the monitor's thread count, and so its
	// memory, small; the monitor removes it before running the runtime.
	p.cmd.Env = append(cmdexec.Environ(), monitorEnv...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = p.cmd.Start()
	syncW.Close()
	goR.Close()
	if err != nil {
		syncR.Close()
		goW.Close()
		return nil, fmt.Errorf("launching monitor %q: %w", cfg.ID, err)
	}
	go func() { p.exited <- p.cmd.Wait() }() // reaps the monitor if the caller outlives it
	return p, nil
}

// Cancel tells a pending monitor to exit without doing anything and waits
// until it has. A nil or handed-over Pending is left alone.
func (p *Pending) Cancel() {
	if p == nil || p.goW == nil {
		return
	}
	p.goW.Close()
	p.goW = nil
	p.syncR.Close()
	<-p.exited
}

// launch hands cfg to the pending monitor and waits for its report.
func (p *Pending) launch(ctx context.Context, cfg Config) (*Started, error) {
	if p.goW == nil {
		return nil, fmt.Errorf("launching monitor %q: already handed over", cfg.ID)
	}
	err := cfg.Validate()
	if err == nil && cfg.ConfigPath() != p.config {
		err = fmt.Errorf("monitor %q was started for %s", cfg.ID, p.config)
	}
	if err == nil {
		err = os.MkdirAll(cfg.Dir, 0o700)
	}
	if err == nil {
		for _, c := range cfg.Containers {
			os.Remove(cfg.StopPath(c.ID)) // a stale stop request must not stop the new run
		}
		err = WriteConfig(&cfg)
	}
	if err == nil {
		_, err = p.goW.Write([]byte{'g'})
	}
	if err != nil {
		p.Cancel()
		return nil, fmt.Errorf("launching monitor %q: %w", cfg.ID, err)
	}
	p.goW.Close()
	p.goW = nil
	defer p.syncR.Close()
	rep, err := readReport(ctx, p.syncR)
	if err != nil {
		return nil, fmt.Errorf("launching monitor %q: %w", cfg.ID, errors.Join(err, monitorExit(p.exited)))
	}
	if rep.Error != "" {
		<-p.exited // the monitor cleans up before reporting; wait for it to be gone
		return nil, fmt.Errorf("starting pod %q: %s", cfg.ID, rep.Error)
	}
	rep.MonitorPid = p.cmd.Process.Pid
	return &rep.Started, nil
}

// monitorEnv tunes the Go runtime of the monitor process.
var monitorEnv = []string{"GOMAXPROCS=1"}

func readReport(ctx context.Context, r io.Reader) (*report, error) {
	type result struct {
		data []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		data, err := io.ReadAll(r)
		ch <- result{data, err}
	}()
	var res result
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the monitor: %w", ctx.Err())
	case res = <-ch:
	}
	if res.err != nil {
		return nil, fmt.Errorf("reading monitor report: %w", res.err)
	}
	if len(res.data) == 0 {
		return nil, errors.New("monitor exited without reporting")
	}
	return decodeReport(res.data)
}

// monitorExit returns the monitor's exit error if it has already exited.
func monitorExit(exited <-chan error) error {
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("monitor: %w", err)
		}
	default:
	}
	return nil
}
