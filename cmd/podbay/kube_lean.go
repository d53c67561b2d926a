//go:build lean

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

// The lean podbay binary leaves the Kubernetes commands to podbay-kube (the
// same CLI with the Kubernetes packages linked in), so that container and pod
// commands start without initialising them. These stubs hand the whole
// command line over with exec.

func newKubeCommand(g *globals) *cobra.Command {
	return handOver("kube", "Play, generate, validate and apply Kubernetes YAML")
}

func newPlayCommand(g *globals) *cobra.Command {
	return handOver("play", "Alias of kube play: play kube FILE")
}

func newGenerateCommand(g *globals) *cobra.Command {
	return handOver("generate", "Alias of kube generate: generate kube NAME")
}

// newServiceCommand hands system service (the Docker API server, which
// links net/http's server and a JSON API) to podbay-kube, so that the lean
// CLI's start-up stays what it was.
func newServiceCommand(g *globals) *cobra.Command {
	return handOver("service", "Serve the Docker Engine API on a socket (podbay system service [--time SECONDS] [URI])")
}

func handOver(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:                use,
		Short:              short,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bin, err := kubeBinary()
			if err != nil {
				return err
			}
			return syscall.Exec(bin, append([]string{bin}, os.Args[1:]...), handoverEnv(os.Environ()))
		},
	}
}

func kubeBinary() (string, error) {
	if p := os.Getenv("PODBAY_KUBE"); p != "" {
		return p, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(exe), "podbay-kube")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the kube commands need podbay-kube beside podbay: %w", err)
	}
	return p, nil
}
