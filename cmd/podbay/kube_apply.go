//go:build !lean

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/podbay/podbay/cluster"
	"github.com/podbay/podbay/internal/version"
	"github.com/podbay/podbay/kube/generate"
	"github.com/podbay/podbay/kube/manifest"
)

type kubeApplyFlags struct {
	cluster clusterFlags
	files   []string
	service bool
	dryRun  string
	force   bool
}

func newKubeApplyCommand(g *globals) *cobra.Command {
	f := &kubeApplyFlags{}
	cmd := &cobra.Command{
		Use:   "apply [flags] [-f FILE|-]... [POD|CONTAINER...]",
		Short: "Send Kubernetes YAML, or running pods and containers, to a cluster",
		Long: `Send Kubernetes YAML (-f FILE, - for stdin, or an http(s) URL) or running pods
and containers (exported as kube generate exports them) to a Kubernetes cluster,
with server-side apply (field manager "podbay"). Namespaces the objects go into
are created when missing. Each object's outcome is printed: created, configured
or unchanged, or the server's error; one object's failure does not stop the
others. Exit status: 1 when any object failed, 125 when nothing could be sent
(unreadable input, no kubeconfig, an unreachable server, refused credentials).

The cluster is found as kubectl finds it: --kubeconfig, then $KUBECONFIG, then
~/.kube/config, with its current context unless --context names another.
--dry-run=server has the server check everything, admission included, and
store nothing.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKubeApply(cmd, g, args, f)
		},
	}
	f.cluster.add(cmd)
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.files, "file", "f", nil, "a manifest file, - for stdin, or a URL (repeatable)")
	fl.BoolVarP(&f.service, "service", "s", false, "with pods or containers: add a Service for each")
	fl.StringVar(&f.dryRun, "dry-run", "none", "server: the server checks the objects and stores nothing")
	fl.BoolVar(&f.force, "force-conflicts", false, "take over fields that other field managers own")
	return cmd
}

func runKubeApply(cmd *cobra.Command, g *globals, args []string, f *kubeApplyFlags) error {
	if len(f.files) == 0 && len(args) == 0 {
		return fmt.Errorf("nothing to apply: give -f FILE (- for stdin) or the pods and containers to send")
	}
	opts := cluster.ApplyOptions{Force: f.force}
	switch f.dryRun {
	case "none", "":
	case "server":
		opts.DryRun = true
	case "client":
		return fmt.Errorf("--dry-run=client: kube validate checks offline; --dry-run=server asks the cluster")
	default:
		return fmt.Errorf("--dry-run %q: want server or none", f.dryRun)
	}
	ctx := cmd.Context()
	var objs []*unstructured.Unstructured
	if len(f.files) > 0 {
		var err error
		if objs, err = clusterObjects(ctx, f.files, cmd.InOrStdin(), cmd.ErrOrStderr()); err != nil {
			return err
		}
	}
	if len(args) > 0 {
		exported, err := exportObjects(ctx, g, args, f.service, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		objs = append(objs, exported...)
	}
	c, err := f.cluster.connect(ctx)
	if err != nil {
		return err
	}
	results := c.Apply(ctx, objs, opts)
	if printApplied(cmd.OutOrStdout(), cmd.ErrOrStderr(), results, opts.DryRun) > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// exportObjects exports running pods and containers as kube generate does.
func exportObjects(ctx context.Context, g *globals, refs []string, service bool, stderr io.Writer) ([]*unstructured.Unstructured, error) {
	e, err := g.engine()
	if err != nil {
		return nil, err
	}
	pods, claims, err := e.Export(ctx, refs)
	if err != nil {
		return nil, err
	}
	res, err := generate.Generate(pods, generate.Options{Service: service})
	if err != nil {
		return nil, err
	}
	res.Objects = append(res.Objects, claimObjects(claims)...)
	out, err := generate.Render(res, version.Version)
	if err != nil {
		return nil, err
	}
	for _, n := range res.Notes {
		fmt.Fprintln(stderr, "Note:", n)
	}
	set, err := manifest.Decode("podbay", out)
	if err != nil {
		return nil, fmt.Errorf("reading the export back: %w", err)
	}
	return setObjects(set), nil
}

// printApplied prints one line per object (failures and warnings on
// stderr) and returns the number of failures.
func printApplied(stdout, stderr io.Writer, results []cluster.Result, dryRun bool) int {
	suffix := ""
	if dryRun {
		suffix = " (server dry run)"
	}
	failed := 0
	for _, r := range results {
		for _, w := range r.Warnings {
			fmt.Fprintf(stderr, "Warning: %s: %s\n", r.Ref, w)
		}
		if r.Outcome == cluster.Failed {
			failed++
			fmt.Fprintf(stderr, "Error: %s: %v\n", r.Ref, r.Err)
			continue
		}
		line := r.Ref + " " + string(r.Outcome) + suffix
		if r.Note != "" {
			line += ": " + r.Note
		}
		fmt.Fprintln(stdout, line)
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "Error: %d of %s failed\n", failed, countOf(len(results), "object"))
	}
	return failed
}
