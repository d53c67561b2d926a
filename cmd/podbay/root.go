package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// globals are the flags every command shares.
type globals struct {
	root     string
	runroot  string
	runtime  string
	logLevel string
	log      *slog.Logger
}

func defaultRoots() (root, runroot string) {
	if os.Geteuid() == 0 {
		return "/var/lib/podbay", "/run/podbay"
	}
	data := os.Getenv("XDG_DATA_HOME")
	if data == "" {
		home, _ := os.UserHomeDir()
		data = filepath.Join(home, ".local", "share")
	}
	run := os.Getenv("XDG_RUNTIME_DIR")
	if run == "" {
		run = filepath.Join(os.TempDir(), fmt.Sprintf("podbay-%d", os.Geteuid()))
	}
	return filepath.Join(data, "podbay"), filepath.Join(run, "podbay")
}

func newRootCommand() *cobra.Command {
	g := &globals{}
	root, runroot := defaultRoots()
	cmd := &cobra.Command{
		Use:           "podbay",
		Short:         "Run Kubernetes YAML and containers on one Linux machine, without a daemon",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.init(cmd.ErrOrStderr())
		},
	}
	f := cmd.PersistentFlags()
	f.StringVar(&g.root, "root", envOr("PODBAY_ROOT", root), "storage root: images, volumes, state")
	f.StringVar(&g.runroot, "runroot", envOr("PODBAY_RUNROOT", runroot), "run-time root: mounts, sockets, namespaces")
	f.StringVar(&g.runtime, "runtime", envOr("PODBAY_RUNTIME", "runc"), "OCI runtime: runc, crun or a path")
	f.StringVar(&g.logLevel, "log-level", "warn", "log level: debug, info, warn, error")

	cmd.AddCommand(
		newVersionCommand(),
		newSystemCommand(g),
		newPodCommand(g),
		newNetworkCommand(g),
		newVolumeCommand(g),
		newSecretCommand(g),
		newKubeCommand(g),
		newPlayCommand(g),
		newGenerateCommand(g),
		newAutoUpdateCommand(g),
	)
	addImageCommands(cmd, g)
	addContainerCommands(cmd, g)
	return cmd
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func (g *globals) init(stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToLower(g.logLevel))); err != nil {
		return fmt.Errorf("--log-level %q: %w", g.logLevel, err)
	}
	g.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	var err error
	if g.root, err = filepath.Abs(g.root); err != nil {
		return err
	}
	g.runroot, err = filepath.Abs(g.runroot)
	return err
}
