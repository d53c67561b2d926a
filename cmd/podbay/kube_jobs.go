//go:build !lean

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/orchestrate"
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
			jc := orchestrate.JobController{Pods: m, Jobs: m}
			return jc.Run(cmd.Context(), args[0])
		},
	}
}

// spawnJobController starts `podbay-kube kube job-controller NAME`,
// detached, its output in <root>/jobs/NAME.log.
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

// engine wires the orchestration of plays to this root's stores.
func (g *globals) engine() (*orchestrate.Engine, error) {
	m, err := g.manager()
	if err != nil {
		return nil, err
	}
	vs, err := g.volumes()
	if err != nil {
		return nil, err
	}
	return orchestrate.New(m, vs, func(_ context.Context, name string) error { return spawnJobController(g, name) }), nil
}

// readOnlyEngine reads what earlier plays stored, for a dry run; it
// creates nothing, and fails when there is no store yet.
func (g *globals) readOnlyEngine() (*orchestrate.Engine, error) {
	if _, err := os.Stat(filepath.Join(g.root, "state.db")); err != nil {
		return nil, err
	}
	st, err := state.Open(g.root)
	if err != nil {
		return nil, err
	}
	return &orchestrate.Engine{Objects: orchestrate.StateObjects{Store: st}}, nil
}
