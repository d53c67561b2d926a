package orchestrate

import (
	"context"
	"errors"
	"time"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/kube/play"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

// startJobs records each Job of a play and starts its controller, which
// adopts the pods the play made for it.
func (e *Engine) startJobs(ctx context.Context, p *play.Play, o pod.PlayOptions, rec *Record) error {
	o.Pull.Progress = nil // a controller has no terminal
	jobs := map[string]*pod.JobRecord{}
	var order []string
	for _, s := range p.Pods {
		if s.Job == nil || s.Owner == nil {
			continue
		}
		j, ok := jobs[s.Owner.Name]
		if !ok {
			j = &pod.JobRecord{Name: s.Owner.Name, Spec: *s.Job, Template: s, Play: o, Status: pod.JobRunning, Started: time.Now().UTC()}
			jobs[s.Owner.Name] = j
			order = append(order, j.Name)
		}
		j.Pods = append(j.Pods, s.Name)
	}
	for _, name := range order {
		if err := e.Jobs.SaveJob(ctx, jobs[name]); err != nil {
			return err
		}
		rec.Jobs = append(rec.Jobs, name)
		if err := e.Jobs.StartController(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// downJobs stops the controllers of the play's Jobs and removes every pod
// they made (beyond the ones the play itself named).
func (e *Engine) downJobs(ctx context.Context, p *play.Play) error {
	seen := map[string]bool{}
	var errs []error
	for _, s := range p.Pods {
		if s.Job == nil || s.Owner == nil || seen[s.Owner.Name] {
			continue
		}
		seen[s.Owner.Name] = true
		j, err := e.Jobs.DeleteJob(ctx, s.Owner.Name)
		if errors.Is(err, state.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, name := range j.Pods {
			errs = append(errs, e.downPod(ctx, name, grace(s)))
		}
	}
	return errors.Join(errs...)
}

func grace(s podspec.Pod) time.Duration {
	return time.Duration(s.TerminationGracePeriodSeconds) * time.Second
}

// downPod removes a pod within its grace period; one already gone is not
// an error.
func (e *Engine) downPod(ctx context.Context, name string, grace time.Duration) error {
	if _, err := e.Pods.LookupPod(ctx, name); errors.Is(err, state.ErrNotFound) {
		return nil
	}
	err := e.Pods.DownPod(ctx, name, grace)
	if errors.Is(err, state.ErrNotFound) {
		return nil // removed by another command meanwhile
	}
	return err
}
