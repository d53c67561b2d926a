package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
)

// Launch starts the monitor binary detached (own session, stdio on
// /dev/null) so that it outlives the caller, and waits until each container
// runs or one failed. On failure the monitor has removed every container it
// started and exited before Launch returns. If ctx ends first, Launch
// returns its error and the monitor carries on (its pid file is in cfg.Dir).
func Launch(ctx context.Context, binary string, cfg Config) (*Started, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("launching monitor %q: %w", cfg.ID, err)
	}
	for _, c := range cfg.Containers {
		os.Remove(cfg.StopPath(c.ID)) // a stale stop request must not stop the new run
	}
	if err := WriteConfig(&cfg); err != nil {
		return nil, fmt.Errorf("launching monitor %q: %w", cfg.ID, err)
	}
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("launching monitor %q: %w", cfg.ID, err)
	}
	defer syncR.Close()
	cmd := exec.Command(binary, "--config", cfg.ConfigPath())
	cmd.ExtraFiles = []*os.File{syncW} // fd 3 in the monitor
	// One P from the very start keeps the monitor's thread count, and so its
	// memory, small; the monitor removes it before running the runtime.
	cmd.Env = append(os.Environ(), monitorEnv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	syncW.Close()
	if err != nil {
		return nil, fmt.Errorf("launching monitor %q: %w", cfg.ID, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps the monitor if the caller outlives it

	rep, err := readReport(ctx, syncR)
	if err != nil {
		return nil, fmt.Errorf("launching monitor %q: %w", cfg.ID, errors.Join(err, monitorExit(exited)))
	}
	if rep.Error != "" {
		<-exited // the monitor cleans up before reporting; wait for it to be gone
		return nil, fmt.Errorf("starting pod %q: %s", cfg.ID, rep.Error)
	}
	rep.MonitorPid = cmd.Process.Pid
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
