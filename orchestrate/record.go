package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/podbay/podbay/pod"
)

// Record is what one play made, in the order it made it: an undo removes
// exactly this, and nothing that was there before the play.
type Record struct {
	mu sync.Mutex
	// Volumes are the named volumes this play created (not those it found).
	Volumes []string
	// Services are the Services this play registered that were not recorded
	// before ("namespace/name").
	Services []pod.Service
	// Pods are the pods this play created.
	Pods []*pod.PlayedPod
	// Objects holds, per kind, what the recorded keys held before the play
	// (nil: absent), to put back.
	Objects map[string]map[string][]byte
	// Jobs are the Jobs recorded (their controllers may run).
	Jobs []string
}

func (r *Record) addPod(p *pod.PlayedPod) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Pods = append(r.Pods, p)
}

// undo removes what the record holds, newest first; it goes on past a
// failed step and reports every failure.
func (e *Engine) undo(ctx context.Context, r *Record) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for i := len(r.Jobs) - 1; i >= 0; i-- {
		if _, err := e.Jobs.DeleteJob(ctx, r.Jobs[i]); err != nil {
			errs = append(errs, fmt.Errorf("undo: job %s: %w", r.Jobs[i], err))
		}
	}
	for kind, prev := range r.Objects {
		if _, err := e.Objects.Swap(ctx, kind, prev); err != nil {
			errs = append(errs, fmt.Errorf("undo: %s records: %w", kind, err))
		}
	}
	errs = append(errs, e.downPlayed(ctx, r.Pods))
	for i := len(r.Services) - 1; i >= 0; i-- {
		s := r.Services[i]
		if err := e.Services.Delete(ctx, s.Namespace, s.Name); err != nil {
			errs = append(errs, fmt.Errorf("undo: service %s/%s: %w", s.Namespace, s.Name, err))
		}
	}
	if len(r.Services) > 0 || len(r.Pods) > 0 {
		errs = append(errs, e.Services.Sync(ctx))
	}
	for i := len(r.Volumes) - 1; i >= 0; i-- {
		if err := e.Volumes.Remove(ctx, r.Volumes[i]); err != nil {
			errs = append(errs, fmt.Errorf("undo: volume %s: %w", r.Volumes[i], err))
		}
	}
	return errors.Join(errs...)
}

// downPlayed removes pods a play made, in parallel, at once (no grace:
// they never served).
func (e *Engine) downPlayed(ctx context.Context, pods []*pod.PlayedPod) error {
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, pp := range pods {
		wg.Go(func() {
			if err := e.Pods.DownPod(ctx, pp.Pod.ID, 0); err != nil {
				errs[i] = fmt.Errorf("undo: pod %s: %w", pp.Pod.Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
