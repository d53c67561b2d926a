package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/engine/crilog"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/pod"
)

func parseJSONArray(s string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("want a JSON array of strings: %w", err)
	}
	return out, nil
}

// runForeground streams a started container's output until it exits, then
// exits with its code (removing it first with --rm).
func runForeground(cmd *cobra.Command, m *pod.Manager, c *state.Container, autoRemove bool) error {
	ctx := cmd.Context()
	done := make(chan struct{})
	var final *state.Container
	var waitErr error
	go func() {
		defer close(done)
		final, waitErr = m.WaitExit(context.WithoutCancel(ctx), c.ID, 0)
	}()
	exited := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	err := crilog.Read(ctx, c.LogPath, crilog.ReadOptions{Follow: true, Tail: crilog.AllLines, Until: exited}, cmd.OutOrStdout(), cmd.ErrOrStderr())
	if ctx.Err() != nil {
		// Interrupted: stop the container as podman run does on a signal,
		// within its own stop timeout (--stop-timeout).
		v := pod.ViewOf(c)
		grace := time.Duration(v.TerminationGracePeriodSeconds) * time.Second
		_, _ = m.Stop(context.WithoutCancel(ctx), c.ID, pod.StopOptions{Timeout: max(grace, time.Second)})
	}
	<-done
	if err == nil {
		err = waitErr
	}
	if autoRemove {
		_, rmErr := m.Remove(context.WithoutCancel(ctx), c.ID, pod.RemoveOptions{Force: true})
		err = errors.Join(err, rmErr)
	}
	if err != nil {
		return err
	}
	if final.ExitCode != 0 {
		return &exitError{code: final.ExitCode}
	}
	return nil
}

func newLogsCommand(g *globals) *cobra.Command {
	var o crilog.ReadOptions
	cmd := &cobra.Command{
		Use:   "logs [flags] CONTAINER",
		Short: "Show a container's output",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := g.manager()
			if err != nil {
				return err
			}
			c, err := m.Lookup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if o.Follow {
				o.Until = func() bool {
					cur, err := m.Lookup(cmd.Context(), c.ID)
					return err != nil || cur.State != state.StateRunning
				}
			}
			err = crilog.Read(cmd.Context(), c.LogPath, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if errors.Is(err, os.ErrNotExist) {
				return nil // never started: no output yet
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&o.Follow, "follow", "f", false, "keep printing new output")
	cmd.Flags().IntVar(&o.Tail, "tail", -1, "print only the last N lines")
	cmd.Flags().BoolVarP(&o.Timestamps, "timestamps", "t", false, "print timestamps")
	return cmd
}

func newExecCommand(g *globals) *cobra.Command {
	var env []string
	var workdir, user string
	var tty, interactive, detach bool
	cmd := &cobra.Command{
		Use:   "exec [flags] CONTAINER COMMAND [ARG...]",
		Short: "Run a process in a running container",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := g.manager()
			if err != nil {
				return err
			}
			o := pod.ExecOptions{Args: args[1:], Env: env, Workdir: workdir, User: user, Tty: tty, Detach: detach,
				Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr()}
			if interactive {
				o.Stdin = cmd.InOrStdin()
			}
			code, err := m.Exec(cmd.Context(), args[0], o)
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.SetInterspersed(false)
	fl.StringArrayVarP(&env, "env", "e", nil, "set an environment variable K=V")
	fl.StringVarP(&workdir, "workdir", "w", "", "working directory")
	fl.StringVarP(&user, "user", "u", "", "user[:group] to run as")
	fl.BoolVarP(&tty, "tty", "t", false, "allocate a pseudo-terminal")
	fl.BoolVarP(&interactive, "interactive", "i", false, "keep stdin open")
	fl.BoolVarP(&detach, "detach", "d", false, "run in the background")
	return cmd
}

func inspectJSON(c *state.Container) map[string]any {
	pid := 0
	if c.State == state.StateRunning {
		pid = c.Pid
	}
	var cfg any
	_ = json.Unmarshal(c.Config, &cfg)
	return map[string]any{
		"Id": c.ID, "Name": c.Name, "Created": c.Created, "Image": c.ImageID, "ImageName": c.Image,
		"Path": first(c.Command), "Args": rest(c.Command), "Pod": c.PodID, "IsInfra": c.Infra,
		"State": map[string]any{
			"Status": c.State, "Running": c.State == state.StateRunning, "Pid": pid, "ConmonPid": c.MonitorPid,
			"ExitCode": c.ExitCode, "StartedAt": c.StartedAt, "FinishedAt": c.FinishedAt,
		},
		"RestartCount": c.RestartCount, "OCIRuntime": c.Runtime, "LogPath": c.LogPath, "Rootfs": c.Rootfs,
		"Bundle": c.Bundle, "Labels": c.Labels, "Config": cfg,
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func rest(s []string) []string {
	if len(s) < 2 {
		return []string{}
	}
	return s[1:]
}
