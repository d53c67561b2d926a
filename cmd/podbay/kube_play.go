//go:build !lean

package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/kube/manifest"
	"github.com/podbay/podbay/kube/play"
	"github.com/podbay/podbay/kube/validate"
	"github.com/podbay/podbay/orchestrate"
	"github.com/podbay/podbay/pod"
)

type kubePlayFlags struct {
	pf          pullFlags
	replace     bool
	start       bool
	network     string
	publish     []string
	publishAll  bool
	configmaps  []string
	wait        bool
	quiet       bool
	strict      bool
	dryRun      bool
	output      string
	runCronJobs bool
	down        bool
	force       bool
	openshift   bool
	uidRange    string
	fromCluster bool
	cluster     clusterFlags
	annotations []string
	userns      string
	service     serviceFlags
}

func newKubePlayCommand(g *globals, alias bool) *cobra.Command {
	f := &kubePlayFlags{}
	use := "play [flags] FILE...|-|URL, or --from-cluster KIND/NAME..."
	if alias {
		use = "kube [flags] FILE...|-|URL, or --from-cluster KIND/NAME..."
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: "Run Kubernetes YAML: pods, workloads, ConfigMaps, Secrets, volumes",
		Long: `Run the pods that Kubernetes YAML describes, as the kubelet would on one node.
Inputs are files, - for stdin, or http(s) URLs; multi-document YAML, JSON and List.
Everything one play creates is removed again when any part of it fails.

With --from-cluster, the arguments name workloads of a Kubernetes cluster as
kubectl names them (deployment/web, pod/db, statefulset/x): each is fetched
from the namespace (-n, else the context's) with the ConfigMaps and Secrets its
pods reference and the Services that select them, without what the server owns
(status, managedFields, resourceVersion, uid, cluster IPs, ...), and played here.
The cluster is found as kube apply finds it.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.down {
				return runKubeDown(cmd, g, args, f)
			}
			return runKubePlay(cmd, g, args, f)
		},
	}
	fl := cmd.Flags()
	f.pf.add(cmd)
	fl.BoolVar(&f.replace, "replace", false, "take down pods of the same names first")
	fl.BoolVar(&f.start, "start", true, "start the pods")
	fl.StringVar(&f.network, "network", "", "attach the pods to this network")
	fl.StringArrayVar(&f.publish, "publish", nil, "publish a container port [IP:]HOST:CONTAINER[/udp]")
	fl.BoolVar(&f.publishAll, "publish-all", false, "publish every declared container port on the same host port")
	fl.StringArrayVar(&f.configmaps, "configmap", nil, "a YAML file with ConfigMaps the manifests use")
	fl.BoolVar(&f.wait, "wait", false, "stay in the foreground; take everything down on exit or Ctrl-C")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print nothing but errors")
	fl.BoolVar(&f.strict, "strict", false, "turn every warning into an error")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print what would be created; pull and change nothing")
	fl.StringVarP(&f.output, "output", "o", "text", "--dry-run output: text, yaml or json")
	fl.BoolVar(&f.runCronJobs, "run-cronjobs", false, "run each CronJob's job template once")
	fl.BoolVar(&f.down, "down", false, "take down what the files describe (as kube down)")
	fl.BoolVar(&f.force, "force", false, "with --down: remove the claims' volumes too")
	fl.BoolVar(&f.openshift, "openshift", false, "run the pods as OpenShift's restricted-v2 SCC would: refuse what it rejects, apply what it changes")
	fl.StringVar(&f.uidRange, "uid-range", validate.DefaultUIDRange, "with --openshift: the namespace's UID range, FIRST/SIZE")
	fl.BoolVar(&f.fromCluster, "from-cluster", false, "fetch the workloads named from a cluster and play them here")
	f.cluster.add(cmd)
	fl.StringArrayVar(&f.annotations, "annotation", nil, "add an annotation KEY=VALUE to every pod")
	fl.StringVar(&f.userns, "userns", "", "user namespace of the pods: host (the only mode podbay has)")
	f.service.add(cmd)
	return cmd
}

func newKubeDownCommand(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "down [flags] FILE...|-|URL",
		Short: "Stop and remove the pods that Kubernetes YAML describes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKubeDown(cmd, g, args, &kubePlayFlags{force: force})
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "remove the claims' volumes too")
	return cmd
}

// translate reads, decodes and translates the inputs, printing warnings;
// stored gives the ConfigMaps and Secrets known from outside the files.
func translate(cmd *cobra.Command, args []string, f *kubePlayFlags, stored func() (play.Stored, error)) (*play.Play, error) {
	ctx := cmd.Context()
	var inputs []input
	var err error
	if f.fromCluster {
		inputs, err = fetchInputs(ctx, &f.cluster, args, cmd.ErrOrStderr(), f.quiet)
	} else {
		inputs, err = readInputs(ctx, args, cmd.InOrStdin())
	}
	if err != nil {
		return nil, err
	}
	set, err := decodeInputs(inputs)
	if err != nil {
		return nil, err
	}
	checks, err := playChecks(set, f)
	if err != nil {
		return nil, err
	}
	opts := play.Options{Network: f.network, Publish: f.publish, PublishAll: f.publishAll, RunCronJobs: f.runCronJobs}
	if stored != nil {
		if opts.Stored, err = stored(); err != nil {
			return nil, err
		}
	}
	if len(f.configmaps) > 0 {
		cmIn, err := readInputs(ctx, f.configmaps, nil)
		if err != nil {
			return nil, err
		}
		if opts.ConfigMaps, err = decodeInputs(cmIn); err != nil {
			return nil, err
		}
	}
	p, err := play.Translate(set, opts)
	if err != nil {
		return nil, err
	}
	warnings := checks
	seen := map[string]bool{}
	for _, w := range append(append([]manifest.Finding{}, set.Warnings...), p.Warnings...) {
		if s := w.Error(); !seen[s] {
			seen[s] = true
			warnings = append(warnings, s)
		}
	}
	if f.strict && len(warnings) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(warnings, "\n"))
	}
	for _, w := range warnings {
		if !f.quiet {
			fmt.Fprintln(cmd.ErrOrStderr(), "Warning:", w)
		}
	}
	return p, nil
}

func runKubePlay(cmd *cobra.Command, g *globals, args []string, f *kubePlayFlags) error {
	ctx := cmd.Context()
	if err := f.check(); err != nil {
		return err
	}
	var e *orchestrate.Engine
	if !f.dryRun {
		var err error
		if e, err = g.engine(); err != nil {
			return err
		}
	}
	p, err := translate(cmd, args, f, storedLookup(ctx, g, e))
	if err != nil {
		return err
	}
	if err := annotate(p, f); err != nil {
		return err
	}
	if f.dryRun {
		return printDryRun(cmd.OutOrStdout(), p, f.output)
	}
	notify, err := f.service.notifier()
	if err != nil {
		return err
	}
	opts := orchestrate.PlayOptions{Replace: f.replace, Pod: pod.PlayOptions{Pull: f.pf.options(cmd), Network: f.network, Start: f.start}}
	if f.quiet {
		opts.Pod.Pull.Progress = nil
	}
	res, err := e.Play(ctx, p, opts)
	if err != nil {
		return err
	}
	if !f.quiet {
		printPlayed(cmd.OutOrStdout(), res)
	}
	switch {
	case f.service.enabled:
		return serve(cmd, e, p, f.service, notify)
	case f.wait:
		return waitAndDown(cmd, e, p)
	}
	return nil
}

// storedLookup finds the ConfigMaps and Secrets of earlier plays and
// podbay's secrets, for references the files do not define. A dry run
// reads them when the store exists and skips them when it does not.
func storedLookup(ctx context.Context, g *globals, e *orchestrate.Engine) func() (play.Stored, error) {
	return func() (play.Stored, error) {
		if e == nil {
			var err error
			if e, err = g.readOnlyEngine(); err != nil {
				return play.Stored{}, nil // nothing stored yet
			}
		}
		return e.Stored(ctx)
	}
}

func printPlayed(w io.Writer, res *orchestrate.Result) {
	for _, v := range res.Volumes {
		fmt.Fprintf(w, "Volume:\n%s\n", v)
	}
	for _, pp := range res.Pods {
		fmt.Fprintf(w, "Pod:\n%s\nContainers:\n", pp.Pod.ID)
		for _, c := range pp.Containers {
			fmt.Fprintln(w, c.ID)
		}
		fmt.Fprintln(w)
	}
}

func waitAndDown(cmd *cobra.Command, e *orchestrate.Engine, p *play.Play) error {
	ctx, stop := signal.NotifyContext(context.WithoutCancel(cmd.Context()), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-ctx.Done():
			running = false
		case <-cmd.Context().Done():
			running = false
		case <-tick.C:
			running = e.AnyRunning(context.WithoutCancel(ctx), p)
		}
	}
	return e.Down(context.WithoutCancel(ctx), p, orchestrate.DownOptions{})
}

func runKubeDown(cmd *cobra.Command, g *globals, args []string, f *kubePlayFlags) error {
	e, err := g.engine()
	if err != nil {
		return err
	}
	// Down covers whatever a play of these files could have made.
	df := &kubePlayFlags{quiet: true, runCronJobs: true, fromCluster: f.fromCluster, cluster: f.cluster}
	p, err := translate(cmd, args, df, storedLookup(cmd.Context(), g, e))
	if err != nil {
		return err
	}
	return e.Down(cmd.Context(), p, orchestrate.DownOptions{Force: f.force})
}
