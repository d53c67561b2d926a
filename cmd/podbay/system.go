package main

import (
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/internal/version"
	"github.com/podbay/podbay/pod"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print podbay's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "Version:    %s\nGo Version: %s\nOS/Arch:    %s/%s\n",
				version.Version, goruntime.Version(), goruntime.GOOS, goruntime.GOARCH)
			return nil
		},
	}
}

func newSystemCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "system", Short: "Manage podbay itself"}
	cmd.AddCommand(newInfoCommand(g), newPruneCommand(g), newResetCommand(g), newServiceCommand(g))
	return cmd
}

func cgroupVersion() string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return "v2"
	}
	return "v1"
}

func newInfoCommand(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show the host, the runtime and the stores",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := g.manager()
			if err != nil {
				return err
			}
			cs, err := m.List(cmd.Context())
			if err != nil {
				return err
			}
			imgs, err := m.Images.List(cmd.Context())
			if err != nil {
				return err
			}
			running := 0
			for _, c := range cs {
				if c.State == "running" {
					running++
				}
			}
			var uts [65]byte
			kernel := ""
			if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
				kernel = strings.TrimSpace(string(data))
			}
			_ = uts
			info := map[string]any{
				"host": map[string]any{
					"arch": goruntime.GOARCH, "os": goruntime.GOOS, "kernel": kernel, "cgroupVersion": cgroupVersion(),
					"cgroupManager": "cgroupfs", "ociRuntime": map[string]any{"path": m.Runtime.Path()},
					"monitor": m.MonitorBin,
				},
				"store": map[string]any{
					"graphRoot": g.root, "runRoot": g.runroot,
					"containerStore": map[string]any{"number": len(cs), "running": running},
					"imageStore":     map[string]any{"number": len(imgs)},
				},
				"version": map[string]any{"Version": version.Version, "GoVersion": goruntime.Version()},
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), info)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "host:\n  arch: %s\n  kernel: %s\n  cgroupVersion: %s\n  ociRuntime: %s\n  monitor: %s\n",
				goruntime.GOARCH, kernel, cgroupVersion(), m.Runtime.Path(), m.MonitorBin)
			fmt.Fprintf(out, "store:\n  graphRoot: %s\n  runRoot: %s\n  containers: %d (%d running)\n  images: %d\n",
				g.root, g.runroot, len(cs), running, len(imgs))
			fmt.Fprintf(out, "version: %s\n", version.Version)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "output format: text or json")
	return cmd
}

func newPruneCommand(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "prune [flags]",
		Short: "Remove stopped containers, what killed commands left half done, and unused layers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := g.manager()
			if err != nil {
				return err
			}
			rep, err := m.Prune(cmd.Context(), pod.PruneOptions{Images: all})
			for _, id := range rep.Containers {
				fmt.Fprintf(cmd.OutOrStdout(), "Deleted container %s\n", id)
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove unused images too")
	return cmd
}

func newResetCommand(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "reset [flags]",
		Short: "Remove every container, pod, image and volume, and the state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force {
				return errors.New("reset removes everything under --root and --runroot: confirm with --force")
			}
			m, err := g.manager()
			if err != nil {
				return err
			}
			return m.Reset(cmd.Context())
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not ask for confirmation")
	return cmd
}
