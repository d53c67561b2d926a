//go:build !lean

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/engine/volume"
	"github.com/podbay/podbay/kube/manifest"
	"github.com/podbay/podbay/kube/play"
	"github.com/podbay/podbay/kube/validate"
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
}

func newKubePlayCommand(g *globals, alias bool) *cobra.Command {
	f := &kubePlayFlags{}
	use := "play [flags] FILE...|-|URL"
	if alias {
		use = "kube [flags] FILE...|-|URL"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: "Run Kubernetes YAML: pods, workloads, ConfigMaps, Secrets, volumes",
		Long: `Run the pods that Kubernetes YAML describes, as the kubelet would on one node.
Inputs are files, - for stdin, or http(s) URLs; multi-document YAML, JSON and List.
Everything one play creates is removed again when any part of it fails.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.down {
				return runKubeDown(cmd, g, args, f.force)
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
	return cmd
}

func newKubeDownCommand(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "down [flags] FILE...|-|URL",
		Short: "Stop and remove the pods that Kubernetes YAML describes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKubeDown(cmd, g, args, force)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "remove the claims' volumes too")
	return cmd
}

// translate reads, decodes and translates the inputs, printing warnings.
func translate(cmd *cobra.Command, args []string, f *kubePlayFlags) (*play.Play, error) {
	ctx := cmd.Context()
	inputs, err := readInputs(ctx, args, cmd.InOrStdin())
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
	p, err := translate(cmd, args, f)
	if err != nil {
		return err
	}
	if f.dryRun {
		return printDryRun(cmd.OutOrStdout(), p, f.output)
	}
	m, err := g.manager()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if err := checkNotPlayed(ctx, m, p, f.replace); err != nil {
		return err
	}
	if err := registerServices(ctx, m, p); err != nil {
		return err
	}
	opts := pod.PlayOptions{Pull: f.pf.options(cmd), Network: f.network, Start: f.start}
	if f.quiet {
		opts.Pull.Progress = nil
	}
	if err := m.PullAll(ctx, imagesOf(p), opts.Pull); err != nil {
		return err
	}
	played, err := playAll(ctx, m, p, opts)
	if err != nil {
		return errors.Join(err, unregisterServices(context.WithoutCancel(ctx), m, p))
	}
	if err := m.SyncServices(ctx); err != nil {
		return errors.Join(err, downPods(context.WithoutCancel(ctx), m, p, false))
	}
	if err := recordKubeObjects(ctx, m, p); err != nil {
		return err
	}
	if f.start {
		if err := startJobs(ctx, g, m, p, opts); err != nil {
			return err
		}
	}
	if !f.quiet {
		printPlayed(cmd.OutOrStdout(), played, p)
	}
	if f.wait {
		return waitAndDown(cmd, m, p)
	}
	return nil
}

// checkNotPlayed refuses a second play of the same pods (or, with
// --replace, takes them down first).
func checkNotPlayed(ctx context.Context, m *pod.Manager, p *play.Play, replace bool) error {
	var exist []string
	for _, s := range p.Pods {
		if _, err := m.LookupPod(ctx, s.Name); err == nil {
			exist = append(exist, s.Name)
		}
	}
	if len(exist) == 0 {
		return nil
	}
	if !replace {
		return fmt.Errorf("pod %s already exists: use --replace, or kube down first", strings.Join(exist, ", "))
	}
	return downPods(ctx, m, p, false)
}

func imagesOf(p *play.Play) []pod.ImagePull {
	seen := map[string]bool{}
	var out []pod.ImagePull
	for _, s := range p.Pods {
		for _, c := range append(append([]pod.Container{}, s.InitContainers...), s.Containers...) {
			key := c.Image + "|" + c.PullPolicy
			if !seen[key] {
				seen[key] = true
				out = append(out, pod.ImagePull{Ref: c.Image, Policy: c.PullPolicy})
			}
		}
	}
	return out
}

// playAll creates the claims' volumes and every pod, concurrently except
// StatefulSet pods, which start in order. On error it removes what it made.
func playAll(ctx context.Context, m *pod.Manager, p *play.Play, o pod.PlayOptions) (out []*pod.PlayedPod, err error) {
	vs, err := volume.Open(m.Root)
	if err != nil {
		return nil, err
	}
	for _, v := range p.Volumes {
		if _, err := vs.Create(ctx, volume.CreateOptions{Name: v.Name, Labels: v.Labels, IfExists: true}); err != nil {
			return nil, err
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	record := func(pp *pod.PlayedPod, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			return
		}
		out = append(out, pp)
	}
	var ordered []pod.Spec
	for _, s := range p.Pods {
		if s.Owner != nil && s.Owner.Kind == "StatefulSet" {
			ordered = append(ordered, s)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			record(m.PlayPod(ctx, s, o))
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, s := range ordered {
			pp, err := m.PlayPod(ctx, s, o)
			record(pp, err)
			if err != nil {
				return
			}
		}
	}()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, pp := range out {
			_ = m.DownPod(context.WithoutCancel(ctx), pp.Pod.ID, 0)
		}
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pod.Created.Before(out[j].Pod.Created) })
	return out, nil
}

func printPlayed(w io.Writer, played []*pod.PlayedPod, p *play.Play) {
	for _, v := range p.Volumes {
		fmt.Fprintf(w, "Volume:\n%s\n", v.Name)
	}
	for _, pp := range played {
		fmt.Fprintf(w, "Pod:\n%s\nContainers:\n", pp.Pod.ID)
		for _, c := range pp.Containers {
			fmt.Fprintln(w, c.ID)
		}
		fmt.Fprintln(w)
	}
}

func waitAndDown(cmd *cobra.Command, m *pod.Manager, p *play.Play) error {
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
			running = anyRunning(context.WithoutCancel(ctx), m, p)
		}
	}
	return downPods(context.WithoutCancel(ctx), m, p, false)
}

func anyRunning(ctx context.Context, m *pod.Manager, p *play.Play) bool {
	for _, s := range p.Pods {
		if st, err := m.PodStatusOf(ctx, s.Name); err == nil && (st.Status == pod.PodRunning || st.Status == pod.PodDegraded) {
			return true
		}
	}
	return false
}

func runKubeDown(cmd *cobra.Command, g *globals, args []string, force bool) error {
	// Down covers whatever a play of these files could have made.
	p, err := translate(cmd, args, &kubePlayFlags{quiet: true, runCronJobs: true})
	if err != nil {
		return err
	}
	m, err := g.manager()
	if err != nil {
		return err
	}
	return errors.Join(downPods(cmd.Context(), m, p, force), forgetKubeObjects(cmd.Context(), m, p, force))
}

// downPods removes the play's pods in parallel, each within its grace
// period; with force, the claims' volumes too.
func downPods(ctx context.Context, m *pod.Manager, p *play.Play, force bool) error {
	jobErr := downJobs(ctx, m, p)
	svcErr := unregisterServices(ctx, m, p)
	var wg sync.WaitGroup
	errs := make([]error, len(p.Pods))
	for i, s := range p.Pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.LookupPod(ctx, s.Name); errors.Is(err, state.ErrNotFound) {
				return // not played, or already down
			}
			errs[i] = m.DownPod(ctx, s.Name, time.Duration(s.TerminationGracePeriodSeconds)*time.Second)
		}()
	}
	wg.Wait()
	errs = append(errs, jobErr, svcErr)
	if force {
		vs, err := volume.Open(m.Root)
		if err != nil {
			return err
		}
		for _, v := range p.Volumes {
			if err := vs.Remove(ctx, v.Name); err != nil && !errors.Is(err, volume.ErrNotFound) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
