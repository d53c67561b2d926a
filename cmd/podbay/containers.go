package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/engine/runtime"
	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/internal/report"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

func (g *globals) monitorBinary() (string, error) {
	if p := os.Getenv("PODBAY_MONITOR"); p != "" {
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "podbay-monitor")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("podbay-monitor")
	if err != nil {
		return "", fmt.Errorf("finding podbay-monitor (install it beside podbay or set PODBAY_MONITOR): %w", err)
	}
	return p, nil
}

func (g *globals) manager() (*pod.Manager, error) {
	imgs, err := g.images()
	if err != nil {
		return nil, err
	}
	st, err := state.Open(g.root)
	if err != nil {
		return nil, err
	}
	rt, err := runtime.New(g.runtime, filepath.Join(g.runroot, "runtime"))
	if err != nil {
		return nil, err
	}
	mon, err := g.monitorBinary()
	if err != nil {
		return nil, err
	}
	nets, err := g.networks()
	if err != nil {
		return nil, err
	}
	parent := envOr("PODBAY_CGROUP_PARENT", pod.DefaultCgroupParent)
	if !strings.HasPrefix(parent, "/") || strings.Contains(parent, "..") {
		return nil, fmt.Errorf("PODBAY_CGROUP_PARENT %q: want an absolute cgroup path", parent)
	}
	m := &pod.Manager{Root: g.root, Runroot: g.runroot, Images: imgs, Runtime: rt, State: st, Networks: nets, MonitorBin: mon,
		CgroupParent: parent, Log: g.log}
	if err := m.SpreadDirs(); err != nil {
		return nil, err
	}
	if kube, err := kubeBinary(); err == nil {
		m.SyncCommand = []string{kube, "--root", g.root, "--runroot", g.runroot, "kube", "sync-services"}
	}
	return m, nil
}

func addContainerCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newRunCommand(g, true), newRunCommand(g, false), newStartCommand(g), newStopCommand(g),
		newKillCommand(g), newRestartCommand(g), newRmCommand(g), newPsCommand(g), newLogsCommand(g),
		newExecCommand(g), newInspectCommand(g), newWaitCommand(g))
}

// createFlags are the flags of run and create.
type createFlags struct {
	f           podspec.ContainerFlags
	pf          pullFlags
	entrypoint  string
	stopTimeout int64
	labels      []string
	pod         string
	autoRemove  bool
	detach      bool
	replace     bool
	notify      sdNotify
}

func (f *createFlags) add(cmd *cobra.Command, run bool) {
	fl := cmd.Flags()
	fl.SetInterspersed(false)
	fl.StringVar(&f.f.Name, "name", "", "container name")
	fl.StringArrayVarP(&f.f.Env, "env", "e", nil, "set an environment variable K=V")
	fl.StringArrayVarP(&f.f.Volumes, "volume", "v", nil, "mount a host path or a named volume SRC:DST[:ro]")
	fl.StringVarP(&f.f.Workdir, "workdir", "w", "", "working directory inside the container")
	fl.StringVarP(&f.f.User, "user", "u", "", "user[:group] to run as")
	fl.StringVar(&f.entrypoint, "entrypoint", "", "override the image's entrypoint")
	fl.StringVar(&f.f.Network, "network", "none", "network mode: none or host")
	fl.StringVar(&f.f.Hostname, "hostname", "", "container host name")
	fl.StringVarP(&f.f.Memory, "memory", "m", "", "memory limit (e.g. 64m, 1g)")
	fl.Float64Var(&f.f.CPUs, "cpus", 0, "number of CPUs")
	fl.StringSliceVar(&f.f.CapAdd, "cap-add", nil, "add capabilities")
	fl.StringSliceVar(&f.f.CapDrop, "cap-drop", nil, "drop capabilities")
	fl.BoolVar(&f.f.ReadOnly, "read-only", false, "mount the root filesystem read-only")
	fl.BoolVar(&f.f.Privileged, "privileged", false, "give the container all capabilities and devices")
	fl.BoolVar(&f.autoRemove, "rm", false, "remove the container when it exits")
	fl.BoolVarP(&f.f.Tty, "tty", "t", false, "allocate a pseudo-terminal")
	fl.BoolVarP(&f.f.Stdin, "interactive", "i", false, "keep stdin open")
	fl.StringArrayVarP(&f.labels, "label", "l", nil, "set a label K=V")
	fl.StringVar(&f.f.Pull, "pull", "missing", "pull policy: missing, always, never")
	fl.StringVar(&f.pod, "pod", "", "run in an existing pod")
	fl.StringArrayVar(&f.f.SecurityOpts, "security-opt", nil, "security options: seccomp=unconfined, no-new-privileges")
	fl.StringVar(&f.f.Restart, "restart", "no", "restart policy: no, always, on-failure")
	fl.StringVar(&f.f.StopSignal, "stop-signal", "", "signal that stops the container (default: the image's, else SIGTERM)")
	fl.Int64Var(&f.stopTimeout, "stop-timeout", podspec.CLIGracePeriod, "seconds between the stop signal and SIGKILL")
	f.pf.add(cmd)
	fl.BoolVar(&f.replace, "replace", false, "remove a container of the same name first")
	if run {
		fl.BoolVarP(&f.detach, "detach", "d", false, "run in the background and print the container ID")
		fl.StringVar(&f.notify.mode, "sdnotify", "", "under systemd: conmon (tell it the container started) or ignore")
	}
}

// options translates the flags (podspec.FromContainerFlags, pure).
func (f *createFlags) options(cmd *cobra.Command, args []string) (pod.CreateOptions, error) {
	cf := f.f
	cf.Image, cf.Args = args[0], args[1:]
	if cmd.Flags().Changed("entrypoint") {
		cf.Entrypoint = &f.entrypoint
	}
	if cmd.Flags().Changed("stop-timeout") {
		cf.StopTimeout = &f.stopTimeout
	}
	if f.pod != "" && cf.Network == "none" {
		cf.Network = "" // the pod's
	}
	if f.pod != "" && cf.Network == "pod" {
		cf.Network = ""
	}
	if cf.Tty && !f.detach && cmd.Name() == "run" {
		return pod.CreateOptions{}, fmt.Errorf("--tty: attaching to a container's terminal is not supported yet: use run -dt, then exec -it")
	}
	if f.pod != "" && cf.Network != "" {
		return pod.CreateOptions{}, fmt.Errorf("--network %q: a container in a pod uses the pod's network; drop --network", cf.Network)
	}
	spec, err := podspec.FromContainerFlags(cf)
	if err != nil {
		return pod.CreateOptions{}, err
	}
	return pod.CreateOptions{Spec: spec, Pod: f.pod, Pull: f.pf.options(cmd), Labels: unitLabel(parseLabels(f.labels)), AutoRemove: f.autoRemove}, nil
}

func newRunCommand(g *globals, run bool) *cobra.Command {
	f := &createFlags{}
	use, short := "create [flags] IMAGE [COMMAND [ARG...]]", "Create a container without starting it"
	if run {
		use, short = "run [flags] IMAGE [COMMAND [ARG...]]", "Run a command in a new container"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options(cmd, args)
			if err != nil {
				return err
			}
			if err := f.notify.take(); err != nil {
				return err
			}
			m, err := g.manager()
			if err != nil {
				return err
			}
			if f.replace {
				if err := replaceContainer(cmd.Context(), m, f.f.Name); err != nil {
					return err
				}
			}
			if !run {
				c, err := m.Create(cmd.Context(), o)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), c.ID)
				return nil
			}
			c, err := m.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			if err := f.notify.started(c, f.detach); err != nil {
				return err
			}
			if f.detach {
				fmt.Fprintln(cmd.OutOrStdout(), c.ID)
				return nil
			}
			return runForeground(cmd, m, c, o.AutoRemove)
		},
	}
	f.add(cmd, run)
	return cmd
}

func newStartCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "start CONTAINER...",
		Short: "Start containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: eachContainer(g, func(cmd *cobra.Command, m *pod.Manager, ref string) error {
			_, err := m.Start(cmd.Context(), ref)
			return err
		}),
	}
}

// eachContainer runs fn for every argument, printing each ref that worked
// and joining the errors, as Podman's multi-container verbs do.
func eachContainer(g *globals, fn func(*cobra.Command, *pod.Manager, string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		m, err := g.manager()
		if err != nil {
			return err
		}
		var errs []error
		for _, ref := range args {
			if err := fn(cmd, m, ref); err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Fprintln(cmd.OutOrStdout(), ref)
		}
		return errors.Join(errs...)
	}
}

func newStopCommand(g *globals) *cobra.Command {
	var timeout uint
	cmd := &cobra.Command{
		Use:   "stop [flags] CONTAINER...",
		Short: "Stop containers: SIGTERM, then SIGKILL after the timeout",
		Args:  cobra.MinimumNArgs(1),
		RunE: eachContainer(g, func(cmd *cobra.Command, m *pod.Manager, ref string) error {
			_, err := m.Stop(cmd.Context(), ref, pod.StopOptions{Timeout: time.Duration(timeout) * time.Second})
			return err
		}),
	}
	cmd.Flags().UintVarP(&timeout, "time", "t", 10, "seconds to wait before killing")
	return cmd
}

func newKillCommand(g *globals) *cobra.Command {
	var sig string
	cmd := &cobra.Command{
		Use:   "kill [flags] CONTAINER...",
		Short: "Send a signal to containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := parseSignal(sig)
			if err != nil {
				return err
			}
			return eachContainer(g, func(cmd *cobra.Command, m *pod.Manager, ref string) error {
				_, err := m.Kill(cmd.Context(), ref, s)
				return err
			})(cmd, args)
		},
	}
	cmd.Flags().StringVarP(&sig, "signal", "s", "KILL", "signal to send")
	return cmd
}

func newRestartCommand(g *globals) *cobra.Command {
	var timeout uint
	cmd := &cobra.Command{
		Use:   "restart [flags] CONTAINER...",
		Short: "Restart containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: eachContainer(g, func(cmd *cobra.Command, m *pod.Manager, ref string) error {
			if _, err := m.Stop(cmd.Context(), ref, pod.StopOptions{Timeout: time.Duration(timeout) * time.Second}); err != nil {
				return err
			}
			_, err := m.Start(cmd.Context(), ref)
			return err
		}),
	}
	cmd.Flags().UintVarP(&timeout, "time", "t", 10, "seconds to wait before killing")
	return cmd
}

func newRmCommand(g *globals) *cobra.Command {
	var force, all, ignore bool
	cmd := &cobra.Command{
		Use:   "rm [flags] CONTAINER...",
		Short: "Remove containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			if all {
				m, err := g.manager()
				if err != nil {
					return err
				}
				cs, err := m.List(cmd.Context())
				if err != nil {
					return err
				}
				for _, c := range cs {
					args = append(args, c.ID)
				}
				if len(args) == 0 {
					return nil
				}
			}
			if len(args) == 0 {
				return fmt.Errorf("rm: name at least one container, or use --all")
			}
			return eachContainer(g, func(cmd *cobra.Command, m *pod.Manager, ref string) error {
				_, err := m.Remove(cmd.Context(), ref, pod.RemoveOptions{Force: force})
				if ignore && errors.Is(err, state.ErrNotFound) {
					return nil
				}
				return err
			})(cmd, args)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "stop running containers first")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove every container")
	cmd.Flags().BoolVarP(&ignore, "ignore", "i", false, "ignore containers that do not exist")
	return cmd
}

func newWaitCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER...",
		Short: "Wait for containers to exit and print their exit codes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := g.manager()
			if err != nil {
				return err
			}
			for _, ref := range args {
				c, err := m.WaitExit(cmd.Context(), ref, 0)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), c.ExitCode)
			}
			return nil
		},
	}
}

func statusText(c *state.Container) string {
	switch c.State {
	case state.StateRunning:
		return "Up " + strings.TrimSuffix(humanDuration(c.StartedAt), " ago")
	case state.StateExited:
		return fmt.Sprintf("Exited (%d) %s", c.ExitCode, humanDuration(c.FinishedAt))
	case state.StateCreated:
		return "Created"
	}
	return c.State
}

func newPsCommand(g *globals) *cobra.Command {
	var all, quiet bool
	var format string
	cmd := &cobra.Command{
		Use:   "ps [flags]",
		Short: "List containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := report.Parse(format, psSpec)
			if err != nil {
				return err
			}
			m, err := g.manager()
			if err != nil {
				return err
			}
			cs, err := m.List(cmd.Context())
			if err != nil {
				return err
			}
			var shown []*state.Container
			for _, c := range cs {
				if all || c.State == state.StateRunning {
					shown = append(shown, c)
				}
			}
			if printQuiet(cmd, f, quiet, shown, func(c *state.Container) string { return short(c.ID) }) {
				return nil
			}
			pods, err := podSpecsOf(cmd.Context(), m, shown)
			if err != nil {
				return err
			}
			return render(cmd, f, containerItems(shown, pods), func() any {
				rows := make([]map[string]any, 0, len(shown))
				for _, c := range shown {
					rows = append(rows, psJSON(c))
				}
				return rows
			})
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "show every container, not only running ones")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only container IDs")
	addFormatFlag(cmd, &format, "{{.Names}} {{.Status}}")
	return cmd
}

// podSpecsOf reads the specs of the pods that hold cs, by pod ID.
func podSpecsOf(ctx context.Context, m *pod.Manager, cs []*state.Container) (map[string]*podspec.Pod, error) {
	out := map[string]*podspec.Pod{}
	if !slices.ContainsFunc(cs, func(c *state.Container) bool { return c.PodID != "" }) {
		return out, nil
	}
	err := m.State.View(ctx, func(tx *state.Tx) error {
		pods, err := tx.Pods()
		for _, p := range pods {
			spec := pod.SpecOf(p)
			out[p.ID] = &spec
		}
		return err
	})
	return out, err
}

// psJSON uses Podman's field names.
func psJSON(c *state.Container) map[string]any {
	row := map[string]any{
		"Id": c.ID, "Names": []string{c.Name}, "Image": c.Image, "ImageID": c.ImageID, "Command": c.Command,
		"Created": c.Created.Unix(), "CreatedAt": c.Created.Format(time.RFC3339Nano), "State": c.State,
		"Status": statusText(c), "ExitCode": c.ExitCode, "Exited": c.State == state.StateExited,
		"Pid": 0, "Pod": c.PodID, "PodName": c.PodName, "Labels": c.Labels, "AutoRemove": c.AutoRemove,
		"StartedAt": unixOrZero(c.StartedAt), "ExitedAt": unixOrZero(c.FinishedAt), "Restarts": c.RestartCount,
		"IsInfra": c.Infra, "Ports": []any{},
	}
	if c.State == state.StateRunning {
		row["Pid"] = c.Pid
	}
	return row
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
