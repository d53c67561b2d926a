package orchestrate

import (
	"context"
	"errors"
	"sync"

	"github.com/podbay/podbay/engine/volume"
	"github.com/podbay/podbay/kube/play"
)

// DownOptions tune Down.
type DownOptions struct {
	// Force removes the claims' named volumes (and their records) too.
	Force bool
}

// Down takes down what a play of p could have made: its Jobs' controllers
// and pods, its Services, its pods in parallel (each within its grace
// period), its records, and with Force its claims' volumes. What is not
// there is skipped.
func (e *Engine) Down(ctx context.Context, p *play.Play, o DownOptions) error {
	errs := []error{e.downJobs(ctx, p), e.unregisterServices(ctx, p)}
	podErrs := make([]error, len(p.Pods))
	var wg sync.WaitGroup
	for i, s := range p.Pods {
		wg.Go(func() { podErrs[i] = e.downPod(ctx, s.Name, grace(s)) })
	}
	wg.Wait()
	errs = append(errs, podErrs...)
	if len(p.Services) > 0 {
		errs = append(errs, e.Services.Sync(ctx))
	}
	errs = append(errs, e.forgetObjects(ctx, p, o.Force))
	if o.Force {
		seen := map[string]bool{}
		for _, v := range p.Volumes {
			if seen[v.Name] {
				continue
			}
			seen[v.Name] = true
			if err := e.Volumes.Remove(ctx, v.Name); err != nil && !errors.Is(err, volume.ErrNotFound) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// unregisterServices forgets the play's Services.
func (e *Engine) unregisterServices(ctx context.Context, p *play.Play) error {
	var errs []error
	for _, s := range p.Services {
		errs = append(errs, e.Services.Delete(ctx, s.Namespace, s.Name))
	}
	return errors.Join(errs...)
}

// AnyRunning tells whether a pod of the play still runs (kube play --wait).
func (e *Engine) AnyRunning(ctx context.Context, p *play.Play) bool {
	for _, s := range p.Pods {
		if e.Pods.PodRunning(ctx, s.Name) {
			return true
		}
	}
	return false
}
