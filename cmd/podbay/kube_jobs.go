//go:build !lean

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/kube/play"
	"github.com/podbay/podbay/pod"
)

// newKubeJobControllerCommand is the hidden job controller kube play starts
// for each Job: a detached process that drives it to completion and exits.
func newKubeJobControllerCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "job-controller JOB",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := g.manager()
			if err != nil {
				return err
			}
			return m.RunJob(cmd.Context(), args[0])
		},
	}
}

// startJobs records each Job of a play and starts its controller, which
// adopts the pods the play made for it.
func startJobs(ctx context.Context, g *globals, m *pod.Manager, p *play.Play, o pod.PlayOptions) error {
	o.Pull.Progress = nil // a controller has no terminal
	jobs := map[string]*pod.JobRecord{}
	var order []string
	for _, s := range p.Pods {
		if s.Job == nil || s.Owner == nil {
			continue
		}
		j, ok := jobs[s.Owner.Name]
		if !ok {
			j = &pod.JobRecord{Name: s.Owner.Name, Spec: *s.Job, Template: s, Play: o, Status: pod.JobRunning, Started: time.Now().UTC()}
			jobs[s.Owner.Name] = j
			order = append(order, j.Name)
		}
		j.Pods = append(j.Pods, s.Name)
	}
	for _, name := range order {
		if err := m.SaveJob(ctx, jobs[name]); err != nil {
			return err
		}
		if err := spawnJobController(g, name); err != nil {
			return err
		}
	}
	return nil
}

func spawnJobController(g *globals, name string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	logPath := filepath.Join(g.root, "jobs", name+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return err
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(exe, "--root", g.root, "--runroot", g.runroot, "--runtime", g.runtime, "kube", "job-controller", name)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the controller of job %s: %w", name, err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

// downJobs stops the controllers of the play's Jobs and removes every pod
// they made (beyond the ones the play itself named).
func downJobs(ctx context.Context, m *pod.Manager, p *play.Play) error {
	seen := map[string]bool{}
	var errs []error
	for _, s := range p.Pods {
		if s.Job == nil || s.Owner == nil || seen[s.Owner.Name] {
			continue
		}
		seen[s.Owner.Name] = true
		j, err := m.DeleteJob(ctx, s.Owner.Name)
		if errors.Is(err, state.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, name := range j.Pods {
			if _, err := m.LookupPod(ctx, name); errors.Is(err, state.ErrNotFound) {
				continue
			}
			if err := m.DownPod(ctx, name, time.Duration(s.TerminationGracePeriodSeconds)*time.Second); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
