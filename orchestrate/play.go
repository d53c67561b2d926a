package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/engine/volume"
	"github.com/podbay/podbay/kube/play"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

// PlayOptions are a play's choices beyond the translated objects.
type PlayOptions struct {
	Pod pod.PlayOptions
	// Replace takes down pods of the same names first; without it, a pod
	// that exists already fails the play before anything changes.
	Replace bool
}

// Result is what a play made.
type Result struct {
	// Pods are the pods created, in creation order.
	Pods []*pod.PlayedPod
	// Volumes are the named volumes the play uses, created or kept.
	Volumes []string
}

// Play creates everything a translated play describes, all or nothing:
// its Services (addresses first: service link variables and host ports
// need them), its images (resolved before anything runs), the claims'
// named volumes, its pods (concurrently; a StatefulSet's in order), the
// records generate exports (ConfigMaps, Secrets, claims), and its Jobs'
// controllers. A failure at any step undoes every step before it.
func (e *Engine) Play(ctx context.Context, p *play.Play, o PlayOptions) (res *Result, err error) {
	if err := e.checkNotPlayed(ctx, p, o.Replace); err != nil {
		return nil, err
	}
	rec := &Record{}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.undo(ctx, rec))
			res = nil
		}
	}()
	if err := e.registerServices(ctx, p, rec); err != nil {
		return nil, err
	}
	if err := e.Images.PullAll(ctx, imagesOf(p), o.Pod.Pull); err != nil {
		return nil, err
	}
	if err := e.createVolumes(ctx, p, rec); err != nil {
		return nil, err
	}
	if err := e.playPods(ctx, p, o.Pod, rec); err != nil {
		return nil, err
	}
	if err := e.Services.Sync(ctx); err != nil {
		return nil, err
	}
	if err := e.recordObjects(ctx, p, rec); err != nil {
		return nil, err
	}
	if o.Pod.Start {
		if err := e.startJobs(ctx, p, o.Pod, rec); err != nil {
			return nil, err
		}
	}
	res = &Result{Pods: rec.Pods}
	sort.SliceStable(res.Pods, func(i, j int) bool { return res.Pods[i].Pod.Created.Before(res.Pods[j].Pod.Created) })
	for _, v := range p.Volumes {
		res.Volumes = append(res.Volumes, v.Name)
	}
	return res, nil
}

// checkNotPlayed refuses a second play of the same pods (or, with
// --replace, takes them down first).
func (e *Engine) checkNotPlayed(ctx context.Context, p *play.Play, replace bool) error {
	var exist []string
	for _, s := range p.Pods {
		_, err := e.Pods.LookupPod(ctx, s.Name)
		switch {
		case err == nil:
			exist = append(exist, s.Name)
		case !errors.Is(err, state.ErrNotFound):
			return err
		}
	}
	if len(exist) == 0 {
		return nil
	}
	if !replace {
		return fmt.Errorf("pod %s already exists: use --replace, or kube down first", strings.Join(exist, ", "))
	}
	return e.Down(ctx, p, DownOptions{})
}

// registerServices records the play's Services, allocating their cluster
// IPs and node ports; those that were not recorded before go into rec.
func (e *Engine) registerServices(ctx context.Context, p *play.Play, rec *Record) error {
	if len(p.Services) == 0 {
		return nil
	}
	before, err := e.Services.List(ctx)
	if err != nil {
		return err
	}
	had := map[string]bool{}
	for _, s := range before {
		had[s.Namespace+"/"+s.Name] = true
	}
	svcs := servicesOf(p)
	if _, err := e.Services.Put(ctx, svcs); err != nil {
		return err
	}
	for _, s := range svcs {
		if !had[s.Namespace+"/"+s.Name] {
			rec.Services = append(rec.Services, s)
		}
	}
	return nil
}

func servicesOf(p *play.Play) []pod.Service {
	out := make([]pod.Service, 0, len(p.Services))
	for _, s := range p.Services {
		ps := pod.Service{Name: s.Name, Namespace: s.Namespace, Type: s.Type, ClusterIP: s.ClusterIP, Selector: s.Selector}
		for _, sp := range s.Ports {
			ps.Ports = append(ps.Ports, pod.ServicePort{Name: sp.Name, Protocol: sp.Protocol, Port: sp.Port,
				TargetPort: sp.TargetPort, TargetPortName: sp.TargetPortName, NodePort: sp.NodePort})
		}
		out = append(out, ps)
	}
	return out
}

// imagesOf lists the play's images once each, with their pull policies.
func imagesOf(p *play.Play) []pod.ImagePull {
	seen := map[string]bool{}
	var out []pod.ImagePull
	for _, s := range p.Pods {
		for _, c := range append(append([]podspec.Container{}, s.InitContainers...), s.Containers...) {
			key := c.Image + "|" + c.PullPolicy
			if !seen[key] {
				seen[key] = true
				out = append(out, pod.ImagePull{Ref: c.Image, Policy: c.PullPolicy})
			}
		}
	}
	return out
}

// createVolumes makes the claims' named volumes; those that exist are
// kept (a claim outlives its pods), those made go into rec.
func (e *Engine) createVolumes(ctx context.Context, p *play.Play, rec *Record) error {
	seen := map[string]bool{}
	for _, v := range p.Volumes {
		if seen[v.Name] {
			continue
		}
		seen[v.Name] = true
		_, err := e.Volumes.Create(ctx, volume.CreateOptions{Name: v.Name, Labels: v.Labels})
		switch {
		case err == nil:
			rec.Volumes = append(rec.Volumes, v.Name)
		case !errors.Is(err, volume.ErrExists):
			return err
		}
	}
	return nil
}

// playPods creates every pod, concurrently except a StatefulSet's, which
// start in order; each pod made goes into rec.
func (e *Engine) playPods(ctx context.Context, p *play.Play, o pod.PlayOptions, rec *Record) error {
	var mu sync.Mutex
	var errs []error
	playOne := func(s podspec.Pod) error {
		pp, err := e.Pods.PlayPod(ctx, s, o)
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			return err
		}
		rec.addPod(pp)
		return nil
	}
	var wg sync.WaitGroup
	var ordered []podspec.Pod
	for _, s := range p.Pods {
		if s.Owner != nil && s.Owner.Kind == "StatefulSet" {
			ordered = append(ordered, s)
			continue
		}
		wg.Go(func() { _ = playOne(s) })
	}
	wg.Go(func() {
		for _, s := range ordered {
			if playOne(s) != nil {
				return
			}
		}
	})
	wg.Wait()
	return errors.Join(errs...)
}
