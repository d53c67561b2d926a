package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

// JobPods is what a Job controller does with pods.
type JobPods interface {
	PodStatusOf(ctx context.Context, ref string) (*pod.PodStatus, error)
	PlayPod(ctx context.Context, spec podspec.Pod, o pod.PlayOptions) (*pod.PlayedPod, error)
	StopPod(ctx context.Context, ref string, o pod.StopOptions) (*pod.PodStatus, error)
}

// JobStore keeps Job records.
type JobStore interface {
	Job(ctx context.Context, name string) (*pod.JobRecord, error)
	// UpdateJob writes a record back; a deleted job's fails with
	// state.ErrNotFound.
	UpdateJob(ctx context.Context, j *pod.JobRecord) error
}

// JobController drives one played Job to its end, as Kubernetes' Job
// controller does: it keeps up to parallelism pods running until
// completions pods succeeded, counts failed pods (and container restarts)
// against backoffLimit and ends at activeDeadlineSeconds. The pods kube
// play made for it (named in its record) are adopted. It runs in a
// detached process of its own (kube job-controller), and stops when its
// record is deleted (kube down, a failed play's undo).
type JobController struct {
	Pods JobPods
	Jobs JobStore
	// Tick is how often it looks at the pods (default 200 ms).
	Tick time.Duration
}

// Run drives the Job name until it completes or fails.
func (jc *JobController) Run(ctx context.Context, name string) error {
	j, err := jc.Jobs.Job(ctx, name)
	if err != nil {
		return err
	}
	j.SetController(os.Getpid())
	if err := jc.Jobs.UpdateJob(ctx, j); err != nil {
		return jobGone(err)
	}
	var deadline time.Time
	if d := j.Spec.ActiveDeadlineSeconds; d != nil {
		deadline = j.Started.Add(time.Duration(*d) * time.Second)
	}
	tick := time.NewTicker(cmpOr(jc.Tick, 200*time.Millisecond))
	defer tick.Stop()
	for j.Status == pod.JobRunning {
		active, err := jc.step(ctx, j)
		if err != nil {
			j.Status, j.Reason = pod.JobFailed, err.Error()
		}
		switch {
		case j.Status != pod.JobRunning:
		case j.Failed > j.Spec.BackoffLimit:
			j.Status, j.Reason = pod.JobFailed, "BackoffLimitExceeded"
		case !deadline.IsZero() && time.Now().After(deadline):
			j.Status, j.Reason = pod.JobFailed, "DeadlineExceeded"
		case done(j, active):
			j.Status = pod.JobComplete
		}
		if j.Status != pod.JobRunning {
			j.Finished = time.Now().UTC()
			jc.stopActive(ctx, j)
		}
		if err := jc.Jobs.UpdateJob(ctx, j); err != nil {
			return jobGone(err)
		}
		if j.Status != pod.JobRunning {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// jobGone ends a controller quietly when its job was deleted.
func jobGone(err error) error {
	if errors.Is(err, state.ErrNotFound) {
		return nil
	}
	return err
}

func done(j *pod.JobRecord, active int) bool {
	if j.Spec.Completions == 0 { // a work queue: one success, nothing left running
		return j.Succeeded > 0 && active == 0
	}
	return j.Succeeded >= j.Spec.Completions
}

// step counts finished pods and starts new ones; it returns how many run.
func (jc *JobController) step(ctx context.Context, j *pod.JobRecord) (int, error) {
	succeeded, failed, active := int32(0), int32(0), 0
	for _, name := range j.Pods {
		st, err := jc.Pods.PodStatusOf(ctx, name)
		if err != nil {
			if errors.Is(err, state.ErrNotFound) {
				continue // removed by hand: neither success nor failure
			}
			return 0, err
		}
		switch ok, finished := pod.PodOutcome(st); {
		case !finished:
			active++
			failed += pod.Restarts(st)
		case ok:
			succeeded++
		default:
			failed += 1 + pod.Restarts(st)
		}
	}
	j.Succeeded, j.Failed = succeeded, failed
	want := int(j.Spec.Parallelism)
	switch {
	case j.Spec.Completions > 0:
		want = min(want, int(j.Spec.Completions-succeeded))
	case succeeded > 0: // a work queue with a success: start nothing new
		want = 0
	}
	for active < want && failed <= j.Spec.BackoffLimit {
		if err := jc.startPod(ctx, j); err != nil {
			return active, err
		}
		active++
	}
	return active, nil
}

// startPod plays the Job's next pod, <job>-pod-<n>, from its template;
// the record names it first, so that a down finds it.
func (jc *JobController) startPod(ctx context.Context, j *pod.JobRecord) error {
	spec := j.Template
	spec.Name = fmt.Sprintf("%s-pod-%d", j.Name, len(j.Pods))
	if spec.Hostname != "" {
		spec.Hostname = spec.Name
	}
	rename := func(list []podspec.Container) []podspec.Container {
		out := append([]podspec.Container(nil), list...)
		for i := range out {
			out[i].RuntimeName = spec.Name + "-" + out[i].Name
		}
		return out
	}
	spec.InitContainers, spec.Containers = rename(spec.InitContainers), rename(spec.Containers)
	j.Pods = append(j.Pods, spec.Name)
	if err := jc.Jobs.UpdateJob(ctx, j); err != nil {
		return err
	}
	_, err := jc.Pods.PlayPod(ctx, spec, j.Play)
	return err
}

// stopActive stops the pods still running when a Job ends.
func (jc *JobController) stopActive(ctx context.Context, j *pod.JobRecord) {
	for _, name := range j.Pods {
		if st, err := jc.Pods.PodStatusOf(ctx, name); err == nil && (st.Status == pod.PodRunning || st.Status == pod.PodDegraded) {
			_, _ = jc.Pods.StopPod(ctx, name, pod.StopOptions{Timeout: time.Duration(j.Template.TerminationGracePeriodSeconds) * time.Second})
		}
	}
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
