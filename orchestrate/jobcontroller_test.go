package orchestrate

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/podbay/podbay/engine/state"
	"github.com/podbay/podbay/pod"
	"github.com/podbay/podbay/podspec"
)

// jobWorld is a fake engine for the Job controller: each pod it plays
// finishes at once with the exit code exits gives the n-th pod (0 when
// exits runs out), or keeps running when exits says -1.
type jobWorld struct {
	mu      sync.Mutex
	exits   []int
	pods    map[string]*pod.PodStatus
	played  []string
	stopped []string
	job     *pod.JobRecord
	deleted bool
	// adopted pods run for the controller's first look at them, then
	// succeed.
	adopted map[string]bool
	playedC chan string
}

func (w *jobWorld) PodStatusOf(_ context.Context, ref string) (*pod.PodStatus, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	st, ok := w.pods[ref]
	if !ok {
		return nil, fmt.Errorf("pod %s: %w", ref, state.ErrNotFound)
	}
	if w.adopted[ref] {
		w.pods[ref] = finished(ref, 0)
		delete(w.adopted, ref)
	}
	return st, nil
}

func (w *jobWorld) PlayPod(_ context.Context, spec podspec.Pod, _ pod.PlayOptions) (*pod.PlayedPod, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	code := 0
	if n := len(w.played); n < len(w.exits) {
		code = w.exits[n]
	}
	w.played = append(w.played, spec.Name)
	w.pods[spec.Name] = finished(spec.Name, code)
	if w.playedC != nil {
		select {
		case w.playedC <- spec.Name:
		default:
		}
	}
	return &pod.PlayedPod{}, nil
}

func (w *jobWorld) StopPod(_ context.Context, ref string, _ pod.StopOptions) (*pod.PodStatus, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = append(w.stopped, ref)
	w.pods[ref] = finished(ref, 137)
	return w.pods[ref], nil
}

func (w *jobWorld) Job(context.Context, string) (*pod.JobRecord, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.deleted {
		return nil, state.ErrNotFound
	}
	j := *w.job
	return &j, nil
}

func (w *jobWorld) UpdateJob(_ context.Context, j *pod.JobRecord) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.deleted {
		return fmt.Errorf("job %s: %w", j.Name, state.ErrNotFound)
	}
	c := *j
	w.job = &c
	return nil
}

// finished is a pod whose one container exited with code (-1: running).
func finished(name string, code int) *pod.PodStatus {
	c := &state.Container{Name: name + "-c", State: state.StateExited, ExitCode: code}
	st := &pod.PodStatus{Pod: &state.Pod{Name: name}, Status: pod.PodExited, Containers: []*state.Container{c}}
	if code < 0 {
		c.State, c.ExitCode, st.Status = state.StateRunning, 0, pod.PodRunning
	}
	return st
}

func runJob(t *testing.T, spec podspec.JobSpec, exits []int, first int) *jobWorld {
	t.Helper()
	w := &jobWorld{exits: exits, pods: map[string]*pod.PodStatus{}, adopted: map[string]bool{}}
	j := &pod.JobRecord{Name: "j", Spec: spec, Status: pod.JobRunning, Started: time.Now(),
		Template: podspec.Pod{Name: "j-pod-0", Containers: []podspec.Container{{Name: "c"}}}}
	for i := range first { // the pods kube play made: running
		name := fmt.Sprintf("j-pod-%d", i)
		j.Pods = append(j.Pods, name)
		w.pods[name] = finished(name, -1)
		w.adopted[name] = true
	}
	w.job = j
	jc := JobController{Pods: w, Jobs: w, Tick: time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := jc.Run(ctx, "j"); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestJobCompletes(t *testing.T) {
	w := runJob(t, podspec.JobSpec{Completions: 4, Parallelism: 2, BackoffLimit: 6}, nil, 2)
	if w.job.Status != pod.JobComplete || w.job.Succeeded != 4 || len(w.job.Pods) != 4 {
		t.Errorf("job %+v: want Complete with 4 successes in 4 pods", w.job)
	}
	if len(w.played) != 2 || w.played[0] != "j-pod-2" || w.played[1] != "j-pod-3" {
		t.Errorf("played %v: want the controller to add j-pod-2 and j-pod-3 to the two kube play made", w.played)
	}
}

func TestJobBackoffLimit(t *testing.T) {
	w := runJob(t, podspec.JobSpec{Completions: 3, Parallelism: 1, BackoffLimit: 1}, []int{1, 1, 1, 1}, 0)
	if w.job.Status != pod.JobFailed || w.job.Reason != "BackoffLimitExceeded" || w.job.Failed != 2 || len(w.played) != 2 {
		t.Errorf("job %+v, played %v: want Failed (BackoffLimitExceeded) after 2 failed pods", w.job, w.played)
	}
}

func TestJobDeadlineStopsWhatRuns(t *testing.T) {
	deadline := int64(0)
	w := runJob(t, podspec.JobSpec{Completions: 1, Parallelism: 1, BackoffLimit: 6, ActiveDeadlineSeconds: &deadline}, []int{-1}, 0)
	if w.job.Status != pod.JobFailed || w.job.Reason != "DeadlineExceeded" {
		t.Errorf("job %+v: want DeadlineExceeded", w.job)
	}
	if len(w.stopped) != 1 {
		t.Errorf("stopped %v: want the running pod stopped", w.stopped)
	}
}

func TestJobWorkQueue(t *testing.T) {
	w := runJob(t, podspec.JobSpec{Completions: 0, Parallelism: 2, BackoffLimit: 6}, nil, 0)
	if w.job.Status != pod.JobComplete || len(w.played) != 2 {
		t.Errorf("job %+v, played %v: a work queue completes on a success, starting no more", w.job, w.played)
	}
}

// TestJobControllerStopsWhenDeleted: a controller whose job was deleted
// (kube down, a failed play's undo) exits without writing it back.
func TestJobControllerStopsWhenDeleted(t *testing.T) {
	w := &jobWorld{pods: map[string]*pod.PodStatus{}, job: &pod.JobRecord{Name: "j", Status: pod.JobRunning}}
	w.deleted = true
	jc := JobController{Pods: w, Jobs: w, Tick: time.Millisecond}
	if err := jc.Run(context.Background(), "j"); err == nil {
		t.Fatal("a controller of a deleted job: no error from its first read")
	}
	w.deleted = false
	w.job.Spec = podspec.JobSpec{Completions: 1, Parallelism: 1}
	w.exits = []int{-1}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w.playedC = make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- jc.Run(ctx, "j") }()
	select {
	case <-w.playedC:
	case <-ctx.Done():
		t.Fatal("the controller played no pod")
	}
	w.mu.Lock()
	w.deleted = true
	w.mu.Unlock()
	if err := <-done; err != nil {
		t.Errorf("a controller whose job was deleted: %v, want a quiet exit", err)
	}
}
