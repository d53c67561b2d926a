//go:build !lean

package main

import (
	"os"

	"github.com/spf13/cobra"
)

func init() { dropHandoverGOGC() }

func newKubeCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "kube", Short: "Play, generate, validate and apply Kubernetes YAML"}
	cmd.AddCommand(newKubeValidateCommand(g), newKubeApplyCommand(g), newKubePlayCommand(g, false), newKubeDownCommand(g), newKubeGenerateCommand(g, false), newKubeJobControllerCommand(g), newServicesSyncCommand(g))
	return cmd
}

// newPlayCommand is Podman's older spelling: podbay play kube FILE.
func newPlayCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "play", Short: "Alias of kube play: play kube FILE"}
	cmd.AddCommand(newKubePlayCommand(g, true))
	return cmd
}

// kubeBinary is the CLI with the Kubernetes commands: this one.
func kubeBinary() (string, error) { return os.Executable() }
